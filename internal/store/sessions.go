package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Sessions keeps the web UI's sessions in the database, so that every
// instance sees them and they survive a restart. It implements the session
// store interface of github.com/alexedwards/scs (Find, Commit, Delete and
// their context forms).
type Sessions struct{ db *DB }

// Sessions returns the session store on db.
func (db *DB) Sessions() *Sessions { return &Sessions{db: db} }

// FindCtx returns the data of an unexpired session.
func (s *Sessions) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.db.read.QueryRowContext(ctx, s.db.dialect.rebind(`SELECT data FROM sessions WHERE token = $1 AND expiry > $2`),
		token, s.db.now()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapDBErr("find session", err)
	}
	return b, true, nil
}

// CommitCtx stores a session's data and expiry, replacing what it had.
func (s *Sessions) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := s.db.write.ExecContext(ctx, s.db.dialect.rebind(`
INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`), token, b, expiry.UTC())
	return wrapDBErr("commit session", err)
}

// DeleteCtx removes a session; an unknown one is not an error.
func (s *Sessions) DeleteCtx(ctx context.Context, token string) error {
	_, err := s.db.write.ExecContext(ctx, s.db.dialect.rebind(`DELETE FROM sessions WHERE token = $1`), token)
	return wrapDBErr("delete session", err)
}

// Find is FindCtx without a context.
func (s *Sessions) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit is CommitCtx without a context.
func (s *Sessions) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete is DeleteCtx without a context.
func (s *Sessions) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// DeleteExpired removes sessions past their expiry and returns how many.
func (s *Sessions) DeleteExpired(ctx context.Context) (int64, error) {
	res, err := s.db.write.ExecContext(ctx, s.db.dialect.rebind(`DELETE FROM sessions WHERE expiry <= $1`), s.db.now())
	if err != nil {
		return 0, wrapDBErr("delete expired sessions", err)
	}
	return res.RowsAffected()
}

// LoginFailures is the count of failed sign-ins for one key ("user:<name>"
// or "addr:<ip>") in its current window.
type LoginFailures struct {
	Key         string
	Failures    int
	WindowStart time.Time
	LockedUntil *time.Time
}

// LoginFailures returns the failures recorded for key; a key never seen has
// none.
func (db *DB) LoginFailures(ctx context.Context, key string) (LoginFailures, error) {
	f := LoginFailures{Key: key}
	var locked sql.NullTime
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT failures, window_start, locked_until FROM login_failures WHERE key = $1`), key).
		Scan(&f.Failures, &f.WindowStart, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return f, nil
	}
	if err != nil {
		return f, wrapDBErr("login failures", err)
	}
	f.WindowStart = f.WindowStart.UTC()
	f.LockedUntil = nullTime(locked)
	return f, nil
}

// UpdateLoginFailures reads key's failures, lets update change them, and
// writes the result, in one transaction so that concurrent sign-ins on
// several instances count every failure.
func (db *DB) UpdateLoginFailures(ctx context.Context, key string, update func(*LoginFailures)) (LoginFailures, error) {
	var out LoginFailures
	err := db.InTx(ctx, func(tx *Tx) error {
		f := LoginFailures{Key: key}
		var locked sql.NullTime
		err := tx.QueryRowContext(ctx, db.dialect.rebind(`SELECT failures, window_start, locked_until FROM login_failures WHERE key = $1`+db.q.forUpdate), key).
			Scan(&f.Failures, &f.WindowStart, &locked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return wrapDBErr("login failures", err)
		}
		f.WindowStart = f.WindowStart.UTC()
		f.LockedUntil = nullTime(locked)
		update(&f)
		var until any
		if f.LockedUntil != nil {
			until = f.LockedUntil.UTC()
		}
		_, err = tx.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO login_failures (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4)
ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
                                locked_until = excluded.locked_until`), key, f.Failures, f.WindowStart.UTC(), until)
		out = f
		return wrapDBErr("record login failure", err)
	})
	return out, err
}

// ClearLoginFailures forgets key's failures, after a successful sign-in.
func (db *DB) ClearLoginFailures(ctx context.Context, key string) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM login_failures WHERE key = $1`), key)
	return wrapDBErr("clear login failures", err)
}
