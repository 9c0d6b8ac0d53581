package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

// mixed is a mix of final statuses, so that "the right state" means
// something: most delivered, some failed, rejected by the carrier, expired.
var mixed = kolmeyatest.Outcomes{Delivered: 6, Failed: 2, Rejected: 1, Expired: 1}

// TestProviderFaults sends a batch of 40 messages through the Kolmeya
// adapter while the fake Kolmeya misbehaves in one way, and checks that
// each message is accepted exactly once (or, when Kolmeya never recovers,
// fails with the error kept), that every retry waited as the schedule says
// (60 s, 180 s, 600 s, 1800 s: the test lets River run each at once after
// checking what it was told), and that each message then ends in the state
// Kolmeya's final status gives it.
func TestProviderFaults(t *testing.T) {
	tests := []struct {
		name    string
		batches int                                // batches of 40 sent (1)
		timeout string                             // the client's timeout per request (1s)
		faults  kolmeyatest.Faults                 // set before the send
		before  func(f *kolmeyatest.Server, n int) // before the retry of failed attempt n
		retries int                                // retries the batch takes; -1: do not check
		failed  bool                               // Kolmeya never recovers: the messages fail
		lookup  bool                               // the first attempt was accepted: found by asking, not sent again
		either  bool                               // found by asking or sent again, as the timing falls
	}{
		{name: "a burst of 503s", faults: kolmeyatest.Faults{FailNext: 3}, retries: 1},
		{name: "500 on every third request", faults: kolmeyatest.Faults{FailEvery: 3}, batches: 6, retries: -1},
		{name: "500 to the last attempt", faults: kolmeyatest.Faults{FailEvery: 1}, retries: 4, failed: true},
		{name: "a timeout after Kolmeya accepted", faults: kolmeyatest.Faults{HangAfterAccept: 1}, timeout: "300ms", retries: 1, lookup: true},
		{name: "a garbled answer after Kolmeya accepted", faults: kolmeyatest.Faults{GarbleNext: 1}, retries: 1, lookup: true},
		{name: "a 429 storm", faults: kolmeyatest.Faults{RateLimitNext: 3, RetryAfter: 300 * time.Millisecond}, retries: 0},
		{name: "slow answers within the timeout", faults: kolmeyatest.Faults{Latency: 150 * time.Millisecond}, timeout: "10s", retries: 0},
		// Kolmeya gives up on a request whose client left only when it
		// notices, which a loaded machine may delay past the latency: then it
		// takes the messages after all, and the retry finds them by asking.
		// The retry comes 60 s later in production, long after Kolmeya is done
		// with the first request; the test, which runs it at once, waits for
		// that too (see RELIABILITY.md on a provider slower than the retry).
		{name: "answers slower than the timeout", faults: kolmeyatest.Faults{Latency: 2 * time.Second}, timeout: "300ms", retries: 1, either: true,
			before: func(f *kolmeyatest.Server, _ int) {
				f.UpdateFaults(func(x *kolmeyatest.Faults) { x.Latency = 0 })
				for deadline := time.Now().Add(10 * time.Second); f.InFlight() > 0 && time.Now().Before(deadline); {
					time.Sleep(10 * time.Millisecond)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dialects(t, func(t *testing.T, dsn string) {
				e := newEnv(t, dsn, envOptions{outcomes: mixed, timeout: tt.timeout})
				e.fake.SetFaults(tt.faults)
				var refs []string
				for b := range max(tt.batches, 1) {
					phones := make([]string, 40)
					for i := range phones {
						phones[i] = phone(b*40 + i)
					}
					refs = append(refs, e.send(t, fmt.Sprintf("pf%d", b), phones...)...)
				}
				e.settle(t, func(n int) {
					if tt.before != nil {
						tt.before(e.fake, n)
					}
				})
				if got := e.checkSchedule(t); tt.retries >= 0 && got != tt.retries {
					t.Errorf("the batch was retried %d times, want %d", got, tt.retries)
				}
				e.fake.SetFaults(kolmeyatest.Faults{})
				ms := e.messages(t, refs)
				if tt.failed {
					for _, r := range refs {
						if m := ms[r]; m.State != sms.StateFailed || m.ErrorCode == "" || m.ErrorText == "" || m.Attempts < 1 {
							t.Errorf("%s: %s, error %q %q, want failed with the last error kept", r, m.State, m.ErrorCode, m.ErrorText)
						}
						if n := e.fake.Accepted(r); n != 0 {
							t.Errorf("%s: accepted %d times by a Kolmeya that only failed", r, n)
						}
					}
					e.checkHistory(t, refs)
					return
				}
				e.checkOnce(t, refs)
				for _, r := range refs {
					src := e.eventSources(t, ms[r].ID)[sms.StateSent]
					if want := map[bool]sms.Source{true: sms.SourcePoll, false: sms.SourceProvider}[tt.lookup]; src != want && !(tt.either && src == sms.SourcePoll) {
						t.Fatalf("%s: sent by %q, want %q", r, src, want)
					}
				}
				e.finish(t, refs, false)
			})
		})
	}
}

// TestPartialRefusals: in one request Kolmeya takes some messages and
// refuses others (its blacklist, the Não Me Perturbe register, the same
// phone twice): the refused are rejected with the reason, never retried
// nor accepted, a blacklist refusal joins Recado's blacklist, and the
// others go on to their final state.
func TestPartialRefusals(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn, envOptions{outcomes: mixed})
		phones := make([]string, 30)
		for i := range phones {
			phones[i] = phone(i)
		}
		phones[29] = phones[28] // the same phone twice in one request
		e.fake.AddBlacklist(phones[0], phones[1])
		e.fake.AddNotDisturb(phones[2])
		refs := e.send(t, "pr", phones...)
		e.settle(t, nil)
		if n := e.checkSchedule(t); n != 0 {
			t.Errorf("refusals were retried %d times", n)
		}
		want := map[string]string{refs[0]: "blacklist", refs[1]: "blacklist", refs[2]: "not_disturb", refs[29]: "duplicate"}
		ms := e.messages(t, refs)
		var accepted []string
		for _, r := range refs {
			m := ms[r]
			code, refused := want[r]
			switch {
			case refused && (m.State != sms.StateRejected || m.ErrorCode != code || e.fake.Accepted(r) != 0):
				t.Errorf("%s: %s %q, accepted %d times; want rejected %q, never accepted", r, m.State, m.ErrorCode, e.fake.Accepted(r), code)
			case !refused && m.State != sms.StateSent:
				t.Errorf("%s: %s %q, want sent", r, m.State, m.ErrorCode)
			case !refused:
				accepted = append(accepted, r)
			}
		}
		e.checkOnce(t, accepted)
		listed, err := e.app.DB.Blacklisted(t.Context(), []string{phones[0], phones[1], phones[2]})
		if err != nil {
			t.Fatal(err)
		}
		if !listed[phones[0]] || !listed[phones[1]] || listed[phones[2]] {
			t.Errorf("Recado's blacklist after the refusals: %v", listed)
		}
		e.finish(t, accepted, false)
		if got := fmt.Sprint(len(accepted)); got != "26" {
			t.Errorf("%s messages accepted, want 26", got)
		}
	})
}
