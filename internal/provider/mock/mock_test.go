package mock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/provider/providertest"
	"github.com/recado-sms/recado/internal/sms"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, providertest.Harness{
		New: func(t *testing.T) (provider.Provider, providertest.Steer) {
			s := mock.DefaultSettings()
			s.DeliveryDelay = 0 // reports race with sends and lookups under -race
			p := newMock(t, s, &sink{})
			return p, steer{t, p}
		},
	})
}

// steer steers a mock for the conformance suite.
type steer struct {
	t *testing.T
	p *mock.Provider
}

func (s steer) AcceptedCount(ref string) int { return s.p.Accepted(ref) }
func (s steer) FailNextTemporary()           { s.p.FailNext(provider.Temporary("mock", "steered failure", nil)) }
func (s steer) FailNextRateLimit(d time.Duration) {
	s.p.FailNext(provider.RateLimited("mock", d))
}
func (s steer) AcceptThenTimeout() {
	s.p.AcceptThenFail(provider.Temporary("mock", "steered timeout", context.DeadlineExceeded))
}
func (s steer) RejectPhone(e164 string) {
	if err := s.p.RejectPrefix(e164); err != nil {
		s.t.Fatalf("RejectPrefix(%q): %v", e164, err)
	}
}

// sink is a status sink that records each call, and fails the first
// failFirst of them (or all, when failFirst is negative).
type sink struct {
	mu        sync.Mutex
	failFirst int
	calls     []sinkCall
}

type sinkCall struct {
	provider string
	source   sms.Source
	updates  []provider.StatusUpdate
}

func (s *sink) ApplyStatuses(_ context.Context, name string, src sms.Source, ups []provider.StatusUpdate) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, sinkCall{name, src, append([]provider.StatusUpdate(nil), ups...)})
	if s.failFirst < 0 || len(s.calls) <= s.failFirst {
		return errors.New("sink: database is locked")
	}
	return nil
}

func (s *sink) Calls() []sinkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkCall(nil), s.calls...)
}

var testNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newMock(t *testing.T, s mock.Settings, snk provider.StatusSink) *mock.Provider {
	t.Helper()
	return newMockDeps(t, s, provider.Deps{Sink: snk, Now: func() time.Time { return testNow }})
}

func newMockDeps(t *testing.T, s mock.Settings, deps provider.Deps) *mock.Provider {
	t.Helper()
	p, err := mock.New("mock-test", s, deps)
	if err != nil {
		t.Fatalf("mock.New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// batch returns a batch of n messages to fake phones, with references
// prefix-001 and on.
func batch(prefix string, n int) provider.Batch {
	b := provider.Batch{Reference: prefix + "-req"}
	for i := range n {
		b.Messages = append(b.Messages, provider.Outbound{
			Reference: fmt.Sprintf("%s-%03d", prefix, i+1),
			Phone:     providertest.FakePhone(i + 1),
			Body:      "Seu código é 1234",
			Kind:      sms.Transactional,
		})
	}
	return b
}

func send(t *testing.T, p *mock.Provider, b provider.Batch) []provider.Result {
	t.Helper()
	res, err := p.Send(t.Context(), b)
	if err != nil {
		t.Fatalf("Send %s: %v", b.Reference, err)
	}
	if len(res) != len(b.Messages) {
		t.Fatalf("Send %s: %d results for %d messages", b.Reference, len(res), len(b.Messages))
	}
	return res
}

// fates sends b and flushes the reports, and returns each message's final
// state by reference.
func fates(t *testing.T, p *mock.Provider, b provider.Batch) map[string]sms.State {
	t.Helper()
	send(t, p, b)
	p.Flush()
	res, err := p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{b.Reference}})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	out := map[string]sms.State{}
	for _, r := range res {
		out[r.Reference] = r.State
	}
	return out
}

func TestDeterministic(t *testing.T) {
	s := mock.DefaultSettings()
	s.Outcomes = mock.Outcomes{Delivered: 1, Failed: 1, Rejected: 1, Expired: 1}
	b := batch("det", 40)
	p1, p2 := newMock(t, s, nil), newMock(t, s, nil)
	r1, r2 := send(t, p1, b), send(t, p2, b)
	idFormat := regexp.MustCompile(`^mock-[0-9a-f]{16}$`)
	for i := range r1 {
		if strip(r1[i]) != strip(r2[i]) || (r1[i].Cost == nil) != (r2[i].Cost == nil) ||
			r1[i].Cost != nil && *r1[i].Cost != *r2[i].Cost {
			t.Errorf("message %s: %+v from one mock, %+v from another", r1[i].Reference, r1[i], r2[i])
		}
		if r1[i].State == sms.StateSent && !idFormat.MatchString(r1[i].ProviderMessageID) {
			t.Errorf("message %s: provider id %q does not match %v", r1[i].Reference, r1[i].ProviderMessageID, idFormat)
		}
		if r1[i].State == sms.StateSent && r1[i].ProviderJobID != b.Reference {
			t.Errorf("message %s: job id %q, want the batch reference %q", r1[i].Reference, r1[i].ProviderJobID, b.Reference)
		}
	}
	p1.Flush()
	p2.Flush()
	q := provider.LookupQuery{RequestReferences: []string{b.Reference}}
	l1, err1 := p1.Lookup(t.Context(), q)
	l2, err2 := p2.Lookup(t.Context(), q)
	if err1 != nil || err2 != nil || len(l1) != len(b.Messages) || len(l2) != len(l1) {
		t.Fatalf("Lookup: %v, %v, %d and %d results for %d messages", err1, err2, len(l1), len(l2), len(b.Messages))
	}
	seen := map[sms.State]int{}
	for i := range l1 {
		seen[l1[i].State]++
		if strip(l1[i]) != strip(l2[i]) {
			t.Errorf("message %s: fate %+v from one mock, %+v from another", l1[i].Reference, l1[i], l2[i])
		}
	}
	if len(seen) != 4 {
		t.Errorf("fates of 40 messages with equal weights: %v, want all four", seen)
	}
}

// strip returns r without its cost pointer, for comparison.
func strip(r provider.Result) provider.Result {
	r.Cost = nil
	return r
}

func TestOutcomeWeights(t *testing.T) {
	tests := []struct {
		name     string
		outcomes mock.Outcomes
		want     map[sms.State]float64 // share of messages
	}{
		{"all delivered", mock.Outcomes{Delivered: 100}, map[sms.State]float64{sms.StateDelivered: 1}},
		{"all failed", mock.Outcomes{Failed: 1}, map[sms.State]float64{sms.StateFailed: 1}},
		{"all rejected", mock.Outcomes{Rejected: 5}, map[sms.State]float64{sms.StateRejected: 1}},
		{"all expired", mock.Outcomes{Expired: 2}, map[sms.State]float64{sms.StateExpired: 1}},
		{"mixed", mock.Outcomes{Delivered: 70, Failed: 10, Rejected: 15, Expired: 5}, map[sms.State]float64{
			sms.StateDelivered: .70, sms.StateFailed: .10, sms.StateRejected: .15, sms.StateExpired: .05}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 1000
			s := mock.DefaultSettings()
			s.Outcomes = tt.outcomes
			snk := &sink{}
			p := newMock(t, s, snk)
			b := batch(strings.ReplaceAll(tt.name, " ", "-"), n)
			res := send(t, p, b)
			p.Flush()
			counts := map[sms.State]int{}
			accepted := 0
			for _, r := range res {
				if r.State == sms.StateRejected {
					counts[sms.StateRejected]++
					if r.ErrorCode != "rejected" {
						t.Errorf("rejected message %s: code %q, want %q", r.Reference, r.ErrorCode, "rejected")
					}
				} else {
					accepted++
				}
			}
			for _, c := range snk.Calls() {
				for _, u := range c.updates {
					counts[u.State]++
				}
			}
			if got := p.TotalAccepted(); got != accepted {
				t.Errorf("TotalAccepted = %d, want %d", got, accepted)
			}
			for st, share := range tt.want {
				got := float64(counts[st]) / n
				if got < share-0.05 || got > share+0.05 {
					t.Errorf("%s: %.3f of messages, want %.2f ± 0.05 (counts %v)", st, got, share, counts)
				}
			}
			total := 0
			for st, c := range counts {
				total += c
				if _, ok := tt.want[st]; !ok {
					t.Errorf("%d messages %s, want none", c, st)
				}
			}
			if total != n {
				t.Errorf("%d fates for %d messages: %v", total, n, counts)
			}
		})
	}
}

func TestSetOutcomes(t *testing.T) {
	p := newMock(t, mock.DefaultSettings(), nil)
	if err := p.SetOutcomes(mock.Outcomes{Delivered: -1, Failed: 2}); sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("SetOutcomes with a negative weight: %v, want an error of kind invalid", err)
	}
	if err := p.SetOutcomes(mock.Outcomes{Failed: 1}); err != nil {
		t.Fatalf("SetOutcomes: %v", err)
	}
	for ref, st := range fates(t, p, batch("set", 10)) {
		if st != sms.StateFailed {
			t.Errorf("message %s: %s, want failed", ref, st)
		}
	}
}

func TestDeliveryReportsBatched(t *testing.T) {
	s := mock.DefaultSettings()
	s.DeliveryDelay = 0
	snk := &sink{}
	p := newMock(t, s, snk)
	b1, b2 := batch("one", 5), batch("two", 3)
	send(t, p, b1)
	send(t, p, b2)
	p.Wait()
	calls := snk.Calls()
	if len(calls) != 2 {
		t.Fatalf("sink called %d times, want once per batch (2)", len(calls))
	}
	sizes := map[int]bool{}
	for _, c := range calls {
		sizes[len(c.updates)] = true
		if c.provider != "mock-test" || c.source != sms.SourceWebhook {
			t.Errorf("sink call for provider %q from %q, want %q from %q", c.provider, c.source, "mock-test", sms.SourceWebhook)
		}
		for _, u := range c.updates {
			if u.State != sms.StateDelivered || !u.At.Equal(testNow) || !strings.HasPrefix(u.ProviderMessageID, "mock-") || u.Reference == "" {
				t.Errorf("update %+v: want delivered at %v with reference and provider id", u, testNow)
			}
		}
	}
	if !sizes[5] || !sizes[3] {
		t.Errorf("sink calls of sizes %v, want 5 and 3", sizes)
	}
	res, err := p.Lookup(t.Context(), provider.LookupQuery{MessageReferences: []string{"one-001", "two-003"}})
	if err != nil || len(res) != 2 {
		t.Fatalf("Lookup: %v, %d results, want 2", err, len(res))
	}
	for _, r := range res {
		if r.State != sms.StateDelivered {
			t.Errorf("Lookup %s after its report: %s, want delivered", r.Reference, r.State)
		}
	}
}

func TestReportWaitsForDelay(t *testing.T) {
	s := mock.DefaultSettings()
	s.DeliveryDelay = time.Hour
	snk := &sink{}
	p := newMock(t, s, snk)
	b := batch("later", 2)
	send(t, p, b)
	q := provider.LookupQuery{RequestReferences: []string{b.Reference}}
	res, _ := p.Lookup(t.Context(), q)
	for _, r := range res {
		if r.State != sms.StateSent {
			t.Errorf("Lookup %s before its report: %s, want sent", r.Reference, r.State)
		}
	}
	if n := len(snk.Calls()); n != 0 {
		t.Fatalf("sink called %d times before the delay", n)
	}
	p.Flush()
	if n := len(snk.Calls()); n != 1 {
		t.Fatalf("sink called %d times after Flush, want 1", n)
	}
	res, _ = p.Lookup(t.Context(), q)
	for _, r := range res {
		if r.State != sms.StateDelivered {
			t.Errorf("Lookup %s after Flush: %s, want delivered", r.Reference, r.State)
		}
	}
}

func TestCloseStopsReports(t *testing.T) {
	s := mock.DefaultSettings()
	s.DeliveryDelay = time.Hour
	snk := &sink{}
	p := newMock(t, s, snk)
	b := batch("closed", 2)
	send(t, p, b)
	p.Close()
	p.Wait() // returns at once: nothing is pending any more
	if n := len(snk.Calls()); n != 0 {
		t.Errorf("sink called %d times after Close", n)
	}
	b.Reference += "-again"
	if _, err := p.Send(t.Context(), b); sms.KindOf(err) != sms.KindProviderTemporary {
		t.Errorf("Send after Close: %v, want a temporary error", err)
	}
}

func TestSinkRetry(t *testing.T) {
	s := mock.DefaultSettings()
	s.DeliveryDelay = 0

	t.Run("recovers", func(t *testing.T) {
		snk := &sink{failFirst: 2}
		p := newMock(t, s, snk)
		send(t, p, batch("retry", 3))
		p.Wait()
		if n := len(snk.Calls()); n != 3 {
			t.Errorf("sink called %d times, want 3 (two failures, then success)", n)
		}
	})

	t.Run("gives up and logs", func(t *testing.T) {
		var logs syncBuffer
		snk := &sink{failFirst: -1}
		p := newMockDeps(t, s, provider.Deps{Sink: snk, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		send(t, p, batch("down", 3))
		p.Wait()
		if n := len(snk.Calls()); n != 4 {
			t.Errorf("sink called %d times, want 4 attempts", n)
		}
		if out := logs.String(); !strings.Contains(out, "status report dropped") || !strings.Contains(out, "database is locked") {
			t.Errorf("log %q does not tell of the dropped report and its cause", out)
		}
		// The provider still knows the fate: Lookup recovers it.
		res, err := p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{"down-req"}})
		if err != nil || len(res) != 3 || res[0].State != sms.StateDelivered {
			t.Errorf("Lookup after a dropped report: %v, %+v; want 3 delivered", err, res)
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestSteering(t *testing.T) {
	p := newMock(t, mock.DefaultSettings(), nil)
	b := batch("steer", 2)

	p.FailNext(provider.Temporary("mock", "down", nil))
	if _, err := p.Send(t.Context(), b); sms.KindOf(err) != sms.KindProviderTemporary {
		t.Fatalf("Send after FailNext: %v, want a temporary error", err)
	}
	if n := p.TotalAccepted(); n != 0 {
		t.Fatalf("TotalAccepted after a failed send = %d, want 0", n)
	}

	p.AcceptThenFail(provider.Temporary("mock", "timeout", context.DeadlineExceeded))
	if _, err := p.Send(t.Context(), b); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Send after AcceptThenFail: %v, want the steered error", err)
	}
	if n := p.Accepted("steer-001"); n != 1 {
		t.Fatalf("Accepted after AcceptThenFail = %d, want 1", n)
	}

	// A pipeline that sends again regardless is caught by the count.
	send(t, p, b)
	if n := p.Accepted("steer-001"); n != 2 {
		t.Errorf("Accepted after a second send = %d, want 2", n)
	}
	if n := p.TotalAccepted(); n != 4 {
		t.Errorf("TotalAccepted = %d, want 4", n)
	}
	if n := p.Accepted("never-sent"); n != 0 {
		t.Errorf("Accepted of an unknown reference = %d, want 0", n)
	}
}

func TestRejectedPhones(t *testing.T) {
	s := mock.DefaultSettings()
	s.RejectPrefixes = []string{"+5511900000002"}
	p := newMock(t, s, nil)
	b := batch("phones", 3)
	b.Messages[2].Phone = "5511900000003" // no plus: not E.164
	res := send(t, p, b)
	want := []sms.State{sms.StateSent, sms.StateRejected, sms.StateRejected}
	for i, r := range res {
		if r.State != want[i] {
			t.Errorf("message %s to %s: %s, want %s", r.Reference, b.Messages[i].Phone, r.State, want[i])
		}
		if r.State == sms.StateRejected && (r.ErrorCode != "invalid" || r.ProviderMessageID != "") {
			t.Errorf("rejected message %s: code %q, provider id %q; want code invalid and no id", r.Reference, r.ErrorCode, r.ProviderMessageID)
		}
	}
	if n := p.TotalAccepted(); n != 1 {
		t.Errorf("TotalAccepted = %d, want 1", n)
	}
}

func TestSendLimits(t *testing.T) {
	s := mock.DefaultSettings()
	s.MaxBatch = 2
	s.SendLatency = time.Hour
	p := newMock(t, s, nil)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Send(ctx, batch("slow", 2))
	if sms.KindOf(err) != sms.KindProviderTemporary || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send past its deadline: %v, want a temporary error wrapping the deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v to honour its deadline", d)
	}
	if n := p.TotalAccepted(); n != 0 {
		t.Errorf("TotalAccepted after a canceled send = %d, want 0", n)
	}

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := p.Send(ctx, batch("big", 3)); err == nil {
		t.Error("Send with a canceled context: no error")
	}
	s.SendLatency = 0
	p = newMock(t, s, nil)
	if _, err := p.Send(t.Context(), batch("big", 3)); sms.KindOf(err) != sms.KindProviderPermanent {
		t.Errorf("Send of 3 messages with max_batch 2: %v, want a permanent error", err)
	}
	if res, err := p.Send(t.Context(), provider.Batch{Reference: "empty"}); err != nil || len(res) != 0 {
		t.Errorf("Send of an empty batch: %v, %d results; want nothing", err, len(res))
	}
}

func TestBalance(t *testing.T) {
	s := mock.DefaultSettings()
	s.Balance = 10 * sms.MoneyScale
	s.CostPerSegment = 700 // R$ 0,07
	s.Outcomes = mock.Outcomes{Delivered: 1}
	p := newMock(t, s, nil)
	b := batch("bal", 3)
	b.Messages[2].Body = strings.Repeat("a", 200) // two segments
	res := send(t, p, b)
	if got, want := *res[2].Cost, sms.Money(1400); got != want {
		t.Errorf("cost of a two-segment message = %s, want %s", got, want)
	}
	got, err := p.Balance(t.Context())
	if err != nil {
		t.Fatalf("Balance: %v", err)
	}
	if want := sms.Money(10*sms.MoneyScale - 4*700); got != want {
		t.Errorf("Balance = %s, want %s", got, want)
	}
	var _ provider.BalanceChecker = p
}

func TestParseSettings(t *testing.T) {
	def := mock.DefaultSettings()
	full := mock.Settings{
		MaxBatch: 10, SendLatency: 5 * time.Millisecond, DeliveryDelay: 0,
		Outcomes:       mock.Outcomes{Delivered: 90, Failed: 5, Rejected: 3, Expired: 2},
		RejectPrefixes: []string{"+5511999"}, CostPerSegment: 650, Balance: 25 * sms.MoneyScale,
	}
	ok := []struct {
		name string
		in   string
		want mock.Settings
	}{
		{"empty", ``, def},
		{"null", `null`, def},
		{"object", `{}`, def},
		{"full", `{"max_batch": 10, "send_latency": "5ms", "delivery_delay": "0s",
			"outcomes": {"delivered": 90, "failed": 5, "rejected": 3, "expired": 2},
			"reject_prefixes": ["+5511999"], "cost_per_segment": "0.065", "balance": "25"}`, full},
		{"numbers for money", `{"cost_per_segment": 0.07}`, func() mock.Settings { s := def; s.CostPerSegment = 700; return s }()},
		{"partial outcomes", `{"outcomes": {"failed": 1}}`, func() mock.Settings { s := def; s.Outcomes = mock.Outcomes{Failed: 1}; return s }()},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mock.ParseSettings(json.RawMessage(tt.in))
			if err != nil {
				t.Fatalf("ParseSettings: %v", err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ParseSettings = %+v, want %+v", got, tt.want)
			}
		})
	}

	bad := []struct {
		name, in, field string // field: the setting the error must name
	}{
		{"bad JSON", `{"max_batch": `, "JSON"},
		{"wrong type", `{"max_batch": "ten"}`, "max_batch"},
		{"unknown key", `{"delivery_dely": "1s"}`, "delivery_dely"},
		{"bad duration", `{"send_latency": "1 sec"}`, "send_latency"},
		{"negative duration", `{"delivery_delay": "-1s"}`, "delivery_delay"},
		{"negative weight", `{"outcomes": {"delivered": 100, "failed": -1}}`, "failed"},
		{"zero weights", `{"outcomes": {"delivered": 0}}`, "outcome"},
		{"zero batch", `{"max_batch": 0}`, "max_batch"},
		{"bad prefix", `{"reject_prefixes": ["5511"]}`, "reject_prefixes"},
		{"bad cost", `{"cost_per_segment": "cheap"}`, "cost_per_segment"},
		{"negative cost", `{"cost_per_segment": "-0.05"}`, "cost_per_segment"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mock.ParseSettings(json.RawMessage(tt.in))
			if sms.KindOf(err) != sms.KindInvalid {
				t.Fatalf("ParseSettings(%s) = %v, want an error of kind invalid", tt.in, err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %q", err, tt.field)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	reg := provider.NewRegistry(provider.Deps{})
	reg.Register(mock.Type())
	p, err := reg.Build(provider.Config{Name: "quickstart", Type: "mock", Settings: json.RawMessage(`{"max_batch": 7}`)})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { p.(*mock.Provider).Close() })
	if p.Name() != "quickstart" || p.Limits().MaxBatch != 7 {
		t.Errorf("built %q with max batch %d, want quickstart with 7", p.Name(), p.Limits().MaxBatch)
	}
	if len(reg.Secrets("mock")) != 0 {
		t.Errorf("mock has secrets %v, want none", reg.Secrets("mock"))
	}
	_, err = reg.Build(provider.Config{Name: "broken", Type: "mock", Settings: json.RawMessage(`{"send_latency": "soon"}`)})
	if sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("Build with bad settings: %v, want an error of kind invalid", err)
	}
}

func TestJournalSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal")
	s := mock.DefaultSettings()
	s.Journal = path
	s.DeliveryDelay = time.Hour
	p1, err := mock.New("mock", s, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	b := provider.Batch{Reference: "b.1", Messages: []provider.Outbound{
		{Reference: "r1", Phone: "+5511900000001", Body: "oi"}, {Reference: "r2", Phone: "+5511900000002", Body: "oi"}}}
	if _, err := p1.Send(ctx, b); err != nil {
		t.Fatal(err)
	}
	p1.Close()
	p2, err := mock.New("mock", s, provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer p2.Close()
	got, err := p2.Lookup(ctx, provider.LookupQuery{RequestReferences: []string{"b.1"}})
	if err != nil || len(got) != 2 || got[0].ProviderMessageID == "" {
		t.Fatalf("lookup after restart = %+v, %v", got, err)
	}
	if p2.Accepted("r1") != 1 {
		t.Fatalf("accepted = %d", p2.Accepted("r1"))
	}
	p2.Send(ctx, provider.Batch{Reference: "b.2", Messages: b.Messages[:1]})
	counts, err := mock.JournalCounts(path)
	if err != nil || counts["r1"] != 2 || counts["r2"] != 1 {
		t.Fatalf("journal counts = %v, %v", counts, err)
	}
}
