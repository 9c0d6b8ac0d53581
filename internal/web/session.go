package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/alexedwards/scs/v2"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Session keys.
const (
	sessUser = "user_id"
	sessCSRF = "csrf"
	sessLang = "lang"
)

// newSessions makes the session manager: sessions live in the database,
// last 12 hours at most and end after 2 idle hours (see sessionStore: scs's
// IdleTimeout stays unset).
func newSessions(db *store.DB, secure bool) *scs.SessionManager {
	sm := scs.New()
	sm.Store = newSessionStore(db, sm.Codec)
	sm.Lifetime = sessionLifetime
	sm.Cookie.Name = "recado_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Path = "/"
	return sm
}

// authenticate puts the signed-in user, read again from the database on
// every request (a deactivated user is out at once), on the request's
// context.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id := s.sessions.GetInt64(ctx, sessUser)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := s.DB.GetUser(ctx, id)
		if err != nil && sms.KindOf(err) != sms.KindNotFound {
			s.renderError(w, r, err)
			return
		}
		if err != nil || !u.Active {
			// The user is gone or deactivated: the session ends.
			if err := s.sessions.Destroy(ctx); err != nil {
				s.renderError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		au := accounts.AuthUser(u)
		ctx = withPrincipal(ctx, auth.Principal{User: au})
		ctx = withUser(ctx, u)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// csrfField is the form field, and csrfHeader the header (htmx sends it),
// carrying the session's CSRF token.
const (
	csrfField  = "csrf_token"
	csrfHeader = "X-CSRF-Token"
)

// maxUploadBytes bounds the body of a multipart form, the one kind that
// carries files (a contacts file of a million rows is about 60 MB);
// maxFormBytes bounds every other body the UI takes.
const (
	maxUploadBytes = 128 << 20
	maxFormBytes   = 10 << 20
)

// csrf refuses a state-changing request that does not carry the session's
// CSRF token. Every form of the UI has it; another site cannot read it.
func (s *Server) csrf(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		multipart := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
		if multipart {
			r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
		} else {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		want := s.sessions.GetString(r.Context(), sessCSRF)
		got := r.Header.Get(csrfHeader)
		if got == "" {
			// Large uploads spill to disk instead of memory.
			var err error
			if multipart {
				err = r.ParseMultipartForm(8 << 20)
			} else {
				err = r.ParseForm()
			}
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) || strings.Contains(err.Error(), "too large") {
					s.renderError(w, r, &sms.Error{Kind: sms.KindTooLarge, Message: "the form is too large"})
					return
				}
				s.renderError(w, r, sms.Errorf(sms.KindInvalid, "unreadable form: %v", err))
				return
			}
			got = r.PostFormValue(csrfField)
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
			s.renderError(w, r, sms.Errorf(sms.KindForbidden, "the form expired or did not come from this site: reload the page and try again"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// csrfToken returns the session's CSRF token, making one when it has none.
func (s *Server) csrfToken(r *http.Request) string {
	ctx := r.Context()
	if t := s.sessions.GetString(ctx, sessCSRF); t != "" {
		return t
	}
	t := newToken(s.cfg.Rand)
	s.sessions.Put(ctx, sessCSRF, t)
	return t
}

func newToken(rnd io.Reader) string {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// flashCookie holds a one-time notice for the next page the user sees.
const flashCookie = "recado_flash"

// flash keeps a one-time notice for the next page the user sees, in a
// cookie of its own, not in the session: the notice is set and cleared
// while other requests of the same session are in flight (the composer's
// live preview as the form is sent), and a request that changes the session
// saves the whole of it, as it read it plus its own change (see
// sessionStore).
func (s *Server) flash(w http.ResponseWriter, r *http.Request, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(msg)),
		Path: "/", MaxAge: 300, HttpOnly: true, Secure: s.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
}

// popFlash returns the notice flash kept, and clears it.
func (s *Server) popFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
	msg, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || !utf8.Valid(msg) {
		return ""
	}
	return string(msg)
}

type userKey struct{}

func withUser(ctx context.Context, u store.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// userFrom returns the signed-in user's stored record.
func userFrom(ctx context.Context) (store.User, bool) {
	u, ok := ctx.Value(userKey{}).(store.User)
	return u, ok
}
