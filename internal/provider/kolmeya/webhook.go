package kolmeya

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

// WebhookKind says what a webhook from Kolmeya reports.
type WebhookKind string

// The kinds of webhook.
const (
	WebhookStatus   WebhookKind = "status"   // messages reached a final status (codes 3–6)
	WebhookReply    WebhookKind = "reply"    // a contact replied
	WebhookRejected WebhookKind = "rejected" // a whole request was rejected at review
)

// WebhookEvent is one decoded webhook. For WebhookStatus, Statuses holds the
// messages (one for the flat form, whose request fields stay empty); for
// WebhookReply, Reply is set; for WebhookRejected, every message of the
// request RequestID / RequestReference is rejected, for Reason.
type WebhookEvent struct {
	Kind             WebhookKind
	RequestID        string
	RequestReference string
	Statuses         []MessageStatus
	Reply            *Reply
	Reason           string
}

// ParseWebhook decodes a webhook body of any shape the contract lists:
//
//	status, nested: {"id": "req", "reference": "batch", "messages": [{"id", "reference", "status_code", "status"}]}
//	status, flat:   {"id": "msg", "reference": "r-1", "status_code": 3, "status": "entregue"}
//	reply:          {"reply": {"id", "reply", "received_at", "message": {"id", "reference", "phone", "content"}}}
//	rejected:       {"id": "req", "reference": "batch", "status": "rejected", "status_message": "..."}
//
// A reply in the shape of a /sms/replys item (with "reply" as the text) is
// read too. Anything else is an error of kind KindInvalid. ParseWebhook does
// not authenticate: the caller checks the URL's secret first.
func ParseWebhook(body []byte) (WebhookEvent, error) {
	bad := func(format string, args ...any) (WebhookEvent, error) {
		return WebhookEvent{}, sms.Errorf(sms.KindInvalid, "kolmeya: webhook: "+format, args...)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return bad("not a JSON object: %w", err)
	}
	if raw, ok := top["reply"]; ok {
		r := new(Reply)
		src := body // the /sms/replys item shape: the reply text at the top
		switch inner := bytes.TrimSpace(raw); {
		case len(inner) > 0 && inner[0] == '{':
			src = inner
		case len(inner) > 0 && inner[0] == '"' && (top["message"] != nil || top["id"] != nil):
		default:
			return bad("reply: want an object, or a text beside its message")
		}
		if err := json.Unmarshal(src, r); err != nil {
			return bad("reply: %w", err)
		}
		return WebhookEvent{Kind: WebhookReply, Reply: r,
			RequestID: string(r.Request.ID), RequestReference: string(r.Request.Reference)}, nil
	}
	var head struct {
		ID            FlexString      `json:"id"`
		Reference     FlexString      `json:"reference"`
		Status        FlexString      `json:"status"`
		StatusMessage FlexString      `json:"status_message"`
		Messages      []MessageStatus `json:"messages"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return bad("%w", err)
	}
	_, hasCode := top["status_code"]
	switch {
	case top["messages"] != nil && !bytes.Equal(bytes.TrimSpace(top["messages"]), []byte("null")):
		return WebhookEvent{Kind: WebhookStatus, RequestID: string(head.ID),
			RequestReference: string(head.Reference), Statuses: head.Messages}, nil
	case hasCode:
		var m MessageStatus
		if err := json.Unmarshal(body, &m); err != nil {
			return bad("%w", err)
		}
		return WebhookEvent{Kind: WebhookStatus, Statuses: []MessageStatus{m}}, nil
	case isRejected(string(head.Status)):
		return WebhookEvent{Kind: WebhookRejected, RequestID: string(head.ID),
			RequestReference: string(head.Reference), Reason: string(head.StatusMessage)}, nil
	}
	return bad("unknown shape")
}

func isRejected(status string) bool {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "rejected", "rejeitado", "reprovado":
		return true
	}
	return false
}
