package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Sessions keeps the web UI's sessions in the database, so that every
// instance sees them and they survive a restart. A session is a token (the
// cookie's value), its encoded data and the time it expires. The web UI
// decides what the data holds and when a session expires; its adapter to
// github.com/alexedwards/scs sits in internal/web.
type Sessions struct{ db *DB }

// Sessions returns the session store on db.
func (db *DB) Sessions() *Sessions { return &Sessions{db: db} }

// Session is one stored session.
type Session struct {
	Data   []byte
	Expiry time.Time
}

// Load returns an unexpired session.
func (s *Sessions) Load(ctx context.Context, token string) (Session, bool, error) {
	var ss Session
	err := s.db.read.QueryRowContext(ctx, s.db.dialect.rebind(`SELECT data, expiry FROM sessions WHERE token = $1 AND expiry > $2`),
		token, s.db.now()).Scan(&ss.Data, &ss.Expiry)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, false, nil
	}
	if err != nil {
		return Session{}, false, wrapDBErr("load session", err)
	}
	ss.Expiry = ss.Expiry.UTC()
	return ss, true, nil
}

// Save stores a session's data and expiry, replacing what it had.
func (s *Sessions) Save(ctx context.Context, token string, data []byte, expiry time.Time) error {
	_, err := s.db.write.ExecContext(ctx, s.db.dialect.rebind(`
INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`), token, data, expiry.UTC())
	return wrapDBErr("save session", err)
}

// Extend moves an unexpired session's expiry on to expiry, leaving its data
// as it is: a request that only read the session keeps it alive without
// writing back what it read over a change another request made meanwhile.
// It never brings back an expired or deleted session, nor moves an expiry
// back.
func (s *Sessions) Extend(ctx context.Context, token string, expiry time.Time) error {
	_, err := s.db.write.ExecContext(ctx, s.db.dialect.rebind(`UPDATE sessions SET expiry = $2 WHERE token = $1 AND expiry > $3 AND expiry < $2`),
		token, expiry.UTC(), s.db.now())
	return wrapDBErr("extend session", err)
}

// Delete removes a session; an unknown one is not an error.
func (s *Sessions) Delete(ctx context.Context, token string) error {
	_, err := s.db.write.ExecContext(ctx, s.db.dialect.rebind(`DELETE FROM sessions WHERE token = $1`), token)
	return wrapDBErr("delete session", err)
}

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
