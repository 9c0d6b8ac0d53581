package kolmeya

import (
	"context"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// What Recado's background jobs ask of Kolmeya: statuses of requests still in
// flight, replies, blacklist changes, and the rate-limit budget.

// PollJob asks /sms/status/request for the request Kolmeya answered a send
// with (the job id Recado keeps) and returns the status of each of its
// messages. A request Kolmeya does not know gives nothing. Kolmeya's report
// endpoints (/sms/reports/statuses…) are not used for this: their rows carry
// neither message ids nor references, nor status codes.
func (p *Provider) PollJob(ctx context.Context, jobID string) ([]provider.StatusUpdate, error) {
	if jobID == "" {
		return nil, nil
	}
	st, err := p.client.StatusByRequestID(ctx, jobID)
	if err != nil {
		if sms.KindOf(err) == sms.KindProviderPermanent && (codeOf(err) == CodeNotFound || codeOf(err) == CodeValidation) {
			return nil, nil
		}
		return nil, wrap("poll job", err)
	}
	now := p.now()
	out := make([]provider.StatusUpdate, 0, len(st.Messages))
	for _, m := range st.Messages {
		if u, ok := toStatusUpdate(m, now); ok {
			out = append(out, u)
		}
	}
	return out, nil
}

// toStatusUpdate turns one message's Kolmeya status into a report; false
// for an unknown code or a status naming no message.
func toStatusUpdate(m MessageStatus, at time.Time) (provider.StatusUpdate, bool) {
	state, known := StateForCode(int(m.StatusCode))
	if !known || (m.ID == "" && m.Reference == "") {
		return provider.StatusUpdate{}, false
	}
	u := provider.StatusUpdate{Reference: string(m.Reference), ProviderMessageID: string(m.ID),
		State: state, At: at, Detail: string(m.Status)}
	if state.Failure() {
		u.ErrorCode = "status_" + strconv.FormatInt(int64(m.StatusCode), 10)
		u.ErrorText = string(m.Status)
	}
	return u, true
}

// ReplyRetention is how long Kolmeya keeps replies: 168 hours.
func (p *Provider) ReplyRetention() time.Duration { return MaxReplyPeriodHours * time.Hour }

// PollReplies returns the replies of /sms/replys and /sms/replys-web
// received since since, asking for the whole hours back to it (at most
// 168, Kolmeya's limit). Replies to web-panel campaigns carry their id
// prefixed with "web:", so that they can never collide with API replies, and
// name no message they answer (Recado links them to the latest message sent
// to the phone).
func (p *Provider) PollReplies(ctx context.Context, since time.Time) ([]provider.Reply, error) {
	hours := int(math.Ceil(p.now().Sub(since).Hours()))
	hours = min(max(hours, 1), MaxReplyPeriodHours)
	api, err := p.client.Replies(ctx, hours)
	if err != nil {
		return nil, wrap("poll replies", err)
	}
	web, err := p.client.WebReplies(ctx, hours)
	if err != nil {
		return nil, wrap("poll replies", err)
	}
	out := make([]provider.Reply, 0, len(api)+len(web))
	for _, r := range api {
		if r.ID != "" {
			out = append(out, r.ForRecado())
		}
	}
	for _, w := range web {
		if w.ID != "" {
			out = append(out, w.ForRecado())
		}
	}
	return out, nil
}

// ForRecado turns a reply to a web-panel campaign into the provider-neutral
// form, its id prefixed with "web:".
func (w WebReply) ForRecado() provider.Reply {
	return provider.Reply{ProviderReplyID: "web:" + string(w.ID), Phone: string(w.Phone), Body: string(w.Reply),
		ReceivedAt: w.ReceivedAt.Time}
}

// BlacklistAdd puts numbers on the account's blacklist (/blacklist/store, in
// requests of 1000). Numbers that are not Brazilian are skipped: Kolmeya
// cannot hold them, nor send to them.
func (p *Provider) BlacklistAdd(ctx context.Context, phones []string) error {
	entries := brazilian(phones)
	if len(entries) == 0 {
		return nil
	}
	return wrap("blacklist add", p.client.BlacklistStore(ctx, entries))
}

// BlacklistRemove takes numbers off the account's blacklist
// (/blacklist/destroy, in requests of 1000), skipping those that are not
// Brazilian.
func (p *Provider) BlacklistRemove(ctx context.Context, phones []string) error {
	entries := brazilian(phones)
	if len(entries) == 0 {
		return nil
	}
	return wrap("blacklist remove", p.client.BlacklistDestroy(ctx, entries))
}

func brazilian(phones []string) []BlacklistEntry {
	out := make([]BlacklistEntry, 0, len(phones))
	for _, ph := range phones {
		if strings.HasPrefix(ph, "+") && !strings.HasPrefix(ph, "+55") {
			continue // E.164 of another country
		}
		if d := NationalDigits(ph); len(d) == 10 || len(d) == 11 {
			out = append(out, BlacklistEntry{Phone: ph})
		}
	}
	return out
}

// RateLimit returns the account's request budget as this process's limiter
// last saw it in Kolmeya's X-RateLimit-* headers.
func (p *Provider) RateLimit() (provider.RateLimit, bool) {
	s, ok := p.client.Limiter().State()
	if !ok {
		return provider.RateLimit{}, false
	}
	return provider.RateLimit{Limit: s.Limit, Remaining: s.Remaining, ResetAt: s.ResetAt, BlockedUntil: s.BlockedUntil}, true
}
