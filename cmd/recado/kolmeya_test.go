package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
)

// offsetClock is the real clock moved forward by hand, so that a fake
// Kolmeya on it is never behind Recado's clock and moves on only when told.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// freeAddr returns a loopback address with a port free a moment ago, so that
// Recado's public URL is known before it starts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// randomSecret returns n random letters and digits.
func randomSecret(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// postHook posts a webhook body to url with an optional Authorization
// header, and returns the status.
func postHook(t *testing.T, url, authorization, body string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST webhook: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestKolmeyaEndToEnd runs `recado serve` in process against a fake Kolmeya:
// a message sent through a Kolmeya provider reaches "sent" with Kolmeya's
// ids, then "delivered" when the fake posts its status webhook to Recado's
// public URL. The provider's secrets never show, a gateway's JWT passes the
// API's authentication untouched, and `recado kolmeya` reads the same
// account.
func TestKolmeyaEndToEnd(t *testing.T) {
	clk := &offsetClock{}
	// Statuses move only when the test moves the clock: an hour each way.
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "fake-token", Now: clk.Now,
		SentAfter: time.Hour, FinalAfter: time.Hour})
	defer fake.Close()

	data := t.TempDir()
	addr := freeAddr(t)
	public := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--public-url", public, "--data", data}, testEnv(nil), &stdout, &stderr)
	}()
	base := waitFor(t, &stderr, listening, 15*time.Second)
	c := client{t: t, base: base, token: testToken}

	secret, jwtKey := randomSecret(32), randomSecret(40)
	st, body := c.do("POST", "/api/v1/providers", map[string]any{"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
		"base_url": fake.URL(), "token": "fake-token", "segment_id": 109, "webhook_secret": secret,
		"webhook_jwt_secret": jwtKey, "cost_per_segment": "0.07"}})
	if st != http.StatusCreated {
		t.Fatalf("create the provider: %d %v", st, body)
	}
	st, body = c.do("GET", "/api/v1/providers/kolmeya", nil)
	raw, _ := json.Marshal(body)
	if st != 200 || strings.Contains(string(raw), "fake-token") || strings.Contains(string(raw), secret) || strings.Contains(string(raw), jwtKey) {
		t.Fatalf("GET the provider shows a secret: %d %s", st, raw)
	}
	if set := fmt.Sprint(body["secrets_set"]); !strings.Contains(set, "token") || !strings.Contains(set, "webhook_secret") || !strings.Contains(set, "webhook_jwt_secret") {
		t.Errorf("secrets_set = %v", body["secrets_set"])
	}

	st, body = c.do("POST", "/api/v1/messages", map[string]any{"to": "(11) 90000-0001", "body": "Olá do Recado", "provider": "kolmeya"})
	if st != http.StatusAccepted || body["provider"] != "kolmeya" {
		t.Fatalf("POST /messages = %d %v", st, body)
	}
	path := fmt.Sprintf("/api/v1/messages/%d", int64(body["id"].(float64)))
	ref := body["reference"].(string)
	msg := waitState(t, c, path, "sent", 10*time.Second)
	if msg["provider_message_id"] == nil || msg["provider_job_id"] == nil || fake.Accepted(ref) != 1 {
		t.Fatalf("sent without Kolmeya's ids, or accepted %d times: %v", fake.Accepted(ref), msg)
	}

	clk.Advance(3 * time.Hour)
	if n := fake.Tick(ctx); n != 1 {
		t.Fatalf("the fake posted %d webhooks, want 1", n)
	}
	if ok, failed := fake.WebhookStats(); ok != 1 || failed != 0 {
		t.Fatalf("webhooks: %d taken, %d refused:\n%s", ok, failed, stderr.String())
	}
	// The webhook is answered once the status is stored: no waiting.
	_, msg = c.do("GET", path, nil)
	events := msg["events"].([]any)
	last := events[len(events)-1].(map[string]any)
	if msg["state"] != "delivered" || last["state"] != "delivered" || last["source"] != "webhook" || last["detail"] != "entregue" {
		t.Fatalf("after the webhook: %v", msg)
	}

	// The webhook route is outside the API's authentication: a gateway's
	// JWT is checked by the handler, not refused as a bad API token.
	hook := public + "/webhooks/kolmeya/kolmeya/"
	repeat := fmt.Sprintf(`{"id":%q,"reference":%q,"status_code":3,"status":"entregue"}`, msg["provider_message_id"], ref)
	token, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix()}).SignedString([]byte(jwtKey))
	for _, tc := range []struct {
		name, secret, auth string
		want               int
	}{
		{"right secret, repeated", secret, "", 200},
		{"right secret, any Authorization", secret, "Bearer rcd_not-an-api-token", 200},
		{"wrong secret", randomSecret(32), "", 401},
		{"wrong secret, a gateway's JWT", "x", "Bearer " + token, 200},
		{"wrong secret, an API token", "x", "Bearer " + testToken, 401},
	} {
		if got := postHook(t, hook+tc.secret, tc.auth, repeat); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if strings.Contains(stderr.String(), secret) {
		t.Errorf("the webhook secret reached the logs")
	}
	if _, msg = c.do("GET", path, nil); msg["state"] != "delivered" || len(msg["events"].([]any)) != len(events) {
		t.Errorf("repeated webhooks changed the message: %v", msg)
	}

	// A reply is taken (202) but not stored yet.
	if _, err := fake.Reply(ref, "SIM"); err != nil {
		t.Fatal(err)
	}
	if n := fake.Tick(ctx); n != 1 {
		t.Fatalf("the fake posted %d reply webhooks, want 1", n)
	}
	if ok, failed := fake.WebhookStats(); ok != 2 || failed != 0 {
		t.Errorf("reply webhook: %d taken, %d refused", ok, failed)
	}

	// A request rejected at Kolmeya's review rejects its messages.
	st, body = c.do("POST", "/api/v1/messages", map[string]any{"to": "11900000002", "body": "Promoção", "provider": "kolmeya"})
	if st != http.StatusAccepted {
		t.Fatalf("POST /messages = %d %v", st, body)
	}
	path2 := fmt.Sprintf("/api/v1/messages/%d", int64(body["id"].(float64)))
	msg2 := waitState(t, c, path2, "sent", 10*time.Second)
	if err := fake.RejectRequest(msg2["provider_job_id"].(string), "conteúdo proibido"); err != nil {
		t.Fatal(err)
	}
	if n := fake.Tick(ctx); n != 1 {
		t.Fatalf("the fake posted %d rejection webhooks, want 1", n)
	}
	if _, msg2 = c.do("GET", path2, nil); msg2["state"] != "rejected" || msg2["error_text"] != "conteúdo proibido" {
		t.Errorf("after the rejection: %v", msg2)
	}
	if ok, failed := fake.WebhookStats(); ok != 3 || failed != 0 {
		t.Errorf("rejection webhook: %d taken, %d refused", ok, failed)
	}

	// The CLI reads the same account through the provider's settings.
	cli := func(wantOK bool, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		args = append([]string{"kolmeya", "--provider", "kolmeya"}, args...)
		code := run(ctx, append(args, "--data", data), testEnv(nil), &out, &errb)
		if (code == 0) != wantOK {
			t.Fatalf("recado %v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String() + errb.String()
	}
	if out := cli(true, "balance"); !strings.Contains(out, "R$ 9.999,86") {
		t.Errorf("balance: %q", out)
	}
	if out := cli(true, "segments"); !regexp.MustCompile(`(?m)^109\s+CORPORATIVO`).MatchString(out) {
		t.Errorf("segments: %q", out)
	}
	var segs []map[string]any
	if err := json.Unmarshal([]byte(cli(true, "segments", "--json")), &segs); err != nil || len(segs) != 1 || segs[0]["id"] != 109.0 {
		t.Errorf("segments --json: %v %v", segs, err)
	}
	if out := cli(true, "apis"); !strings.Contains(out, "47") {
		t.Errorf("apis: %q", out)
	}
	if out := cli(true, "layouts"); !strings.Contains(out, "1 telefone (name)") {
		t.Errorf("layouts: %q", out)
	}
	if out := cli(true, "status", msg["provider_job_id"].(string)); !strings.Contains(out, ref) || !strings.Contains(out, "entregue") || !strings.Contains(out, "delivered") {
		t.Errorf("status by id: %q", out)
	}
	if out := cli(false, "status", "no-such-request"); !strings.Contains(out, "no request") {
		t.Errorf("status of an unknown request: %q", out)
	}
	if out := cli(true, "replies", "--hours", "2"); !strings.Contains(out, "SIM") || !strings.Contains(out, ref) {
		t.Errorf("replies: %q", out)
	}
	// The report ends now on Recado's clock: it holds the first message, sent
	// before the fake's clock moved three hours on.
	day := time.Now().In(kolmeya.SaoPaulo())
	if out := cli(true, "report", "--from", day.Add(-time.Hour).Format("2006-01-02 15:04"), "--to", day.Format("2006-01-02 15:04")); !strings.Contains(out, "entregue") || !strings.Contains(out, "1 message: entregue 1") {
		t.Errorf("report: %q", out)
	}
	cli(true, "blacklist", "add", "(11) 90000-0009", "+5511900000008")
	if !fake.Blacklisted("11900000009") || !fake.Blacklisted("11900000008") {
		t.Error("blacklist add did not reach Kolmeya")
	}
	cli(true, "blacklist", "remove", "11900000009")
	if fake.Blacklisted("11900000009") || !fake.Blacklisted("11900000008") {
		t.Error("blacklist remove did not reach Kolmeya")
	}
	// Recado's own list: what the API adds reaches Kolmeya through recado
	// serve; "list" shows it; "sync" pushes it all again.
	if st, body := c.do("POST", "/api/v1/blacklist", map[string]any{"phones": []string{"11900000007"}, "reason": "pediu"}); st != http.StatusOK {
		t.Fatalf("POST /blacklist: %d %v", st, body)
	}
	eventuallyTrue(t, "the API's blacklist change reaches Kolmeya", func() bool { return fake.Blacklisted("11900000007") })
	if out := cli(true, "blacklist", "list"); !strings.Contains(out, "Recado's blacklist, 1 number") ||
		!regexp.MustCompile(`\+5511900000007\s+manual\s+.*pediu`).MatchString(out) {
		t.Errorf("blacklist list: %q", out)
	}
	cli(true, "blacklist", "remove", "11900000007") // Kolmeya's only
	if fake.Blacklisted("11900000007") {
		t.Fatal("blacklist remove did not reach Kolmeya")
	}
	if out := cli(true, "blacklist", "sync"); !strings.Contains(out, "queued") {
		t.Errorf("blacklist sync: %q", out)
	}
	eventuallyTrue(t, "the whole-list sync puts the number back", func() bool { return fake.Blacklisted("11900000007") })
	if out := cli(false, "--provider", "mock", "blacklist", "sync"); !strings.Contains(out, "no blacklist") {
		t.Errorf("blacklist sync of the mock: %q", out)
	}
	if out := cli(false, "--provider", "mock", "balance"); !strings.Contains(out, "not kolmeya") {
		t.Errorf("a mock provider: %q", out)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d:\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// eventuallyTrue waits until cond holds, for at most 20 seconds.
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitState polls a message until it reaches state.
func waitState(t *testing.T, c client, path, state string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, body := c.do("GET", path, nil)
		if body["state"] == state {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %v, never %s", path, st, body, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var fakeListening = regexp.MustCompile(`base_url: (http://\S+)`)

// TestFakeKolmeyaCommand starts `recado fake-kolmeya` on a free port, asks
// it for the balance with the printed base URL and token, and stops it.
func TestFakeKolmeyaCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake-kolmeya", "--addr", "127.0.0.1:0", "--token", "demo-token",
			"--balance", "12.34", "--outcomes", "delivered=9,failed=1"}, testEnv(nil), &stdout, &stderr)
	}()
	base := waitFor(t, &stdout, fakeListening, 10*time.Second)
	c := kolmeya.NewClient(kolmeya.ClientOptions{BaseURL: base, Token: "demo-token"})
	if m, err := c.Balance(ctx); err != nil || m.BRL() != "R$ 12,34" {
		t.Fatalf("balance from the fake: %v %v", m, err)
	}
	if _, err := kolmeya.NewClient(kolmeya.ClientOptions{BaseURL: base, Token: "wrong"}).Balance(ctx); err == nil {
		t.Error("the fake took a wrong token")
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("fake-kolmeya exited %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fake-kolmeya did not stop")
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"fake-kolmeya", "--outcomes", "delivered=x"}, testEnv(nil), &out, &errb); code == 0 || !strings.Contains(errb.String(), "--outcomes") {
		t.Errorf("bad --outcomes: exit %d, %q", code, errb.String())
	}
}
