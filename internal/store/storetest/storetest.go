// Package storetest gives tests a fresh database of each dialect.
//
// SQLite always runs. PostgreSQL runs when RECADO_TEST_POSTGRES_URL names a
// server the tests may create databases on; each test gets its own database,
// dropped at the end. Without the variable the PostgreSQL subtests are
// skipped, and say so, except under CI=true, where they fail: CI must test
// both dialects.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/recado-sms/recado/internal/store"
)

// EnvPostgres names the environment variable with the PostgreSQL server URL.
const EnvPostgres = "RECADO_TEST_POSTGRES_URL"

// Dialects runs fn once per dialect as subtests "sqlite" and "postgres",
// each with the DSN of a fresh, empty database.
func Dialects(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLiteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresDSN(t)) })
}

// Each runs fn once per dialect with a fresh, migrated store.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	Dialects(t, func(t *testing.T, dsn string) { fn(t, Open(t, dsn, store.Options{})) })
}

// Open opens and migrates the database at dsn, closing it when t ends.
func Open(t testing.TB, dsn string, opts store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// SQLiteDSN returns the path of a new SQLite file in the test's temp folder.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "recado.db")
}

// PostgresDSN creates an empty database on the server named by
// RECADO_TEST_POSTGRES_URL and returns its URL; it is dropped when t ends.
// Without the variable it skips t, or fails it under CI=true.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests", EnvPostgres)
		}
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run them", EnvPostgres)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	var b [6]byte
	rand.Read(b[:])
	name := "recado_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to %s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database (is PostgreSQL running at %s?): %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u.Path = "/" + name
	return u.String()
}
