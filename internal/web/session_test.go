package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestSessionChangeSurvivesAStaleRequest: a request that read the session
// before another request changed it (a page's htmx poll in flight as the
// user picks a language or signs out) must not undo the change when it ends:
// it neither saves the session as it read it nor hands the browser the
// session's old cookie back.
func TestSessionChangeSurvivesAStaleRequest(t *testing.T) {
	tests := []struct {
		name     string
		signedIn bool
		// change makes the change, with the session's token and CSRF token.
		change func(t *testing.T, srv *Server, token, csrf string)
		// check looks at the session once the stale request has ended.
		check func(t *testing.T, srv *Server, token string)
	}{{
		name: "a language chosen before signing in",
		change: func(t *testing.T, srv *Server, token, csrf string) {
			p := serve(t, srv.Handler(), http.MethodPost, "/language", token,
				url.Values{csrfField: {csrf}, "lang": {"en"}, "next": {"/login"}})
			if p.Code != http.StatusSeeOther {
				t.Fatalf("switch language: status %d: %s", p.Code, p.Body)
			}
		},
		check: func(t *testing.T, srv *Server, token string) {
			if got := sessionValue(t, srv, token, sessLang); got != "en" {
				t.Fatalf("the session's language is %q, want en", got)
			}
			p := serve(t, srv.Handler(), http.MethodGet, "/login", token, nil)
			if !strings.Contains(p.Body.String(), `<html lang="en"`) {
				t.Fatalf("the sign-in page is not in English:\n%.300s", p.Body)
			}
		},
	}, {
		name:     "signing out",
		signedIn: true,
		change: func(t *testing.T, srv *Server, token, csrf string) {
			p := serve(t, srv.Handler(), http.MethodPost, "/logout", token, url.Values{csrfField: {csrf}})
			if p.Code != http.StatusSeeOther {
				t.Fatalf("sign out: status %d: %s", p.Code, p.Body)
			}
		},
		check: func(t *testing.T, srv *Server, token string) {
			if _, found, err := srv.DB.Sessions().Load(context.Background(), token); err != nil || found {
				t.Fatalf("the signed-out session is back: found=%v err=%v", found, err)
			}
		},
	}}
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		db := storetest.Open(t, dsn, store.Options{})
		srv, err := New(Deps{DB: db}, Config{})
		if err != nil {
			t.Fatal(err)
		}
		u, err := db.CreateUser(context.Background(), store.User{Username: "fulana", Name: "Fulana", Role: string(auth.RoleUser),
			PasswordHash: "x", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// A session with a CSRF token, signed in as fulana if the
				// case wants it.
				ctx, err := srv.sessions.Load(context.Background(), "")
				if err != nil {
					t.Fatal(err)
				}
				if tt.signedIn {
					srv.sessions.Put(ctx, sessUser, u.ID)
				}
				srv.sessions.Put(ctx, sessCSRF, "csrf-"+tt.name)
				token, _, err := srv.sessions.Commit(ctx)
				if err != nil {
					t.Fatal(err)
				}

				// The stale request reads the session, then waits until
				// the change is made.
				loaded, release := make(chan struct{}), make(chan struct{})
				stale := srv.sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					srv.sessions.GetString(r.Context(), sessCSRF)
					close(loaded)
					<-release
					w.Write([]byte("stats"))
				}))
				var wg sync.WaitGroup
				var staleAnswer *httptest.ResponseRecorder
				wg.Go(func() { staleAnswer = serve(t, stale, http.MethodGet, "/campaigns/1/stats", token, nil) })
				<-loaded
				tt.change(t, srv, token, "csrf-"+tt.name)
				close(release)
				wg.Wait()

				if c := staleAnswer.Result().Cookies(); len(c) != 0 {
					t.Errorf("the stale request sets the cookie %v", c)
				}
				tt.check(t, srv, token)
			})
		}
	})
}

// serve runs one request of the session token (none when empty) through h.
func serve(t *testing.T, h http.Handler, method, path, token string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "recado_session", Value: token})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// sessionValue reads one string of the stored session token.
func sessionValue(t *testing.T, srv *Server, token, key string) string {
	t.Helper()
	ctx, err := srv.sessions.Load(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	return srv.sessions.GetString(ctx, key)
}
