package webhooks

import (
	"testing"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

func TestReplyEventsCarryTheReply(t *testing.T) {
	contact, answered, owner := int64(7), int64(3), int64(5)
	owners := map[int64]*int64{7: &owner}
	reply := sms.Message{ID: 9, Phone: "+5511900000001", Body: "SAIR", Provider: "kolmeya", Reference: "ri1",
		ContactID: &contact, ReplyTo: &answered, Direction: sms.Inbound}
	for _, ev := range []EventType{ReplyReceived, ContactOptedOut} {
		got := payload(store.WebhookDelivery{ID: 1, MessageID: 9, Event: string(ev)}, map[int64]sms.Message{9: reply}, owners)
		m := got.Message
		if m == nil || m.State != "received" || m.Body != "SAIR" || *m.ContactID != 7 || *m.ReplyTo != 3 || m.Phone != reply.Phone ||
			m.OwnerID == nil || *m.OwnerID != 5 {
			t.Errorf("%s: message = %+v", ev, m)
		}
	}
	sent := payload(store.WebhookDelivery{ID: 2, MessageID: 9, Event: "message.sent"}, map[int64]sms.Message{9: reply}, owners)
	if sent.Message.Body != "" || sent.Message.State != "sent" || sent.Message.OwnerID != nil {
		t.Errorf("message events do not carry the body: %+v", sent.Message)
	}
}
