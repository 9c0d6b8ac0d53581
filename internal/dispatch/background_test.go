package dispatch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// fakeClock is a clock the test moves; the store, the dispatcher, the
// Kolmeya client and the fake Kolmeya all read it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// kolmeyaFixture is a dispatcher over a real database with one provider,
// "kolmeya", talking over loopback to a fake Kolmeya that sends no webhooks
// (no public URL): statuses and replies come in by polling only.
type kolmeyaFixture struct {
	clk  *fakeClock
	t0   time.Time
	db   *store.DB
	d    *Dispatcher
	ps   *providers.Service
	fake *kolmeyatest.Server
}

func newKolmeyaFixture(t *testing.T, dsn string, o kolmeyatest.Options, cfg Config) *kolmeyaFixture {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := &kolmeyaFixture{clk: &fakeClock{t: t0}, t0: t0}
	f.db = storetest.Open(t, dsn, store.Options{Now: f.clk.Now})
	o.Now = f.clk.Now
	if o.RateLimit == 0 {
		o.RateLimit = -1
	}
	f.fake = kolmeyatest.NewServer(o)
	t.Cleanup(f.fake.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := &lateSink{}
	reg := provider.NewRegistry(provider.Deps{Sink: sink, Logger: log, Now: f.clk.Now})
	reg.Register(kolmeya.Type())
	box, _ := secrets.NewBox(make([]byte, 32), nil)
	f.ps = providers.New(f.db, reg, box)
	settings := map[string]json.RawMessage{"base_url": jsonString(f.fake.URL()), "token": jsonString("test-token")}
	if _, err := f.ps.Create(ctx, providers.Input{Name: "kolmeya", Type: "kolmeya", Settings: settings}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.ps.Close)
	cfg.Now = f.clk.Now
	var err error
	if f.d, err = New(ctx, f.db, f.ps, nil, log, cfg); err != nil {
		t.Fatal(err)
	}
	sink.d = f.d
	return f
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// at moves the clock to t0 + d.
func (f *kolmeyaFixture) at(d time.Duration) { f.clk.Set(f.t0.Add(d)) }

// send submits messages to the phones through Kolmeya and sends their batch
// at once.
func (f *kolmeyaFixture) send(t *testing.T, phones ...string) []sms.Message {
	t.Helper()
	reqs := make([]Request, len(phones))
	for i, p := range phones {
		reqs[i] = Request{To: p, Body: "Oi", Provider: "kolmeya"}
	}
	ms, err := f.d.Submit(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	var batch int64
	if err := f.db.Reader().QueryRow(`SELECT max(batch_id) FROM messages`).Scan(&batch); err != nil {
		t.Fatal(err)
	}
	if err := f.d.sendBatch(context.Background(), batch, false); err != nil {
		t.Fatal(err)
	}
	return ms
}

func (f *kolmeyaFixture) message(t *testing.T, id int64) sms.Message {
	t.Helper()
	m, err := f.db.GetMessage(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func countJobs(t *testing.T, db *store.DB, kind string) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM river_job WHERE kind = '` + kind + `'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNextStatusPoll(t *testing.T) {
	var c BackgroundConfig
	c.defaults()
	sent := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		age, want time.Duration // since sent: polled at age, due next at want
	}{
		{5 * time.Minute, 10 * time.Minute},
		{59 * time.Minute, 64 * time.Minute},
		{time.Hour, time.Hour + 15*time.Minute},
		{5 * time.Hour, 5*time.Hour + 15*time.Minute},
		{6 * time.Hour, 7 * time.Hour},
		{23 * time.Hour, 24 * time.Hour},
		{24 * time.Hour, 27 * time.Hour},
		{70 * time.Hour, 72 * time.Hour}, // never past the horizon
		{72 * time.Hour, 75 * time.Hour}, // at the horizon: the job is expired, this is moot
	}
	for _, tt := range tests {
		if got := c.nextStatusPoll(sent, sent.Add(tt.age)).Sub(sent); got != tt.want {
			t.Errorf("polled at age %v: next at age %v, want %v", tt.age, got, tt.want)
		}
	}
}

// TestStatusPoll follows jobs whose statuses only polling brings: each step
// moves the clock, polls, and checks how often Kolmeya was asked and the
// messages' state.
func TestStatusPoll(t *testing.T) {
	type step struct {
		at        time.Duration // since the send
		polls     int           // /sms/status/request calls so far
		state     sms.State
		errorCode string
	}
	tests := []struct {
		name     string
		outcomes kolmeyatest.Outcomes
		final    time.Duration // how long Kolmeya takes to know the fate
		steps    []step
		events   string // of the first message, at the end
	}{
		{
			name: "a late delivery is applied by the poll", outcomes: kolmeyatest.Outcomes{Delivered: 1}, final: 3 * time.Hour,
			steps: []step{
				{at: time.Minute, polls: 0, state: sms.StateSent},
				{at: 5 * time.Minute, polls: 1, state: sms.StateSent},
				{at: 3*time.Hour + time.Minute, polls: 2, state: sms.StateDelivered},
				{at: 4 * time.Hour, polls: 2, state: sms.StateDelivered}, // nothing in flight: nothing asked
			},
			events: "[queued/api sending/worker sent/provider delivered/poll]",
		},
		{
			name: "a failure known only by polling", outcomes: kolmeyatest.Outcomes{Failed: 1}, final: 20 * time.Minute,
			steps: []step{
				{at: 5 * time.Minute, polls: 1, state: sms.StateSent},
				{at: 30 * time.Minute, polls: 2, state: sms.StateFailed, errorCode: "status_4"},
			},
			events: "[queued/api sending/worker sent/provider failed/poll]",
		},
		{
			name: "polls back off as the job ages, then give up at the horizon", outcomes: kolmeyatest.Outcomes{Delivered: 1}, final: 100 * time.Hour,
			steps: []step{
				{at: 4 * time.Minute, polls: 0, state: sms.StateSent},
				{at: 5 * time.Minute, polls: 1, state: sms.StateSent},
				{at: 9 * time.Minute, polls: 1, state: sms.StateSent},
				{at: 10 * time.Minute, polls: 2, state: sms.StateSent},
				{at: 2 * time.Hour, polls: 3, state: sms.StateSent},
				{at: 2*time.Hour + 10*time.Minute, polls: 3, state: sms.StateSent},
				{at: 2*time.Hour + 15*time.Minute, polls: 4, state: sms.StateSent},
				{at: 30 * time.Hour, polls: 5, state: sms.StateSent},
				{at: 32 * time.Hour, polls: 5, state: sms.StateSent},
				{at: 71 * time.Hour, polls: 6, state: sms.StateSent},
				{at: 71*time.Hour + 59*time.Minute, polls: 6, state: sms.StateSent},
				{at: 72 * time.Hour, polls: 7, state: sms.StateExpired, errorCode: ErrorNoFinalStatus},
				{at: 80 * time.Hour, polls: 7, state: sms.StateExpired, errorCode: ErrorNoFinalStatus},
			},
			events: "[queued/api sending/worker sent/provider expired/poll]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Dialects(t, func(t *testing.T, dsn string) {
				ctx := context.Background()
				f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{Outcomes: tt.outcomes, FinalAfter: tt.final}, Config{})
				ms := f.send(t, "+5511900000001", "+5511900000002")
				for _, s := range tt.steps {
					f.at(s.at)
					if _, err := f.d.PollStatuses(ctx); err != nil {
						t.Fatalf("at %v: %v", s.at, err)
					}
					if got := f.fake.Requests("/sms/status/request"); got != s.polls {
						t.Errorf("at %v: Kolmeya asked %d times, want %d", s.at, got, s.polls)
					}
					for _, m := range ms {
						got := f.message(t, m.ID)
						if got.State != s.state || got.ErrorCode != s.errorCode {
							t.Fatalf("at %v: message %d is %s (%q), want %s (%q)", s.at, m.ID, got.State, got.ErrorCode, s.state, s.errorCode)
						}
					}
				}
				if got := eventStates(t, f.db, ms[0].ID); got != tt.events {
					t.Errorf("events = %s, want %s", got, tt.events)
				}
			})
		})
	}
}

// TestStatusPollWhenKolmeyaFails: a job whose poll fails for a temporary
// reason is asked again after StatusRetry, not at its back-off.
func TestStatusPollWhenKolmeyaFails(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{FinalAfter: time.Hour}, Config{})
		ms := f.send(t, "+5511900000001")
		f.fake.SetFaults(kolmeyatest.Faults{FailNext: 3}) // the client's own two retries fail too
		f.at(5 * time.Minute)
		res, err := f.d.PollStatuses(ctx)
		if err != nil || res.Failed != 1 || res.Polled != 0 {
			t.Fatalf("poll while Kolmeya fails: %+v, %v", res, err)
		}
		f.at(61*time.Minute + 5*time.Minute) // the retry, 5 min later, would be long past; Kolmeya knows now
		if res, err := f.d.PollStatuses(ctx); err != nil || res.Polled != 1 {
			t.Fatalf("poll after the failure: %+v, %v", res, err)
		}
		if m := f.message(t, ms[0].ID); m.State != sms.StateDelivered {
			t.Fatalf("message is %s after Kolmeya came back", m.State)
		}
	})
}

func TestReplyPoll(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{PageSize: 2}, Config{})
		ms := f.send(t, "+5511900000001", "+5511900000002", "+5511900000003")
		f.at(time.Minute)
		for i, text := range []string{"SIM", "Sair", "ok", "obrigado"} {
			if _, err := f.fake.Reply(ms[i%3].Reference, text); err != nil {
				t.Fatal(err)
			}
		}
		f.fake.AddWebReply(kolmeyatest.WebReply{Job: 1, Phone: "11900000004", Message: "campanha", Reply: "PARE"})
		inbound := func() []sms.Message {
			t.Helper()
			in, err := f.db.ListMessages(ctx, store.MessageFilter{Direction: sms.Inbound})
			if err != nil {
				t.Fatal(err)
			}
			return in
		}
		// One reply came by webhook before the poll: the poll must not store it again.
		first := kolmeyaReplies(t, f)[0]
		if err := f.d.ApplyReplies(ctx, "kolmeya", sms.SourceWebhook, []provider.Reply{first}); err != nil {
			t.Fatal(err)
		}
		// A reply shortly before the first poll is listed by the second one too
		// (it asks from the first, less a margin).
		f.at(22*time.Hour + 55*time.Minute)
		if _, err := f.fake.Reply(ms[2].Reference, "tudo certo"); err != nil {
			t.Fatal(err)
		}
		for i, want := range []struct {
			at      time.Duration
			listed  int
			inbound int
		}{
			{23 * time.Hour, 6, 6}, // within the first poll's look-back of 24 h
			{23*time.Hour + 5*time.Minute, 1, 6},
			{23*time.Hour + 10*time.Minute, 1, 6},
		} {
			f.at(want.at)
			res, err := f.d.PollReplies(ctx)
			if err != nil || res.Providers != 1 || res.Replies != want.listed {
				t.Fatalf("poll %d: %+v, %v; want %d listed", i, res, err, want.listed)
			}
			if got := len(inbound()); got != want.inbound {
				t.Fatalf("poll %d: %d inbound messages, want %d (each reply once)", i, got, want.inbound)
			}
		}
		byBody := map[string]sms.Message{}
		for _, m := range inbound() {
			byBody[m.Body] = m
		}
		if m := byBody["Sair"]; m.ReplyTo == nil || *m.ReplyTo != ms[1].ID {
			t.Errorf("reply Sair answers %v, want message %d", m.ReplyTo, ms[1].ID)
		}
		if got := eventStates(t, f.db, byBody["ok"].ID); got != "[received/poll]" {
			t.Errorf("polled reply events = %s", got)
		}
		if got := eventStates(t, f.db, byBody[first.Body].ID); got != "[received/webhook]" {
			t.Errorf("webhook reply events = %s", got)
		}
		// Opt-out words, in replies and web replies, blacklist their numbers,
		// and the change is queued for the providers.
		listed, _ := f.db.Blacklisted(ctx, []string{"+5511900000002", "+5511900000004", "+5511900000003"})
		if !listed["+5511900000002"] || !listed["+5511900000004"] || listed["+5511900000003"] {
			t.Errorf("blacklist after the poll: %v", listed)
		}
		if n := countJobs(t, f.db, "sync_blacklist"); n == 0 {
			t.Error("no blacklist sync enqueued for the opt-outs")
		}
		// The next poll asks from the last one, less the margin: 1 hour.
		before := f.fake.Requests("/sms/replys")
		if _, err := f.d.PollReplies(ctx); err != nil {
			t.Fatal(err)
		}
		if f.fake.Requests("/sms/replys") <= before {
			t.Error("the reply poll did not ask Kolmeya")
		}
		st, err := f.db.ProviderSyncState(ctx, "kolmeya")
		if err != nil || st.RepliesPolledAt == nil || !st.RepliesPolledAt.Equal(f.clk.Now()) || st.RepliesError != "" {
			t.Fatalf("sync state %+v, %v", st, err)
		}
		// A failing Kolmeya is noted, and the cursor stays.
		f.fake.SetFaults(kolmeyatest.Faults{FailNext: 6})
		f.at(24 * time.Hour)
		if res, err := f.d.PollReplies(ctx); err != nil || res.Failed != 1 {
			t.Fatalf("poll while Kolmeya fails: %+v, %v", res, err)
		}
		st2, _ := f.db.ProviderSyncState(ctx, "kolmeya")
		if st2.RepliesError == "" || !st2.RepliesPolledAt.Equal(*st.RepliesPolledAt) {
			t.Errorf("after a failed poll: %+v", st2)
		}
	})
}

// kolmeyaReplies lists the fake's replies as the provider reports them.
func kolmeyaReplies(t *testing.T, f *kolmeyaFixture) []provider.Reply {
	t.Helper()
	p, _, err := f.ps.Lookup(context.Background(), "kolmeya")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := p.(provider.ReplyPoller).PollReplies(context.Background(), f.clk.Now().Add(-time.Hour))
	if err != nil || len(rs) == 0 {
		t.Fatalf("replies: %v, %v", rs, err)
	}
	return rs
}

func TestBlacklistSync(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{}, Config{})
		stores := func() int { return f.fake.Requests("/blacklist/store") }
		destroys := func() int { return f.fake.Requests("/blacklist/destroy") }
		sync := func(t *testing.T) BlacklistSyncResult {
			t.Helper()
			res, err := f.d.SyncBlacklist(ctx, "", false)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		pending := func(t *testing.T) store.ProviderSync {
			t.Helper()
			st, err := f.db.ProviderSyncState(ctx, "kolmeya")
			if err != nil {
				t.Fatal(err)
			}
			return st
		}

		jobs := countJobs(t, f.db, "sync_blacklist")
		if _, err := f.d.Blacklist(ctx, []string{"+5511900000001", "(11) 90000-0002"}, "test", nil); err != nil {
			t.Fatal(err)
		}
		if got := countJobs(t, f.db, "sync_blacklist"); got != jobs+1 {
			t.Fatalf("sync jobs = %d, want %d: the change must enqueue its push", got, jobs+1)
		}
		if p := pending(t); p.BlacklistPending != 2 || p.BlacklistCursor != nil {
			t.Fatalf("before the first sync: %+v", p)
		}
		// Never synced: the whole list goes, in one request.
		if res := sync(t); res.Added != 2 || stores() != 1 {
			t.Fatalf("first sync: %+v, %d store requests", res, stores())
		}
		if !f.fake.Blacklisted("5511900000001") || !f.fake.Blacklisted("11900000002") {
			t.Fatal("numbers not on Kolmeya's blacklist")
		}
		// Nothing new: nothing sent.
		if res := sync(t); res.Added+res.Removed != 0 || stores() != 1 || destroys() != 0 {
			t.Fatalf("idle sync: %+v, %d stores, %d destroys", res, stores(), destroys())
		}
		if p := pending(t); p.BlacklistPending != 0 || p.BlacklistSyncedAt == nil || p.BlacklistError != "" {
			t.Fatalf("after the sync: %+v", p)
		}
		// A removal reaches Kolmeya once.
		if err := f.d.Unblacklist(ctx, "11900000001"); err != nil {
			t.Fatal(err)
		}
		if res := sync(t); res.Removed != 1 || destroys() != 1 || f.fake.Blacklisted("5511900000001") {
			t.Fatalf("sync of a removal: %+v, %d destroys", res, destroys())
		}
		// Added then removed before any push: only the last change goes.
		f.d.Blacklist(ctx, []string{"+5511900000004"}, "", nil)
		f.d.Unblacklist(ctx, "+5511900000004")
		if res := sync(t); res.Added != 0 || res.Removed != 1 || stores() != 1 || destroys() != 2 {
			t.Fatalf("add then remove: %+v, %d stores, %d destroys", res, stores(), destroys())
		}
		// Numbers Kolmeya cannot hold are not sent.
		f.d.Blacklist(ctx, []string{"+351912345678"}, "", nil)
		if sync(t); stores() != 1 {
			t.Fatalf("a foreign number was pushed: %d stores", stores())
		}
		// Kolmeya fails: the change stays pending, the error is kept, and the
		// next sync sends it once.
		f.d.Blacklist(ctx, []string{"+5511900000003"}, "", nil)
		f.fake.SetFaults(kolmeyatest.Faults{FailNext: 3})
		if _, err := f.d.SyncBlacklist(ctx, "", false); err == nil {
			t.Fatal("a failed push reported success")
		}
		if p := pending(t); p.BlacklistPending != 1 || p.BlacklistError == "" || p.BlacklistErrorAt == nil {
			t.Fatalf("after a failed push: %+v", p)
		}
		if f.fake.Blacklisted("5511900000003") {
			t.Fatal("the fake took a push it failed")
		}
		if res := sync(t); res.Added != 1 || !f.fake.Blacklisted("5511900000003") {
			t.Fatalf("retry: %+v", res)
		}
		if got := stores() - 3; got != 2 { // three refused attempts, two pushes that went through
			t.Fatalf("%d store requests went through, want 2", got)
		}
		if p := pending(t); p.BlacklistPending != 0 || p.BlacklistError != "" {
			t.Fatalf("after the retry: %+v", p)
		}
		// On demand, the whole list again.
		if res, err := f.d.SyncBlacklist(ctx, "kolmeya", true); err != nil || res.Added != 3 {
			t.Fatalf("full sync: %+v, %v (the list has 3 numbers)", res, err)
		}
	})
}

// TestBlacklistSyncLease: a sync that finds another holding the provider's
// lease leaves it alone and says when to try again.
func TestBlacklistSyncLease(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{}, Config{})
		f.d.Blacklist(ctx, []string{"+5511900000001"}, "", nil)
		if _, ok, _, err := f.db.ClaimBlacklistSync(ctx, "kolmeya", f.clk.Now().Add(time.Minute)); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		_, err := f.d.SyncBlacklist(ctx, "", false)
		var held *errSyncHeld
		if !asHeld(err, &held) || held.wait <= 0 || held.wait > heldRecheck {
			t.Fatalf("err = %v, want the lease held", err)
		}
		if f.fake.Requests("/blacklist/store") != 0 {
			t.Fatal("pushed while another sync held the lease")
		}
		f.at(2 * time.Minute) // the lease ran out
		if res, err := f.d.SyncBlacklist(ctx, "", false); err != nil || res.Added != 1 {
			t.Fatalf("after the lease: %+v, %v", res, err)
		}
	})
}

// TestKolmeyaBlacklistRefusalFeedsTheLocalList: a number Kolmeya refuses as
// blacklisted goes on Recado's blacklist, from source "provider".
func TestKolmeyaBlacklistRefusalFeedsTheLocalList(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{Blacklist: []string{"11900000009"}}, Config{})
		jobs := countJobs(t, f.db, "sync_blacklist")
		ms := f.send(t, "+5511900000009", "+5511900000008")
		if m := f.message(t, ms[0].ID); m.State != sms.StateRejected || m.ErrorCode != "blacklist" {
			t.Fatalf("message to a number on Kolmeya's blacklist: %s %q", m.State, m.ErrorCode)
		}
		es, err := f.db.ListBlacklist(ctx, store.BlacklistFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Phone != "+5511900000009" || es[0].Source != "provider" {
			t.Fatalf("local blacklist = %+v", es)
		}
		if got := countJobs(t, f.db, "sync_blacklist"); got != jobs+1 {
			t.Fatalf("sync jobs = %d, want %d", got, jobs+1)
		}
		// A second refusal of the same number (a transactional message, which
		// Recado lets through to blacklisted numbers) changes nothing.
		if _, err := f.d.Submit(ctx, []Request{{To: "+5511900000009", Body: "código 123", Provider: "kolmeya", Kind: sms.Transactional}}); err != nil {
			t.Fatal(err)
		}
		var batch int64
		f.db.Reader().QueryRow(`SELECT max(batch_id) FROM messages`).Scan(&batch)
		if err := f.d.sendBatch(ctx, batch, false); err != nil {
			t.Fatal(err)
		}
		if got := countJobs(t, f.db, "sync_blacklist"); got != jobs+1 {
			t.Fatalf("sync jobs after a repeated refusal = %d, want %d", got, jobs+1)
		}
	})
}

// TestBlacklistSyncRetriesThroughTheQueue runs the queue: a change made
// while Kolmeya fails reaches it once Kolmeya is back, by the job's retry.
func TestBlacklistSyncRetriesThroughTheQueue(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{}, Config{PollInterval: 20 * time.Millisecond,
			Background: BackgroundConfig{Off: true, BlacklistRetry: []time.Duration{50 * time.Millisecond}}})
		f.fake.SetFaults(kolmeyatest.Faults{FailNext: 3})
		if err := f.d.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			f.d.Stop(stopCtx)
		})
		if _, err := f.d.Blacklist(ctx, []string{"+5511900000001"}, "", nil); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for !f.fake.Blacklisted("5511900000001") {
			if time.Now().After(deadline) {
				t.Fatal("the number never reached Kolmeya")
			}
			time.Sleep(20 * time.Millisecond)
		}
		var attempts int
		if err := f.db.Reader().QueryRow(`SELECT max(attempt) FROM river_job WHERE kind = 'sync_blacklist'`).Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		if attempts < 2 {
			t.Errorf("the job took %d attempts; the first should have failed", attempts)
		}
		if got := f.fake.Requests("/blacklist/store") - 3; got != 1 {
			t.Errorf("%d pushes went through, want 1", got)
		}
	})
}

func TestCheckBalance(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newKolmeyaFixture(t, dsn, kolmeyatest.Options{StartBalance: 100 * sms.MoneyScale}, Config{})
		if _, err := f.ps.Update(ctx, "kolmeya", providers.Input{Settings: map[string]json.RawMessage{
			providers.SettingLowBalance: jsonString("99.95")}}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			send    int // messages sent before the check, at R$ 0,07 each
			balance string
			low     bool
		}{
			{0, "100.00", false},
			{1, "99.93", true},
			{0, "99.93", true},
		}
		for i, tt := range tests {
			for range tt.send {
				f.send(t, fmt.Sprintf("+55119000000%02d", i+1))
			}
			bal, err := f.d.CheckBalance(ctx, "kolmeya")
			if err != nil || bal.String() != tt.balance {
				t.Fatalf("check %d: %v, %v; want %s", i, bal, err, tt.balance)
			}
			bs, err := f.d.ProviderBalances(ctx)
			if err != nil || len(bs) != 1 {
				t.Fatalf("balances: %+v, %v", bs, err)
			}
			if b := bs[0]; b.Low != tt.low || b.Threshold == nil || *b.Threshold != 99.95 || !b.CheckedAt.Equal(f.clk.Now()) {
				t.Errorf("check %d: %+v (threshold %v), want low=%v", i, b, b.Threshold, tt.low)
			}
		}
		// A failing check keeps the last balance and says why.
		f.fake.SetFaults(kolmeyatest.Faults{FailNext: 3})
		if _, err := f.d.CheckBalance(ctx, "kolmeya"); err == nil {
			t.Fatal("a failed check reported success")
		}
		st, _ := f.db.ProviderSyncState(ctx, "kolmeya")
		rec, _ := f.db.GetProvider(ctx, "kolmeya")
		if st.BalanceError == "" || rec.Balance == nil || rec.Balance.String() != "99.93" {
			t.Fatalf("after a failed check: error %q, balance %v", st.BalanceError, rec.Balance)
		}
		if err := f.d.CheckBalances(ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := f.db.ProviderSyncState(ctx, "kolmeya"); st.BalanceError != "" {
			t.Errorf("a good check did not clear the error: %q", st.BalanceError)
		}
	})
}
