package kolmeya

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// roundTrip checks that a decoded value encodes and decodes to itself, so
// that nothing the decoder accepted is half-read.
func roundTrip[T any](t *testing.T, data []byte, v *T) {
	t.Helper()
	if !utf8.Valid(data) {
		return // invalid UTF-8 is replaced on the way, by design of encoding/json
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", v, err)
	}
	var again T
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatalf("decode of re-encoded %s: %v", out, err)
	}
	if !reflect.DeepEqual(*v, again) {
		t.Fatalf("round trip changed the value:\n first %+v\nsecond %+v\n  json %s", *v, again, out)
	}
}

func FuzzStoreResponse(f *testing.F) {
	f.Add([]byte(`{"id":"req-uuid","reference":null,"valids":[{"id":"msg-uuid","phone":48999990001,"reference":"r-123"}],"invalids":[],"duplicates":[],"blacklist":[],"not_disturb":[]}`))
	f.Add([]byte(`{"id":7,"reference":"b","invalids":[{"phone":"5548","message":"x","reference":"r","error":["a","b"]}],"duplicates":[48999990001],"blacklist":[{"phone":5548999990002}],"not_disturb":["48999990003"]}`))
	f.Add([]byte(`{"valids":[{"id":{"x":1},"phone":true,"reference":1.5}]}`))
	f.Add([]byte(`[]`))
	msgs := []provider.Outbound{
		{Reference: "r-123", Phone: "+5548999990001", Body: "a"},
		{Reference: "r", Phone: "+5548999990002", Body: "b"},
		{Reference: "r2", Phone: "+5548999990002", Body: "c"},
	}
	p := &Provider{log: discardLogger(), settings: Settings{CostPerSegment: 700}}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r StoreResponse
		if json.Unmarshal(data, &r) != nil {
			return
		}
		roundTrip(t, data, &r)
		res := p.match(msgs, &r)
		if len(res) > len(msgs) {
			t.Fatalf("%d results for %d messages", len(res), len(msgs))
		}
		seen := map[string]bool{}
		for _, x := range res {
			if seen[x.Reference] {
				t.Fatalf("two results for %s", x.Reference)
			}
			seen[x.Reference] = true
			if x.State != sms.StateSent && x.State != sms.StateRejected {
				t.Fatalf("state %q", x.State)
			}
		}
	})
}

func FuzzRequestStatus(f *testing.F) {
	f.Add([]byte(`{"id":"q","status":"Válido","status_code":2,"reference":null,"messages":[{"id":"m","reference":"r-123","status":"entregue","status_code":3}]}`))
	f.Add([]byte(`{"id":1,"status_code":"2","messages":[{"status_code":"9","phone":5548999990001}]}`))
	f.Add([]byte(`{"messages":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st RequestStatus
		if json.Unmarshal(data, &st) != nil {
			return
		}
		roundTrip(t, data, &st)
		for _, m := range st.Messages {
			r := lookupResult(&st, m)
			if !r.State.Valid() {
				t.Fatalf("state %q for code %d", r.State, m.StatusCode)
			}
		}
	})
}

func FuzzReplyPage(f *testing.F) {
	f.Add([]byte(`{"current_page":1,"data":[{"id":"reply-uuid","reply":"SIM","received_at":"16/11/2025 14:30:00","message":{"id":"msg-uuid","reference":"r-123","phone":5548999990001},"request":{"id":"req-uuid","reference":"batch-42"}}],"per_page":15,"total":1,"next_page_url":null,"prev_page_url":null,"last_page":1}`))
	f.Add([]byte(`{"current_page":"2","data":[{"id":3,"reply":4,"received_at":"amanhã"}],"last_page":"3","next_page_url":"http://x/?page=3"}`))
	f.Add([]byte(`{"data":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p page[Reply]
		if json.Unmarshal(data, &p) != nil {
			return
		}
		roundTrip(t, data, &p)
		var w page[WebReply]
		if json.Unmarshal(data, &w) == nil {
			roundTrip(t, data, &w)
		}
	})
}

func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"id":"req-uuid","reference":"batch-42","messages":[{"id":"msg-uuid","reference":"r-123","status_code":3,"status":"entregue"}]}`))
	f.Add([]byte(`{"id":"msg-uuid","reference":"r-123","status_code":3,"status":"entregue"}`))
	f.Add([]byte(`{"reply":{"id":"reply-uuid","reply":"SAIR","received_at":"16/11/2025 14:30:00","message":{"id":"msg-uuid","reference":"r-123","phone":"5548999990001","content":"texto original"}}}`))
	f.Add([]byte(`{"id":"req-uuid","reference":"batch-42","status":"rejected","status_message":"..."}`))
	f.Add([]byte(`{"reply":"SIM","id":"x","message":{"phone":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseWebhook(data)
		if err != nil {
			if sms.KindOf(err) != sms.KindInvalid {
				t.Fatalf("error of kind %v: %v", sms.KindOf(err), err)
			}
			return
		}
		switch ev.Kind {
		case WebhookStatus:
		case WebhookReply:
			if ev.Reply == nil {
				t.Fatal("reply event without a reply")
			}
		case WebhookRejected:
		default:
			t.Fatalf("kind %q", ev.Kind)
		}
	})
}

func FuzzParseBalance(f *testing.F) {
	for _, s := range []string{"R$9.397,30", "R$0,07", "R$ 1.234.567,89", "R$-5,00", "9397.3", "garbage"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseBalance(s)
		if err != nil {
			return
		}
		// What parses renders back, through Kolmeya's format, to the same
		// amount in centavos.
		again, err := ParseBalance(m.BRL())
		if err != nil || again != (m+sms.Money(sign(m)*50))/100*100 {
			t.Fatalf("ParseBalance(%q) = %d; BRL %q reads back %d, %v", s, m, m.BRL(), again, err)
		}
	})
}

func sign(m sms.Money) int64 {
	if m < 0 {
		return -1
	}
	return 1
}
