package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/periodic"
)

// checkpointEvery is how often the checkpointer copies SQLite's WAL back
// into the database file.
const checkpointEvery = 250 * time.Millisecond

const (
	// walRestartFrames is the WAL's size, in pages (256 MB of 4 KB pages),
	// past which the checkpointer starts it over: rare enough that the
	// writer's short wait is seldom paid (at the api bench's 30 MB of WAL
	// a second, once in 8 s), small enough to bound the disk and the reads.
	walRestartFrames = 65536
	// restartWait is the longest a restart waits for readers of older
	// snapshots to finish, holding the writer meanwhile.
	restartWait = 250 * time.Millisecond
	// restartBackoff is how long the checkpointer leaves the WAL alone
	// after a restart that readers kept from finishing (a long export), so
	// that the writer is not held back again and again meanwhile.
	restartBackoff = 10 * time.Second
)

// checkpointer runs SQLite's WAL checkpoints from a connection of its own on
// a ticker, so that the writer, whose automatic checkpoints are off, never
// pays for one inside a commit. PASSIVE checkpoints wait for no one: they
// copy what no reader still needs, and the writer starts the WAL over once
// one has copied everything. Under a steady load that moment never comes —
// some reader always holds a snapshot, some commit always lands — and the
// WAL grew without end (1.5 GB in 50 s of the api bench), slowing every
// read, which must look a page up in each 4096-frame block of the WAL.
//
// So past its bound the WAL is started over by a RESTART checkpoint run on
// the writer's own connection, between two transactions: no commit can
// race it there (a checkpoint connection polling for the write lock loses
// to a busy writer every time), what is left to copy is what the PASSIVE
// ones could not yet, and it waits at most restartWait for the readers of
// older snapshots (30 ms in the api bench). The next commit writes from
// the WAL's start; the file keeps its size (about walRestartFrames pages).
type checkpointer struct {
	db            *sql.DB // its own connection
	writer        *sql.DB // the store's one writer
	restartFrames int
	backoff       time.Duration
	retryAt       time.Time // no restart before this, after one readers kept from finishing
	restartedAt   int       // the WAL's frames at the last restart
	halt          func()
	once          sync.Once
}

// startCheckpointer opens its connection on the SQLite file of dsn and
// starts it; writer is the store's writer pool, restartFrames and backoff
// are walRestartFrames and restartBackoff when zero.
func startCheckpointer(dsn string, writer *sql.DB, restartFrames int, backoff time.Duration) (*checkpointer, error) {
	c, err := openSQLite(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if restartFrames <= 0 {
		restartFrames = walRestartFrames
	}
	if backoff <= 0 {
		backoff = restartBackoff
	}
	cp := &checkpointer{db: db, writer: writer, restartFrames: restartFrames, backoff: backoff}
	cp.halt = periodic.Start(context.Background(), checkpointEvery, cp.tick)
	return cp, nil
}

// tick runs one checkpoint, and a restart when the WAL has grown past its
// bound. A failure (the file busy, a disk error) is left for the next tick,
// and for the writer's own checks: nothing is lost by a checkpoint not
// made, the WAL only grows.
func (cp *checkpointer) tick(ctx context.Context) {
	var busy, frames, copied int
	if err := cp.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied); err != nil {
		return
	}
	// A WAL restarted but not yet written to still counts its old frames:
	// the next commit starts it over.
	if frames <= cp.restartFrames || frames == cp.restartedAt || time.Now().Before(cp.retryAt) {
		return
	}
	if cp.restart(ctx) {
		cp.restartedAt = frames
	} else {
		cp.retryAt = time.Now().Add(cp.backoff)
	}
}

// restart runs a RESTART checkpoint on the writer's connection, waiting at
// most restartWait for the readers of older snapshots, and says whether it
// finished.
func (cp *checkpointer) restart(ctx context.Context) bool {
	conn, err := cp.writer.Conn(ctx)
	if err != nil {
		return false
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return false
	}
	var busy, frames, copied int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &copied)
	if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf("PRAGMA busy_timeout = %d", writerBusyTimeout.Milliseconds())); rerr != nil {
		// The writer must not keep the short timeout: drop the connection.
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err == nil && busy == 0
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
