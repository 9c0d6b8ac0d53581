package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Message is a message as the API shows it.
type Message struct {
	sms.Message
	Cost   string      `json:"cost" doc:"Cost in BRL, estimated until the provider tells"`
	Events []sms.Event `json:"events,omitempty" doc:"Every change of state, oldest first (only on GET /messages/{id})"`
}

func messageOut(m sms.Message) Message { return Message{Message: m, Cost: m.Cost.String()} }

// SendBody asks for one SMS.
type SendBody struct {
	To         string            `json:"to,omitempty" maxLength:"40" doc:"Phone number, in any common form; Brazilian when it has no country code" example:"+55 11 90000-0001"`
	ContactID  *int64            `json:"contact_id,omitempty" doc:"Send to this contact (its phone, unless to is given)"`
	Body       string            `json:"body,omitempty" maxLength:"4000" doc:"The text; may be omitted with template_id" example:"Olá! Seu pedido saiu para entrega."`
	TemplateID *int64            `json:"template_id,omitempty" doc:"The template the text comes from: rendered for the recipient when body is omitted, kept on the message either way"`
	Fields     map[string]string `json:"fields,omitempty" maxProperties:"100" doc:"Values for the template's placeholders, over the contact's own"`
	Provider   string            `json:"provider,omitempty" maxLength:"40" doc:"Provider name; the default provider when omitted"`
	Kind       string            `json:"kind,omitempty" enum:"marketing,transactional" doc:"marketing (default) obeys opt-outs; transactional is for codes and notices"`
	Reference  string            `json:"reference,omitempty" maxLength:"100" doc:"Your unique reference for this message; generated when omitted"`
	SendAt     *time.Time        `json:"send_at,omitempty" doc:"Send no earlier than this time (RFC 3339)"`
}

func (b SendBody) request(p auth.Principal) dispatch.Request {
	uid := p.ID
	return dispatch.Request{To: b.To, ContactID: b.ContactID, Body: b.Body, Provider: b.Provider,
		Kind: sms.MessageKind(b.Kind), Reference: b.Reference, SendAt: b.SendAt, CreatedBy: &uid, TemplateID: b.TemplateID}
}

// IdemHeader documents the Idempotency-Key header every POST takes (the
// idempotency middleware acts on it). Embedded types must be exported for
// huma to see their fields.
type IdemHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Repeat a request safely: the same key and body return the first answer"`
}

type sendInput struct {
	IdemHeader
	Body SendBody
}

type batchInput struct {
	IdemHeader
	Body struct {
		Messages []SendBody `json:"messages" minItems:"1" maxItems:"1000" doc:"1 to 1000 messages, accepted or refused together"`
	}
}

type messageOutput struct{ Body Message }

type messagesOutput struct {
	Body struct {
		Messages   []Message `json:"messages"`
		NextCursor string    `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page"`
	}
}

// IDParam is the {id} path parameter.
type IDParam struct {
	ID int64 `path:"id" minimum:"1"`
}

type listMessagesInput struct {
	State      string `query:"state" doc:"Comma-separated states (queued,sending,sent,delivered,failed,rejected,expired,canceled,received,draft)"`
	Direction  string `query:"direction" enum:"outbound,inbound,"`
	ContactID  int64  `query:"contact_id"`
	Provider   string `query:"provider"`
	CampaignID int64  `query:"campaign_id"`
	From       string `query:"from" doc:"Created at or after (RFC 3339)"`
	To         string `query:"to" doc:"Created before (RFC 3339)"`
	Cursor     string `query:"cursor"`
	Limit      int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
}

func (in listMessagesInput) filter() (store.MessageFilter, error) {
	f := store.MessageFilter{Direction: sms.Direction(in.Direction), Provider: in.Provider, Limit: in.Limit}
	var bad []sms.FieldError
	if in.State != "" {
		for _, s := range strings.Split(in.State, ",") {
			st, err := sms.ParseState(strings.TrimSpace(s))
			if err != nil {
				bad = append(bad, sms.FieldError{Field: "state", Message: "unknown state", Value: s})
				continue
			}
			f.States = append(f.States, st)
		}
	}
	if in.ContactID != 0 {
		f.ContactID = &in.ContactID
	}
	if in.CampaignID != 0 {
		f.CampaignID = &in.CampaignID
	}
	for _, t := range []struct {
		name, v string
		dst     **time.Time
	}{{"from", in.From, &f.From}, {"to", in.To, &f.To}} {
		if t.v == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			bad = append(bad, sms.FieldError{Field: t.name, Message: "an RFC 3339 time such as 2026-11-25T00:00:00-03:00", Value: t.v})
			continue
		}
		*t.dst = &v
	}
	if in.Cursor != "" {
		n, err := strconv.ParseInt(in.Cursor, 10, 64)
		if err != nil || n < 1 {
			bad = append(bad, sms.FieldError{Field: "cursor", Message: "use next_cursor from the previous page", Value: in.Cursor})
		}
		f.Before = n
	}
	if len(bad) > 0 {
		return f, sms.Invalid("invalid filter", bad...)
	}
	return f, nil
}

func (s *Server) registerMessages() {
	send := op("send-message", http.MethodPost, "/messages", "Send an SMS", auth.MessagesWrite, "Messages")
	send.DefaultStatus = http.StatusAccepted
	send.Description = "Stores the message as queued and sends it in the background. Follow it with GET /messages/{id}."
	huma.Register(s.api, send, func(ctx context.Context, in *sendInput) (*messageOutput, error) {
		p, _ := PrincipalFrom(ctx)
		reqs := []dispatch.Request{in.Body.request(p)}
		if err := s.fromTemplates(ctx, []SendBody{in.Body}, reqs); err != nil {
			return nil, s.problem(err)
		}
		ms, err := s.Dispatch.Submit(ctx, reqs)
		if err != nil {
			return nil, s.problem(err)
		}
		return &messageOutput{Body: messageOut(ms[0])}, nil
	})

	batch := op("send-batch", http.MethodPost, "/messages/batch", "Send up to 1000 SMS at once", auth.MessagesWrite, "Messages")
	batch.DefaultStatus = http.StatusAccepted
	batch.MaxBodyBytes = maxIdempotentBody
	batch.Description = "All messages are accepted or none is: an invalid one refuses the batch, naming it (messages[i].field)."
	huma.Register(s.api, batch, func(ctx context.Context, in *batchInput) (*messagesOutput, error) {
		p, _ := PrincipalFrom(ctx)
		reqs := make([]dispatch.Request, len(in.Body.Messages))
		for i, b := range in.Body.Messages {
			reqs[i] = b.request(p)
		}
		if err := s.fromTemplates(ctx, in.Body.Messages, reqs); err != nil {
			return nil, s.problem(err)
		}
		ms, err := s.Dispatch.Submit(ctx, reqs)
		if err != nil {
			return nil, s.problem(err)
		}
		out := &messagesOutput{}
		out.Body.Messages = make([]Message, len(ms))
		for i, m := range ms {
			out.Body.Messages[i] = messageOut(m)
		}
		return out, nil
	})

	huma.Register(s.api, op("list-messages", http.MethodGet, "/messages", "List messages, newest first", auth.MessagesRead, "Messages"),
		func(ctx context.Context, in *listMessagesInput) (*messagesOutput, error) {
			f, err := in.filter()
			if err != nil {
				return nil, s.problem(err)
			}
			return s.listMessages(ctx, f)
		})

	huma.Register(s.api, op("get-message", http.MethodGet, "/messages/{id}", "Get a message with its events", auth.MessagesRead, "Messages"),
		func(ctx context.Context, in *IDParam) (*messageOutput, error) {
			m, err := s.DB.GetMessage(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			evs, err := s.DB.MessageEvents(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			out := messageOut(m)
			out.Events = evs
			return &messageOutput{Body: out}, nil
		})

	huma.Register(s.api, op("cancel-message", http.MethodPost, "/messages/{id}/cancel", "Cancel a message not yet handed to the provider", auth.MessagesWrite, "Messages"),
		func(ctx context.Context, in *struct {
			IdemHeader
			IDParam
		}) (*messageOutput, error) {
			p, _ := PrincipalFrom(ctx)
			m, err := s.Dispatch.Cancel(ctx, in.ID, "canceled by "+p.Username)
			if err != nil {
				return nil, s.problem(err)
			}
			return &messageOutput{Body: messageOut(m)}, nil
		})

	del := op("delete-message", http.MethodDelete, "/messages/{id}", "Delete a finished or draft message", auth.MessagesDelete, "Messages")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		if err := s.DB.DeleteMessage(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})
}

func (s *Server) listMessages(ctx context.Context, f store.MessageFilter) (*messagesOutput, error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	ms, err := s.DB.ListMessages(ctx, f)
	if err != nil {
		return nil, s.problem(err)
	}
	out := &messagesOutput{}
	out.Body.Messages = make([]Message, len(ms))
	for i, m := range ms {
		out.Body.Messages[i] = messageOut(m)
	}
	if len(ms) == f.Limit {
		out.Body.NextCursor = strconv.FormatInt(ms[len(ms)-1].ID, 10)
	}
	return out, nil
}
