package web

import (
	"context"
	"fmt"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/recado-sms/recado/internal/store"
)

// How long sessions last: 12 hours at most (from sign-in, when the token is
// renewed), and they end after 2 hours without a request. A request that
// reads a session pushes its expiry on only when it is due to, at most once
// every touchEvery, so an idle session ends between idleTimeout-touchEvery
// and idleTimeout after its last request.
const (
	sessionLifetime = 12 * time.Hour
	idleTimeout     = 2 * time.Hour
	touchEvery      = 5 * time.Minute
)

// sessionStore is the sessions' scs store, and keeps sessions alive while
// they are used.
//
// scs's own IdleTimeout is not set, on purpose: with it, scs saves every
// session on every request to push its expiry on, and a request that read
// the session before another request changed it (a page's poll in flight as
// the user picks a language, signs in or out) wrote its stale copy back: the
// change was lost, a signed-out session came back. Without it scs saves a
// session only when the request changed it, and hands Commit the session's
// absolute deadline; sessionStore caps the expiry at idleTimeout from now
// there, and pushes it on when a request finds the session, changing the
// expiry alone (store.Sessions.Extend), never the data. Two requests that
// both change the session still race (scs saves the whole of it); the
// requests that run beside others (polls, live previews, live pages) only
// read it once it has its CSRF token.
type sessionStore struct {
	db    *store.Sessions
	codec scs.Codec
	now   func() time.Time
}

func newSessionStore(db *store.DB, codec scs.Codec) *sessionStore {
	return &sessionStore{db: db.Sessions(), codec: codec, now: db.Now}
}

// expiry is when a session with this absolute deadline expires if no
// request comes after now.
func (s *sessionStore) expiry(now, deadline time.Time) time.Time {
	if idle := now.Add(idleTimeout); idle.Before(deadline) {
		return idle
	}
	return deadline
}

// FindCtx returns an unexpired session's data, and pushes its expiry on if
// the last push is touchEvery old.
func (s *sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	ss, found, err := s.db.Load(ctx, token)
	if err != nil || !found {
		return nil, false, err
	}
	now := s.now()
	if ss.Expiry.After(now.Add(idleTimeout - touchEvery)) {
		return ss.Data, true, nil
	}
	deadline, _, err := s.codec.Decode(ss.Data)
	if err != nil {
		return nil, false, fmt.Errorf("web: decode session: %w", err)
	}
	if exp := s.expiry(now, deadline); exp.After(ss.Expiry) {
		if err := s.db.Extend(ctx, token, exp); err != nil {
			return nil, false, err
		}
	}
	return ss.Data, true, nil
}

// CommitCtx stores a session a request changed. deadline is the session's
// absolute one (scs passes it as the expiry when it has no IdleTimeout).
func (s *sessionStore) CommitCtx(ctx context.Context, token string, b []byte, deadline time.Time) error {
	return s.db.Save(ctx, token, b, s.expiry(s.now(), deadline))
}

// DeleteCtx removes a session.
func (s *sessionStore) DeleteCtx(ctx context.Context, token string) error {
	return s.db.Delete(ctx, token)
}

// Find, Commit and Delete are scs's forms without a context; scs calls the
// ones with.
func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *sessionStore) Commit(token string, b []byte, deadline time.Time) error {
	return s.CommitCtx(context.Background(), token, b, deadline)
}

func (s *sessionStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

var _ scs.CtxStore = (*sessionStore)(nil)
