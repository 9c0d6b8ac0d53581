package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/mock"
)

// TestKillDuringCampaignSendsNobodyTwice runs a campaign in a recado serve
// child process, kills it with SIGKILL while the campaign is being fed (at a
// limited speed) and sent, and starts it again: the dead feeder's lease runs
// out, the sweeper starts a new one, the campaign completes, and the mock's
// synced journal shows every recipient's message accepted exactly once.
func TestKillDuringCampaignSendsNobodyTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes; waits for a dead feeder's lease to run out")
	}
	data := t.TempDir()
	journal := filepath.Join(data, "mock-journal")
	start := func() (*exec.Cmd, string) {
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
		return cmd, waitFor(t, out, listening, 60*time.Second)
	}
	cmd, base := start()
	c := client{t: t, base: base, token: testToken}
	if st, body := c.do("PATCH", "/api/v1/providers/mock", map[string]any{"settings": map[string]any{
		"journal": journal, "send_latency": "30ms", "delivery_delay": "1h", "max_batch": 100}}); st != 200 {
		t.Fatalf("configure mock: %d %v", st, body)
	}
	const n = 1500
	var csv strings.Builder
	csv.WriteString("nome,telefone\n")
	for i := range n {
		fmt.Fprintf(&csv, "Fulana Teste %d,+5511%09d\n", i, 960000000+i)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/imports?list=todos", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import: %v %v", resp, err)
	}
	resp.Body.Close()
	var listID float64
	deadline := time.Now().Add(60 * time.Second)
	for listID == 0 {
		_, body := c.do("GET", "/api/v1/lists", nil)
		for _, l := range body["lists"].([]any) {
			if m := l.(map[string]any); m["members"].(float64) == n {
				listID = m["id"].(float64)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the import did not finish")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// 100 a second: the feeder is still at work when the process dies.
	st, body := c.do("POST", "/api/v1/campaigns", map[string]any{"name": "queda", "body": "Oi {{primeiro_nome}}",
		"audience": map[string]any{"lists": []float64{listID}}, "window": map[string]any{"open_on_holidays": true},
		"rate_per_minute": 6000})
	if st != http.StatusCreated {
		t.Fatalf("create campaign: %d %v", st, body)
	}
	id := int64(body["id"].(float64))
	if st, body := c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", id), nil); st != 200 {
		t.Fatalf("start: %d %v", st, body)
	}
	// Kill it once part of the campaign is out.
	for {
		counts, _ := mock.JournalCounts(journal)
		if len(counts) >= n/5 {
			break
		}
		if time.Now().After(deadline.Add(60 * time.Second)) {
			t.Fatal("the campaign did not start sending")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before, _ := mock.JournalCounts(journal)
	if len(before) >= n {
		t.Fatalf("the whole campaign was out before the kill (%d): the test proves nothing", len(before))
	}
	_, base = start()
	c.base = base
	deadline = time.Now().Add(3 * time.Minute)
	for {
		_, body := c.do("GET", fmt.Sprintf("/api/v1/campaigns/%d", id), nil)
		if body["state"] == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the campaign did not complete after the restart: %v", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	counts, err := mock.JournalCounts(journal)
	if err != nil {
		t.Fatal(err)
	}
	accepted, twice := 0, 0
	for ref, k := range counts {
		if strings.HasPrefix(ref, fmt.Sprintf("cp%d.", id)) {
			accepted++
			if k > 1 {
				twice++
			}
		}
	}
	lost := n - accepted
	if lost != 0 || twice != 0 {
		t.Fatalf("killed at %d accepted: %d recipients never got the message, %d got it more than once", len(before), lost, twice)
	}
	t.Logf("killed with %d of %d accepted; after the restart each recipient's message was accepted exactly once", len(before), n)
}
