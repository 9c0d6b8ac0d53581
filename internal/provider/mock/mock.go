// Package mock is Recado's default provider: it sends nothing anywhere, yet
// behaves like a real one. It answers sends, reports delivery later through
// the status sink, answers lookups and keeps a fake balance, so that the quick
// start works without an account and tests can run the whole pipeline.
//
// It is deterministic: a message's fate (delivered, failed, rejected or
// expired, weighed by the settings) and its provider message id are derived
// from a hash of its reference, so the same reference always meets the same
// fate. Tests steer it with FailNext and AcceptThenFail, and count with
// Accepted how many times the provider took each reference, which is how the
// pipeline's "never sent twice" promise is checked.
package mock

import (
	"context"
	"encoding/hex"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// TypeName is the provider type the registry knows the mock by.
const TypeName = "mock"

// Type describes the mock to the provider registry. It has no secrets.
func Type() provider.Type {
	return provider.Type{
		Name: TypeName,
		Build: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			s, err := ParseSettings(cfg.Settings)
			if err != nil {
				return nil, err
			}
			return New(cfg.Name, s, deps)
		},
	}
}

// Provider is the mock provider. It is safe for concurrent use. Call Close
// when done with it, to stop the status reports still pending.
type Provider struct {
	name   string
	sink   provider.StatusSink
	logger *slog.Logger
	now    func() time.Time

	// ctx lives as long as the provider; Close cancels it, which stops the
	// reports in progress.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	idle     *sync.Cond // signalled when a pending report finishes
	settings Settings
	balance  sms.Money
	messages map[string]*record  // by message reference
	requests map[string][]string // message references by batch reference
	pending  map[uint64]*report
	nextID   uint64
	failNext error // returned by the next Send, which accepts nothing
	failThen error // returned by the next Send, after it accepted the batch
	closed   bool
	journal  *journal
}

// record is what the mock knows of one message reference.
type record struct {
	result   provider.Result // the latest known state
	accepted int             // how many sends accepted it
}

// New returns a mock provider named name. deps.Sink receives the delivery
// reports; with a nil Sink they only change what Lookup answers. A nil
// deps.Now or deps.Logger means time.Now and a logger that discards.
func New(name string, s Settings, deps provider.Deps) (*Provider, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if name == "" {
		name = TypeName
	}
	p := &Provider{
		name:     name,
		sink:     deps.Sink,
		logger:   deps.Logger,
		now:      deps.Now,
		settings: s,
		balance:  s.Balance,
		messages: map[string]*record{},
		requests: map[string][]string{},
		pending:  map[uint64]*report{},
	}
	p.settings.RejectPrefixes = slices.Clone(s.RejectPrefixes)
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.idle = sync.NewCond(&p.mu)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if s.Journal != "" {
		j, entries, err := openJournal(s.Journal)
		if err != nil {
			return nil, err
		}
		p.journal = j
		for _, e := range entries {
			rec, ok := p.messages[e.Result.Reference]
			if !ok {
				rec = &record{result: e.Result}
				p.messages[e.Result.Reference] = rec
			}
			rec.accepted++
			p.requests[e.Batch] = append(p.requests[e.Batch], e.Result.Reference)
		}
	}
	return p, nil
}

// Name returns the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Limits returns the batch size from the settings.
func (p *Provider) Limits() provider.Limits {
	p.mu.Lock()
	defer p.mu.Unlock()
	return provider.Limits{MaxBatch: p.settings.MaxBatch}
}

// Send answers a batch after the configured latency. Accepted messages get
// StateSent, a provider message id derived from their reference and the
// batch reference as job id; messages to a refused prefix or with a phone that
// is not E.164 are rejected with code "invalid", and messages whose fate is
// "rejected" with code "rejected". The final status of the accepted ones is
// reported to the sink after the delivery delay, in one call for the batch.
//
// A context canceled before or during the latency accepts nothing. A batch
// larger than MaxBatch is refused whole with KindProviderPermanent.
func (p *Provider) Send(ctx context.Context, b provider.Batch) ([]provider.Result, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, provider.Temporary(p.name, "provider closed", nil)
	}
	if err := p.failNext; err != nil {
		p.failNext = nil
		return nil, err
	}
	if n, limit := len(b.Messages), p.settings.MaxBatch; n > limit {
		return nil, provider.Permanent(p.name, "batch too large", sms.Errorf(sms.KindInvalid, "%d messages, at most %d", n, limit))
	}

	results := make([]provider.Result, 0, len(b.Messages))
	var updates []provider.StatusUpdate
	for _, m := range b.Messages {
		res, final := p.decide(b.Reference, m)
		results = append(results, res)
		rec, known := p.messages[m.Reference]
		if !known {
			rec = &record{}
			p.messages[m.Reference] = rec
		}
		if !known || !slices.Contains(p.requests[b.Reference], m.Reference) {
			p.requests[b.Reference] = append(p.requests[b.Reference], m.Reference)
		}
		if rec.accepted == 0 {
			rec.result = res // an accepted message keeps its first answer and later reports
		}
		if res.State == sms.StateRejected {
			continue
		}
		rec.accepted++
		p.balance -= *res.Cost
		updates = append(updates, final)
		if p.journal != nil {
			p.journal.add(b.Reference, res)
		}
	}
	if p.journal != nil {
		if err := p.journal.sync(); err != nil {
			return nil, provider.Temporary(p.name, "journal", err)
		}
	}
	if len(updates) > 0 {
		p.schedule(updates)
	}
	if err := p.failThen; err != nil {
		p.failThen = nil
		return nil, err
	}
	return results, nil
}

// wait sleeps for the send latency, or until ctx is done.
func (p *Provider) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return provider.Temporary(p.name, "send canceled", err)
	}
	p.mu.Lock()
	d := p.settings.SendLatency
	p.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return provider.Temporary(p.name, "send canceled", ctx.Err())
	}
}

// decide returns the answer to one message and, when it is accepted, the
// status update that will later report its fate. p.mu is held.
func (p *Provider) decide(batchRef string, m provider.Outbound) (provider.Result, provider.StatusUpdate) {
	res := provider.Result{Reference: m.Reference}
	if !validE164(m.Phone) || p.refused(m.Phone) {
		res.State = sms.StateRejected
		res.ErrorCode = "invalid"
		res.ErrorText = "mock: phone number refused"
		return res, provider.StatusUpdate{}
	}
	h := hash(m.Reference)
	fate := p.settings.Outcomes.pick(h)
	if fate == sms.StateRejected {
		res.State = sms.StateRejected
		res.ErrorCode = "rejected"
		res.ErrorText = "mock: rejected by the outcome weights"
		return res, provider.StatusUpdate{}
	}
	cost := p.settings.CostPerSegment.Times(max(sms.Segments(m.Body).Segments, 1))
	res.State = sms.StateSent
	res.ProviderMessageID = messageID(h)
	res.ProviderJobID = batchRef
	res.Cost = &cost
	up := provider.StatusUpdate{
		Reference:         m.Reference,
		ProviderMessageID: res.ProviderMessageID,
		State:             fate,
		Detail:            string(fate),
	}
	switch fate {
	case sms.StateFailed:
		up.ErrorCode, up.ErrorText = "undeliverable", "mock: the handset could not be reached"
	case sms.StateExpired:
		up.ErrorCode, up.ErrorText = "expired", "mock: the message expired before delivery"
	}
	return res, up
}

func (p *Provider) refused(phone string) bool {
	for _, prefix := range p.settings.RejectPrefixes {
		if strings.HasPrefix(phone, prefix) {
			return true
		}
	}
	return false
}

// pick returns the fate of the message whose reference hashes to h.
func (o Outcomes) pick(h uint64) sms.State {
	n := int(h % uint64(o.total()))
	for _, f := range []struct {
		w     int
		state sms.State
	}{{o.Delivered, sms.StateDelivered}, {o.Failed, sms.StateFailed}, {o.Rejected, sms.StateRejected}, {o.Expired, sms.StateExpired}} {
		if n < f.w {
			return f.state
		}
		n -= f.w
	}
	return sms.StateDelivered // unreachable with valid weights
}

func hash(ref string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(ref))
	return h.Sum64()
}

// messageID returns the provider message id of the message whose reference
// hashes to h: "mock-" and 16 hex digits.
func messageID(h uint64) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(h >> (56 - 8*i))
	}
	return "mock-" + hex.EncodeToString(b[:])
}

// Lookup returns what the mock knows of the messages named by q: those it
// accepted, in their latest known state (sent until their report is due,
// then delivered, failed or expired), and those it rejected. Unknown
// references are left out.
func (p *Provider) Lookup(ctx context.Context, q provider.LookupQuery) ([]provider.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, provider.Temporary(p.name, "lookup canceled", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	var out []provider.Result
	add := func(ref string) {
		rec, ok := p.messages[ref]
		if !ok || seen[ref] {
			return
		}
		seen[ref] = true
		out = append(out, rec.result)
	}
	for _, req := range q.RequestReferences {
		for _, ref := range p.requests[req] {
			add(ref)
		}
	}
	for _, ref := range q.MessageReferences {
		add(ref)
	}
	return out, nil
}

// Balance returns the fake balance: the starting balance less the cost of
// every accepted segment.
func (p *Provider) Balance(ctx context.Context) (sms.Money, error) {
	if err := ctx.Err(); err != nil {
		return 0, provider.Temporary(p.name, "balance canceled", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.balance, nil
}

// Accepted returns how many times a Send accepted the message with reference
// ref. A pipeline that never sends twice keeps it at most 1.
func (p *Provider) Accepted(ref string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rec, ok := p.messages[ref]; ok {
		return rec.accepted
	}
	return 0
}

// TotalAccepted returns how many messages all Sends accepted, counting a
// reference accepted twice twice.
func (p *Provider) TotalAccepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, rec := range p.messages {
		n += rec.accepted
	}
	return n
}

// FailNext makes the next Send return err without accepting anything. Use
// provider.Temporary or provider.RateLimited to build err.
func (p *Provider) FailNext(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failNext = err
}

// AcceptThenFail makes the next Send accept its batch as usual, then return
// err instead of the results, as a call that times out after the provider
// took the batch.
func (p *Provider) AcceptThenFail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failThen = err
}

// SetOutcomes changes the weights of the fates of messages sent from now on.
// Invalid weights give an error of kind KindInvalid and change nothing.
func (p *Provider) SetOutcomes(o Outcomes) error {
	if err := o.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settings.Outcomes = o
	return nil
}

// RejectPrefix makes sends to phones starting with prefix (E.164, such as
// "+5511900000001") be rejected with code "invalid" from now on.
func (p *Provider) RejectPrefix(prefix string) error {
	if !validPrefix(prefix) {
		return invalidField("reject_prefixes", `must be "+" followed by digits`, prefix)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settings.RejectPrefixes = append(p.settings.RejectPrefixes, prefix)
	return nil
}
