package kolmeya

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// TypeName is the provider type the registry knows Kolmeya by.
const TypeName = "kolmeya"

// Type describes Kolmeya to the provider registry. The providers it builds
// share pacing per account through a Limiters of their own; use TypeWith to
// share one with other code.
func Type() provider.Type { return TypeWith(NewLimiters()) }

// TypeWith is Type with the limiters the built providers' clients take
// their pacing from.
func TypeWith(limiters *Limiters) provider.Type {
	return provider.Type{
		Name: TypeName,
		Build: func(cfg provider.Config, deps provider.Deps) (provider.Provider, error) {
			s, err := ParseSettings(cfg.Settings)
			if err != nil {
				return nil, err
			}
			return New(cfg.Name, s, deps, limiters)
		},
		Secrets: []string{"token", "webhook_secret", "webhook_jwt_secret"},
	}
}

// Provider is Kolmeya as a provider.Provider, and as each optional
// interface Recado's background jobs use: provider.BalanceChecker,
// StatusPoller, ReplyPoller, BlacklistSyncer and RateLimiter (poll.go). It is
// safe for concurrent use.
//
// Send posts a batch's marketing messages in one /sms/store request and each
// transactional message in a /sms/store-token request of its own, in that
// order, stopping at the first failure. The batch's reference goes on the
// first request Kolmeya records and each later one carries
// "<batch reference>:<message reference>", so Lookup can find all of them
// from the batch reference alone: if the first is unknown, nothing of the
// batch was taken.
type Provider struct {
	name       string
	client     *Client
	settings   Settings
	webhookURL string
	log        *slog.Logger
	now        func() time.Time
}

var (
	_ provider.Provider        = (*Provider)(nil)
	_ provider.BalanceChecker  = (*Provider)(nil)
	_ provider.StatusPoller    = (*Provider)(nil)
	_ provider.ReplyPoller     = (*Provider)(nil)
	_ provider.BlacklistSyncer = (*Provider)(nil)
	_ provider.RateLimiter     = (*Provider)(nil)
)

// New returns a provider named name. Its client takes its pacing from
// limiters (nil means a limiter of its own), its HTTP client, clock and
// logger from deps, and its webhook URL from deps.PublicURL and the
// settings' secret. It does no I/O.
func New(name string, s Settings, deps provider.Deps, limiters *Limiters) (*Provider, error) {
	if name == "" {
		return nil, sms.Errorf(sms.KindInvalid, "kolmeya: empty provider name")
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("provider", name)
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	var lim *Limiter
	if limiters != nil {
		lim = limiters.For(base, s.Token, LimiterOptions{Now: now})
	}
	p := &Provider{
		name:     name,
		settings: s,
		log:      log,
		now:      now,
		client: NewClient(ClientOptions{
			BaseURL: base, Token: s.Token, HTTPClient: deps.HTTPClient, Timeout: s.Timeout,
			Now: now, Logger: log, Limiter: lim,
		}),
	}
	if deps.PublicURL != "" && s.WebhookSecret != "" {
		p.webhookURL = strings.TrimRight(deps.PublicURL, "/") + "/webhooks/kolmeya/" +
			url.PathEscape(name) + "/" + url.PathEscape(s.WebhookSecret)
	}
	return p, nil
}

// Name returns the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Limits says a batch holds at most 1000 messages, Kolmeya's limit per
// request.
func (p *Provider) Limits() provider.Limits { return provider.Limits{MaxBatch: MaxStoreMessages} }

// Client returns the provider's API client, for polling and reports.
func (p *Provider) Client() *Client { return p.client }

// WebhookURL returns the URL sent with each request for Kolmeya's events, or
// "" when there is none.
func (p *Provider) WebhookURL() string { return p.webhookURL }

// VerifyWebhookSecret reports, in constant time, whether secret is the
// provider's webhook secret. Without a configured secret it is always false.
func (p *Provider) VerifyWebhookSecret(secret string) bool {
	return p.settings.WebhookSecret != "" &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(p.settings.WebhookSecret)) == 1
}

// Balance returns the account's balance.
func (p *Provider) Balance(ctx context.Context) (sms.Money, error) { return p.client.Balance(ctx) }

// subReference is the top-level reference of a batch's request other than
// the first recorded one.
func subReference(batchRef, msgRef string) string {
	if batchRef == "" {
		return ""
	}
	return batchRef + ":" + msgRef
}

// part is one request of a batch.
type part struct {
	token bool
	msgs  []provider.Outbound
}

// Send hands a batch to Kolmeya and returns a Result for each message it
// answered for: StateSent for a message taken, StateRejected with ErrorCode
// "invalid", "duplicate", "blacklist" or "not_disturb" for a refusal. A
// transactional message refused with a validation error (a link, a 0800
// number) is rejected as "invalid" and the batch goes on.
//
// Any other failure ends the batch with an error: temporary, rate-limited
// or permanent as the client classified it, except that a permanent refusal
// after part of the batch was taken is reported as temporary, so that the
// pipeline looks up what was taken and sends only the rest again.
func (p *Provider) Send(ctx context.Context, b provider.Batch) ([]provider.Result, error) {
	if len(b.Messages) > MaxStoreMessages {
		return nil, sms.Errorf(sms.KindInvalid, "kolmeya: send: %d messages, at most %d per batch", len(b.Messages), MaxStoreMessages)
	}
	var parts []part
	var marketing []provider.Outbound
	for _, m := range b.Messages {
		if m.Kind == sms.Transactional {
			parts = append(parts, part{token: true, msgs: []provider.Outbound{m}})
		} else {
			marketing = append(marketing, m)
		}
	}
	if len(marketing) > 0 {
		parts = append([]part{{msgs: marketing}}, parts...)
	}
	results := make([]provider.Result, 0, len(b.Messages))
	recorded := false // whether a request carrying b.Reference was recorded
	for _, pt := range parts {
		ref := b.Reference
		if recorded {
			ref = subReference(b.Reference, pt.msgs[0].Reference)
		}
		req := p.storeRequest(ref, pt.msgs)
		var resp *StoreResponse
		var err error
		if pt.token {
			resp, err = p.client.StoreToken(ctx, req)
		} else {
			resp, err = p.client.Store(ctx, req)
		}
		if err != nil {
			if pt.token && sms.KindOf(err) == sms.KindProviderPermanent && codeOf(err) == CodeValidation {
				m := pt.msgs[0]
				results = append(results, provider.Result{Reference: m.Reference, State: sms.StateRejected,
					ErrorCode: "invalid", ErrorText: apiText(err)})
				continue
			}
			if recorded && sms.KindOf(err) == sms.KindProviderPermanent {
				err = &sms.Error{Kind: sms.KindProviderTemporary, Code: codeOf(err),
					Message: "refused after part of the batch was taken", Err: err}
			}
			return nil, wrap("send", err)
		}
		recorded = true
		results = append(results, p.match(pt.msgs, resp)...)
	}
	return results, nil
}

func (p *Provider) storeRequest(ref string, msgs []provider.Outbound) StoreRequest {
	req := StoreRequest{
		Messages:        make([]OutMessage, len(msgs)),
		Reference:       ref,
		TenantSegmentID: p.settings.SegmentID,
		SMSAPIID:        p.settings.SMSAPIID,
		WebhookURL:      p.webhookURL,
	}
	for i, m := range msgs {
		req.Messages[i] = OutMessage{Phone: strings.TrimPrefix(m.Phone, "+"), Message: m.Body, Reference: m.Reference}
	}
	return req
}

// apiText returns Kolmeya's messages from err, or err's text.
func apiText(err error) string {
	var ae *APIError
	if errors.As(err, &ae) && len(ae.All()) > 0 {
		return strings.Join(ae.All(), "; ")
	}
	return err.Error()
}

// match turns a send answer into results for msgs, by reference first and by
// national phone for refusals that name only a phone.
func (p *Provider) match(msgs []provider.Outbound, resp *StoreResponse) []provider.Result {
	m := newMatcher(msgs)
	out := make([]provider.Result, 0, len(msgs))
	for _, v := range resp.Valids {
		i, ok := m.take(string(v.Reference), string(v.Phone))
		if !ok {
			p.log.Warn("kolmeya: accepted message matches none sent", "reference", string(v.Reference), "id", string(v.ID))
			continue
		}
		r := provider.Result{Reference: msgs[i].Reference, State: sms.StateSent,
			ProviderMessageID: string(v.ID), ProviderJobID: string(resp.ID)}
		if p.settings.CostPerSegment > 0 {
			c := p.settings.CostPerSegment.Times(max(1, sms.Segments(msgs[i].Body).Segments))
			r.Cost = &c
		}
		out = append(out, r)
	}
	refusals := []struct {
		items []Refusal
		code  string
		text  string
	}{
		{resp.Invalids, "invalid", "invalid message or phone"},
		{resp.Duplicates, "duplicate", "same phone twice in one request"},
		{resp.Blacklist, "blacklist", "phone is on the account's blacklist"},
		{resp.NotDisturb, "not_disturb", "phone is on the Não Me Perturbe register"},
	}
	for _, group := range refusals {
		for _, it := range group.items {
			i, ok := m.take(string(it.Reference), string(it.Phone))
			if !ok {
				p.log.Warn("kolmeya: refusal matches none sent", "code", group.code, "reference", string(it.Reference))
				continue
			}
			text := group.text
			if it.Error != "" {
				text = string(it.Error)
			}
			out = append(out, provider.Result{Reference: msgs[i].Reference, State: sms.StateRejected,
				ErrorCode: group.code, ErrorText: text, ProviderJobID: string(resp.ID)})
		}
	}
	if missing := len(msgs) - len(out); missing > 0 {
		p.log.Warn("kolmeya: messages without an answer", "count", missing, "request", string(resp.ID))
	}
	return out
}

// matcher hands out each message of a request once, by reference or by
// national phone, in the order the messages were sent.
type matcher struct {
	done    []bool
	byRef   map[string]int
	byPhone map[string][]int
}

func newMatcher(msgs []provider.Outbound) *matcher {
	m := &matcher{done: make([]bool, len(msgs)), byRef: make(map[string]int, len(msgs)),
		byPhone: make(map[string][]int, len(msgs))}
	for i, msg := range msgs {
		m.byRef[msg.Reference] = i
		n := NationalDigits(msg.Phone)
		m.byPhone[n] = append(m.byPhone[n], i)
	}
	return m
}

func (m *matcher) take(ref, phone string) (int, bool) {
	if ref != "" {
		if i, ok := m.byRef[ref]; ok && !m.done[i] {
			m.done[i] = true
			return i, true
		}
	}
	if phone == "" {
		return 0, false
	}
	n := NationalDigits(phone)
	queue := m.byPhone[n]
	for len(queue) > 0 && m.done[queue[0]] {
		queue = queue[1:]
	}
	m.byPhone[n] = queue
	if len(queue) == 0 {
		return 0, false
	}
	m.done[queue[0]] = true
	return queue[0], true
}

// Lookup asks Kolmeya for the requests of earlier attempts of a batch and
// returns a Result for each message it holds: its state by status code,
// with the provider's ids. For each request reference it asks the first
// request and, if Kolmeya knows it, the request of each message of
// q.MessageReferences not found in it (see Send). A reference Kolmeya does
// not know adds nothing. With q.MessageReferences set, only those messages
// are returned.
func (p *Provider) Lookup(ctx context.Context, q provider.LookupQuery) ([]provider.Result, error) {
	want := make(map[string]bool, len(q.MessageReferences))
	for _, r := range q.MessageReferences {
		want[r] = true
	}
	found := map[string]bool{}
	var out []provider.Result
	add := func(st *RequestStatus) {
		for _, m := range st.Messages {
			ref := string(m.Reference)
			if ref == "" || found[ref] || (len(want) > 0 && !want[ref]) {
				continue
			}
			found[ref] = true
			out = append(out, lookupResult(st, m))
		}
	}
	for _, reqRef := range q.RequestReferences {
		if reqRef == "" {
			continue
		}
		st, err := p.status(ctx, reqRef)
		if err != nil {
			return nil, wrap("lookup", err)
		}
		if st == nil {
			continue // nothing of this attempt was taken
		}
		add(st)
		for _, msgRef := range q.MessageReferences {
			if found[msgRef] {
				continue
			}
			st, err := p.status(ctx, subReference(reqRef, msgRef))
			if err != nil {
				return nil, wrap("lookup", err)
			}
			if st != nil {
				add(st)
			}
		}
	}
	return out, nil
}

// status asks for a request by reference; an unknown reference is nil.
func (p *Provider) status(ctx context.Context, ref string) (*RequestStatus, error) {
	st, err := p.client.StatusByReference(ctx, ref)
	if err != nil {
		if sms.KindOf(err) == sms.KindProviderPermanent && (codeOf(err) == CodeNotFound || codeOf(err) == CodeValidation) {
			return nil, nil
		}
		return nil, err
	}
	return st, nil
}

func lookupResult(st *RequestStatus, m MessageStatus) provider.Result {
	r := provider.Result{Reference: string(m.Reference), ProviderMessageID: string(m.ID), ProviderJobID: string(st.ID)}
	state, ok := StateForCode(int(m.StatusCode))
	if !ok {
		state = sms.StateSent // Kolmeya holds it, so it was taken
	}
	r.State = state
	if state.Failure() {
		r.ErrorCode = "status_" + strconv.FormatInt(int64(m.StatusCode), 10)
		r.ErrorText = string(m.Status)
	}
	return r
}
