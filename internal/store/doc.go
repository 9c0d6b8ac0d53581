// Package store keeps Recado's data in SQLite or PostgreSQL.
//
// One DB value owns the connection pools and knows its Dialect. SQL is plain
// SQL: queries that read the same in both dialects live in sql_common.go,
// written with $1-style placeholders; what differs (bulk statements that take
// a JSON array, upserts, text search) lives side by side in sql_sqlite.go and
// sql_postgres.go under the same names. Bulk work is set-based: one statement
// for a whole batch of messages, never one per message.
//
// SQLite runs in WAL mode with one writer connection, so writes never fight
// for the lock, and a separate pool of read-only connections. PostgreSQL uses
// one pool for both.
//
// Times are stored in UTC. Schema changes are goose migrations embedded in
// the binary, one folder per dialect, applied by Open (or `recado migrate`).
package store
