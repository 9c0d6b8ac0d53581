// Package providertest is the conformance suite every Recado provider passes.
// A provider's tests call Run with a Harness that builds a fresh provider for
// each check and a Steer that makes it fail on demand, usually by steering
// the fake server the provider talks to:
//
//	func TestConformance(t *testing.T) {
//		providertest.Run(t, providertest.Harness{New: newSteeredProvider})
//	}
//
// The suite checks what the send pipeline relies on: one result per message
// matched by reference, rejections that do not sink the batch, errors of the
// right kind for retries and rate limits, lookups that find a batch whose
// answer was lost, and safety under concurrent use. Run it with -race.
package providertest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// Harness builds the providers the suite checks.
type Harness struct {
	// New returns a fresh provider, with nothing sent yet, and the Steer that
	// controls it. It registers with t.Cleanup whatever must be closed.
	New func(t *testing.T) (provider.Provider, Steer)
}

// Steer makes a provider under test misbehave on demand and tells what it
// accepted. Each Fail method affects the next Send only.
type Steer interface {
	// AcceptedCount returns how many times the provider accepted the
	// message with reference ref.
	AcceptedCount(ref string) int
	// FailNextTemporary makes the next Send fail with a temporary error,
	// accepting nothing.
	FailNextTemporary()
	// FailNextRateLimit makes the next Send fail with a rate limit asking to
	// wait d, accepting nothing.
	FailNextRateLimit(d time.Duration)
	// AcceptThenTimeout makes the provider accept the next Send's batch while
	// the call itself fails with a temporary error, as a timeout after
	// acceptance does.
	AcceptThenTimeout()
	// RejectPhone makes the provider refuse, from now on, every message to
	// the E.164 phone e164.
	RejectPhone(e164 string)
}

// Run checks the provider built by h against the contract of
// provider.Provider, each rule in a subtest of its own.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("providertest: Harness.New is nil")
	}
	tests := []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"Identity", testIdentity},
		{"SendBatch", testSendBatch},
		{"RejectedPhone", testRejectedPhone},
		{"TemporaryFailure", testTemporaryFailure},
		{"RateLimit", testRateLimit},
		{"AcceptThenTimeout", testAcceptThenTimeout},
		{"LookupUnknown", testLookupUnknown},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentSends", testConcurrentSends},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

func testIdentity(t *testing.T, h Harness) {
	p, _ := h.New(t)
	if p.Name() == "" {
		t.Error("Name() is empty")
	}
	if got := p.Limits().MaxBatch; got < 1 {
		t.Errorf("Limits().MaxBatch = %d, want at least 1", got)
	}
}

func testSendBatch(t *testing.T, h Harness) {
	p, steer := h.New(t)
	b := newBatch(t, "b", min(p.Limits().MaxBatch, 50))
	res, err := p.Send(t.Context(), b)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := byReference(t, b, res)
	ids := map[string]string{}
	for _, m := range b.Messages {
		r := got[m.Reference]
		checkAccepted(t, r)
		if prev, dup := ids[r.ProviderMessageID]; dup && r.ProviderMessageID != "" {
			t.Errorf("messages %s and %s share provider message id %q", prev, m.Reference, r.ProviderMessageID)
		}
		ids[r.ProviderMessageID] = m.Reference
		if n := steer.AcceptedCount(m.Reference); n != 1 {
			t.Errorf("message %s accepted %d times, want 1", m.Reference, n)
		}
	}
}

func testRejectedPhone(t *testing.T, h Harness) {
	p, steer := h.New(t)
	b := newBatch(t, "rej", 3)
	refused := b.Messages[1]
	steer.RejectPhone(refused.Phone)
	var res []provider.Result
	for _, part := range split(b, p.Limits().MaxBatch) {
		r, err := p.Send(t.Context(), part)
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		res = append(res, r...)
	}
	got := byReference(t, b, res)
	for _, m := range b.Messages {
		r := got[m.Reference]
		if m.Reference != refused.Reference {
			checkAccepted(t, r)
			continue
		}
		if r.State != sms.StateRejected {
			t.Errorf("message to refused phone %s: state %q, want %q", m.Phone, r.State, sms.StateRejected)
		}
		if r.ErrorCode == "" {
			t.Errorf("message to refused phone %s: empty ErrorCode", m.Phone)
		}
		if n := steer.AcceptedCount(m.Reference); n != 0 {
			t.Errorf("message to refused phone %s accepted %d times, want 0", m.Phone, n)
		}
	}
}

func testTemporaryFailure(t *testing.T, h Harness) {
	p, steer := h.New(t)
	b := newBatch(t, "tmp", min(p.Limits().MaxBatch, 5))
	steer.FailNextTemporary()
	res, err := p.Send(t.Context(), b)
	if err == nil {
		t.Fatalf("Send after FailNextTemporary: no error, %d results", len(res))
	}
	if k := sms.KindOf(err); k != sms.KindProviderTemporary {
		t.Errorf("Send error %q: kind %v, want %v", err, k, sms.KindProviderTemporary)
	}
	if !sms.Retryable(err) {
		t.Errorf("Send error %q: not retryable", err)
	}
	checkNoneAccepted(t, steer, b)

	// The failure is for one call only: the same batch goes through next.
	b.Reference += "-2"
	res, err = p.Send(t.Context(), b)
	if err != nil {
		t.Fatalf("Send after a temporary failure: %v", err)
	}
	for _, r := range byReference(t, b, res) {
		checkAccepted(t, r)
	}
}

func testRateLimit(t *testing.T, h Harness) {
	p, steer := h.New(t)
	b := newBatch(t, "rl", min(p.Limits().MaxBatch, 5))
	steer.FailNextRateLimit(2 * time.Second)
	res, err := p.Send(t.Context(), b)
	if err == nil {
		t.Fatalf("Send after FailNextRateLimit: no error, %d results", len(res))
	}
	if k := sms.KindOf(err); k != sms.KindRateLimited {
		t.Errorf("Send error %q: kind %v, want %v", err, k, sms.KindRateLimited)
	}
	if d := sms.RetryAfter(err); d <= 0 {
		t.Errorf("Send error %q: RetryAfter = %v, want more than 0", err, d)
	}
	if !sms.Retryable(err) {
		t.Errorf("Send error %q: not retryable", err)
	}
	checkNoneAccepted(t, steer, b)
}

func testAcceptThenTimeout(t *testing.T, h Harness) {
	p, steer := h.New(t)
	b := newBatch(t, "att", min(p.Limits().MaxBatch, 5))
	steer.AcceptThenTimeout()
	res, err := p.Send(t.Context(), b)
	if err == nil {
		t.Fatalf("Send after AcceptThenTimeout: no error, %d results", len(res))
	}
	if !sms.Retryable(err) {
		t.Errorf("Send error %q: not retryable, but a timeout is", err)
	}

	q := provider.LookupQuery{RequestReferences: []string{b.Reference}, MessageReferences: references(b)}
	found, err := p.Lookup(t.Context(), q)
	if err != nil {
		t.Fatalf("Lookup after a timed-out send: %v", err)
	}
	for _, r := range byReference(t, b, found) {
		checkAccepted(t, r)
	}
	for _, m := range b.Messages {
		if n := steer.AcceptedCount(m.Reference); n != 1 {
			t.Errorf("message %s accepted %d times, want 1", m.Reference, n)
		}
	}
}

func testLookupUnknown(t *testing.T, h Harness) {
	p, _ := h.New(t)
	// Something known, so that a provider answering everything it holds is
	// caught.
	b := newBatch(t, "known", 1)
	if _, err := p.Send(t.Context(), b); err != nil {
		t.Fatalf("Send: %v", err)
	}
	unknown := newBatch(t, "unknown", 2)
	res, err := p.Lookup(t.Context(), provider.LookupQuery{
		RequestReferences: []string{unknown.Reference},
		MessageReferences: references(unknown),
	})
	if err != nil {
		t.Fatalf("Lookup of unknown references: %v", err)
	}
	if len(res) != 0 {
		t.Errorf("Lookup of unknown references: %d results, want none: %+v", len(res), res)
	}
}

func testCanceledContext(t *testing.T, h Harness) {
	p, steer := h.New(t)
	b := newBatch(t, "ctx", min(p.Limits().MaxBatch, 3))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := p.Send(ctx, b)
	if err == nil {
		t.Fatalf("Send with a canceled context: no error, %d results", len(res))
	}
	checkNoneAccepted(t, steer, b)
}

func testConcurrentSends(t *testing.T, h Harness) {
	p, steer := h.New(t)
	const workers, rounds = 8, 3
	size := min(p.Limits().MaxBatch, 10)
	batches := make([]provider.Batch, 0, workers*rounds)
	for w := range workers {
		for r := range rounds {
			batches = append(batches, newBatch(t, fmt.Sprintf("w%d-r%d", w, r), size))
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				b := batches[w*rounds+r]
				res, err := p.Send(t.Context(), b)
				if err != nil {
					t.Errorf("Send %s: %v", b.Reference, err)
					continue
				}
				if len(res) != len(b.Messages) {
					t.Errorf("Send %s: %d results for %d messages", b.Reference, len(res), len(b.Messages))
				}
				if _, err := p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{b.Reference}}); err != nil {
					t.Errorf("Lookup %s: %v", b.Reference, err)
				}
			}
		})
	}
	wg.Wait()
	for _, b := range batches {
		for _, m := range b.Messages {
			if n := steer.AcceptedCount(m.Reference); n != 1 {
				t.Errorf("message %s accepted %d times, want 1", m.Reference, n)
			}
		}
	}
}

// newBatch returns a batch of n valid messages to obviously fake Brazilian
// mobiles, with references unique to the test and to tag.
func newBatch(t *testing.T, tag string, n int) provider.Batch {
	t.Helper()
	prefix := "ct-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + "-" + tag
	b := provider.Batch{Reference: prefix + "-req", Messages: make([]provider.Outbound, n)}
	for i := range n {
		b.Messages[i] = provider.Outbound{
			Reference: fmt.Sprintf("%s-%03d", prefix, i+1),
			Phone:     FakePhone(i + 1),
			Body:      fmt.Sprintf("Recado conformance test message %d", i+1),
			Kind:      sms.Transactional,
		}
	}
	return b
}

// FakePhone returns the i-th of a range of obviously fake Brazilian mobile
// numbers in E.164: FakePhone(1) is "+5511900000001". It serves up to 99999
// distinct numbers.
func FakePhone(i int) string { return fmt.Sprintf("+55119000%05d", i%100000) }

// split cuts b into batches of at most size messages, the first keeping b's
// reference.
func split(b provider.Batch, size int) []provider.Batch {
	var out []provider.Batch
	for i := 0; i < len(b.Messages); i += size {
		ref := b.Reference
		if i > 0 {
			ref = fmt.Sprintf("%s-%d", b.Reference, i/size)
		}
		out = append(out, provider.Batch{Reference: ref, Messages: b.Messages[i:min(i+size, len(b.Messages))]})
	}
	return out
}

func references(b provider.Batch) []string {
	refs := make([]string, len(b.Messages))
	for i, m := range b.Messages {
		refs[i] = m.Reference
	}
	return refs
}

// byReference checks that res holds exactly one result for each message of b
// and nothing else, and returns them by reference.
func byReference(t *testing.T, b provider.Batch, res []provider.Result) map[string]provider.Result {
	t.Helper()
	want := map[string]bool{}
	for _, m := range b.Messages {
		want[m.Reference] = true
	}
	got := map[string]provider.Result{}
	for _, r := range res {
		switch {
		case !want[r.Reference]:
			t.Errorf("result for reference %q, which is not in the batch", r.Reference)
		case got[r.Reference].Reference != "":
			t.Errorf("more than one result for reference %q", r.Reference)
		}
		got[r.Reference] = r
	}
	for _, m := range b.Messages {
		if _, ok := got[m.Reference]; !ok {
			t.Errorf("no result for message %s", m.Reference)
		}
	}
	return got
}

// checkAccepted checks that r says its message was accepted.
func checkAccepted(t *testing.T, r provider.Result) {
	t.Helper()
	if r.Reference == "" {
		return // byReference reported the missing result
	}
	if !acceptedState(r.State) {
		t.Errorf("message %s: state %q, want %q or later (error %s: %s)", r.Reference, r.State, sms.StateSent, r.ErrorCode, r.ErrorText)
	}
	if r.ProviderMessageID == "" {
		t.Errorf("message %s: empty ProviderMessageID", r.Reference)
	}
}

// acceptedState reports whether s is a state of a message the provider took:
// sent, or a fate it already knows.
func acceptedState(s sms.State) bool {
	switch s {
	case sms.StateSent, sms.StateDelivered, sms.StateFailed, sms.StateExpired:
		return true
	}
	return false
}

func checkNoneAccepted(t *testing.T, steer Steer, b provider.Batch) {
	t.Helper()
	for _, m := range b.Messages {
		if n := steer.AcceptedCount(m.Reference); n != 0 {
			t.Errorf("message %s accepted %d times, want 0", m.Reference, n)
		}
	}
}
