package store

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/periodic"
)

// checkpointEvery is how often the checkpointer copies SQLite's WAL back
// into the database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointer runs SQLite's WAL checkpoints from a connection of its own on
// a ticker, so that the writer, whose automatic checkpoints are off, never
// pays for one inside a commit. PASSIVE checkpoints wait for no one: they
// copy what no reader still needs, and the writer starts the WAL over once
// one has copied everything.
type checkpointer struct {
	db   *sql.DB
	halt func()
	once sync.Once
}

// startCheckpointer opens its connection on the SQLite file of dsn and
// starts it.
func startCheckpointer(dsn string) (*checkpointer, error) {
	c, err := openSQLite(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	cp := &checkpointer{db: db}
	cp.halt = periodic.Start(context.Background(), checkpointEvery, func(ctx context.Context) {
		// A failure (the file busy, a disk error) is left for the next tick,
		// and for the writer's own checks: nothing is lost by a checkpoint
		// not made, the WAL only grows.
		db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	})
	return cp, nil
}

// stop ends the checkpointer, waits for a checkpoint in progress, and
// closes its connection. It may be called more than once.
func (cp *checkpointer) stop() error {
	var err error
	cp.once.Do(func() {
		cp.halt()
		err = cp.db.Close()
	})
	return err
}
