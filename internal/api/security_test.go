package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestSQLInjectionSweep sends every injection in sqlInjections through
// every query parameter and every path parameter of every operation that
// reads (GET), on both databases, as a manager. Each is answered 200 with
// what the value means literally, or 4xx; never 5xx, never slowly (a
// pg_sleep that ran would take 5 s); searches find exactly what contains
// the value, a provider filter finds nothing; and afterwards every table
// is there with the same rows, and no file was attached.
func TestSQLInjectionSweep(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))
		contacts := map[string]string{"Fulana Teste": "11900000001", "Ciclana Teste": "11900000002", "Beltrano O'Brien": "11900000003"}
		for name, phone := range contacts {
			apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/contacts", s.Token, map[string]any{"name": name, "phone": phone}, http.StatusCreated)
		}
		apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/messages", s.Token, map[string]any{"to": "11900000001", "body": "oi"}, http.StatusAccepted)
		apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/blacklist", s.Token, map[string]any{"phones": []string{"11900000009"}}, http.StatusOK)
		before := tableCounts(t, s)

		// A legitimate search with a quote works.
		if got := searchNames(t, s, "O'Brien"); fmt.Sprint(got) != "[Beltrano O'Brien]" {
			t.Errorf("searching O'Brien found %v", got)
		}
		for _, op := range apiOperations() {
			if op.method != http.MethodGet {
				continue
			}
			for _, v := range sqlInjections {
				var paths []string
				for _, name := range op.query {
					q := url.Values{}
					q.Set(name, v)
					paths = append(paths, op.path+"?"+q.Encode())
				}
				for _, name := range op.params {
					paths = append(paths, op.withPath(name, v))
				}
				for _, p := range paths {
					start := time.Now()
					r := s.Send(t, apptest.Request{Method: op.method, Path: p, Token: s.Token})
					if took := time.Since(start); took > 3*time.Second {
						t.Errorf("%s %s took %v: did the injection run?", op.method, p, took)
					}
					checkAnswer(t, op.method+" "+p, r)
				}
			}
		}
		for _, v := range sqlInjections {
			var want []string
			digits := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, v)
			for name, phone := range contacts {
				if q := strings.TrimSpace(v); q != "" && (strings.Contains(strings.ToLower(name), strings.ToLower(q)) ||
					(digits != "" && strings.Contains("+55"+phone, digits)) || (digits == "" && strings.Contains("+55"+phone, q))) {
					want = append(want, name)
				}
			}
			slices.Sort(want)
			if strings.TrimSpace(v) == "" {
				continue
			}
			if strings.Contains(v, "\x00") {
				r := s.Send(t, apptest.Request{Method: http.MethodGet, Path: "/api/v1/contacts?" + url.Values{"q": {v}}.Encode(), Token: s.Token})
				if r.Status != http.StatusUnprocessableEntity {
					t.Errorf("a search with a NUL byte: %d %s, want 422", r.Status, r.Body)
				}
				continue
			}
			if got := searchNames(t, s, v); !slices.Equal(got, want) {
				t.Errorf("contacts searched with %q: %v, want %v", v, got, want)
			}
			q := url.Values{"q": {v}}
			if r := s.Send(t, apptest.Request{Method: http.MethodGet, Path: "/api/v1/blacklist?" + q.Encode(), Token: s.Token}); r.Status == http.StatusOK {
				var bl struct{ Entries []struct{ Phone string } }
				json.Unmarshal(r.Body, &bl)
				if n := len(bl.Entries); n != 0 && !strings.Contains("+5511900000009", v) {
					t.Errorf("blacklist searched with %q found %d numbers", v, n)
				}
			}
			q = url.Values{"provider": {v}}
			if r := s.Send(t, apptest.Request{Method: http.MethodGet, Path: "/api/v1/messages?" + q.Encode(), Token: s.Token}); r.Status == http.StatusOK {
				var page struct{ Messages []any }
				json.Unmarshal(r.Body, &page)
				if len(page.Messages) != 0 {
					t.Errorf("messages of provider %q: %d found", v, len(page.Messages))
				}
			}
		}
		if after := tableCounts(t, s); !maps.Equal(before, after) {
			t.Errorf("rows changed by reading: before %v, after %v", before, after)
		}
		if _, err := os.Stat("/tmp/recado-pwned.db"); err == nil {
			t.Error("an injected ATTACH created /tmp/recado-pwned.db")
		}
	})
}

// tableCounts counts the rows of the tables an injection would aim at.
func tableCounts(t *testing.T, s *apptest.Server) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"users", "api_tokens", "providers", "contacts", "messages", "message_events", "blacklist", "webhook_endpoints"} {
		var n int
		if err := s.App.DB.Reader().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatalf("table %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// searchNames returns the names of the contacts a search for q finds,
// sorted.
func searchNames(t *testing.T, s *apptest.Server, q string) []string {
	t.Helper()
	page := apptest.JSON[struct{ Contacts []struct{ Name string } }](t, s, http.MethodGet,
		"/api/v1/contacts?"+url.Values{"q": {q}}.Encode(), s.Token, nil, http.StatusOK)
	var names []string
	for _, c := range page.Contacts {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	return names
}

// Obviously fake credentials of the security tests.
const (
	k1Secret    = "k1-webhook-secret-0123456789abcdef"
	k1JWTKey    = "k1-jwt-key-0123456789abcdef0123456789"
	k2Secret    = "k2-webhook-secret-0123456789abcdef"
	k2JWTKey    = "k2-jwt-key-0123456789abcdef0123456789"
	kolmeyaTok1 = "kolmeya-token-of-k1-000000000000"
	kolmeyaTok2 = "kolmeya-token-of-k2-000000000000"
)

// sentThroughKolmeya configures providers k1 and k2 on fake Kolmeyas and
// sends one message through k1; it returns the message once sent.
func sentThroughKolmeya(t *testing.T, s *apptest.Server) api.Message {
	t.Helper()
	for _, p := range []struct{ name, token, secret, jwtKey string }{{"k1", kolmeyaTok1, k1Secret, k1JWTKey}, {"k2", kolmeyaTok2, k2Secret, k2JWTKey}} {
		fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: p.token, RateLimit: -1, SentAfter: time.Hour, FinalAfter: time.Hour})
		t.Cleanup(fake.Close)
		apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/providers", s.Token, map[string]any{"name": p.name, "type": "kolmeya",
			"settings": map[string]any{"base_url": fake.URL(), "token": p.token, "webhook_secret": p.secret, "webhook_jwt_secret": p.jwtKey}}, http.StatusCreated)
	}
	m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", s.Token, map[string]any{"to": "11900000001", "body": "oi", "provider": "k1"}, http.StatusAccepted)
	apptest.Eventually(t, 20*time.Second, "the message sent through k1", func() bool {
		m = apptest.JSON[api.Message](t, s, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", m.ID), s.Token, nil, http.StatusOK)
		return m.State == sms.StateSent
	})
	return m
}

func signedJWT(t *testing.T, m jwt.SigningMethod, key any, exp time.Duration) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(m, jwt.MapClaims{"exp": time.Now().Add(exp).Unix(), "iat": time.Now().Add(-time.Minute).Unix()}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestWebhookCredentialAttacks tries to move a message through Kolmeya's
// webhook with every credential that is not k1's own: another provider's
// secret or JWT key, a JWT keyed by the URL secret or by an API token, an
// API token itself, tokens with alg none or expired, the mock provider's
// path, changed case, paths that try to climb out. Every try is refused
// alike (or not routed at all), and the message does not move; then k1's
// own secret and JWT move it, as a control.
func TestWebhookCredentialAttacks(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		m := sentThroughKolmeya(t, s)
		body := fmt.Sprintf(`{"id":%q,"reference":%q,"status_code":3,"status":"entregue"}`, m.ProviderMessageID, m.Reference)
		hook := func(path, authorization string) apptest.Response {
			h := http.Header{}
			if authorization != "" {
				h.Set("Authorization", authorization)
			}
			return s.Send(t, apptest.Request{Method: http.MethodPost, Path: path, Body: body, Header: h})
		}
		k1 := "/webhooks/kolmeya/k1/"
		attacks := []struct {
			name, path, authorization string
		}{
			{"k2's secret on k1's path", k1 + k2Secret, ""},
			{"k1's secret on k2's path", "/webhooks/kolmeya/k2/" + k1Secret, ""},
			{"k1's secret on the mock provider's path", "/webhooks/kolmeya/mock/" + k1Secret, ""},
			{"an unknown provider", "/webhooks/kolmeya/nobody/" + k1Secret, ""},
			{"k1's secret in upper case", k1 + strings.ToUpper(k1Secret), ""},
			{"k1's secret with a byte more", k1 + k1Secret + "x", ""},
			{"k1's secret cut short", k1 + k1Secret[:len(k1Secret)-1], ""},
			{"a JWT signed with k2's key", k1 + "x", "Bearer " + signedJWT(t, jwt.SigningMethodHS256, []byte(k2JWTKey), time.Minute)},
			{"a JWT signed with k1's URL secret", k1 + "x", "Bearer " + signedJWT(t, jwt.SigningMethodHS256, []byte(k1Secret), time.Minute)},
			{"a JWT signed with the manager's API token", k1 + "x", "Bearer " + signedJWT(t, jwt.SigningMethodHS256, []byte(s.Token), time.Minute)},
			{"a JWT with alg none", k1 + "x", "Bearer " + signedJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, time.Minute)},
			{"an expired JWT by k1's key", k1 + "x", "Bearer " + signedJWT(t, jwt.SigningMethodHS256, []byte(k1JWTKey), -time.Hour)},
			{"a JWT by k1's key, HS512", k1 + "x", "Bearer " + signedJWT(t, jwt.SigningMethodHS512, []byte(k1JWTKey), time.Minute)},
			{"the manager's API token as the bearer", k1 + "x", "Bearer " + s.Token},
			{"Basic credentials", k1 + "x", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+apptest.ManagerPassword))},
		}
		var refusal string
		for _, a := range attacks {
			r := hook(a.path, a.authorization)
			if r.Status != http.StatusUnauthorized {
				t.Errorf("%s: %d %s, want 401", a.name, r.Status, r.Body)
				continue
			}
			if refusal == "" {
				refusal = string(r.Body)
			} else if string(r.Body) != refusal {
				t.Errorf("%s: the refusal says something the others do not: %s", a.name, r.Body)
			}
		}
		for _, p := range []string{k1 + k1Secret + "/extra", "/webhooks/kolmeya/k1", "/webhooks/kolmeya/k1/../../api/v1/users",
			"/webhooks/kolmeya/%2e%2e/api/v1/users", "/webhooks/" + k1Secret} {
			if r := hook(p, ""); r.Status == http.StatusOK || strings.Contains(string(r.Body), "username") {
				t.Errorf("POST %s: %d %s", p, r.Status, r.Body)
			}
		}
		if r := s.Send(t, apptest.Request{Method: http.MethodGet, Path: k1 + k1Secret}); r.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET on the webhook: %d", r.Status)
		}
		got := apptest.JSON[api.Message](t, s, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", m.ID), s.Token, nil, http.StatusOK)
		if got.State != sms.StateSent || len(got.Events) != 3 {
			t.Fatalf("after the attacks the message is %s with %d events", got.State, len(got.Events))
		}
		// The control: k1's own JWT, then its own secret.
		if r := hook(k1+"x", "Bearer "+signedJWT(t, jwt.SigningMethodHS256, []byte(k1JWTKey), time.Minute)); r.Status != http.StatusOK {
			t.Fatalf("k1's own JWT: %d %s", r.Status, r.Body)
		}
		if r := hook(k1+k1Secret, ""); r.Status != http.StatusOK {
			t.Fatalf("k1's own secret: %d %s", r.Status, r.Body)
		}
		if got := apptest.JSON[api.Message](t, s, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", m.ID), s.Token, nil, http.StatusOK); got.State != sms.StateDelivered {
			t.Fatalf("with k1's credentials the message is %s", got.State)
		}
	})
}

// leakScanner records what a test session was answered and what Recado
// logged, and fails the test if a secret appears anywhere but in the one
// answer allowed to show it.
type leakScanner struct {
	logs    *syncBuffer
	answers []answer
}

type answer struct {
	what string // the request, which may hold a secret: not scanned
	text string // the answer's headers and body
}

func (l *leakScanner) keep(what string, r apptest.Response) apptest.Response {
	l.answers = append(l.answers, answer{what, fmt.Sprint(r.Header) + "\n" + string(r.Body)})
	return r
}

// TestSecretsNeverLeak runs a realistic session — Kolmeya providers
// configured with their token, webhook secret and JWT key; an endpoint for
// Recado's own webhooks; users with passwords and API tokens; messages
// sent, failed, retried, delivered by webhook, answered with an opt-out;
// wrong credentials of every kind; every list, every provider view, the
// metrics and the OpenAPI document — capturing Recado's log at debug level.
// No secret may appear in the log, in any answer (headers included) or
// error body, except the endpoint secret and each API token in the one
// answer that made it, as documented.
func TestSecretsNeverLeak(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		l := &leakScanner{logs: &syncBuffer{}}
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers(), apptest.WithPublicURL(), apptest.WithConfig(func(c *app.Config) {
			c.Logger = slog.New(slog.NewJSONHandler(l.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c.Dispatch.Retry = []time.Duration{10 * time.Millisecond}
		}))
		call := func(method, path, token string, body any) apptest.Response {
			t.Helper()
			return l.keep(method+" "+path, s.Send(t, apptest.Request{Method: method, Path: path, Token: token, Body: body}))
		}
		fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: kolmeyaTok1, RateLimit: -1, SentAfter: time.Millisecond, FinalAfter: time.Millisecond})
		t.Cleanup(fake.Close)
		secrets := []string{kolmeyaTok1, kolmeyaTok2, k1Secret, k1JWTKey, k2Secret, k2JWTKey, apptest.ManagerToken, apptest.ManagerPassword}

		call(http.MethodPost, "/api/v1/providers", s.Token, map[string]any{"name": "k1", "type": "kolmeya", "default": true,
			"settings": map[string]any{"base_url": fake.URL(), "token": kolmeyaTok1, "webhook_secret": k1Secret, "webhook_jwt_secret": k1JWTKey}})
		call(http.MethodPost, "/api/v1/providers", s.Token, map[string]any{"name": "k2", "type": "kolmeya",
			"settings": map[string]any{"base_url": "http://127.0.0.1:1/api/v1", "token": kolmeyaTok2, "webhook_secret": k2Secret}})
		// Bad settings are refused: the errors name the fields, never the
		// secrets' values.
		call(http.MethodPost, "/api/v1/providers", s.Token, map[string]any{"name": "k3", "type": "kolmeya",
			"settings": map[string]any{"token": kolmeyaTok2, "webhook_secret": k2Secret[:10]}})
		call(http.MethodPost, "/api/v1/providers", s.Token, map[string]any{"name": "k3", "type": "kolmeya",
			"settings": map[string]any{"token": kolmeyaTok2, "webhook_jwt_secret": k2JWTKey[:20], "segment_id": "x"}})
		call(http.MethodPost, "/api/v1/providers", s.Token, map[string]any{"name": "k3", "type": "kolmeya",
			"settings": map[string]any{"token": kolmeyaTok2, "timeout": "-1s", "base_url": "ftp://x"}})
		call(http.MethodPatch, "/api/v1/providers/k2", s.Token, map[string]any{"settings": map[string]any{"webhook_jwt_secret": k2JWTKey}})

		// Users, passwords, tokens.
		const opPassword = "operator-password-fake-1"
		r := call(http.MethodPost, "/api/v1/users", s.Token, map[string]any{"username": "olga", "name": "Fulana Teste", "role": "user", "password": opPassword})
		var user struct{ ID int64 }
		json.Unmarshal(r.Body, &user)
		secrets = append(secrets, opPassword)
		r = call(http.MethodPost, fmt.Sprintf("/api/v1/users/%d/tokens", user.ID), s.Token, map[string]any{"name": "crm"})
		var tok struct{ Token string }
		json.Unmarshal(r.Body, &tok)
		opToken := tok.Token
		l.answers = l.answers[:len(l.answers)-1] // the one answer that shows the token
		call(http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", user.ID), s.Token, map[string]any{"password": "too short"})
		call(http.MethodPatch, fmt.Sprintf("/api/v1/users/%d", user.ID), s.Token, map[string]any{"password": opPassword + "-2"})
		secrets = append(secrets, opToken, opPassword+"-2")

		// Recado's own webhooks, to a receiver that answers 500 at first.
		var failing atomic.Bool
		failing.Store(true)
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if failing.Load() {
				http.Error(w, "receiver down", http.StatusInternalServerError)
			}
		}))
		t.Cleanup(rcv.Close)
		r = s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/webhooks", Token: s.Token,
			Body: map[string]any{"url": rcv.URL + "/hooks", "events": []string{"message.sent", "message.delivered", "reply.received"}}})
		var ep struct {
			ID     int64
			Secret string
		}
		json.Unmarshal(r.Body, &ep)
		if ep.Secret == "" {
			t.Fatalf("create webhook: %d %s", r.Status, r.Body)
		}
		secrets = append(secrets, ep.Secret)

		// Messages: accepted, some failing first (Kolmeya down), delivered by
		// webhook, one answered SAIR.
		fake.SetFaults(kolmeyatest.Faults{FailNextSends: 2})
		call(http.MethodPost, "/api/v1/messages", opToken, map[string]any{"to": "11900000001", "body": "Seu código é 123456", "kind": "transactional"})
		call(http.MethodPost, "/api/v1/messages/batch", opToken, map[string]any{"messages": []map[string]any{
			{"to": "11900000002", "body": "Fatura"}, {"to": "11900000003", "body": "Fatura"}, {"to": "(11) 3333-0001", "body": "fixo"}}})
		call(http.MethodPost, "/api/v1/messages/batch", opToken, map[string]any{"messages": []map[string]any{
			{"to": "11900000002", "body": "Fatura"}, {"to": "11900000003", "body": "Fatura"}}})
		apptest.Eventually(t, 30*time.Second, "the messages sent", func() bool {
			return len(apptest.JSON[messageList](t, s, http.MethodGet, "/api/v1/messages?state=queued,sending", s.Token, nil, http.StatusOK).Messages) == 0
		})
		if _, err := fake.Reply("11900000002", "SAIR"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		fake.Tick(t.Context())
		failing.Store(false)
		apptest.Eventually(t, 30*time.Second, "the messages delivered", func() bool {
			return len(apptest.JSON[messageList](t, s, http.MethodGet, "/api/v1/messages?state=delivered", s.Token, nil, http.StatusOK).Messages) == 3
		})

		// Wrong credentials of every kind.
		call(http.MethodGet, "/api/v1/messages", "rcd_"+strings.Repeat("0", 40), nil)
		call(http.MethodGet, "/api/v1/messages", opToken+"x", nil)
		call(http.MethodGet, "/api/v1/users", opToken, nil)
		for _, p := range []string{"/webhooks/kolmeya/k1/" + k1Secret + "x", "/webhooks/kolmeya/k1/" + k2Secret, "/webhooks/kolmeya/k2/" + k1Secret} {
			l.keep("POST "+p, s.Send(t, apptest.Request{Method: http.MethodPost, Path: p, Body: `{"id":"x","status_code":3}`}))
		}
		l.keep("webhook with a JWT signed by the URL secret", s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/webhooks/kolmeya/k1/x",
			Body: `{"id":"x","status_code":3}`, Header: http.Header{"Authorization": {"Bearer " + signedJWT(t, jwt.SigningMethodHS256, []byte(k1Secret), time.Minute)}}}))
		l.keep("webhook with a bad body", s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/webhooks/kolmeya/k1/" + k1Secret, Body: `{"reply":`}))
		// The provider whose Kolmeya cannot be reached fails its balance
		// check; its error is shown.
		call(http.MethodPost, "/api/v1/providers/k2/balance", s.Token, nil)
		call(http.MethodPost, "/api/v1/providers/k1/balance", opToken, nil)
		call(http.MethodPost, "/api/v1/providers/k1/sync-blacklist", s.Token, nil)

		// Everything there is to read.
		for _, p := range []string{"/api/v1/providers", "/api/v1/providers/k1", "/api/v1/providers/k2", "/api/v1/users", "/api/v1/me",
			"/api/v1/me/tokens", fmt.Sprintf("/api/v1/users/%d/tokens", user.ID), "/api/v1/users/1/tokens", "/api/v1/webhooks",
			fmt.Sprintf("/api/v1/webhooks/%d", ep.ID), fmt.Sprintf("/api/v1/webhooks/%d/deliveries", ep.ID), "/api/v1/messages?limit=1000",
			"/api/v1/inbox", "/api/v1/blacklist", "/api/v1/contacts", "/api/openapi.json", "/metrics", "/readyz"} {
			call(http.MethodGet, p, s.Token, nil)
		}
		for i := int64(1); i <= 6; i++ {
			call(http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", i), s.Token, nil)
		}

		logs := l.logs.String()
		if !strings.Contains(logs, "kolmeya webhook refused") || !strings.Contains(logs, "will retry") {
			t.Fatalf("the log lacks the lines this session should cause; the scan would prove little:\n%.2000s", logs)
		}
		for _, secret := range secrets {
			if secret == "" {
				t.Fatal("a secret of the session is empty")
			}
			if strings.Contains(logs, secret) {
				i := strings.Index(logs, secret)
				t.Errorf("a secret is in the log: …%s…", logs[max(0, i-200):min(len(logs), i+len(secret)+50)])
			}
			for _, a := range l.answers {
				if strings.Contains(a.text, secret) {
					t.Errorf("a secret is in the answer to %s: %.500s", a.what, a.text)
				}
			}
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
