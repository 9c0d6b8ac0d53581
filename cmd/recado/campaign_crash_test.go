package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/mock"
)

// TestKillDuringCampaignSendsNobodyTwice runs a campaign in a recado serve
// child process and kills it with SIGKILL at random moments, restarting it
// each time: right after the campaign started or the process came back (its
// feeder and orphaned batches not yet taken up again), while its feeder
// writes messages (at a limited speed), and while it sends. After each kill
// the dead feeder's lease runs out and the sweeper starts a new one; dead
// send batches are sent again after asking the provider. The campaign then
// completes, and the mock's journal, synced before each answer, shows each
// recipient's message accepted exactly once; the campaign's state, counters
// and statistics in the API agree. RECADO_SOAK=1 makes it 20 kills during a
// campaign to 100,000 recipients.
func TestKillDuringCampaignSendsNobodyTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes; waits for a dead feeder's lease to run out")
	}
	// The speed limit keeps the feeder at work through the kills: about 20 s
	// of feeding by default, 100 s in the soak.
	n, kills, perMinute := 3000, 3, 9000
	if soak() {
		n, kills, perMinute = 100_000, 20, 60_000
	}
	rng := crashRand(t)
	data := t.TempDir()
	journal := filepath.Join(data, "mock-journal")
	env := []string{"RECADO_SEND_TIMEOUT=4s", "RECADO_WORKERS=2"}
	cmd, _, base := startChild(t, data, env...)
	c := client{t: t, base: base, token: testToken}
	if st, body := c.do("PATCH", "/api/v1/providers/mock", map[string]any{"settings": map[string]any{
		"journal": journal, "send_latency": "30ms", "delivery_delay": "1h", "max_batch": 100}}); st != 200 {
		t.Fatalf("configure mock: %d %v", st, body)
	}
	var csv bytes.Buffer
	csv.WriteString("nome,telefone\n")
	for i := range n {
		fmt.Fprintf(&csv, "Fulana Teste %d,+5511%09d\n", i, 900000000+i)
	}
	im := waitImport(t, c, uploadCSV(t, c, "todos", &csv), 10*time.Minute)
	listID := im["list_id"].(float64)
	st, body := c.do("POST", "/api/v1/campaigns", map[string]any{"name": "queda", "body": "Oi {{primeiro_nome}}",
		"audience": map[string]any{"lists": []float64{listID}}, "window": map[string]any{"open_on_holidays": true},
		"rate_per_minute": perMinute})
	if st != http.StatusCreated {
		t.Fatalf("create campaign: %d %v", st, body)
	}
	id := int64(body["id"].(float64))
	campaign := func() map[string]any {
		t.Helper()
		st, body := c.do("GET", fmt.Sprintf("/api/v1/campaigns/%d", id), nil)
		if st != 200 {
			t.Fatalf("get campaign: %d %v", st, body)
		}
		return body
	}
	if st, body := c.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/start", id), nil); st != 200 {
		t.Fatalf("start: %d %v", st, body)
	}
	started := time.Now()

	// Each phase comes about equally often, in a random order; the first
	// kill lands just after the start, while the recipients are written.
	phases := []string{"start"}
	for i := 1; i < kills; i++ {
		phases = append(phases, []string{"start", "feeding", "sending"}[i%3])
	}
	rng.Shuffle(len(phases)-1, func(i, j int) { phases[i+1], phases[j+1] = phases[j+1], phases[i+1] })
	// The kills while feeding are spread over the campaign: the j-th of f
	// once about j/(f+1) of the messages are made.
	feeding := 0
	for _, p := range phases {
		if p == "feeding" {
			feeding++
		}
	}
	var report []string
	fedKills := 0
	for k, phase := range phases {
		fed0 := campaign()["fed"].(float64)
		size0 := journalSize(journal)
		deadline := time.Now().Add(2 * time.Minute)
		switch phase {
		case "start": // just after the start or the restart
		case "feeding": // once this process's feeder has made some messages
			fedKills++
			part := n / (feeding + 1)
			target := max(fed0+float64(1+rng.IntN(50)), float64(fedKills*part-part/4+rng.IntN(part/2)))
			for campaign()["fed"].(float64) < target {
				if time.Now().After(deadline) {
					t.Fatalf("kill %d: the feeder did not go on within 2 minutes: %v", k+1, campaign())
				}
				time.Sleep(20 * time.Millisecond)
			}
		case "sending": // once this process sends
			for journalSize(journal) == size0 {
				if time.Now().After(deadline) {
					t.Fatalf("kill %d: nothing sent within 2 minutes: %v", k+1, campaign())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
		kill(cmd)
		counts, err := mock.JournalCounts(journal)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(counts) >= n {
			t.Fatalf("kill %d (%s): the whole campaign was out before it: the test proves nothing", k+1, phase)
		}
		cmd, _, base = startChild(t, data, env...)
		c.base = base
		cp := campaign()
		if cp["state"] != "running" {
			t.Fatalf("kill %d: after the restart the campaign is %v", k+1, cp)
		}
		report = append(report, fmt.Sprintf("%d: %s at %s, %d of %d messages made, %d accepted",
			k+1, phase, time.Since(started).Round(100*time.Millisecond), int(cp["fed"].(float64)), n, len(counts)))
	}
	t.Logf("kills:\n%s", strings.Join(report, "\n"))

	deadline := time.Now().Add(5 * time.Minute)
	if soak() {
		deadline = time.Now().Add(30 * time.Minute)
	}
	var cp map[string]any
	for cp = campaign(); cp["state"] != "completed"; cp = campaign() {
		if time.Now().After(deadline) {
			t.Fatalf("the campaign did not complete after the restarts: %v", cp)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(started).Round(time.Second)

	// Each recipient's message was accepted exactly once, and no other.
	counts, err := mock.JournalCounts(journal)
	if err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("cp%d.", id)
	var lost, twice int
	for _, ct := range listContacts(t, c, fmt.Sprintf("list=%d", int64(listID))) {
		switch counts[prefix+strconv.FormatInt(int64(ct["id"].(float64)), 10)] {
		case 0:
			lost++
		case 1:
		default:
			twice++
		}
	}
	if lost != 0 || twice != 0 || len(counts) != n {
		t.Fatalf("after %d kills: %d recipients never got the message, %d got it more than once; %d references accepted for %d recipients",
			kills, lost, twice, len(counts), n)
	}
	// The API agrees.
	for k, v := range map[string]any{"recipients": float64(n), "fed": float64(n), "skipped": float64(0)} {
		if cp[k] != v {
			t.Errorf("campaign %s = %v, want %v (%v)", k, cp[k], v, cp)
		}
	}
	st, stats := c.do("GET", fmt.Sprintf("/api/v1/campaigns/%d/stats", id), nil)
	msgs, _ := stats["messages"].(map[string]any)
	if byState, _ := msgs["by_state"].(map[string]any); st != 200 || len(byState) != 1 || byState["sent"] != float64(n) || stats["pending"] != float64(0) {
		t.Errorf("stats: %d %v, want %d messages, all sent, none pending", st, stats, n)
	}
	t.Logf("%d kills during a campaign to %d recipients: completed in %s, each recipient's message accepted exactly once", kills, n, took)
}

// journalSize is the size of the mock's journal, 0 before it exists.
func journalSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
