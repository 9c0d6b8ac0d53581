package webhooks

import (
	"testing"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

func TestReplyEventsCarryTheReply(t *testing.T) {
	contact, answered := int64(7), int64(3)
	reply := sms.Message{ID: 9, Phone: "+5511900000001", Body: "SAIR", Provider: "kolmeya", Reference: "ri1",
		ContactID: &contact, ReplyTo: &answered}
	for _, ev := range []EventType{ReplyReceived, ContactOptedOut} {
		got := payload(store.WebhookDelivery{ID: 1, MessageID: 9, Event: string(ev)}, map[int64]sms.Message{9: reply})
		m := got.Message
		if m == nil || m.State != "received" || m.Body != "SAIR" || *m.ContactID != 7 || *m.ReplyTo != 3 || m.Phone != reply.Phone {
			t.Errorf("%s: message = %+v", ev, m)
		}
	}
	sent := payload(store.WebhookDelivery{ID: 2, MessageID: 9, Event: "message.sent"}, map[int64]sms.Message{9: reply})
	if sent.Message.Body != "" || sent.Message.State != "sent" {
		t.Errorf("message events do not carry the body: %+v", sent.Message)
	}
}
