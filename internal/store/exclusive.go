package store

import (
	"context"
	"hash/fnv"
)

// Exclusive runs fn while holding the lock called name, which no other
// Recado instance sharing the database holds at the same time: on
// PostgreSQL a session advisory lock, on a connection kept for it; on
// SQLite, whose database one process serves, fn just runs. It is for the
// start-up work that several instances starting at once must not do
// together: the queue's migrations, the first admin.
func (db *DB) Exclusive(ctx context.Context, name string, fn func() error) error {
	if db.dialect != Postgres {
		return fn()
	}
	h := fnv.New64a()
	h.Write([]byte("recado:" + name))
	key := int64(h.Sum64())
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return wrapDBErr("lock "+name, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return wrapDBErr("lock "+name, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	return fn()
}
