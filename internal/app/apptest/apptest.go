// Package apptest runs a whole Recado in a test, as net/http/httptest runs a
// server: the same wiring as `recado serve` (app.New), served over real HTTP
// on loopback, with cheap password hashing and a known manager token, and
// helpers to make operators and to call the API.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/store"
)

// ManagerToken is the API token of the bootstrap manager "admin".
const ManagerToken = "test-bootstrap-token-000000000000"

// ManagerPassword is the password of the bootstrap manager "admin".
const ManagerPassword = "test-admin-password"

// CheapPasswords are argon2id parameters at their minimum, so that creating
// users costs microseconds. They are for tests only.
var CheapPasswords = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Option changes the configuration New builds the app with.
type Option func(*options)

type options struct {
	cfg       app.Config
	workers   bool
	publicURL bool
}

// WithDatabase uses the database at dsn (a SQLite path or a postgres:// URL,
// as storetest gives) instead of a SQLite file in the test's temp folder.
func WithDatabase(dsn string) Option {
	return func(o *options) { o.cfg.DatabaseURL = dsn }
}

// WithDataDir uses dir as the data folder (its secret key included), so that
// a second app opened on the same folder and database reads what the first
// stored, as after a restart.
func WithDataDir(dir string) Option {
	return func(o *options) { o.cfg.DataDir = dir }
}

// WithDispatch tunes the queue. New already sets a short poll interval.
func WithDispatch(c dispatch.Config) Option {
	return func(o *options) { o.cfg.Dispatch = c }
}

// WithProviderTypes replaces the built-in provider types.
func WithProviderTypes(types ...provider.Type) Option {
	return func(o *options) { o.cfg.ProviderTypes = types }
}

// WithConfig lets a test change any part of the configuration.
func WithConfig(f func(*app.Config)) Option {
	return func(o *options) { f(&o.cfg) }
}

// WithWorkers starts the queue's workers and the webhook deliverer, stopped
// when the test ends. Without it messages are accepted and stay queued.
func WithWorkers() Option {
	return func(o *options) { o.workers = true }
}

// WithPublicURL makes the server's own URL Recado's public URL, so that
// providers are told to post their webhooks to it (a fake Kolmeya then
// reaches this Recado).
func WithPublicURL() Option {
	return func(o *options) { o.publicURL = true }
}

// Server is a running Recado.
type Server struct {
	App   *app.App
	URL   string // base URL of the HTTP server, without a trailing slash
	Token string // the manager's API token (ManagerToken)

	client *http.Client
}

// New builds a Recado on a fresh database and serves it on loopback until
// the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := &options{cfg: app.Config{
		DataDir:        t.TempDir(),
		AdminPassword:  ManagerPassword,
		BootstrapToken: ManagerToken,
		PasswordCost:   &CheapPasswords,
		Out:            io.Discard,
		Logger:         slog.New(slog.DiscardHandler),
		ShutdownGrace:  5 * time.Second,
	}}
	for _, opt := range opts {
		opt(o)
	}
	if o.cfg.Dispatch.PollInterval == 0 {
		o.cfg.Dispatch.PollInterval = 20 * time.Millisecond
	}
	if o.cfg.Webhooks.PollInterval == 0 {
		o.cfg.Webhooks.PollInterval = 20 * time.Millisecond
	}
	// The listener comes first, so that its address can be the public URL.
	hs := httptest.NewUnstartedServer(nil)
	if o.publicURL {
		o.cfg.PublicURL = "http://" + hs.Listener.Addr().String()
	}
	ctx := context.Background()
	a, err := app.New(ctx, o.cfg)
	if err != nil {
		hs.Close()
		t.Fatalf("app.New: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	if o.workers {
		if err := a.Dispatch.Start(ctx); err != nil {
			t.Fatalf("start workers: %v", err)
		}
		if err := a.Webhooks.Start(ctx); err != nil {
			t.Fatalf("start webhooks: %v", err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := a.Dispatch.Stop(stopCtx); err != nil {
				t.Errorf("stop workers: %v", err)
			}
			if err := a.Webhooks.Stop(stopCtx); err != nil {
				t.Errorf("stop webhooks: %v", err)
			}
		})
	}
	hs.Config.Handler = a.Handler
	hs.Start()
	t.Cleanup(hs.Close)
	return &Server{App: a, URL: hs.URL, Token: ManagerToken, client: hs.Client()}
}

// Request is one HTTP call. Body is sent as is when it is a string, []byte
// or json.RawMessage, not at all when nil, and as JSON otherwise. Token, when
// set, goes in "Authorization: Bearer"; Header may set anything else, the
// Authorization header included.
type Request struct {
	Method string
	Path   string
	Token  string
	Body   any
	Header http.Header
}

// Response is what the server answered.
type Response struct {
	Status int
	Body   []byte
	Header http.Header
}

// Send makes the request and reads the whole answer.
func (s *Server) Send(t testing.TB, r Request) Response {
	t.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	case json.RawMessage:
		body = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("%s %s: encode body: %v", r.Method, r.Path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(r.Method, s.URL+r.Path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", r.Method, r.Path, err)
	}
	return Response{Status: resp.StatusCode, Body: out, Header: resp.Header}
}

// Do makes a request with token (none when empty) and body (see Request).
func (s *Server) Do(t testing.TB, method, path, token string, body any) (int, []byte, http.Header) {
	t.Helper()
	r := s.Send(t, Request{Method: method, Path: path, Token: token, Body: body})
	return r.Status, r.Body, r.Header
}

// JSON makes a request that must answer want, and decodes its JSON body
// into a T.
func JSON[T any](t testing.TB, s *Server, method, path, token string, body any, want int) T {
	t.Helper()
	status, raw, _ := s.Do(t, method, path, token, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, want, raw)
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s %s: decode %T: %v; body: %s", method, path, v, err, raw)
	}
	return v
}

// CreateUser adds an active user with role and an API token for it, through
// the accounts service, and returns both.
func (s *Server) CreateUser(t testing.TB, username string, role auth.Role) (store.User, string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.App.Accounts.CreateUser(ctx, username, "Test "+username, role, "password-of-"+username)
	if err != nil {
		t.Fatalf("create user %s: %v", username, err)
	}
	token, _, err := s.App.Accounts.CreateToken(ctx, u.ID, "test")
	if err != nil {
		t.Fatalf("create token for %s: %v", username, err)
	}
	return u, token
}

// Operator adds an operator (role "user") and returns it with its token.
func (s *Server) Operator(t testing.TB, username string) (store.User, string) {
	t.Helper()
	return s.CreateUser(t, username, auth.RoleUser)
}

// Eventually calls cond every few milliseconds until it returns true or
// timeout passes, then fails the test saying what was awaited.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
