package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestMain lets the test binary act as recado itself, so that crash tests
// can start it as a child process and kill it, without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("RECADO_TEST_AS_MAIN") == "1" {
		ctx := context.Background()
		os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

var listening = regexp.MustCompile(`Recado is listening.*url=(http://[0-9.:]+)`)

// waitFor polls the output until re matches, and returns its first group.
func waitFor(t *testing.T, out *syncBuffer, re *regexp.Regexp, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q in the output within %s:\n%s", re, within, out.String())
	return ""
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

const testToken = "test-bootstrap-token-0000000000000000"

func testEnv(extra map[string]string) env {
	return func(k string) string {
		if v, ok := extra[k]; ok {
			return v
		}
		switch k {
		case "RECADO_BOOTSTRAP_TOKEN":
			return testToken
		case "RECADO_ADMIN_PASSWORD":
			return "admin-password-for-tests"
		}
		return ""
	}
}

// TestServeSendsAndDelivers runs `recado serve` in process, as the binary
// does, on each database: an SMS posted to the API reaches "delivered" with
// every step recorded, and SIGTERM (a canceled context) exits 0.
func TestServeSendsAndDelivers(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		data := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var stdout, stderr syncBuffer
		done := make(chan int, 1)
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data", data}
		if strings.HasPrefix(dsn, "postgres") {
			args = append(args, "--database-url", dsn)
		}
		go func() { done <- run(ctx, args, testEnv(nil), &stdout, &stderr) }()
		base := waitFor(t, &stderr, listening, 30*time.Second)
		if !strings.Contains(stdout.String(), `created the manager "admin"`) {
			t.Fatalf("the first start did not announce the admin:\n%s", stdout.String())
		}
		c := client{t: t, base: base, token: testToken}
		if st, body := c.do("PATCH", "/api/v1/providers/mock", map[string]any{"settings": map[string]any{"delivery_delay": "0s"}}); st != 200 {
			t.Fatalf("configure mock: %d %v", st, body)
		}
		st, body := c.do("POST", "/api/v1/messages", map[string]any{"to": "(11) 90000-0001", "body": "Olá! Teste de entrega."})
		if st != http.StatusAccepted || body["state"] != "queued" || body["phone"] != "+5511900000001" || body["encoding"] != "ucs2" {
			t.Fatalf("POST /messages = %d %v", st, body)
		}
		id := int64(body["id"].(float64))
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, body = c.do("GET", fmt.Sprintf("/api/v1/messages/%d", id), nil)
			if body["state"] == "delivered" || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if body["state"] != "delivered" {
			t.Fatalf("message not delivered: %v\n%s", body, stderr.String())
		}
		var states []string
		for _, e := range body["events"].([]any) {
			states = append(states, e.(map[string]any)["state"].(string))
		}
		if strings.Join(states, ",") != "queued,sending,sent,delivered" {
			t.Fatalf("events = %v", states)
		}
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("serve exited %d:\n%s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop within 30s of SIGTERM")
		}
	})
}

func TestCLI(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	runOK := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append(args, "--data", data), testEnv(nil), &out, &errb); code != 0 {
			t.Fatalf("recado %v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	if out := runOK("version"); !strings.HasPrefix(out, "recado ") {
		t.Fatalf("version: %q", out)
	}
	if out := runOK("migrate"); !strings.Contains(out, "00001_init.sql") {
		t.Fatalf("migrate: %q", out)
	}
	if out := runOK("user", "create", "ana", "--name", "Ana Teste", "--role", "user"); !strings.Contains(out, "password:") {
		t.Fatalf("user create: %q", out)
	}
	if out := runOK("user", "list"); !strings.Contains(out, "ana") {
		t.Fatalf("user list: %q", out)
	}
	if out := runOK("user", "set-password", "ana", "--password", "another-secret-1"); !strings.Contains(out, "changed") {
		t.Fatalf("set-password: %q", out)
	}
	tok := strings.TrimSpace(runOK("token", "create", "--user", "ana", "--name", "crm"))
	if !strings.HasPrefix(tok, "rcd_") {
		t.Fatalf("token create printed %q", tok)
	}
	if out := runOK("token", "list", "--user", "ana"); !strings.Contains(out, "crm") || strings.Contains(out, tok) {
		t.Fatalf("token list must name the token and never show it: %q", out)
	}
	runOK("token", "revoke", "1")
	runOK("user", "deactivate", "ana")
	if out := runOK("send", "--to", "11900000002", "--body", "oi", "--wait", "20s"); !strings.Contains(out, "delivered") {
		t.Fatalf("send --wait: %q", out)
	}
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"send", "--to", "(11) 3333-0001", "--body", "oi", "--data", data}, testEnv(nil), &out, &errb); code == 0 || !strings.Contains(errb.String(), "to:") {
		t.Fatalf("send to a landline: exit %d, %q", code, errb.String())
	}
	if code := run(ctx, []string{"user", "create", "x", "--role", "boss", "--data", data}, testEnv(nil), &out, &errb); code == 0 {
		t.Fatal("user create with a bad role succeeded")
	}
}
