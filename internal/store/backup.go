package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
)

// ErrBackupPostgres is returned by Backup on PostgreSQL, whose own tools
// make consistent online copies: pg_dump, or the server's base backups.
var ErrBackupPostgres = errors.New("store: backup: use pg_dump for PostgreSQL")

// BackupStats describe a copy Backup made.
type BackupStats struct {
	Bytes    int64
	Messages int64
	Users    int64
}

// Backup writes a consistent copy of the SQLite database to path, which
// must not exist, while Recado goes on running: VACUUM INTO reads the
// database in one read transaction (writers go on, in WAL mode) and writes
// a compact copy with no WAL of its own. The copy is then opened and
// checked (PRAGMA integrity_check); a copy that fails the check is removed.
// The secret key that seals provider secrets is not in the database: see
// docs/OPERATIONS.md.
func (db *DB) Backup(ctx context.Context, path string) (BackupStats, error) {
	if db.dialect != SQLite {
		return BackupStats{}, ErrBackupPostgres
	}
	if _, err := os.Stat(path); err == nil {
		return BackupStats{}, fmt.Errorf("store: backup: %s already exists; choose a new file", path)
	}
	if _, err := db.write.ExecContext(ctx, `VACUUM INTO ?1`, path); err != nil {
		os.Remove(path)
		return BackupStats{}, wrapDBErr("backup", err)
	}
	st, err := checkCopy(ctx, path)
	if err != nil {
		os.Remove(path)
		return BackupStats{}, err
	}
	return st, nil
}

// checkCopy opens the copy at path read-only, checks its integrity and
// counts what it holds.
func checkCopy(ctx context.Context, path string) (BackupStats, error) {
	// Immutable: read it as a file, with no lock and no -wal or -shm beside it.
	c, err := sql.Open("sqlite", "file:"+path+"?mode=ro&immutable=1")
	if err != nil {
		return BackupStats{}, fmt.Errorf("store: backup: open the copy: %w", err)
	}
	defer c.Close()
	var check string
	if err := c.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		return BackupStats{}, fmt.Errorf("store: backup: the copy fails its integrity check: %q %v", check, err)
	}
	var st BackupStats
	if err := c.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM users)`).Scan(&st.Messages, &st.Users); err != nil {
		return BackupStats{}, fmt.Errorf("store: backup: read the copy: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return BackupStats{}, err
	}
	st.Bytes = fi.Size()
	return st, nil
}
