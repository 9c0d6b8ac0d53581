package kolmeya

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

// testJWTKey is an obviously fake HS256 key.
const testJWTKey = "jwt-fake-key-0123456789abcdef0123"

// recordingSink is a provider.StatusSink that keeps what it is given, or
// fails when told to.
type recordingSink struct {
	mu      sync.Mutex
	calls   []sinkCall
	replies []provider.Reply
	fail    error
}

func (s *recordingSink) ApplyReplies(_ context.Context, name string, src sms.Source, r []provider.Reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.replies = append(s.replies, r...)
	return nil
}

type sinkCall struct {
	provider string
	source   sms.Source
	updates  []provider.StatusUpdate
}

func (s *recordingSink) ApplyStatuses(_ context.Context, name string, src sms.Source, u []provider.StatusUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.calls = append(s.calls, sinkCall{name, src, u})
	return nil
}

func (s *recordingSink) take() []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// hookEnv is a webhook handler served over real HTTP, for provider "k1"
// pointed at a fake Kolmeya.
type hookEnv struct {
	clk  *fakeClock
	fake *kolmeyatest.Server
	p    *Provider
	sink *recordingSink
	logs *bytes.Buffer
	url  string

	mu   sync.Mutex
	look error // what Lookup fails with, when set
}

func (e *hookEnv) failLookup(err error) {
	e.mu.Lock()
	e.look = err
	e.mu.Unlock()
}

func (s *recordingSink) failWith(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	e := &hookEnv{clk: newClock(), sink: &recordingSink{}, logs: &bytes.Buffer{}}
	e.fake = newFake(t, e.clk, kolmeyatest.Options{SentAfter: time.Second, FinalAfter: time.Second})
	e.p = newProvider(t, e.fake.URL(), e.clk, map[string]any{"webhook_jwt_secret": testJWTKey})
	noSecret := newProvider(t, e.fake.URL(), e.clk, map[string]any{"webhook_secret": nil})
	h := NewWebhookHandler(WebhookOptions{
		Lookup: func(_ context.Context, name string) (*Provider, error) {
			e.mu.Lock()
			look := e.look
			e.mu.Unlock()
			switch {
			case look != nil:
				return nil, look
			case name == "k1":
				return e.p, nil
			case name == "nosecret":
				return noSecret, nil
			}
			return nil, sms.Errorf(sms.KindNotFound, "no Kolmeya provider %q", name)
		},
		Sink:    e.sink,
		Replies: e.sink,
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:     e.clk.Now,
	})
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/kolmeya/{provider}/{secret}", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// post sends a webhook to path with an optional Bearer token.
func (e *hookEnv) post(t *testing.T, path, bearer, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// signJWT signs claims with method and key; exp and iat are offsets from
// now, and a nil offset leaves the claim out.
func signJWT(t *testing.T, method jwt.SigningMethod, key any, now time.Time, exp, iat *time.Duration) string {
	t.Helper()
	claims := jwt.MapClaims{"sub": "gateway"}
	if exp != nil {
		claims["exp"] = now.Add(*exp).Unix()
	}
	if iat != nil {
		claims["iat"] = now.Add(*iat).Unix()
	}
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dur(d time.Duration) *time.Duration { return &d }

const (
	nestedStatus = `{"id":"req-uuid","reference":"batch-42","messages":[` +
		`{"id":"msg-1","reference":"r-1","status_code":3,"status":"entregue"},` +
		`{"id":"msg-2","reference":"r-2","status_code":"4","status":"não entregue"},` +
		`{"id":"msg-3","reference":"r-3","status_code":99,"status":"novo"}]}`
	flatStatus = `{"id":"msg-9","reference":"r-9","status_code":6,"status":"expirado"}`
)

// TestWebhookAuthentication: only the provider's URL secret or a JWT signed
// with its JWT key lets a webhook in; every refusal looks the same and
// changes nothing.
func TestWebhookAuthentication(t *testing.T) {
	e := newHookEnv(t)
	now := e.clk.Now()
	good := signJWT(t, jwt.SigningMethodHS256, []byte(testJWTKey), now, dur(5*time.Minute), dur(-time.Minute))
	tests := []struct {
		name   string
		path   string
		bearer string
		status int
	}{
		{"right secret", "/webhooks/kolmeya/k1/" + testSecret, "", 200},
		{"wrong secret", "/webhooks/kolmeya/k1/" + strings.Repeat("x", len(testSecret)), "", 401},
		{"secret's prefix", "/webhooks/kolmeya/k1/" + testSecret[:len(testSecret)-1], "", 401},
		{"missing secret", "/webhooks/kolmeya/k1/", "", 404},
		{"no secret configured", "/webhooks/kolmeya/nosecret/anything", "", 401},
		{"another provider's name", "/webhooks/kolmeya/mock/" + testSecret, "", 401},
		{"unknown provider", "/webhooks/kolmeya/nobody/" + testSecret, "", 401},
		{"JWT good", "/webhooks/kolmeya/k1/wrong", good, 200},
		{"JWT good, no iat", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodHS256, []byte(testJWTKey), now, dur(time.Minute), nil), 200},
		{"JWT within the leeway", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodHS256, []byte(testJWTKey), now, dur(-10*time.Second), dur(10*time.Second)), 200},
		{"JWT expired", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodHS256, []byte(testJWTKey), now, dur(-time.Hour), dur(-2*time.Hour)), 401},
		{"JWT issued in the future", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodHS256, []byte(testJWTKey), now, dur(2*time.Hour), dur(time.Hour)), 401},
		{"JWT wrong key", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodHS256, []byte("another-key-0123456789abcdef01234"), now, dur(time.Minute), nil), 401},
		{"JWT alg none", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, now, dur(time.Minute), nil), 401},
		{"JWT HS512 with the right key", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodHS512, []byte(testJWTKey), now, dur(time.Minute), nil), 401},
		{"JWT missing exp", "/webhooks/kolmeya/k1/wrong",
			signJWT(t, jwt.SigningMethodHS256, []byte(testJWTKey), now, nil, dur(-time.Minute)), 401},
		{"JWT for a provider without a JWT key", "/webhooks/kolmeya/nosecret/wrong", good, 401},
		{"JWT garbage", "/webhooks/kolmeya/k1/wrong", "not.a.jwt", 401},
	}
	var refusal string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := e.post(t, tt.path, tt.bearer, flatStatus)
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			calls := e.sink.take()
			switch st {
			case 200:
				if body != "{\"ok\":true}\n" || len(calls) != 1 || calls[0].provider != "k1" || calls[0].source != sms.SourceWebhook {
					t.Errorf("accepted: %s, sink calls %+v", body, calls)
				}
			case 401:
				if len(calls) != 0 {
					t.Errorf("refused, yet the sink got %+v", calls)
				}
				if refusal == "" {
					refusal = body
				} else if body != refusal {
					t.Errorf("refusals differ, telling why:\n%s\n%s", body, refusal)
				}
			}
		})
	}
	if strings.Contains(e.logs.String(), testSecret) || strings.Contains(e.logs.String(), testJWTKey) {
		t.Errorf("a secret reached the logs:\n%s", e.logs.String())
	}
}

// TestWebhookStatuses: both status shapes become reports with the state of
// their code, the provider's ids and word, and the handler's time.
func TestWebhookStatuses(t *testing.T) {
	e := newHookEnv(t)
	at := e.clk.Now()
	tests := []struct {
		name string
		body string
		want []provider.StatusUpdate
	}{
		{"nested", nestedStatus, []provider.StatusUpdate{
			{Reference: "r-1", ProviderMessageID: "msg-1", State: sms.StateDelivered, At: at, Detail: "entregue"},
			{Reference: "r-2", ProviderMessageID: "msg-2", State: sms.StateFailed, At: at, Detail: "não entregue",
				ErrorCode: "status_4", ErrorText: "não entregue"},
		}},
		{"flat", flatStatus, []provider.StatusUpdate{
			{Reference: "r-9", ProviderMessageID: "msg-9", State: sms.StateExpired, At: at, Detail: "expirado",
				ErrorCode: "status_6", ErrorText: "expirado"},
		}},
		{"flat, by id only", `{"id":"msg-5","status_code":"3","status":"entregue"}`, []provider.StatusUpdate{
			{ProviderMessageID: "msg-5", State: sms.StateDelivered, At: at, Detail: "entregue"},
		}},
		{"flat, sent", `{"id":"msg-6","reference":"r-6","status_code":2,"status":"enviado"}`, []provider.StatusUpdate{
			{Reference: "r-6", ProviderMessageID: "msg-6", State: sms.StateSent, At: at, Detail: "enviado"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := e.post(t, "/webhooks/kolmeya/k1/"+testSecret, "", tt.body)
			if st != 200 {
				t.Fatalf("%d %s", st, body)
			}
			calls := e.sink.take()
			if len(calls) != 1 {
				t.Fatalf("sink calls: %+v", calls)
			}
			got := calls[0].updates
			if len(got) != len(tt.want) {
				t.Fatalf("updates %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("update %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	if !strings.Contains(e.logs.String(), "unknown status code") {
		t.Errorf("code 99 was not logged:\n%s", e.logs.String())
	}
}

// TestWebhookBadRequests: bodies of no known shape, too large, and failures
// of the lookup or the store.
func TestWebhookBadRequests(t *testing.T) {
	e := newHookEnv(t)
	path := "/webhooks/kolmeya/k1/" + testSecret
	big := `{"id":"m","status_code":3,"status":"` + strings.Repeat("a", DefaultWebhookMaxBody) + `"}`
	tests := []struct {
		name   string
		body   string
		setup  func()
		status int
	}{
		{"malformed JSON", `{"id":`, nil, 400},
		{"empty body", ``, nil, 400},
		{"unknown shape", `{"hello":"world"}`, nil, 400},
		{"an array", `[]`, nil, 400},
		{"a rejection naming no request", `{"status":"rejected","status_message":"x"}`, nil, 400},
		{"over 1 MiB", big, nil, 413},
		{"a reply, when storing it fails", `{"reply":{"id":"reply-1","reply":"SAIR","received_at":"16/11/2025 14:30:00",` +
			`"message":{"id":"msg-1","reference":"r-1","phone":"5511900000001","content":"oi"}}}`,
			func() { e.sink.failWith(errors.New("database is down")) }, 503},
		{"the store fails", flatStatus, func() { e.sink.failWith(errors.New("database is down")) }, 503},
		{"the lookup fails", flatStatus, func() { e.failLookup(errors.New("database is down")) }, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sink.failWith(nil)
			e.failLookup(nil)
			if tt.setup != nil {
				tt.setup()
			}
			st, body := e.post(t, path, "", tt.body)
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, body)
			}
			if calls := e.sink.take(); len(calls) != 0 {
				t.Errorf("the sink got %+v", calls)
			}
		})
	}
	// A reply is stored through the reply sink, mapped field by field.
	e.sink.failWith(nil)
	e.failLookup(nil)
	st, body := e.post(t, path, "", `{"reply":{"id":"reply-2","reply":"SAIR","received_at":"16/11/2025 14:30:00",`+
		`"message":{"id":"msg-1","reference":"r-1","phone":"5511900000001","content":"oi"}}}`)
	if st != 200 {
		t.Fatalf("reply: status %d: %s", st, body)
	}
	e.sink.mu.Lock()
	got := e.sink.replies
	e.sink.mu.Unlock()
	want := provider.Reply{ProviderReplyID: "reply-2", Phone: "5511900000001", Body: "SAIR",
		InReplyToProviderMessageID: "msg-1", InReplyToReference: "r-1"}
	if len(got) != 1 || got[0].ReceivedAt.IsZero() {
		t.Fatalf("replies stored = %+v", got)
	}
	got[0].ReceivedAt = time.Time{}
	if got[0] != want {
		t.Fatalf("reply = %+v, want %+v", got[0], want)
	}
	if strings.Contains(e.logs.String(), testSecret) || strings.Contains(e.logs.String(), "SAIR") {
		t.Errorf("a secret or a reply's text reached the logs:\n%s", e.logs.String())
	}
}

// TestWebhookRejectedAtReview: a rejection names a request; the handler
// asks the fake for its messages and rejects each, keeping the fate of one
// that had already reached another.
func TestWebhookRejectedAtReview(t *testing.T) {
	e := newHookEnv(t)
	first := provider.Batch{Reference: "rv1", Messages: []provider.Outbound{outbound("v1", phone(1), "oi", sms.Marketing)}}
	if _, err := e.p.Send(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(3 * time.Second) // v1 is delivered before the review of the next request
	b := provider.Batch{Reference: "rv2", Messages: []provider.Outbound{
		outbound("v2", phone(2), "oi", sms.Marketing), outbound("v3", phone(3), "oi", sms.Marketing)}}
	res, err := e.p.Send(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	reqID := res[0].ProviderJobID
	if err := e.fake.RejectRequest(reqID, "conteúdo proibido"); err != nil {
		t.Fatal(err)
	}
	path := "/webhooks/kolmeya/k1/" + testSecret
	body := `{"id":"` + reqID + `","reference":"rv2","status":"rejected","status_message":"conteúdo proibido"}`
	if st, out := e.post(t, path, "", body); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	calls := e.sink.take()
	if len(calls) != 1 || len(calls[0].updates) != 2 {
		t.Fatalf("sink calls: %+v", calls)
	}
	for _, u := range calls[0].updates {
		if u.State != sms.StateRejected || u.ErrorText != "conteúdo proibido" || u.ErrorCode != "review" ||
			u.ProviderMessageID == "" || (u.Reference != "v2" && u.Reference != "v3") || !u.At.Equal(e.clk.Now()) {
			t.Errorf("update %+v", u)
		}
	}

	// By reference alone, for a request one of whose messages was delivered
	// first: that one keeps its fate.
	body = `{"reference":"rv1","status":"rejected","status_message":"tarde demais"}`
	if st, out := e.post(t, path, "", body); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	calls = e.sink.take()
	if len(calls) != 1 || len(calls[0].updates) != 1 || calls[0].updates[0].State != sms.StateDelivered ||
		calls[0].updates[0].Reference != "v1" {
		t.Fatalf("sink calls: %+v", calls)
	}

	// An id Kolmeya does not know, with a reference it does.
	body = `{"id":"req-unknown","reference":"rv2","status":"rejected","status_message":"conteúdo proibido"}`
	if st, out := e.post(t, path, "", body); st != 200 {
		t.Fatalf("%d %s", st, out)
	}
	if calls := e.sink.take(); len(calls) != 1 || len(calls[0].updates) != 2 || calls[0].updates[0].State != sms.StateRejected {
		t.Fatalf("sink calls: %+v", calls)
	}

	// A request Kolmeya does not know, or Kolmeya down: 503, to be retried.
	for name, setup := range map[string]func(){
		"unknown request": func() {},
		"Kolmeya down":    func() { e.fake.UpdateFaults(func(f *kolmeyatest.Faults) { f.FailNext = 10 }) },
	} {
		setup()
		body := `{"id":"req-unknown","status":"rejected","status_message":"x"}`
		if st, out := e.post(t, path, "", body); st != 503 {
			t.Errorf("%s: %d %s", name, st, out)
		}
		if calls := e.sink.take(); len(calls) != 0 {
			t.Errorf("%s: the sink got %+v", name, calls)
		}
	}
}
