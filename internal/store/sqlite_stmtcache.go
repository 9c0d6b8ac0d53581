package store

import (
	"context"
	"database/sql/driver"
	"reflect"

	"modernc.org/sqlite"
)

// SQLite parses a statement's text every time it is run unless the
// statement is kept prepared, and database/sql keeps none: with River's
// long queries and our bulk statements, parsing took half the CPU of a
// single send. Each SQLite connection therefore keeps the statements it
// has run, by their text, and runs them again without parsing. The set of
// texts is small and fixed (placeholders carry every value), so the cache
// is bounded only against accidents.

// maxCachedStmts bounds the statements one connection keeps; past it the
// idle ones are dropped and the cache starts again.
const maxCachedStmts = 512

// openSQLite opens a pool on the SQLite database of dsn whose connections
// keep their statements prepared.
func openSQLite(dsn string) (*sqlConnector, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return &sqlConnector{base}, nil
}

// sqlConnector wraps modernc's connector so that each connection caches
// its statements.
type sqlConnector struct{ driver.Connector }

// Connect opens a caching connection.
func (c *sqlConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		return conn, nil // not the connection this was written for: no cache
	}
	return &cachingConn{conn: sc, stmts: map[string]*cachedStmt{}}, nil
}

// The interfaces every modernc connection implements, which the wrapper
// must pass on for database/sql to use them.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is a SQLite connection that keeps its statements prepared.
// database/sql uses a connection from one goroutine at a time, so the cache
// needs no lock; a statement whose rows are still open is busy, and a query
// of the same text meanwhile is run without the cache.
type cachingConn struct {
	conn  sqliteConn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool
}

var _ sqliteConn = (*cachingConn)(nil)

// Unwrap returns modernc's connection, for its own helpers.
func (c *cachingConn) Unwrap() driver.Conn { return c.conn }

// stmt returns the cached statement for query, preparing it on first use;
// nil when it is busy or cannot be prepared (the caller then runs the query
// uncached, and gets the error from there).
func (c *cachingConn) stmt(ctx context.Context, query string) *cachedStmt {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil
		}
		return s
	}
	if len(c.stmts) >= maxCachedStmts {
		for q, s := range c.stmts {
			if !s.busy {
				s.stmt.Close()
				delete(c.stmts, q)
			}
		}
	}
	ds, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	st, ok := ds.(interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		ds.Close()
		return nil
	}
	s := &cachedStmt{stmt: st}
	c.stmts[query] = s
	return s
}

// ExecContext runs query with the cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s := c.stmt(ctx, query)
	if s == nil {
		return c.conn.ExecContext(ctx, query, args)
	}
	s.busy = true
	defer func() { s.busy = false }()
	return s.stmt.ExecContext(ctx, args)
}

// QueryContext runs query with the cached statement; the statement is busy
// until its rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.stmt(ctx, query)
	if s == nil {
		return c.conn.QueryContext(ctx, query, args)
	}
	s.busy = true
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		s.busy = false
		return nil, err
	}
	return &cachedRows{Rows: rows, s: s}, nil
}

// Prepare prepares a statement for database/sql to manage: not cached.
func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.conn.Prepare(query) }

// PrepareContext prepares a statement for database/sql to manage: not
// cached.
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

// Close finalizes the cached statements and closes the connection.
func (c *cachingConn) Close() error {
	for q, s := range c.stmts {
		s.stmt.Close()
		delete(c.stmts, q)
	}
	return c.conn.Close()
}

// Begin starts a transaction (database/sql calls BeginTx).
func (c *cachingConn) Begin() (driver.Tx, error) { return c.conn.Begin() }

// BeginTx starts a transaction.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.conn.BeginTx(ctx, opts)
}

// Ping checks the connection.
func (c *cachingConn) Ping(ctx context.Context) error { return c.conn.Ping(ctx) }

// ResetSession prepares the connection for reuse by the pool.
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.conn.ResetSession(ctx) }

// IsValid reports whether the pool may reuse the connection.
func (c *cachingConn) IsValid() bool { return c.conn.IsValid() }

// cachedRows frees its statement for the next use when closed. It passes
// on the column-type interfaces of modernc's rows.
type cachedRows struct {
	driver.Rows
	s *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.s.busy = false
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
