package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

func TestSessions(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		ss := db.Sessions()
		if _, found, err := ss.Load(ctx, "nope"); found || err != nil {
			t.Fatalf("unknown session: found=%v err=%v", found, err)
		}
		if err := ss.Save(ctx, "tok-1", []byte("data-1"), clk.t.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := ss.Save(ctx, "tok-1", []byte("data-2"), clk.t.Add(time.Hour)); err != nil {
			t.Fatal("save again:", err)
		}
		got, found, err := ss.Load(ctx, "tok-1")
		if err != nil || !found || string(got.Data) != "data-2" || !got.Expiry.Equal(clk.t.Add(time.Hour)) {
			t.Fatalf("load: %q %v %v %v", got.Data, got.Expiry, found, err)
		}

		// Extend moves the expiry on, never back, and leaves the data be.
		for _, to := range []time.Time{clk.t.Add(2 * time.Hour), clk.t.Add(90 * time.Minute)} {
			if err := ss.Extend(ctx, "tok-1", to); err != nil {
				t.Fatal(err)
			}
		}
		got, _, _ = ss.Load(ctx, "tok-1")
		if string(got.Data) != "data-2" || !got.Expiry.Equal(clk.t.Add(2*time.Hour)) {
			t.Fatalf("after extending: %q %v", got.Data, got.Expiry)
		}

		if err := ss.Save(ctx, "tok-old", []byte("x"), clk.t.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(2 * time.Minute)
		if _, found, _ := ss.Load(ctx, "tok-old"); found {
			t.Fatal("an expired session was found")
		}
		// An expired session stays expired, and an unknown one unknown.
		if err := ss.Extend(ctx, "tok-old", clk.t.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := ss.Extend(ctx, "tok-never", clk.t.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{"tok-old", "tok-never"} {
			if _, found, _ := ss.Load(ctx, tok); found {
				t.Fatalf("extending brought back %s", tok)
			}
		}
		if n, err := ss.DeleteExpired(ctx); err != nil || n != 1 {
			t.Fatalf("delete expired: %d %v", n, err)
		}
		if err := ss.Delete(ctx, "tok-1"); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := ss.Load(ctx, "tok-1"); found {
			t.Fatal("a deleted session was found")
		}
		if err := ss.Delete(ctx, "tok-1"); err != nil {
			t.Fatal("deleting twice:", err)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		f, err := db.LoginFailures(ctx, "user:fulana")
		if err != nil || f.Failures != 0 || f.LockedUntil != nil {
			t.Fatalf("unseen key: %+v %v", f, err)
		}
		until := clk.t.Add(time.Minute)
		for i := 1; i <= 3; i++ {
			got, err := db.UpdateLoginFailures(ctx, "user:fulana", func(f *store.LoginFailures) {
				if f.Failures == 0 {
					f.WindowStart = clk.t
				}
				f.Failures++
				if f.Failures == 3 {
					f.LockedUntil = &until
				}
			})
			if err != nil || got.Failures != i {
				t.Fatalf("update %d: %+v %v", i, got, err)
			}
		}
		f, err = db.LoginFailures(ctx, "user:fulana")
		if err != nil || f.Failures != 3 || f.LockedUntil == nil || !f.LockedUntil.Equal(until) || !f.WindowStart.Equal(clk.t) {
			t.Fatalf("read back: %+v %v", f, err)
		}
		if err := db.ClearLoginFailures(ctx, "user:fulana"); err != nil {
			t.Fatal(err)
		}
		if f, _ := db.LoginFailures(ctx, "user:fulana"); f.Failures != 0 {
			t.Fatalf("cleared key still counts %d", f.Failures)
		}
	})
}

func TestUserLocale(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		u, err := db.CreateUser(ctx, store.User{Username: "fulana", Role: "user", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetUserLocale(ctx, u.ID, "en"); err != nil {
			t.Fatal(err)
		}
		if u, _ = db.GetUser(ctx, u.ID); u.Locale != "en" {
			t.Fatalf("locale %q", u.Locale)
		}
		if err := db.SetUserLocale(ctx, 999, "en"); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

// TestDashboardReads covers the aggregates and lookups of the web UI.
func TestDashboardReads(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		owner, err := db.CreateUser(ctx, store.User{Username: "dona", Role: "user", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		c1, err := db.CreateContact(ctx, sms.Contact{Name: "Fulana", Phone: "+5511900000000", OwnerID: &owner.ID, Tags: []string{"vip", "sp"}})
		if err != nil {
			t.Fatal(err)
		}
		c2, err := db.CreateContact(ctx, sms.Contact{Name: "Beltrana", Phone: "+5511900000001", Tags: []string{"sp"}})
		if err != nil {
			t.Fatal(err)
		}
		start := clk.t
		var msgs []sms.Message
		err = db.InTx(ctx, func(tx *store.Tx) error {
			ms := newMsgs(3, "d", nil)
			ms[2].Body = "Promoção ESPECIAL"
			var err error
			msgs, err = tx.InsertMessages(ctx, ms, sms.SourceAPI)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// Fail one with a reason, an hour later.
		clk.t = clk.t.Add(time.Hour)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			m, err := tx.LockMessage(ctx, msgs[0].ID)
			if err != nil {
				return err
			}
			ev, err := m.Transition(sms.StateFailed, clk.t, sms.SourceWorker, "boom")
			if err != nil {
				return err
			}
			m.ErrorCode = "invalid"
			return tx.SaveMessages(ctx, []store.MessageUpdate{{Message: m, From: sms.StateQueued}}, []sms.Event{ev})
		})
		if err != nil {
			t.Fatal(err)
		}
		// A reply from the owned contact.
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertReplies(ctx, []store.NewReply{{Provider: "mock", ProviderReplyID: "r1", Phone: c1.Phone, Body: "SAIR",
				Reference: "in-1", Segments: 1, Encoding: sms.GSM7, ReceivedAt: clk.t}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		hours, err := db.VolumeByHour(ctx, start.Add(-time.Hour), clk.t.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, h := range hours {
			got[h.Hour.Format("15")+" "+string(h.Direction)+" "+string(h.State)] += h.Count
		}
		want := map[string]int64{"12 outbound queued": 2, "12 outbound failed": 1, "13 inbound received": 1}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("volume %q = %d, want %d (all: %v)", k, got[k], v, got)
			}
		}
		if len(got) != len(want) {
			t.Errorf("volume has %v, want %v", got, want)
		}

		reasons, err := db.FailureReasons(ctx, store.ReportFilter{From: start, To: clk.t.Add(time.Hour)})
		if err != nil || len(reasons) != 1 || reasons[0].Code != "invalid" || reasons[0].Count != 1 {
			t.Fatalf("reasons: %+v %v", reasons, err)
		}

		for _, tt := range []struct {
			owner *int64
			want  int
		}{{nil, 1}, {&owner.ID, 1}, {&c2.ID, 0}} {
			if n, err := db.CountUnread(ctx, tt.owner, 100); err != nil || n != tt.want {
				t.Errorf("unread for owner %v: %d %v, want %d", tt.owner, n, err, tt.want)
			}
		}

		evs, err := db.EventsFor(ctx, []int64{msgs[0].ID, msgs[1].ID})
		if err != nil || len(evs[msgs[0].ID]) != 2 || len(evs[msgs[1].ID]) != 1 || evs[msgs[0].ID][1].State != sms.StateFailed {
			t.Fatalf("events: %+v %v", evs, err)
		}

		before, err := db.ContactActivity(ctx, c1.ID)
		if err != nil || !strings.HasPrefix(before, "2|") {
			t.Fatalf("activity %q %v", before, err)
		}
		clk.t = clk.t.Add(time.Second)
		if err := db.MarkRead(ctx, msgs[0].ID+3); err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertMessages(ctx, []store.NewMessage{{Phone: c1.Phone, Body: "Oi", Kind: sms.Marketing, State: sms.StateQueued,
				Provider: "mock", Reference: "d-more", Segments: 1, Encoding: sms.GSM7}}, sms.SourceAPI)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if after, _ := db.ContactActivity(ctx, c1.ID); after == before {
			t.Fatalf("activity did not change: %q", after)
		}
		if a1, _ := db.MessagesActivity(ctx, []int64{msgs[1].ID}); a1 == "" {
			t.Fatal("no activity for a message")
		}

		tags, err := db.Tags(ctx, 10)
		if err != nil || strings.Join(tags, ",") != "sp,vip" {
			t.Fatalf("tags %v %v", tags, err)
		}
		ids, err := db.ContactIDsWithTag(ctx, "sp", 10)
		if err != nil || len(ids) != 2 || ids[0] != c1.ID || ids[1] != c2.ID {
			t.Fatalf("with tag sp: %v %v", ids, err)
		}
		if ids, _ := db.ContactIDsWithTag(ctx, "v%", 10); len(ids) != 0 {
			t.Fatalf("a tag matched as a pattern: %v", ids)
		}

		found, err := db.ListMessages(ctx, store.MessageFilter{Text: "promoção especial"})
		if err != nil {
			t.Fatal(err)
		}
		// SQLite folds only ASCII letters: the word without accents matches on both.
		if len(found) == 0 {
			found, _ = db.ListMessages(ctx, store.MessageFilter{Text: "ESPECIAL"})
		}
		if len(found) != 1 || found[0].ID != msgs[2].ID {
			t.Fatalf("text search: %+v", found)
		}
		if none, _ := db.ListMessages(ctx, store.MessageFilter{Text: "%"}); len(none) != 0 {
			t.Fatalf("%% matched as a pattern: %d", len(none))
		}
	})
}
