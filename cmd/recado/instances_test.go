package main

import (
	"database/sql"
	"fmt"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestKilledInstanceWorkIsTakenOver starts three recado processes at once
// on one PostgreSQL database, sends 6000 messages through a slow fake
// Kolmeya, and kills one instance with SIGKILL while they all send: when
// five batches are in flight at once, each instance (two send workers
// apiece) holds at least one, so the killed one surely held work. The
// batches it held are taken over by the others once their lease runs out
// (RECADO_SEND_TIMEOUT=2s: about 3.5 s), asking Kolmeya first what it
// already took: every message is accepted exactly once.
func TestKilledInstanceWorkIsTakenOver(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	dsn := storetest.PostgresDSN(t)
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "crash-token", RateLimit: -1, SentAfter: time.Hour, FinalAfter: time.Hour})
	t.Cleanup(fake.Close)
	fake.SetFaults(kolmeyatest.Faults{Latency: time.Second})
	const key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	env := []string{"RECADO_DATABASE_URL=" + dsn, "RECADO_SECRET_KEY=" + key, "RECADO_SEND_TIMEOUT=2s", "RECADO_WORKERS=2"}
	bases := make([]string, 3)
	cmds := make([]*exec.Cmd, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmds[i], _, bases[i], errs[i] = spawn(t, t.TempDir(), env...)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	c := client{t: t, base: bases[0], token: testToken}
	if st, body := c.do("POST", "/api/v1/providers", map[string]any{"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
		"base_url": fake.URL(), "token": "crash-token"}}); st != 201 {
		t.Fatalf("create provider: %d %v", st, body)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var refs []string
	for b := range 60 {
		msgs := make([]map[string]any, 100)
		for i := range msgs {
			ref := fmt.Sprintf("tk%d-%d", b, i)
			refs = append(refs, ref)
			msgs[i] = map[string]any{"to": fmt.Sprintf("+5511%09d", 900000000+b*100+i), "body": "Teste", "provider": "kolmeya", "reference": ref}
		}
		c.base = bases[b%3]
		if st, body := c.do("POST", "/api/v1/messages/batch", map[string]any{"messages": msgs}); st != 202 {
			t.Fatalf("batch: %d %v", st, body)
		}
	}
	for inFlight, deadline := 0, time.Now().Add(60*time.Second); inFlight < 5; time.Sleep(20 * time.Millisecond) {
		if err := db.QueryRow(`SELECT count(*) FROM send_batches WHERE lease_until > now()`).Scan(&inFlight); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("never five batches in flight at once (last %d): the instances do not share the work", inFlight)
		}
	}
	kill(cmds[2]) // the third instance dies mid-send
	c.base = bases[0]
	deadline := time.Now().Add(90 * time.Second)
	for pending(t, c) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still in flight after the kill", pending(t, c))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var lost, doubled int
	for _, r := range refs {
		switch fake.Accepted(r) {
		case 0:
			lost++
		case 1:
		default:
			doubled++
		}
	}
	if lost > 0 || doubled > 0 {
		t.Fatalf("of %d messages, %d never accepted and %d accepted more than once", len(refs), lost, doubled)
	}
	var retaken int
	if err := db.QueryRow(`SELECT count(*) FROM send_batches WHERE attempts > 1`).Scan(&retaken); err != nil {
		t.Fatal(err)
	}
	if retaken == 0 {
		t.Fatal("no batch was attempted twice: the killed instance held none, and the test proved nothing")
	}
	t.Logf("%d batches of the killed instance taken over; %d messages each accepted once", retaken, len(refs))
}
