package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/mock"
)

// TestKillDuringSendingLosesAndDuplicatesNothing starts recado as a child
// process, gives it thousands of messages, and kills it with SIGKILL at
// random moments while it sends, restarting it each time. At the end every
// message was accepted by the provider exactly once: the mock's journal,
// synced before each answer as a real provider's records are, is the
// witness.
func TestKillDuringSendingLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	data := t.TempDir()
	journal := filepath.Join(data, "mock-journal")
	start := func() (*exec.Cmd, *syncBuffer, string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data", data)
		cmd.Env = append(os.Environ(), "RECADO_TEST_AS_MAIN=1", "RECADO_BOOTSTRAP_TOKEN="+testToken,
			"RECADO_ADMIN_PASSWORD=admin-password-for-tests", "RECADO_SEND_TIMEOUT=4s", "RECADO_WORKERS=2")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, out, waitFor(t, out, listening, 60*time.Second)
	}
	cmd, _, base := start()
	c := client{t: t, base: base, token: testToken}
	st, body := c.do("PATCH", "/api/v1/providers/mock", map[string]any{"settings": map[string]any{
		"journal": journal, "send_latency": "20ms", "delivery_delay": "0s", "max_batch": 100}})
	if st != 200 {
		t.Fatalf("configure mock: %d %v", st, body)
	}
	const batches, perBatch = 4, 1000
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
	for range 6 {
		time.Sleep(time.Duration(50+rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
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
		t.Fatalf("after %d kills: %d messages never accepted, %d accepted more than once, %d distinct accepted of %d",
			kills, lost, doubled, len(counts), len(refs))
	}
	t.Logf("%d kills during the sending of %d messages: each accepted exactly once", kills, len(refs))
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
