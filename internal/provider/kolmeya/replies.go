package kolmeya

import (
	"context"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// MaxReplyPeriodHours is how far back Kolmeya keeps replies: 7 days.
const MaxReplyPeriodHours = 168

// maxPages stops a pagination that never ends.
const maxPages = 10000

// Reply is a contact's answer to a message sent through the API, from
// /sms/replys or from a reply webhook.
type Reply struct {
	ID         FlexString   `json:"id"`
	Text       FlexString   `json:"reply"`
	ReceivedAt Time         `json:"received_at"`
	Message    ReplyMessage `json:"message"`
	Request    ReplyRequest `json:"request"`
}

// ReplyMessage is the message a Reply answers. Content is the original text,
// sent only by webhooks.
type ReplyMessage struct {
	ID        FlexString `json:"id"`
	Reference FlexString `json:"reference"`
	Phone     FlexString `json:"phone"`
	Content   FlexString `json:"content"`
}

// ReplyRequest is the send request of the message a Reply answers.
type ReplyRequest struct {
	ID        FlexString `json:"id"`
	Reference FlexString `json:"reference"`
}

// WebReply is a reply to a campaign sent from Kolmeya's web panel.
type WebReply struct {
	ID         FlexString `json:"id"`
	Job        FlexString `json:"job"`
	Phone      FlexString `json:"phone"`
	Message    FlexString `json:"message"`
	Parameters Params     `json:"parameters"`
	SendAt     Time       `json:"send_at"`
	Reply      FlexString `json:"reply"`
	ReceivedAt Time       `json:"received_at"`
}

// page is one page of a Laravel paginated answer.
type page[T any] struct {
	CurrentPage FlexInt    `json:"current_page"`
	Data        []T        `json:"data"`
	LastPage    FlexInt    `json:"last_page"`
	PerPage     FlexInt    `json:"per_page"`
	Total       FlexInt    `json:"total"`
	NextPageURL FlexString `json:"next_page_url"`
}

// Replies returns the replies received in the last periodHours hours (0
// means Kolmeya's default of 24, at most 168), following every page. A reply
// seen on two pages (the list moved while it was read) is returned once.
func (c *Client) Replies(ctx context.Context, periodHours int) ([]Reply, error) {
	out, err := allPages(ctx, c, pathReplies, periodHours, func(r Reply) string { return string(r.ID) })
	return out, wrap("replies", err)
}

// WebReplies returns the replies to web-panel campaigns received in the last
// periodHours hours (0 means Kolmeya's default), following every page.
func (c *Client) WebReplies(ctx context.Context, periodHours int) ([]WebReply, error) {
	out, err := allPages(ctx, c, pathWebReplies, periodHours, func(r WebReply) string { return string(r.ID) })
	return out, wrap("web replies", err)
}

func allPages[T any](ctx context.Context, c *Client, path string, periodHours int, id func(T) string) ([]T, error) {
	if periodHours < 0 || periodHours > MaxReplyPeriodHours {
		return nil, sms.Errorf(sms.KindInvalid, "period of %d hours: want 1 to %d, or 0 for the default", periodHours, MaxReplyPeriodHours)
	}
	var out []T
	seen := map[string]bool{}
	for n := 1; n <= maxPages; n++ {
		body := map[string]int{"page": n}
		if periodHours > 0 {
			body["period"] = periodHours
		}
		var p page[T]
		if err := c.call(ctx, path, body, &p, idempotent); err != nil {
			return out, err
		}
		for _, item := range p.Data {
			if k := id(item); k == "" || !seen[k] {
				seen[k] = true
				out = append(out, item)
			}
		}
		last := p.NextPageURL == "" || len(p.Data) == 0 || (p.LastPage > 0 && int64(n) >= int64(p.LastPage))
		if last {
			return out, nil
		}
	}
	return out, sms.Errorf(sms.KindProviderTemporary, "more than %d pages", maxPages)
}

// ForRecado turns a Kolmeya reply into the provider-neutral form that
// Recado stores. The sender is the phone of the message it answers.
func (r Reply) ForRecado() provider.Reply {
	return provider.Reply{
		ProviderReplyID:            string(r.ID),
		Phone:                      string(r.Message.Phone),
		Body:                       string(r.Text),
		ReceivedAt:                 r.ReceivedAt.Time,
		InReplyToProviderMessageID: string(r.Message.ID),
		InReplyToReference:         string(r.Message.Reference),
	}
}
