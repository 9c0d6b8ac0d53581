package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestKillDuringImport uploads a CSV of contacts through the API and kills
// recado with SIGKILL while the import job writes them, at random moments
// (after a random number of rows, then a random delay), restarting it each
// time. The import's progress is written with each chunk of rows, in the
// chunk's transaction: after each restart the import is still running,
// part-way, with at least the progress the API showed before the kill; the
// dead run's lease runs out, the import sweeper hands the import to a new
// job, and it resumes after the last chunk written. At the end the import
// is done with every row inserted once (none counted twice, none
// rejected), every phone of the file belongs to exactly one contact, there
// is no other contact, and the list holds them all. RECADO_SOAK=1 makes it
// three kills during an import of 1,000,000 rows.
func TestKillDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes; waits for a dead import's lease to run out")
	}
	n, kills := 50_000, 1
	if soak() {
		n, kills = 1_000_000, 3
	}
	rng := crashRand(t)
	data := t.TempDir()
	cmd, _, base := startChild(t, data)
	c := client{t: t, base: base, token: testToken}
	var csv bytes.Buffer
	csv.WriteString("nome,telefone,cidade\n")
	for i := range n {
		fmt.Fprintf(&csv, "Fulana Teste %d,+5511%09d,Campinas\n", i, 900000000+i)
	}
	begun := time.Now()
	id := uploadCSV(t, c, "queda", &csv)
	const chunk = 5000 // imports.Service.ChunkRows
	var resumes []time.Duration
	var last int64
	for k := range kills {
		// Kill once the import has written a random number of rows more,
		// three chunks or more before its end: its progress can then show
		// the kill came part-way.
		step := max((n-int(last))/chunk-3, 1) / (kills - k)
		target := last + int64(chunk*(1+rng.IntN(max(step, 1))))
		var seen int64
		for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
			im := getImport(t, c, id)
			seen = int64(im["rows_done"].(float64))
			if seen >= target || im["status"] == "done" || im["status"] == "failed" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: the import did not reach row %d within 5 minutes: %v", k+1, target, im)
			}
		}
		time.Sleep(time.Duration(rng.IntN(100)) * time.Millisecond)
		kill(cmd)
		cmd, _, base = startChild(t, data)
		c.base = base
		im := getImport(t, c, id)
		at := int64(im["rows_done"].(float64))
		if im["status"] != "running" || at >= int64(n) {
			t.Fatalf("kill %d came too late to prove anything (aim was row %d): %v", k+1, target, im)
		}
		if at < seen {
			t.Fatalf("kill %d: the API showed %d rows written, after the restart the import says %d", k+1, seen, at)
		}
		killed := time.Now()
		for deadline := killed.Add(4 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			im = getImport(t, c, id)
			if im["status"] != "running" || int64(im["rows_done"].(float64)) > at {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("kill %d: the import killed at row %d did not go on within 4 minutes: %v", k+1, at, im)
			}
		}
		last = at
		resumes = append(resumes, time.Since(killed).Round(time.Second))
		t.Logf("kill %d: at row %d of %d (progress seen %d, aim %d); resumed after %s", k+1, at, n, seen, target, resumes[k])
	}
	var im map[string]any
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		im = getImport(t, c, id)
		if im["status"] != "running" && im["status"] != "pending" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import did not finish: %v", im)
		}
	}
	want := map[string]any{"status": "done", "rows_done": float64(n), "inserted": float64(n), "updated": float64(0),
		"merged": float64(0), "rejected": float64(0)}
	for k, v := range want {
		if im[k] != v {
			t.Errorf("import %s = %v, want %v (%v)", k, im[k], v, im)
		}
	}
	took := time.Since(begun).Round(time.Second)

	// Every phone of the file belongs to exactly one contact, which is in
	// the list; no other contact exists.
	listID := int64(im["list_id"].(float64))
	phones := map[string]int{}
	for _, ct := range listContacts(t, c, fmt.Sprintf("list=%d", listID)) {
		phones[ct["phone"].(string)]++
	}
	missing, twice := 0, 0
	for i := range n {
		switch phones[fmt.Sprintf("+5511%09d", 900000000+i)] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	if missing > 0 || twice > 0 || len(phones) != n {
		t.Errorf("list members: %d rows without their contact, %d phones on several, %d distinct phones for %d rows",
			missing, twice, len(phones), n)
	}
	st, out := c.do("POST", "/api/v1/segments/count", map[string]any{"filter": map[string]any{"conditions": []any{
		map[string]any{"field": "list", "op": "not_in", "value": strconv.FormatInt(listID, 10)}}}})
	if st != 200 || out["contacts"] != float64(0) {
		t.Errorf("contacts outside the list: %d %v, want none", st, out)
	}
	if st, l := c.do("GET", fmt.Sprintf("/api/v1/lists/%d", listID), nil); st != 200 || l["members"] != float64(n) {
		t.Errorf("list: %d %v, want %d members", st, l, n)
	}
	t.Logf("%d kills during an import of %d rows (resumed after %v): done in %s, each row's contact once, all in the list",
		kills, n, resumes, took)
}

// crashRand returns the generator of a crash test's random moments, seeded
// from RECADO_CRASH_SEED when set (to replay a failure), else from the
// clock. The seed is logged either way.
func crashRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("RECADO_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("RECADO_CRASH_SEED=%q: %v", s, err)
		}
	}
	t.Logf("random moments from seed %d (replay with RECADO_CRASH_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0x5ec4ad0))
}

// uploadCSV posts a CSV file to POST /api/v1/imports for the named list and
// returns the import's id.
func uploadCSV(t *testing.T, c client, list string, body io.Reader) int64 {
	t.Helper()
	req, _ := http.NewRequest("POST", c.base+"/api/v1/imports?list="+url.QueryEscape(list), body)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("import: %d %s", resp.StatusCode, b)
	}
	var im struct{ ID int64 }
	if err := json.Unmarshal(b, &im); err != nil || im.ID == 0 {
		t.Fatalf("import: %s: %v", b, err)
	}
	return im.ID
}

// getImport reads an import's progress from the API.
func getImport(t *testing.T, c client, id int64) map[string]any {
	t.Helper()
	st, im := c.do("GET", fmt.Sprintf("/api/v1/imports/%d", id), nil)
	if st != 200 {
		t.Fatalf("get import %d: %d %v", id, st, im)
	}
	return im
}

// waitImport waits for an import to end and returns it; it fails the test
// unless the import is done.
func waitImport(t *testing.T, c client, id int64, within time.Duration) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		im := getImport(t, c, id)
		switch im["status"] {
		case "done":
			return im
		case "failed":
			t.Fatalf("import %d failed: %v", id, im)
		}
		if time.Now().After(deadline) {
			t.Fatalf("import %d not done within %s: %v", id, within, im)
		}
	}
}

// listContacts pages through GET /api/v1/contacts with the query filter.
func listContacts(t *testing.T, c client, filter string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		path := "/api/v1/contacts?limit=1000&" + filter
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		st, body := c.do("GET", path, nil)
		if st != 200 {
			t.Fatalf("list contacts: %d %v", st, body)
		}
		for _, ct := range body["contacts"].([]any) {
			out = append(out, ct.(map[string]any))
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}
