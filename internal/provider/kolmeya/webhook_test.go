package kolmeya

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

func TestParseWebhookShapes(t *testing.T) {
	nested := `{"id":"req-uuid","reference":"batch-42","messages":[{"id":"msg-uuid","reference":"r-123","status_code":3,"status":"entregue"},{"id":"m2","reference":"r-124","status_code":"4","status":"não entregue"}]}`
	ev, err := ParseWebhook([]byte(nested))
	if err != nil || ev.Kind != WebhookStatus || ev.RequestID != "req-uuid" || ev.RequestReference != "batch-42" ||
		len(ev.Statuses) != 2 || ev.Statuses[0].StatusCode != 3 || ev.Statuses[1].StatusCode != 4 {
		t.Errorf("nested: %+v, %v", ev, err)
	}
	flat := `{"id":"msg-uuid","reference":"r-123","status_code":3,"status":"entregue"}`
	ev, err = ParseWebhook([]byte(flat))
	if err != nil || ev.Kind != WebhookStatus || ev.RequestID != "" || len(ev.Statuses) != 1 ||
		ev.Statuses[0].ID != "msg-uuid" || ev.Statuses[0].Reference != "r-123" {
		t.Errorf("flat: %+v, %v", ev, err)
	}
	reply := `{"reply":{"id":"reply-uuid","reply":"SAIR","received_at":"16/11/2025 14:30:00","message":{"id":"msg-uuid","reference":"r-123","phone":"5548999990001","content":"texto original"}}}`
	ev, err = ParseWebhook([]byte(reply))
	if err != nil || ev.Kind != WebhookReply || ev.Reply == nil || ev.Reply.Text != "SAIR" || ev.Reply.ID != "reply-uuid" ||
		ev.Reply.Message.Reference != "r-123" || ev.Reply.Message.Content != "texto original" ||
		!ev.Reply.ReceivedAt.Equal(time.Date(2025, 11, 16, 14, 30, 0, 0, SaoPaulo())) {
		t.Errorf("reply: %+v %+v, %v", ev, ev.Reply, err)
	}
	flatReply := `{"id":"reply-uuid","reply":"SIM","received_at":"16/11/2025 14:30:00","message":{"id":"m","reference":"r-1","phone":5548999990001},"request":{"id":"q","reference":"b"}}`
	ev, err = ParseWebhook([]byte(flatReply))
	if err != nil || ev.Kind != WebhookReply || ev.Reply.Text != "SIM" || ev.RequestReference != "b" || ev.Reply.Message.Phone != "5548999990001" {
		t.Errorf("list-item reply: %+v, %v", ev, err)
	}
	rejected := `{"id":"req-uuid","reference":"batch-42","status":"rejected","status_message":"conteúdo proibido"}`
	ev, err = ParseWebhook([]byte(rejected))
	if err != nil || ev.Kind != WebhookRejected || ev.RequestID != "req-uuid" || ev.Reason != "conteúdo proibido" {
		t.Errorf("rejected: %+v, %v", ev, err)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{}`, `{"id":"x","status":"Válido"}`, `{"messages":"nope"}`, `{"reply":42}`} {
		if ev, err := ParseWebhook([]byte(bad)); err == nil {
			t.Errorf("ParseWebhook(%s) = %+v, want an error", bad, ev)
		} else if sms.KindOf(err) != sms.KindInvalid {
			t.Errorf("ParseWebhook(%s): kind %v", bad, sms.KindOf(err))
		}
	}
}

// receiver collects webhooks posted to it.
type receiver struct {
	mu     sync.Mutex
	paths  []string
	bodies [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.paths = append(rc.paths, r.URL.Path)
	rc.bodies = append(rc.bodies, body)
	rc.mu.Unlock()
}

// TestWebhooksFromFake sends through the adapter and parses every webhook
// the fake posts back to the URL the adapter gave it.
func TestWebhooksFromFake(t *testing.T) {
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{SentAfter: time.Second, FinalAfter: time.Second})
	reg := provider.NewRegistry(provider.Deps{Now: clk.Now, PublicURL: hook.URL})
	reg.Register(Type())
	p, err := reg.Build(provider.Config{Name: "k1", Type: TypeName,
		Settings: []byte(`{"token":"` + testToken + `","base_url":"` + srv.URL() + `","webhook_secret":"` + testSecret + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	b := provider.Batch{Reference: "wb", Messages: []provider.Outbound{
		outbound("w1", phone(1), "oi", sms.Marketing), outbound("w2", phone(2), "oi", sms.Marketing)}}
	if _, err := p.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	second := provider.Batch{Reference: "wb2", Messages: []provider.Outbound{outbound("w3", phone(3), "oi", sms.Marketing)}}
	res, err := p.Send(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Reply("w1", "SAIR"); err != nil {
		t.Fatal(err)
	}
	if err := srv.RejectRequest(res[0].ProviderJobID, "conteúdo proibido"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Second)
	if n := srv.Tick(t.Context()); n != 3 {
		t.Errorf("Tick posted %d webhooks, want 3 (reply, rejection, statuses)", n)
	}
	kinds := map[WebhookKind]WebhookEvent{}
	for i, body := range rc.bodies {
		if want := "/webhooks/kolmeya/k1/" + testSecret; rc.paths[i] != want {
			t.Errorf("webhook path %q, want %q", rc.paths[i], want)
		}
		ev, err := ParseWebhook(body)
		if err != nil {
			t.Fatalf("ParseWebhook(%s): %v", body, err)
		}
		kinds[ev.Kind] = ev
	}
	if ev := kinds[WebhookStatus]; ev.RequestReference != "wb" || len(ev.Statuses) != 2 || ev.Statuses[0].StatusCode != 3 {
		t.Errorf("status webhook: %+v", ev)
	}
	if ev := kinds[WebhookReply]; ev.Reply == nil || ev.Reply.Text != "SAIR" || ev.Reply.Message.Reference != "w1" ||
		NationalDigits(string(ev.Reply.Message.Phone)) != NationalDigits(phone(1)) {
		t.Errorf("reply webhook: %+v", ev)
	}
	if ev := kinds[WebhookRejected]; ev.RequestReference != "wb2" || !strings.Contains(ev.Reason, "proibido") {
		t.Errorf("rejected webhook: %+v", ev)
	}
	if n := srv.Tick(t.Context()); n != 0 {
		t.Errorf("a second Tick posted %d webhooks again", n)
	}
}
