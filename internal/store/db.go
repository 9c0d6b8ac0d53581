package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/recado-sms/recado/internal/sms"
)

//go:embed migrations
var migrations embed.FS

// DB is an open Recado database.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: the one writer connection; PostgreSQL: the pool
	read    *sql.DB // SQLite: read-only connections; PostgreSQL: the same pool as write
	q       *queries
	now     func() time.Time
	hooks   webhookGate   // whether any webhook endpoint listens (webhooks.go)
	ckpt    *checkpointer // SQLite: checkpoints the WAL off the writer
}

// Options tune Open.
type Options struct {
	// Now is the clock for created/updated times; time.Now when nil.
	Now func() time.Time
	// ReadConns is the size of SQLite's read pool; 4 when zero.
	ReadConns int
	// MaxConns bounds PostgreSQL's pool; 16 when zero.
	MaxConns int
	// WALRestartFrames is the size of SQLite's WAL, in pages, past which
	// the checkpointer starts the WAL over (walRestartFrames when zero).
	WALRestartFrames int
	// walRestartBackoff replaces restartBackoff in tests.
	walRestartBackoff time.Duration
}

// Open connects to the database named by dsn and applies pending migrations.
// A dsn starting with postgres:// or postgresql:// is PostgreSQL; anything
// else is a SQLite file path (created with its folder when missing).
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	db, err := Connect(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Connect opens the pools without migrating, for `recado migrate` and tools.
func Connect(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	db := &DB{now: func() time.Time { return opts.Now().UTC() }}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db.dialect = Postgres
		db.write, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		n := opts.MaxConns
		if n == 0 {
			n = 16
		}
		db.write.SetMaxOpenConns(n)
		db.write.SetMaxIdleConns(n)
		db.read = db.write
	} else {
		db.dialect = SQLite
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return nil, fmt.Errorf("store: create data folder: %w", err)
		}
		wc, err := openSQLite(sqliteDSN(dsn, sqliteWriter))
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db.write = sql.OpenDB(wc)
		// One writer: SQLite allows one at a time, and a single connection
		// queues writers in Go instead of failing them with SQLITE_BUSY.
		db.write.SetMaxOpenConns(1)
		db.write.SetConnMaxLifetime(0)
		db.write.SetConnMaxIdleTime(0)
		rc, err := openSQLite(sqliteDSN(dsn, sqliteReader))
		if err != nil {
			db.write.Close()
			return nil, fmt.Errorf("store: open sqlite reader: %w", err)
		}
		db.read = sql.OpenDB(rc)
		n := opts.ReadConns
		if n == 0 {
			n = max(4, runtime.NumCPU())
		}
		db.read.SetMaxOpenConns(n)
		db.read.SetMaxIdleConns(n)
		if db.ckpt, err = startCheckpointer(sqliteDSN(dsn, sqliteWriter), db.write, opts.WALRestartFrames, opts.walRestartBackoff); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: open sqlite checkpointer: %w", err)
		}
	}
	db.q = newQueries(db.dialect)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.write.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", db.dialect, err)
	}
	return db, nil
}

// writerBusyTimeout is how long a SQLite connection waits for a lock
// another holds before it fails as busy.
const writerBusyTimeout = 10 * time.Second

// sqliteRole is what a SQLite connection is for.
type sqliteRole int

const (
	sqliteWriter sqliteRole = iota // the writer, and the checkpointer's own connection
	sqliteReader
)

// sqliteDSN builds modernc's DSN: WAL, normal sync (durable across process
// crashes; WAL's checkpoint protects against torn writes), a busy timeout, and
// foreign keys on. Readers are query-only. No connection checkpoints the WAL
// by itself when a commit grows it: the checkpointer does, on its own
// connection (checkpoint.go). No journal_size_limit: cutting a WAL of
// hundreds of MB back when it starts over took the writer's commit up to
// 300 ms; the file keeps the size the checkpointer's bound gives it.
func sqliteDSN(path string, role sqliteRole) string {
	v := url.Values{}
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", writerBusyTimeout.Milliseconds()))
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "cache_size(-32000)")
	v.Add("_pragma", "wal_autocheckpoint(0)")
	if role == sqliteReader {
		v.Add("_pragma", "query_only(1)")
	} else {
		v.Add("_txlock", "immediate")
	}
	v.Set("_time_format", "sqlite")
	return "file:" + path + "?" + v.Encode()
}

// Dialect tells which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Writer is the pool for writes and transactions; the queue shares it.
func (db *DB) Writer() *sql.DB { return db.write }

// Reader is the pool for reads that may lag a committed write by nothing
// (WAL readers see every committed transaction).
func (db *DB) Reader() *sql.DB { return db.read }

// Now is the store's clock, in UTC.
func (db *DB) Now() time.Time { return db.now() }

// Close stops the checkpointer and closes the pools (the last connection
// closed checkpoints what is left of the WAL).
func (db *DB) Close() error {
	var errs []error
	if db.ckpt != nil {
		errs = append(errs, db.ckpt.stop())
	}
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return &sms.Error{Kind: sms.KindUnavailable, Message: "database unreachable", Err: err}
	}
	return nil
}

// Migrate applies the pending schema migrations of the dialect. On
// PostgreSQL a session lock keeps several instances starting at once from
// migrating twice.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrator()
	if err != nil {
		return err
	}
	// Instances starting at once take turns (goose's own lock comes after
	// it creates its version table, which they would otherwise race to do).
	return db.Exclusive(ctx, "migrations", func() error {
		if _, err := p.Up(ctx); err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		return nil
	})
}

// MigrationStatus lists each migration and whether it is applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]*goose.MigrationStatus, error) {
	p, err := db.migrator()
	if err != nil {
		return nil, err
	}
	return p.Status(ctx)
}

func (db *DB) migrator() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	gd := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.dialect == Postgres {
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db.write, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// InTx runs fn in a transaction on the writer and commits it when fn returns
// nil; otherwise, or on panic, it rolls back.
func (db *DB) InTx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return wrapDBErr("begin", err)
	}
	tx := &Tx{Tx: sqlTx, db: db}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			sqlTx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return wrapDBErr("commit", err)
	}
	return nil
}

// Tx is a transaction on the writer. Its *sql.Tx is exposed so that the queue
// can enqueue jobs that commit, or roll back, with the rows they are about.
type Tx struct {
	*sql.Tx
	db *DB
}

// wrapDBErr gives a database failure context and the kind "unavailable" when
// the database is not reachable, so callers can answer 503 and retry.
func wrapDBErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *sms.Error
	if errors.As(err, &se) {
		return err
	}
	return DBError("store: "+op, err)
}

// DBError gives an error of a statement run on the store's connections by
// someone else (the queue's inserts) the context op and, when the database
// could not be reached, the kind sms.KindUnavailable, as the store's own
// errors have: callers answer 503 and try again rather than 500.
func DBError(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *sms.Error
	if errors.As(err, &se) {
		return err
	}
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) &&
		(errors.Is(err, sql.ErrConnDone) || errors.Is(err, sql.ErrTxDone) || isConnErr(err)) {
		return &sms.Error{Kind: sms.KindUnavailable, Message: op + ": database unavailable", Err: err}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22") {
		// Class 22, data exceptions: a value PostgreSQL will not take (a NUL
		// byte, text that is not UTF-8, a number out of range) came from the
		// client. SQLite takes them; PostgreSQL's refusal is bad input too.
		return &sms.Error{Kind: sms.KindInvalid, Message: "a value cannot be stored: " + pg.Message, Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// IsTxConflict reports whether err ended a transaction that may simply be
// run again: PostgreSQL chose it as a deadlock's victim (40P01) or could
// not serialise it with another (40001). SQLite's one writer has neither.
func IsTxConflict(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// isConnErr reports whether err says the database cannot be reached or
// took the connection away (a restart, an administrator, a lock held too
// long), rather than that the statement is wrong.
func isConnErr(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08: connection exceptions; 57P01-57P03: the server is shutting
		// down or starting; 55000 with datallowconn off; 53300: too many
		// connections.
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "57P") || pg.Code == "53300" ||
			(pg.Code == "55000" && strings.Contains(pg.Message, "not currently accepting connections"))
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "broken pipe") ||
		strings.Contains(s, "database is locked") || strings.Contains(s, "the database system is") ||
		strings.Contains(s, "conn closed") || strings.Contains(s, "connection reset")
}

// Analyze refreshes PostgreSQL's statistics of tables, whose plans go wrong
// while a bulk load grows a table from nearly empty faster than autovacuum
// looks at it. On SQLite it does nothing. Table names are Recado's own,
// never input.
func (db *DB) Analyze(ctx context.Context, tables ...string) error {
	if db.dialect != Postgres {
		return nil
	}
	for _, t := range tables {
		if _, err := db.write.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return wrapDBErr("analyze "+t, err)
		}
	}
	return nil
}
