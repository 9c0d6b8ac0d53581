package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// sendBatch stores n queued messages in a batch and moves them to sending,
// as the send path does, returning them by reference.
func sendBatch(t *testing.T, db *store.DB, prefix string, n int) map[string]sms.Message {
	t.Helper()
	ctx := context.Background()
	out := map[string]sms.Message{}
	err := db.InTx(ctx, func(tx *store.Tx) error {
		batch, err := tx.CreateBatch(ctx, "mock", "batch-"+prefix)
		if err != nil {
			return err
		}
		if _, err := tx.InsertMessages(ctx, newMsgs(n, prefix, &batch), sms.SourceAPI); err != nil {
			return err
		}
		ms, err := tx.MarkBatchSending(ctx, batch, "")
		for _, m := range ms {
			out[m.Reference] = m
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func recordSent(ctx context.Context, tx *store.Tx, refs ...string) error {
	var rs []store.SentResult
	for _, r := range refs {
		rs = append(rs, store.SentResult{Reference: r, ProviderMessageID: "pm-" + r})
	}
	_, err := tx.RecordSent(ctx, rs, 0, sms.SourceProvider)
	return err
}

// deliveryRows lists every delivery as "endpoint:message:event", in id order.
func deliveryRows(t *testing.T, db *store.DB, names map[int64]string) []string {
	t.Helper()
	rows, err := db.Reader().Query(`SELECT endpoint_id, message_id, event FROM webhook_deliveries ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var ep, msg int64
		var ev string
		if err := rows.Scan(&ep, &msg, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s:%s:%s", names[ep], names[-msg], ev))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWebhookEmission(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()

		// No endpoint: nothing is queued, whatever happens.
		quiet := sendBatch(t, db, "quiet", 2)
		if err := db.InTx(ctx, func(tx *store.Tx) error { return recordSent(ctx, tx, "quiet-0", "quiet-1") }); err != nil {
			t.Fatal(err)
		}
		if got := deliveryRows(t, db, nil); len(got) != 0 {
			t.Fatalf("deliveries with no endpoint: %v", got)
		}

		names := map[int64]string{}
		endpoint := func(name string, active bool, events ...string) store.WebhookEndpoint {
			e, err := db.CreateWebhookEndpoint(ctx, store.WebhookEndpoint{URL: "https://example.test/" + name,
				Events: events, Secret: "sealed", Active: active})
			if err != nil {
				t.Fatal(err)
			}
			names[e.ID] = name
			return e
		}
		a := endpoint("A", true, "message.sent", "message.delivered")
		endpoint("B", true, "message.failed", "reply.received")
		endpoint("C", false, "message.sent", "message.delivered", "message.failed")
		got, err := db.ListWebhookEndpoints(ctx)
		if err != nil || len(got) != 3 || fmt.Sprint(got[0].Events) != "[message.sent message.delivered]" || !got[0].Active || got[2].Active {
			t.Fatalf("endpoints = %+v, %v", got, err)
		}

		ms := sendBatch(t, db, "m", 3)
		for ref, m := range ms {
			names[-m.ID] = ref
		}
		for ref, m := range quiet {
			names[-m.ID] = ref
		}

		// A change rolled back announces nothing.
		rollback := errors.New("roll back")
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if err := recordSent(ctx, tx, "m-0", "m-1"); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v", err)
		}
		if got := deliveryRows(t, db, names); len(got) != 0 {
			t.Fatalf("deliveries after a rollback: %v", got)
		}

		// sent through the fast path; delivered through the fast path and
		// through SaveMessages; failed; a reply, announced to B.
		clk.t = clk.t.Add(time.Second)
		err = db.InTx(ctx, func(tx *store.Tx) error { return recordSent(ctx, tx, "m-0", "m-1") })
		if err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Second)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.RecordDelivered(ctx, "mock", []store.Delivery{{ProviderMessageID: "pm-m-0", At: clk.t}}, sms.SourceWebhook)
			if err != nil {
				return err
			}
			// m-1 fails; m-2 goes from sending through sent to delivered in
			// one write, its events given latest first.
			locked, err := tx.LockMessagesByRef(ctx, []string{"m-1", "m-2"})
			if err != nil {
				return err
			}
			var ups []store.MessageUpdate
			var evs []sms.Event
			for _, m := range locked {
				from := m.State
				if m.Reference == "m-1" {
					ev, err := m.Transition(sms.StateFailed, clk.t, sms.SourceWebhook, "unreachable")
					if err != nil {
						return err
					}
					evs = append(evs, ev)
				} else {
					sent, err := m.Transition(sms.StateSent, clk.t, sms.SourceProvider, "")
					if err != nil {
						return err
					}
					delivered, err := m.Transition(sms.StateDelivered, clk.t.Add(-time.Millisecond), sms.SourceWebhook, "")
					if err != nil {
						return err
					}
					evs = append(evs, delivered, sent)
				}
				ups = append(ups, store.MessageUpdate{Message: m, From: from})
			}
			if err := tx.SaveMessages(ctx, ups, evs); err != nil {
				return err
			}
			replies, err := tx.InsertReplies(ctx, []store.NewReply{{Provider: "mock", ProviderReplyID: "r1", Phone: "+5511900000000",
				Body: "ok", Reference: "reply-1", ReceivedAt: clk.t}})
			if len(replies) == 1 {
				names[-replies[0].ID] = "reply-1"
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"A:m-0:message.sent", "A:m-1:message.sent",
			"A:m-0:message.delivered",
			"A:m-2:message.sent", "B:m-1:message.failed", "A:m-2:message.delivered",
			"B:reply-1:reply.received",
		}
		if got := deliveryRows(t, db, names); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("deliveries:\n got %v\nwant %v", got, want)
		}

		ds, err := db.ListWebhookDeliveries(ctx, store.DeliveryFilter{EndpointID: a.ID})
		if err != nil || len(ds) != 5 {
			t.Fatalf("A's deliveries: %d, %v", len(ds), err)
		}
		d := ds[0] // newest first: m-2 delivered
		if d.Event != "message.delivered" || d.MessageID != ms["m-2"].ID || d.Status != store.DeliveryPending ||
			d.Attempts != 0 || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(clk.t) || !d.At.Equal(clk.t.Add(-time.Millisecond)) {
			t.Fatalf("delivery = %+v", d)
		}
		page, err := db.ListWebhookDeliveries(ctx, store.DeliveryFilter{EndpointID: a.ID, Before: ds[1].ID, Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID != ds[2].ID {
			t.Fatalf("second page = %+v, %v", page, err)
		}

		// A claim takes the oldest pending delivery of each message only.
		claimed, err := db.ClaimWebhookDeliveries(ctx, clk.t, clk.t.Add(time.Minute), 100)
		if err != nil {
			t.Fatal(err)
		}
		var took []string
		for _, d := range claimed {
			took = append(took, names[d.EndpointID]+":"+names[-d.MessageID]+":"+d.Event)
		}
		if fmt.Sprint(took) != "[A:m-0:message.sent A:m-1:message.sent A:m-2:message.sent B:m-1:message.failed B:reply-1:reply.received]" {
			t.Fatalf("claimed %v", took)
		}
		// Leased: not claimed again until the lease runs out.
		if again, err := db.ClaimWebhookDeliveries(ctx, clk.t, clk.t.Add(time.Minute), 100); err != nil || len(again) != 0 {
			t.Fatalf("claimed again while leased: %d, %v", len(again), err)
		}
		if due, err := db.WebhooksDue(ctx, clk.t); err != nil || due {
			t.Fatalf("due while leased = %v, %v", due, err)
		}
		// Once m-0's "sent" is delivered, its "delivered" is next.
		ok, err := db.RecordWebhookAttempt(ctx, claimed[0].ID, store.DeliveryAttempt{Status: store.DeliveryDelivered, HTTPStatus: 200, At: clk.t})
		if err != nil || !ok {
			t.Fatalf("record = %v, %v", ok, err)
		}
		if due, err := db.WebhooksDue(ctx, clk.t); err != nil || !due {
			t.Fatalf("due after delivery = %v, %v", due, err)
		}
		next, err := db.ClaimWebhookDeliveries(ctx, clk.t, clk.t.Add(time.Minute), 100)
		if err != nil || len(next) != 1 || next[0].MessageID != ms["m-0"].ID || next[0].Event != "message.delivered" {
			t.Fatalf("next claim = %+v, %v", next, err)
		}

		// Deactivating an endpoint stops both new deliveries and claims.
		a.Active = false
		if _, err := db.UpdateWebhookEndpoint(ctx, a); err != nil {
			t.Fatal(err)
		}
		late := sendBatch(t, db, "late", 1)
		if err := db.InTx(ctx, func(tx *store.Tx) error { return recordSent(ctx, tx, "late-0") }); err != nil {
			t.Fatal(err)
		}
		if got := deliveryRows(t, db, names); len(got) != len(want) {
			t.Fatalf("deliveries after deactivation: %v (late message %d)", got, late["late-0"].ID)
		}
		clk.t = clk.t.Add(time.Hour)
		if again, err := db.ClaimWebhookDeliveries(ctx, clk.t, clk.t.Add(time.Minute), 100); err != nil || len(again) != 2 || again[0].Event != "message.failed" || again[1].Event != "reply.received" {
			t.Fatalf("claim with A inactive = %+v, %v", again, err)
		}

		// Deleting an endpoint deletes its deliveries.
		if err := db.DeleteWebhookEndpoint(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if got := deliveryRows(t, db, names); fmt.Sprint(got) != "[B:m-1:message.failed B:reply-1:reply.received]" {
			t.Fatalf("deliveries after deleting A: %v", got)
		}
		if err := db.DeleteWebhookEndpoint(ctx, a.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("delete twice = %v", err)
		}
	})
}

// TestWebhookGate checks that an endpoint made on another instance is seen
// within the gate's time to live.
func TestWebhookGate(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		// Another instance: a second DB on the same database.
		sendBatch(t, db, "g", 1)
		if err := db.InTx(ctx, func(tx *store.Tx) error { return recordSent(ctx, tx, "g-0") }); err != nil {
			t.Fatal(err)
		}
		_, err := db.Writer().Exec(`INSERT INTO webhook_endpoints (url, events, secret, active, description, created_at, updated_at)
VALUES ('https://example.test/x', '["message.delivered"]', 'sealed', TRUE, '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`)
		if err != nil {
			t.Fatal(err)
		}
		deliver := func() {
			t.Helper()
			err := db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.RecordDelivered(ctx, "mock", []store.Delivery{{ProviderMessageID: "pm-g-0", At: clk.t}}, sms.SourceWebhook)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			deliver()
			var n int
			if err := db.Reader().QueryRow(`SELECT count(*) FROM webhook_deliveries`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 1 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("an endpoint added behind the store's back was never seen")
			}
			// Not seen yet: put the message back, wait, and try again.
			if _, err := db.Writer().Exec(`UPDATE messages SET state = 'sent'`); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
