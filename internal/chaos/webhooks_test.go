package chaos

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// TestWebhookFaults: Kolmeya's status and reply webhooks are dropped (every
// third), repeated (every second) and reordered, and some come late and out
// of order by hand. Repeats and late reports change nothing; what was
// dropped is brought in by the status and reply polls; every message ends
// in the state Kolmeya gives it, having gone through each state once, and
// each reply is stored once.
func TestWebhookFaults(t *testing.T) {
	dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		e := newEnv(t, dsn, envOptions{outcomes: mixed})
		var refs []string
		for b := range 20 {
			phones := make([]string, 10)
			for i := range phones {
				phones[i] = phone(b*10 + i)
			}
			refs = append(refs, e.send(t, fmt.Sprintf("wf%d", b), phones...)...)
		}
		e.settle(t, nil)
		e.checkOnce(t, refs)
		// Three replies, one of them an opt-out.
		for i, text := range map[int]string{3: "SIM", 17: "Obrigado!", 42: "SAIR"} {
			if _, err := e.fake.Reply(refs[i], text); err != nil {
				t.Fatal(err)
			}
		}

		e.fake.SetFaults(kolmeyatest.Faults{DropWebhookEvery: 3, RepeatWebhookEvery: 2, ReorderWebhooks: true})
		e.clk.Advance(3 * time.Minute)
		posted := e.fake.Tick(ctx)
		ok, failed := e.fake.WebhookStats()
		if failed != 0 || ok != posted {
			t.Fatalf("Recado refused %d of %d webhooks", failed, posted)
		}
		// What a dropped status webhook was about is still sent.
		stillSent := 0
		for _, m := range e.messages(t, refs) {
			if m.State == sms.StateSent {
				stillSent++
			}
		}
		if stillSent == 0 || stillSent == len(refs) {
			t.Fatalf("%d of %d messages still sent after the webhooks: the faults did not bite", stillSent, len(refs))
		}

		// Late and out of order, by hand: "trying", "sent" and "failed" for
		// messages already delivered change nothing.
		ms := e.messages(t, refs)
		var delivered []sms.Message
		for _, r := range refs {
			if m := ms[r]; m.State == sms.StateDelivered {
				delivered = append(delivered, m)
			}
		}
		if len(delivered) < 3 {
			t.Fatalf("only %d messages delivered by webhook", len(delivered))
		}
		for _, m := range delivered[:3] {
			for _, code := range []int{1, 2, 4} {
				body := fmt.Sprintf(`{"id":%q,"reference":%q,"status_code":%d,"status":"x"}`, m.ProviderMessageID, m.Reference, code)
				st, out := e.hook(t, body)
				if st != http.StatusOK {
					t.Fatalf("late webhook: %d %s", st, out)
				}
			}
			if got := e.messages(t, []string{m.Reference})[m.Reference]; got.State != sms.StateDelivered || got.ErrorCode != "" {
				t.Errorf("%s: a late report moved it to %s %q", m.Reference, got.State, got.ErrorCode)
			}
		}

		e.finish(t, refs, true)
		if _, err := e.app.Dispatch.PollReplies(ctx); err != nil {
			t.Fatal(err)
		}
		replies, err := e.app.DB.ListMessages(ctx, store.MessageFilter{Direction: sms.Inbound, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, r := range replies {
			texts = append(texts, r.Body)
		}
		if len(replies) != 3 || !strings.Contains(strings.Join(texts, "|"), "SAIR") {
			t.Fatalf("replies stored: %q, want the three, once each", texts)
		}
		listed, err := e.app.DB.Blacklisted(ctx, []string{phone(42)})
		if err != nil || !listed[phone(42)] {
			t.Fatalf("the SAIR reply did not blacklist its number: %v %v", listed, err)
		}
	})
}

// hook posts a Kolmeya webhook body to Recado with the right secret.
func (e *env) hook(t *testing.T, body string) (int, string) {
	t.Helper()
	r := e.srv.Send(t, apptest.Request{Method: http.MethodPost, Path: "/webhooks/kolmeya/kolmeya/" + hookSecret, Body: body})
	return r.Status, string(r.Body)
}
