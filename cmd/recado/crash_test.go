package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/provider/mock"
)

// TestKillDuringSendingLosesAndDuplicatesNothing starts recado as a child
// process, gives it thousands of messages, and kills it with SIGKILL at
// random moments while it sends, restarting it each time. At the end every
// message was accepted by the provider exactly once: the mock's journal,
// synced before each answer as a real provider's records are, is the
// witness. RECADO_SOAK=1 makes it 20 kills during 20,000 messages.
func TestKillDuringSendingLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	data := t.TempDir()
	journal := filepath.Join(data, "mock-journal")
	start := func() (*exec.Cmd, *syncBuffer, string) {
		t.Helper()
		return startChild(t, data, "RECADO_SEND_TIMEOUT=4s", "RECADO_WORKERS=2")
	}
	cmd, _, base := start()
	c := client{t: t, base: base, token: testToken}
	st, body := c.do("PATCH", "/api/v1/providers/mock", map[string]any{"settings": map[string]any{
		"journal": journal, "send_latency": "20ms", "delivery_delay": "0s", "max_batch": 100}})
	if st != 200 {
		t.Fatalf("configure mock: %d %v", st, body)
	}
	batches, perBatch, rounds := 4, 1000, 6
	if soak() {
		batches, rounds = 20, 20
	}
	var refs []string
	for b := range batches {
		msgs := make([]map[string]any, perBatch)
		for i := range msgs {
			msgs[i] = map[string]any{"to": fmt.Sprintf("+5511%09d", 900000000+b*perBatch+i), "body": "Teste de queda"}
		}
		st, body := c.do("POST", "/api/v1/messages/batch", map[string]any{"messages": msgs})
		if st != 202 {
			t.Fatalf("batch: %d %v", st, body)
		}
		for _, m := range body["messages"].([]any) {
			refs = append(refs, m.(map[string]any)["reference"].(string))
		}
	}

	rng := rand.New(rand.NewPCG(7, 11))
	kills := 0
	for range rounds {
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		kill(cmd)
		kills++
		cmd, _, base = start()
		c.base = base
		if pending(t, c) == 0 {
			break
		}
	}
	deadline := time.Now().Add(150 * time.Second)
	for pending(t, c) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued or sending after the restarts", pending(t, c))
		}
		time.Sleep(200 * time.Millisecond)
	}
	counts, err := mock.JournalCounts(journal)
	if err != nil {
		t.Fatal(err)
	}
	var lost, doubled int
	for _, r := range refs {
		switch n := counts[r]; {
		case n == 0:
			lost++
		case n > 1:
			doubled++
		}
	}
	if lost > 0 || doubled > 0 || len(counts) != len(refs) {
		// Say what became of the messages that did not end well.
		_, unhappy := c.do("GET", "/api/v1/messages?state=failed,rejected,expired,canceled&limit=20", nil)
		t.Fatalf("after %d kills: %d messages never accepted, %d accepted more than once, %d distinct accepted of %d; not accepted: %v",
			kills, lost, doubled, len(counts), len(refs), unhappy["messages"])
	}
	t.Logf("%d kills during the sending of %d messages: each accepted exactly once", kills, len(refs))
}

// soak reports whether RECADO_SOAK=1 asks for the long versions of the
// crash tests: twenty kills, and five times the messages.
func soak() bool { return os.Getenv("RECADO_SOAK") == "1" }

// startChild starts `recado serve` as a child process (the test binary,
// acting as recado) on data, with the bootstrap token and the extra
// environment, and returns it with its output and base URL once it
// listens. It is killed when the test ends.
func startChild(t *testing.T, data string, env ...string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	cmd, out, base, err := spawn(t, data, env...)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, out, base
}

// spawn is startChild for other goroutines than the test's: it returns its
// failure instead of ending the test.
func spawn(t *testing.T, data string, env ...string) (*exec.Cmd, *syncBuffer, string, error) {
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = append(os.Environ(), "RECADO_TEST_AS_MAIN=1", "RECADO_BOOTSTRAP_TOKEN="+testToken,
		"RECADO_ADMIN_PASSWORD=admin-password-for-tests")
	cmd.Env = append(cmd.Env, env...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, nil, "", err
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := listening.FindStringSubmatch(out.String()); m != nil {
			return cmd, out, m[1], nil
		}
	}
	return nil, nil, "", fmt.Errorf("recado did not listen within a minute:\n%s", out.String())
}

// kill stops a child with SIGKILL and waits for it.
func kill(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

// pending counts messages still queued or sending.
func pending(t *testing.T, c client) int {
	t.Helper()
	st, body := c.do("GET", "/api/v1/messages?state=queued,sending&limit=1000", nil)
	if st != 200 {
		t.Fatalf("list pending: %d %v", st, body)
	}
	return len(body["messages"].([]any))
}

// TestKillDuringWebhookIngestion sends 4000 messages through a fake Kolmeya,
// then posts a "delivered" webhook for each, from 16 callers at once, as
// Kolmeya would, killing recado with SIGKILL at random moments and
// restarting it. A webhook answered 200 must be stored: after each restart
// every message acknowledged before the kill is delivered. A webhook that
// got no answer is posted again, as Kolmeya retries; some are posted twice
// on purpose. At the end every message is delivered, with one "delivered"
// event: nothing lost, nothing doubled. RECADO_SOAK=1 makes it 20 kills
// during 20,000 webhooks.
func TestKillDuringWebhookIngestion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "crash-token", RateLimit: -1, SentAfter: 24 * time.Hour, FinalAfter: 24 * time.Hour})
	t.Cleanup(fake.Close)
	data := t.TempDir()
	cmd, _, base := startChild(t, data)
	c := client{t: t, base: base, token: testToken}
	const secret = "crash-webhook-secret-0123456789abcdef"
	if st, body := c.do("POST", "/api/v1/providers", map[string]any{"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
		"base_url": fake.URL(), "token": "crash-token", "webhook_secret": secret}}); st != 201 {
		t.Fatalf("create provider: %d %v", st, body)
	}
	n, rounds := 4000, 6
	if soak() {
		n, rounds = 20000, 20
	}
	for b := range n / 1000 {
		msgs := make([]map[string]any, 1000)
		for i := range msgs {
			msgs[i] = map[string]any{"to": fmt.Sprintf("+5511%09d", 900000000+b*1000+i), "body": "Teste", "provider": "kolmeya"}
		}
		if st, body := c.do("POST", "/api/v1/messages/batch", map[string]any{"messages": msgs}); st != 202 {
			t.Fatalf("batch: %d %v", st, body)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for pending(t, c) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("messages not sent within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	type hook struct{ id, ref string }
	hooks := listMessages(t, c, "sent", func(m map[string]any) hook {
		return hook{m["provider_message_id"].(string), m["reference"].(string)}
	})
	if len(hooks) != n {
		t.Fatalf("%d messages sent, want %d", len(hooks), n)
	}

	// Post them all, 16 at a time, while recado is killed now and then.
	var mu sync.Mutex
	baseURL := base
	acked := make([]bool, n)
	todo := make(chan int, n)
	for i := range n {
		todo <- i
	}
	post := func(i int) bool {
		mu.Lock()
		url := baseURL + "/webhooks/kolmeya/kolmeya/" + secret
		mu.Unlock()
		body := fmt.Sprintf(`{"id":%q,"reference":%q,"status_code":3,"status":"entregue"}`, hooks[i].id, hooks[i].ref)
		resp, err := hookClient.Post(url, "application/json", strings.NewReader(body))
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	var left atomic.Int64
	left.Store(int64(n))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case i := <-todo:
					if post(i) {
						mu.Lock()
						acked[i] = true
						mu.Unlock()
						left.Add(-1)
					} else {
						todo <- i // Kolmeya tries again
						time.Sleep(20 * time.Millisecond)
					}
				case <-stop:
					return
				}
			}
		}()
	}
	rng := rand.New(rand.NewPCG(3, 5))
	kills := 0
	for range rounds {
		time.Sleep(time.Duration(20+rng.IntN(100)) * time.Millisecond)
		if left.Load() == 0 {
			break
		}
		kill(cmd)
		kills++
		mu.Lock()
		ackedBefore := slices.Clone(acked)
		mu.Unlock()
		cmd, _, base = startChild(t, data)
		c.base = base
		// Durable: what was acknowledged before the kill is stored.
		delivered := map[string]bool{}
		for _, ref := range listMessages(t, c, "delivered", func(m map[string]any) string { return m["reference"].(string) }) {
			delivered[ref] = true
		}
		for i, ok := range ackedBefore {
			if ok && !delivered[hooks[i].ref] {
				t.Fatalf("kill %d: the webhook of %s was answered 200, yet after the restart the message is not delivered", kills, hooks[i].ref)
			}
		}
		mu.Lock()
		baseURL = base
		mu.Unlock()
	}
	for deadline := time.Now().Add(60 * time.Second); left.Load() > 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks still unacknowledged after a minute", left.Load())
		}
	}
	close(stop)
	wg.Wait()
	// Kolmeya repeats itself: a tenth again, harmlessly.
	for i := 0; i < n; i += 10 {
		if !post(i) {
			t.Fatalf("repeated webhook %d refused", i)
		}
	}
	ids := listMessages(t, c, "delivered", func(m map[string]any) int64 { return int64(m["id"].(float64)) })
	if len(ids) != n {
		t.Fatalf("after %d kills: %d of %d messages delivered", kills, len(ids), n)
	}
	for _, id := range ids {
		_, body := c.do("GET", fmt.Sprintf("/api/v1/messages/%d", id), nil)
		var states []string
		for _, e := range body["events"].([]any) {
			states = append(states, e.(map[string]any)["state"].(string))
		}
		if strings.Join(states, ",") != "queued,sending,sent,delivered" {
			t.Fatalf("message %d went through %v", id, states)
		}
	}
	t.Logf("%d kills while taking in %d webhooks: each stored once, none lost", kills, n)
}

// hookClient posts webhooks; it gives up on a dead server quickly.
var hookClient = &http.Client{Timeout: 5 * time.Second}

// listMessages pages through GET /api/v1/messages?state=state and maps
// each message with f.
func listMessages[T any](t *testing.T, c client, state string, f func(map[string]any) T) []T {
	t.Helper()
	var out []T
	cursor := ""
	for {
		path := "/api/v1/messages?limit=1000&state=" + state
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		st, body := c.do("GET", path, nil)
		if st != 200 {
			t.Fatalf("list %s: %d %v", state, st, body)
		}
		for _, m := range body["messages"].([]any) {
			out = append(out, f(m.(map[string]any)))
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}
