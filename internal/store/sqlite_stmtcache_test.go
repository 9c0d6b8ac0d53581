package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// TestSQLiteStatementCache: statements run again from the cache give the
// same answers; a query run while its own rows are still open (a nested
// loop in one transaction) runs uncached; a statement that fails to prepare
// is not kept; and the cache stays bounded.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	c, err := openSQLite(sqliteDSN(filepath.Join(t.TempDir(), "c.db"), sqliteWriter))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (id, v) VALUES (?1, ?2)`, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cached := func() (cc *cachingConn) {
		t.Helper()
		conn.Raw(func(dc any) error { cc = dc.(*cachingConn); return nil })
		return cc
	}
	const q = `SELECT v FROM t WHERE id >= ?1 ORDER BY id`
	// Nested: the inner query has the outer's text while its rows are open.
	outer, err := conn.QueryContext(ctx, q, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var v string
		outer.Scan(&v)
		got = append(got, v)
		inner, err := conn.QueryContext(ctx, q, 4)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var w string
			inner.Scan(&w)
			got = append(got, "+"+w)
		}
		inner.Close()
	}
	outer.Close()
	if fmt.Sprint(got) != "[v3 +v4 v4 +v4]" {
		t.Fatalf("nested queries read %v", got)
	}
	if s := cached().stmts[q]; s == nil || s.busy {
		t.Fatalf("the statement is not cached and free after its rows closed: %+v", s)
	}
	// Again, from the cache, with other arguments.
	var v string
	if err := conn.QueryRowContext(ctx, q, 2).Scan(&v); err != nil || v != "v2" {
		t.Fatalf("cached query: %q, %v", v, err)
	}
	if _, err := conn.ExecContext(ctx, `UPDATE t SET v = ?1 WHERE id = ?2`, "w2", 2); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, q, 2).Scan(&v); err != nil || v != "w2" {
		t.Fatalf("cached query after an update: %q, %v", v, err)
	}
	// A bad statement fails every time and is not kept.
	for range 2 {
		if _, err := conn.ExecContext(ctx, `UPDATE nowhere SET v = 1`); err == nil {
			t.Fatal("a statement on a missing table ran")
		}
	}
	if _, ok := cached().stmts[`UPDATE nowhere SET v = 1`]; ok {
		t.Fatal("a statement that failed to prepare was cached")
	}
	// Bounded.
	for i := range maxCachedStmts + 10 {
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(new(int)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(cached().stmts); n > maxCachedStmts {
		t.Fatalf("%d statements cached, at most %d", n, maxCachedStmts)
	}
}
