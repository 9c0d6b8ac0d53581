package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openBoth(t *testing.T, fn func(t *testing.T, db *store.DB, clk *clock)) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		db := storetest.Open(t, dsn, store.Options{Now: clk.now})
		fn(t, db, clk)
	})
}

func newMsgs(n int, prefix string, batch *int64) []store.NewMessage {
	out := make([]store.NewMessage, n)
	for i := range out {
		out[i] = store.NewMessage{Phone: fmt.Sprintf("+55119000%05d", i), Body: "Olá", Kind: sms.Marketing,
			State: sms.StateQueued, Provider: "mock", Reference: fmt.Sprintf("%s-%d", prefix, i), Segments: 1,
			Encoding: sms.UCS2, Cost: 500, BatchID: batch}
	}
	return out
}

func TestMessageLifecycle(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		contact, err := db.CreateContact(ctx, sms.Contact{Name: "Fulano Teste", Phone: "+5511900000001"})
		if err != nil {
			t.Fatal(err)
		}
		var batchID int64
		var created []sms.Message
		err = db.InTx(ctx, func(tx *store.Tx) error {
			var err error
			batchID, err = tx.CreateBatch(ctx, "mock", "b-1")
			if err != nil {
				return err
			}
			created, err = tx.InsertMessages(ctx, newMsgs(3, "r", &batchID), sms.SourceAPI)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(created) != 3 || created[0].ID == 0 {
			t.Fatalf("created = %+v", created)
		}
		if created[1].ContactID == nil || *created[1].ContactID != contact.ID {
			t.Fatalf("message to the contact's phone not linked: %+v", created[1].ContactID)
		}

		// Claim, mark sending, then sent with provider ids.
		clk.t = clk.t.Add(time.Second)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			b, ok, _, err := tx.ClaimBatch(ctx, batchID, clk.t.Add(time.Minute))
			if err != nil || !ok || b.Attempts != 1 || b.Reference != "b-1" {
				return fmt.Errorf("claim: %+v %v %v", b, ok, err)
			}
			if _, ok, until, _ := tx.ClaimBatch(ctx, batchID, clk.t.Add(time.Minute)); ok || until.IsZero() {
				return fmt.Errorf("second claim while leased: ok=%v until=%v", ok, until)
			}
			msgs, err := tx.LockBatchMessages(ctx, batchID, sms.StateQueued)
			if err != nil {
				return err
			}
			var ups []store.MessageUpdate
			var evs []sms.Event
			for _, m := range msgs {
				from := m.State
				ev, err := m.Transition(sms.StateSending, clk.t, sms.SourceWorker, "")
				if err != nil {
					return err
				}
				m.Attempts++
				ups = append(ups, store.MessageUpdate{Message: m, From: from})
				evs = append(evs, ev)
			}
			return tx.SaveMessages(ctx, ups, evs)
		})
		if err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Second)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			msgs, err := tx.LockMessagesByRef(ctx, []string{"r-0", "r-1", "r-2"})
			if err != nil || len(msgs) != 3 {
				return fmt.Errorf("lock by ref: %d %v", len(msgs), err)
			}
			var ups []store.MessageUpdate
			var evs []sms.Event
			for _, m := range msgs {
				from := m.State
				ev, err := m.Transition(sms.StateSent, clk.t, sms.SourceProvider, "")
				if err != nil {
					return err
				}
				m.ProviderMessageID = "pm-" + m.Reference
				ups = append(ups, store.MessageUpdate{Message: m, From: from})
				evs = append(evs, ev)
			}
			return tx.SaveMessages(ctx, ups, evs)
		})
		if err != nil {
			t.Fatal(err)
		}
		// A delivery report by provider id.
		clk.t = clk.t.Add(time.Second)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			msgs, err := tx.LockMessagesByProviderID(ctx, "mock", []string{"pm-r-1"})
			if err != nil || len(msgs) != 1 {
				return fmt.Errorf("lock by provider id: %d %v", len(msgs), err)
			}
			m := msgs[0]
			ev, err := m.Transition(sms.StateDelivered, clk.t, sms.SourceWebhook, "entregue")
			if err != nil {
				return err
			}
			return tx.SaveMessages(ctx, []store.MessageUpdate{{Message: m, From: sms.StateSent}}, []sms.Event{ev})
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.GetMessage(ctx, created[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != sms.StateDelivered || got.ProviderMessageID != "pm-r-1" || got.DeliveredAt == nil || got.SentAt == nil || got.Attempts != 1 {
			t.Fatalf("message after delivery = %+v", got)
		}
		if !got.DeliveredAt.Equal(clk.t) {
			t.Fatalf("delivered_at = %v, want %v", got.DeliveredAt, clk.t)
		}
		evs, err := db.MessageEvents(ctx, got.ID)
		if err != nil {
			t.Fatal(err)
		}
		var states []sms.State
		for _, e := range evs {
			states = append(states, e.State)
		}
		if fmt.Sprint(states) != "[queued sending sent delivered]" || evs[3].Detail != "entregue" || evs[3].Source != sms.SourceWebhook {
			t.Fatalf("events = %+v", evs)
		}
		c, err := db.GetContact(ctx, contact.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Stats.Total != 1 || c.Stats.Sent != 1 || c.Stats.LastSMSAt == nil {
			t.Fatalf("contact stats = %+v", c.Stats)
		}
		// Filters.
		list, err := db.ListMessages(ctx, store.MessageFilter{States: []sms.State{sms.StateSent}})
		if err != nil || len(list) != 2 || list[0].ID < list[1].ID {
			t.Fatalf("list sent = %d %v", len(list), err)
		}
		list, err = db.ListMessages(ctx, store.MessageFilter{ContactID: &contact.ID})
		if err != nil || len(list) != 1 {
			t.Fatalf("list by contact = %d %v", len(list), err)
		}
		list, err = db.ListMessages(ctx, store.MessageFilter{Before: list[0].ID + 1, Limit: 1})
		if err != nil || len(list) != 1 {
			t.Fatalf("list with cursor = %d %v", len(list), err)
		}
		from := clk.t.Add(-time.Hour)
		to := clk.t.Add(time.Hour)
		list, err = db.ListMessages(ctx, store.MessageFilter{From: &from, To: &to, Provider: "mock", Direction: sms.Outbound})
		if err != nil || len(list) != 3 {
			t.Fatalf("list by dates = %d %v", len(list), err)
		}
		list, err = db.ListMessages(ctx, store.MessageFilter{To: &from})
		if err != nil || len(list) != 0 {
			t.Fatalf("list before any = %d %v", len(list), err)
		}
		counts, err := db.CountMessagesByState(ctx)
		if err != nil || counts[sms.StateSent] != 2 || counts[sms.StateDelivered] != 1 {
			t.Fatalf("counts = %v %v", counts, err)
		}
		// A stale write (state moved underneath) changes nothing.
		stale := got
		stale.State = sms.StateFailed
		err = db.InTx(ctx, func(tx *store.Tx) error {
			return tx.SaveMessages(ctx, []store.MessageUpdate{{Message: stale, From: sms.StateSending}}, nil)
		})
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := db.GetMessage(ctx, got.ID); again.State != sms.StateDelivered {
			t.Fatalf("stale write landed: %s", again.State)
		}
	})
}

func TestDuplicateReferenceIsConflictAndStoresNothing(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		insert := func(refs ...string) error {
			return db.InTx(ctx, func(tx *store.Tx) error {
				msgs := newMsgs(len(refs), "x", nil)
				for i := range msgs {
					msgs[i].Reference = refs[i]
				}
				_, err := tx.InsertMessages(ctx, msgs, sms.SourceAPI)
				return err
			})
		}
		if err := insert("a", "b"); err != nil {
			t.Fatal(err)
		}
		err := insert("c", "a")
		if sms.KindOf(err) != sms.KindConflict {
			t.Fatalf("duplicate reference: err = %v, want conflict", err)
		}
		if ms, _ := db.MessagesByRef(ctx, []string{"c"}); len(ms) != 0 {
			t.Fatalf("message c stored despite the failed batch")
		}
	})
}

func TestIdempotencyKeys(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		resp, err := db.BeginIdempotent(ctx, 1, "k1", "h1", time.Minute)
		if err != nil || resp != nil {
			t.Fatalf("first: %v %v", resp, err)
		}
		if _, err := db.BeginIdempotent(ctx, 1, "k1", "h1", time.Minute); sms.KindOf(err) != sms.KindConflict {
			t.Fatalf("while running: %v", err)
		}
		if err := db.FinishIdempotent(ctx, 1, "k1", store.IdempotentResponse{Status: 202, ContentType: "application/json", Body: []byte(`{"id":1}`)}); err != nil {
			t.Fatal(err)
		}
		resp, err = db.BeginIdempotent(ctx, 1, "k1", "h1", time.Minute)
		if err != nil || resp == nil || resp.Status != 202 || string(resp.Body) != `{"id":1}` {
			t.Fatalf("replay: %+v %v", resp, err)
		}
		if _, err := db.BeginIdempotent(ctx, 1, "k1", "h2", time.Minute); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("other body: %v", err)
		}
		if resp, err := db.BeginIdempotent(ctx, 2, "k1", "h2", time.Minute); err != nil || resp != nil {
			t.Fatalf("other user same key: %v %v", resp, err)
		}
		// A reservation whose request died is taken over after staleAfter.
		if _, err := db.BeginIdempotent(ctx, 1, "k2", "h", time.Minute); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(2 * time.Minute)
		if resp, err := db.BeginIdempotent(ctx, 1, "k2", "h", time.Minute); err != nil || resp != nil {
			t.Fatalf("stale reservation: %v %v", resp, err)
		}
	})
}

func TestUsersTokensProvidersContacts(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		u, err := db.CreateUser(ctx, store.User{Username: "ana", Name: "Ana Teste", Role: "manager", Active: true, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateUser(ctx, store.User{Username: "ana", Role: "user", Active: true}); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("duplicate username: %v", err)
		}
		tok, err := db.CreateToken(ctx, store.Token{UserID: u.ID, Name: "crm", Hash: "hash1", Prefix: "abcd"})
		if err != nil {
			t.Fatal(err)
		}
		gu, gt, err := db.TokenUser(ctx, "hash1")
		if err != nil || gu.ID != u.ID || gt.ID != tok.ID {
			t.Fatalf("token user: %v %v %v", gu, gt, err)
		}
		if err := db.TouchToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeToken(ctx, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.TokenUser(ctx, "hash1"); sms.KindOf(err) != sms.KindUnauthorized {
			t.Fatalf("revoked token: %v", err)
		}
		toks, err := db.ListTokens(ctx, u.ID)
		if err != nil || len(toks) != 1 || toks[0].RevokedAt == nil {
			t.Fatalf("tokens: %+v %v", toks, err)
		}
		p1, err := db.CreateProvider(ctx, store.ProviderRecord{Name: "mock", Type: "mock", Active: true, Settings: "{}"})
		if err != nil || !p1.Default {
			t.Fatalf("first provider is default: %+v %v", p1, err)
		}
		p2, err := db.CreateProvider(ctx, store.ProviderRecord{Name: "k", Type: "kolmeya", Active: true, Default: true, Settings: "{}", Secrets: "v1:sealed"})
		if err != nil {
			t.Fatal(err)
		}
		ps, err := db.ListProviders(ctx)
		if err != nil || len(ps) != 2 || ps[0].Name != "k" || !ps[0].Default || ps[1].Default || ps[0].Secrets != "v1:sealed" {
			t.Fatalf("providers: %+v %v", ps, err)
		}
		if err := db.SetProviderBalance(ctx, p2.Name, 93973000, clk.t); err != nil {
			t.Fatal(err)
		}
		if g, _ := db.GetProvider(ctx, "k"); g.Balance == nil || *g.Balance != 93973000 {
			t.Fatalf("balance: %+v", g.Balance)
		}
		if err := db.DeleteProvider(ctx, "nope"); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("delete missing provider: %v", err)
		}

		c, err := db.CreateContact(ctx, sms.Contact{Name: "Beltrana 50% Teste", Phone: "+5511900000002", OwnerID: &u.ID,
			Fields: map[string]string{"cpf": "000.000.000-00"}, Tags: []string{"vip"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.CreateContact(ctx, sms.Contact{Phone: "+5511900000002"}); sms.KindOf(err) != sms.KindConflict {
			t.Fatalf("duplicate phone: %v", err)
		}
		bad := int64(999)
		if _, err := db.CreateContact(ctx, sms.Contact{Phone: "+5511900000003", OwnerID: &bad}); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("unknown owner: %v", err)
		}
		for _, q := range []string{"beltrana", "50%", "0000002", "(11) 90000-0002"} {
			got, err := db.ListContacts(ctx, store.ContactFilter{Query: q})
			if err != nil || len(got) != 1 || got[0].ID != c.ID {
				t.Fatalf("search %q: %d %v", q, len(got), err)
			}
		}
		if got, _ := db.ListContacts(ctx, store.ContactFilter{Query: "a_%"}); len(got) != 0 {
			t.Fatalf("LIKE wildcards were not escaped")
		}
		c.Deceased = true
		c.Fields["plano"] = "ouro"
		c2, err := db.UpdateContact(ctx, c)
		if err != nil || !c2.Deceased || c2.Fields["plano"] != "ouro" || c2.Tags[0] != "vip" {
			t.Fatalf("update contact: %+v %v", c2, err)
		}
		if err := db.DeleteContact(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetContact(ctx, c.ID); !errors.Is(err, err) || sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("deleted contact: %v", err)
		}
	})
}

// TestDeletedMessagesTakeTheirEvents: events are kept with their message by
// a trigger (no foreign key is checked on each event written); deleting
// messages, one or many in a statement, deletes their events and no others.
func TestDeletedMessagesTakeTheirEvents(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		var ms []sms.Message
		err := db.InTx(ctx, func(tx *store.Tx) error {
			batchID, err := tx.CreateBatch(ctx, "mock", "b-del")
			if err != nil {
				return err
			}
			ms, err = tx.InsertMessages(ctx, newMsgs(4, "del", &batchID), sms.SourceAPI)
			if err != nil {
				return err
			}
			_, err = tx.CancelQueued(ctx, 0, batchID, "test")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		events := func(id int64) int {
			t.Helper()
			evs, err := db.MessageEvents(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return len(evs)
		}
		for _, m := range ms {
			if n := events(m.ID); n != 2 {
				t.Fatalf("message %d has %d events before the delete, want queued and canceled", m.ID, n)
			}
		}
		if err := db.DeleteMessage(ctx, ms[0].ID); err != nil {
			t.Fatal(err)
		}
		// Two at once, as a purge would (a statement-level trigger on PostgreSQL).
		if _, err := db.Writer().ExecContext(ctx, `DELETE FROM messages WHERE id IN ($1, $2)`, ms[1].ID, ms[2].ID); err != nil {
			t.Fatal(err)
		}
		var left int
		if err := db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM message_events WHERE message_id IN ($1, $2, $3)`,
			ms[0].ID, ms[1].ID, ms[2].ID).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 0 {
			t.Fatalf("%d events of deleted messages are left", left)
		}
		if n := events(ms[3].ID); n != 2 {
			t.Fatalf("the message kept has %d events, want 2", n)
		}
	})
}

// TestIsTxConflict: a deadlock between two transactions on PostgreSQL is a
// conflict to run again; a constraint violation is not (nor on SQLite).
func TestIsTxConflict(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		a, err := db.CreateContact(ctx, sms.Contact{Name: "A", Phone: "+5511900000001"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.CreateContact(ctx, sms.Contact{Name: "B", Phone: "+5511900000002"})
		if err != nil {
			t.Fatal(err)
		}
		_, dup := db.CreateContact(ctx, sms.Contact{Name: "A again", Phone: "+5511900000001"})
		if dup == nil || store.IsTxConflict(dup) {
			t.Fatalf("a duplicate phone: %v, conflict %v", dup, store.IsTxConflict(dup))
		}
		if db.Dialect() != store.Postgres {
			return // one writer: no deadlock to make
		}
		// Each locks one contact, then wants the other's.
		set := `UPDATE contacts SET name = name WHERE id = $1`
		tx1, err := db.Writer().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx1.Rollback()
		tx2, err := db.Writer().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx2.Rollback()
		if _, err := tx1.ExecContext(ctx, set, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tx2.ExecContext(ctx, set, b.ID); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		go func() { _, err := tx1.ExecContext(ctx, set, b.ID); errs <- err }()
		go func() { _, err := tx2.ExecContext(ctx, set, a.ID); errs <- err }()
		e1, e2 := <-errs, <-errs
		victim := e1
		if victim == nil {
			victim = e2
		}
		if victim == nil || !store.IsTxConflict(fmt.Errorf("wrapped: %w", victim)) {
			t.Fatalf("a deadlock: %v, %v; want one of them a conflict", e1, e2)
		}
	})
}
