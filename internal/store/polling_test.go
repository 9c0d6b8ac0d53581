package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// sendJob stores n messages through provider "p" and records them sent as
// job jobID at the clock's time.
func sendJob(t *testing.T, db *store.DB, prefix, jobID string, n int) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *store.Tx) error {
		batch, err := tx.CreateBatch(ctx, "p", "b-"+prefix)
		if err != nil {
			return err
		}
		msgs := newMsgs(n, prefix, &batch)
		for i := range msgs {
			msgs[i].Provider = "p"
		}
		if _, err := tx.InsertMessages(ctx, msgs, sms.SourceAPI); err != nil {
			return err
		}
		if _, err := tx.MarkBatchSending(ctx, batch, ""); err != nil {
			return err
		}
		rs := make([]store.SentResult, n)
		for i := range rs {
			rs[i] = store.SentResult{Reference: fmt.Sprintf("%s-%d", prefix, i), ProviderMessageID: fmt.Sprintf("%s-pm-%d", prefix, i), ProviderJobID: jobID}
		}
		_, err = tx.RecordSent(ctx, rs, 0, sms.SourceProvider)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDueStatusPolls(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		t0 := clk.t
		sendJob(t, db, "a", "job-a", 3)
		clk.t = t0.Add(10 * time.Minute)
		sendJob(t, db, "b", "job-b", 2)
		due := func(now time.Time) []store.InFlightJob {
			t.Helper()
			js, err := db.DueStatusPolls(ctx, now, now.Add(-5*time.Minute), 10)
			if err != nil {
				t.Fatal(err)
			}
			return js
		}
		// At +12 min only job a is 5 minutes old.
		js := due(t0.Add(12 * time.Minute))
		if len(js) != 1 || js[0].JobID != "job-a" || js[0].Messages != 3 || !js[0].FirstSentAt.Equal(t0) || js[0].PolledAt != nil {
			t.Fatalf("due at +12m: %+v", js)
		}
		// Polled: due again at its next poll, not before.
		now := t0.Add(12 * time.Minute)
		err := db.RecordStatusPolls(ctx, now, []store.StatusPoll{{Provider: "p", JobID: "job-a", NextPollAt: now.Add(20 * time.Minute), Polled: true}})
		if err != nil {
			t.Fatal(err)
		}
		js = due(t0.Add(16 * time.Minute))
		if len(js) != 1 || js[0].JobID != "job-b" {
			t.Fatalf("due at +16m: %+v, want job b only", js)
		}
		js = due(t0.Add(40 * time.Minute))
		if len(js) != 2 || js[0].JobID != "job-b" || js[1].JobID != "job-a" || js[1].Polls != 1 || js[1].PolledAt == nil || !js[1].PolledAt.Equal(now) {
			t.Fatalf("due at +40m: %+v", js)
		}
		// A second poll adds up; one only scheduled does not.
		err = db.RecordStatusPolls(ctx, t0.Add(40*time.Minute), []store.StatusPoll{
			{Provider: "p", JobID: "job-a", NextPollAt: t0.Add(time.Hour), Polled: true, Error: "boom"},
			{Provider: "p", JobID: "job-b", NextPollAt: t0.Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		js = due(t0.Add(time.Hour))
		if len(js) != 2 || js[0].Polls+js[1].Polls != 2 {
			t.Fatalf("due at +1h: %+v", js)
		}
		refs, err := db.InFlightReferences(ctx, "p", []string{"job-a"})
		if err != nil || len(refs) != 3 {
			t.Fatalf("in flight of job a: %v, %v", refs, err)
		}
		if refs, _ := db.InFlightReferences(ctx, "other", []string{"job-a"}); len(refs) != 0 {
			t.Fatalf("another provider's job: %v", refs)
		}
		if err := db.PruneStatusPolls(ctx, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if js := due(t0.Add(16 * time.Minute)); len(js) != 2 {
			t.Fatalf("after pruning the polls, both jobs are due as new: %+v", js)
		}
	})
}

func TestBlacklistOutbox(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		if _, err := db.CreateProvider(ctx, store.ProviderRecord{Name: "k", Type: "kolmeya", Active: true, Settings: "{}"}); err != nil {
			t.Fatal(err)
		}
		add := func(phones ...string) {
			t.Helper()
			err := db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.AddToBlacklist(ctx, phones, "", "manual", nil)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		add("+5511900000003", "+5511900000001")
		add("+5511900000001") // already there: no change
		if err := db.RemoveFromBlacklist(ctx, "+5511900000003"); err != nil {
			t.Fatal(err)
		}
		if err := db.RemoveFromBlacklist(ctx, "+5511900000003"); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("remove twice: %v", err)
		}
		cs, err := db.BlacklistChanges(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(len(cs))
		for _, c := range cs {
			got += " " + c.Op + c.Phone
		}
		if want := "3 add+5511900000003 add+5511900000001 remove+5511900000003"; got != want {
			t.Fatalf("changes = %s, want %s", got, want)
		}
		last, err := db.LastBlacklistChange(ctx)
		if err != nil || last != cs[2].ID {
			t.Fatalf("last change = %d, %v", last, err)
		}
		if cs2, _ := db.BlacklistChanges(ctx, cs[0].ID, 1); len(cs2) != 1 || cs2[0].ID != cs[1].ID {
			t.Fatalf("changes after the first, one at most: %+v", cs2)
		}
		// Never synced: the whole list is pending.
		st, err := db.ProviderSyncState(ctx, "k")
		if err != nil || st.BlacklistPending != 1 || st.BlacklistCursor != nil {
			t.Fatalf("state before any sync: %+v, %v", st, err)
		}
		// The lease is one holder's at a time.
		cursor, ok, _, err := db.ClaimBlacklistSync(ctx, "k", clk.t.Add(time.Minute))
		if err != nil || !ok || cursor != nil {
			t.Fatalf("claim: %v %v %v", cursor, ok, err)
		}
		if _, ok, until, err := db.ClaimBlacklistSync(ctx, "k", clk.t.Add(time.Minute)); err != nil || ok || !until.Equal(clk.t.Add(time.Minute)) {
			t.Fatalf("second claim: ok %v until %v, %v", ok, until, err)
		}
		if err := db.AdvanceBlacklistSync(ctx, "k", cs[1].ID, clk.t); err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseBlacklistSync(ctx, "k", "", clk.t); err != nil {
			t.Fatal(err)
		}
		st, _ = db.ProviderSyncState(ctx, "k")
		if st.BlacklistPending != 1 || st.BlacklistCursor == nil || *st.BlacklistCursor != cs[1].ID || st.BlacklistSyncedAt == nil {
			t.Fatalf("state after a sync up to the second change: %+v", st)
		}
		// Pruning keeps what a provider has not received.
		clk.t = clk.t.Add(30 * 24 * time.Hour)
		if err := db.PruneBlacklistChanges(ctx, clk.t); err != nil {
			t.Fatal(err)
		}
		if cs, _ := db.BlacklistChanges(ctx, 0, 10); len(cs) != 1 || cs[0].Op != "remove" {
			t.Fatalf("after pruning: %+v", cs)
		}
		if err := db.ReleaseBlacklistSync(ctx, "k", "Kolmeya said no", clk.t); err != nil {
			t.Fatal(err)
		}
		if states, _ := db.ProviderSyncStates(ctx); states["k"].BlacklistError != "Kolmeya said no" || states["k"].BlacklistErrorAt == nil {
			t.Fatalf("error not kept: %+v", states["k"])
		}
		// Deleting the provider forgets its state.
		if err := db.DeleteProvider(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if states, _ := db.ProviderSyncStates(ctx); len(states) != 0 {
			t.Fatalf("states after deleting the provider: %+v", states)
		}
	})
}

func TestProviderSyncRecords(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		if _, err := db.CreateProvider(ctx, store.ProviderRecord{Name: "k", Type: "kolmeya", Active: true, Settings: "{}"}); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRepliesPolled(ctx, "k", clk.t, ""); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRepliesPolled(ctx, "k", clk.t.Add(time.Hour), "timeout"); err != nil {
			t.Fatal(err)
		}
		if err := db.SetBalanceError(ctx, "k", "401", clk.t); err != nil {
			t.Fatal(err)
		}
		st, err := db.ProviderSyncState(ctx, "k")
		if err != nil || st.RepliesPolledAt == nil || !st.RepliesPolledAt.Equal(clk.t) || st.RepliesError != "timeout" || st.BalanceError != "401" {
			t.Fatalf("state: %+v, %v", st, err)
		}
		if err := db.SetBalance(ctx, "k", 12345, clk.t); err != nil {
			t.Fatal(err)
		}
		p, _ := db.GetProvider(ctx, "k")
		st, _ = db.ProviderSyncState(ctx, "k")
		if p.Balance == nil || *p.Balance != 12345 || p.BalanceAt == nil || st.BalanceError != "" || st.BalanceErrorAt != nil {
			t.Fatalf("after a good balance: %+v %+v", p, st)
		}
		if err := db.SetBalance(ctx, "nobody", 1, clk.t); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("balance of an unknown provider: %v", err)
		}
		recs, err := db.ListProviderRecords(ctx)
		if err != nil || len(recs) != 1 || recs[0].Name != "k" {
			t.Fatalf("records: %+v, %v", recs, err)
		}
	})
}
