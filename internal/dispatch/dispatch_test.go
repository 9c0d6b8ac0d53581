package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// fixture is a dispatcher over a real database with one shared mock
// provider, named "mock", whose answers the test steers.
type fixture struct {
	db   *store.DB
	d    *Dispatcher
	mock *mock.Provider
}

func newFixture(t *testing.T, dsn string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: storetest.Open(t, dsn, store.Options{})}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sink := &lateSink{}
	reg := provider.NewRegistry(provider.Deps{Sink: sink, Logger: log, Now: time.Now})
	settings := mock.DefaultSettings()
	settings.DeliveryDelay = time.Hour // reports go out when the test calls Flush
	var err error
	f.mock, err = mock.New("mock", settings, provider.Deps{Sink: sink, Logger: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.mock.Close() })
	reg.Register(provider.Type{Name: "mock", Build: func(provider.Config, provider.Deps) (provider.Provider, error) { return shared{f.mock}, nil }})
	box, _ := secrets.NewBox(make([]byte, 32), nil)
	ps := providers.New(f.db, reg, box)
	if _, err := ps.Create(ctx, providers.Input{Name: "mock", Type: "mock"}); err != nil {
		t.Fatal(err)
	}
	f.d, err = New(ctx, f.db, ps, nil, log, Config{})
	if err != nil {
		t.Fatal(err)
	}
	sink.d = f.d
	return f
}

// shared hands out the fixture's one mock; the providers service closes the
// instances it builds to validate settings, which must not close this one.
type shared struct{ *mock.Provider }

func (shared) Close() error { return nil }

type lateSink struct{ d *Dispatcher }

func (s *lateSink) ApplyStatuses(ctx context.Context, p string, src sms.Source, u []provider.StatusUpdate) error {
	return s.d.ApplyStatuses(ctx, p, src, u)
}

func (f *fixture) submit(t *testing.T, n int) ([]sms.Message, int64) {
	t.Helper()
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = Request{To: fmt.Sprintf("+55119000%05d", i+1), Body: "Oi"}
	}
	ms, err := f.d.Submit(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	var batch int64
	if err := f.db.Reader().QueryRow(`SELECT max(batch_id) FROM messages`).Scan(&batch); err != nil {
		t.Fatal(err)
	}
	return ms, batch
}

func (f *fixture) states(t *testing.T, ms []sms.Message) []sms.Message {
	t.Helper()
	out := make([]sms.Message, len(ms))
	for i, m := range ms {
		got, err := f.db.GetMessage(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = got
	}
	return out
}

func eventStates(t *testing.T, db *store.DB, id int64) string {
	t.Helper()
	evs, err := db.MessageEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, e := range evs {
		s = append(s, string(e.State)+"/"+string(e.Source))
	}
	return fmt.Sprint(s)
}

func TestSendBatch(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)

		t.Run("sent then delivered through the sink", func(t *testing.T) {
			ms, batch := f.submit(t, 3)
			if err := f.d.sendBatch(ctx, batch, false); err != nil {
				t.Fatal(err)
			}
			for _, m := range f.states(t, ms) {
				if m.State != sms.StateSent || m.ProviderMessageID == "" || m.Attempts != 1 || m.SentAt == nil || m.Cost != 0 && m.Cost < 0 {
					t.Fatalf("after send: %+v", m)
				}
				if f.mock.Accepted(m.Reference) != 1 {
					t.Fatalf("accepted %d times", f.mock.Accepted(m.Reference))
				}
			}
			f.mock.Flush()
			for _, m := range f.states(t, ms) {
				if m.State != sms.StateDelivered {
					t.Fatalf("after report: %s", m.State)
				}
			}
			if got := eventStates(t, f.db, ms[0].ID); got != "[queued/api sending/worker sent/provider delivered/webhook]" {
				t.Fatalf("events = %s", got)
			}
			// A job that runs again for a finished batch sends nothing.
			if err := f.d.sendBatch(ctx, batch, false); err != nil {
				t.Fatal(err)
			}
			if f.mock.Accepted(ms[0].Reference) != 1 {
				t.Fatal("a finished batch was sent again")
			}
		})

		t.Run("temporary failure keeps the messages sending, then the retry sends them once", func(t *testing.T) {
			ms, batch := f.submit(t, 2)
			f.mock.FailNext(provider.Temporary("mock", "503 from upstream", nil))
			err := f.d.sendBatch(ctx, batch, false)
			var retry errRetry
			if !errors.As(err, &retry) {
				t.Fatalf("err = %v, want a retry", err)
			}
			for _, m := range f.states(t, ms) {
				if m.State != sms.StateSending || m.NextAttemptAt == nil || m.ErrorText == "" {
					t.Fatalf("after temporary failure: %+v", m)
				}
			}
			if err := f.d.sendBatch(ctx, batch, false); err != nil {
				t.Fatal(err)
			}
			for _, m := range f.states(t, ms) {
				if m.State != sms.StateSent || m.Attempts != 2 || f.mock.Accepted(m.Reference) != 1 {
					t.Fatalf("after retry: %+v (accepted %d)", m, f.mock.Accepted(m.Reference))
				}
			}
		})

		t.Run("an attempt gives up the batch's lease however it ends", func(t *testing.T) {
			for _, tc := range []struct {
				name string
				fail error
			}{
				{"accepted", nil},
				{"temporary failure", provider.Temporary("mock", "503", nil)},
				{"permanent failure", provider.Permanent("mock", "bad token", nil)},
			} {
				_, batch := f.submit(t, 2)
				if tc.fail != nil {
					f.mock.FailNext(tc.fail)
				}
				_ = f.d.sendBatch(ctx, batch, false)
				errRollback := errors.New("roll back")
				var claimed bool
				err := f.db.InTx(ctx, func(tx *store.Tx) (err error) {
					_, claimed, _, err = tx.ClaimBatch(ctx, batch, time.Now().Add(time.Hour))
					if err == nil {
						err = errRollback
					}
					return err
				})
				if !errors.Is(err, errRollback) || !claimed {
					t.Errorf("%s: the batch's lease is still held after the attempt (claim: %v, %v)", tc.name, claimed, err)
				}
			}
		})

		t.Run("temporary failure on the last attempt fails with the error kept", func(t *testing.T) {
			ms, batch := f.submit(t, 1)
			f.mock.FailNext(provider.Temporary("mock", "still down", nil))
			if err := f.d.sendBatch(ctx, batch, true); err != nil {
				t.Fatal(err)
			}
			m := f.states(t, ms)[0]
			if m.State != sms.StateFailed || m.ErrorText == "" || m.ErrorCode == "" || m.Cost != 0 {
				t.Fatalf("after last attempt: %+v", m)
			}
		})

		t.Run("a permanent failure fails at once", func(t *testing.T) {
			ms, batch := f.submit(t, 1)
			f.mock.FailNext(provider.Permanent("mock", "bad token", nil))
			if err := f.d.sendBatch(ctx, batch, false); err != nil {
				t.Fatal(err)
			}
			if m := f.states(t, ms)[0]; m.State != sms.StateFailed || m.ErrorText == "" {
				t.Fatalf("after permanent failure: %+v", m)
			}
		})

		t.Run("rate limit snoozes without failing", func(t *testing.T) {
			ms, batch := f.submit(t, 1)
			f.mock.FailNext(provider.RateLimited("mock", 42*time.Second))
			err := f.d.sendBatch(ctx, batch, false)
			var snooze *river.JobSnoozeError
			if !errors.As(err, &snooze) || snooze.Duration != 42*time.Second {
				t.Fatalf("err = %v, want a 42s snooze", err)
			}
			if m := f.states(t, ms)[0]; m.State != sms.StateSending {
				t.Fatalf("after rate limit: %s", m.State)
			}
		})

		t.Run("accepted then timed out is reconciled by lookup, not sent twice", func(t *testing.T) {
			ms, batch := f.submit(t, 5)
			f.mock.AcceptThenFail(provider.Temporary("mock", "timeout", context.DeadlineExceeded))
			if err := f.d.sendBatch(ctx, batch, false); err == nil {
				t.Fatal("want a retry after the timeout")
			}
			if err := f.d.sendBatch(ctx, batch, false); err != nil {
				t.Fatal(err)
			}
			for _, m := range f.states(t, ms) {
				if m.State != sms.StateSent || f.mock.Accepted(m.Reference) != 1 || m.ProviderMessageID == "" {
					t.Fatalf("after reconcile: %s accepted %d", m.State, f.mock.Accepted(m.Reference))
				}
			}
			if got := eventStates(t, f.db, ms[0].ID); got != "[queued/api sending/worker sent/poll]" {
				t.Fatalf("events = %s", got)
			}
		})

		t.Run("a batch leased by another worker is not sent alongside it", func(t *testing.T) {
			ms, batch := f.submit(t, 1)
			err := f.db.InTx(ctx, func(tx *store.Tx) error {
				_, _, _, err := tx.ClaimBatch(ctx, batch, time.Now().Add(time.Hour))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			err = f.d.sendBatch(ctx, batch, false)
			var snooze *river.JobSnoozeError
			if !errors.As(err, &snooze) || snooze.Duration < 59*time.Minute {
				t.Fatalf("err = %v, want a snooze until the lease ends", err)
			}
			if f.mock.Accepted(ms[0].Reference) != 0 {
				t.Fatal("sent while another worker held the batch")
			}
		})

		t.Run("cancel before sending; not after", func(t *testing.T) {
			ms, batch := f.submit(t, 2)
			if _, err := f.d.Cancel(ctx, ms[0].ID, "test"); err != nil {
				t.Fatal(err)
			}
			if err := f.d.sendBatch(ctx, batch, false); err != nil {
				t.Fatal(err)
			}
			got := f.states(t, ms)
			if got[0].State != sms.StateCanceled || f.mock.Accepted(ms[0].Reference) != 0 || got[1].State != sms.StateSent {
				t.Fatalf("cancel: %s %s", got[0].State, got[1].State)
			}
			if _, err := f.d.Cancel(ctx, ms[1].ID, "test"); sms.KindOf(err) != sms.KindConflict {
				t.Fatalf("cancel a sent message: %v", err)
			}
		})
	})
}

func TestApplyStatusesIsMonotonicAndIdempotent(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		ms, batch := f.submit(t, 2)
		if err := f.d.sendBatch(ctx, batch, false); err != nil {
			t.Fatal(err)
		}
		sent := f.states(t, ms)
		at := time.Now()
		apply := func(u ...provider.StatusUpdate) {
			t.Helper()
			if err := f.d.ApplyStatuses(ctx, "mock", sms.SourceWebhook, u); err != nil {
				t.Fatal(err)
			}
		}
		apply(provider.StatusUpdate{ProviderMessageID: sent[0].ProviderMessageID, State: sms.StateDelivered, At: at})
		apply(provider.StatusUpdate{ProviderMessageID: sent[0].ProviderMessageID, State: sms.StateDelivered, At: at}) // repeated
		apply(provider.StatusUpdate{Reference: sent[0].Reference, State: sms.StateSent, At: at})                      // late
		apply(provider.StatusUpdate{Reference: sent[0].Reference, State: sms.StateFailed, At: at})                    // after final
		apply(provider.StatusUpdate{Reference: "unknown", State: sms.StateDelivered, At: at})                         // unknown
		// Two reports for one message in one call apply in order.
		apply(provider.StatusUpdate{Reference: sent[1].Reference, State: sms.StateFailed, At: at, ErrorCode: "4", ErrorText: "não entregue"},
			provider.StatusUpdate{Reference: sent[1].Reference, State: sms.StateDelivered, At: at})
		got := f.states(t, ms)
		if got[0].State != sms.StateDelivered || got[1].State != sms.StateFailed || got[1].ErrorText != "não entregue" {
			t.Fatalf("states = %s %s (%q)", got[0].State, got[1].State, got[1].ErrorText)
		}
		if e := eventStates(t, f.db, ms[0].ID); e != "[queued/api sending/worker sent/provider delivered/webhook]" {
			t.Fatalf("events = %s", e)
		}
	})
}

func TestRetrySchedule(t *testing.T) {
	d := &Dispatcher{}
	d.cfg.defaults()
	w := &sendWorker{d: d}
	want := []time.Duration{60 * time.Second, 180 * time.Second, 600 * time.Second, 1800 * time.Second, 1800 * time.Second}
	for i, wd := range want {
		job := &river.Job[SendArgs]{}
		job.JobRow = &rivertype.JobRow{Attempt: i + 1}
		got := time.Until(w.NextRetry(job))
		if got < wd-time.Second || got > wd {
			t.Errorf("attempt %d: retry in %v, want %v", i+1, got, wd)
		}
	}
	if w.maxAttempts() != 5 {
		t.Errorf("max attempts = %d, want 5 (one try and four retries)", w.maxAttempts())
	}
}

func TestSweepReenqueuesBatchesOfDeadWorkers(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		jobs := func() int {
			var n int
			f.db.Reader().QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'send_batch'`).Scan(&n)
			return n
		}
		_, waiting := f.submit(t, 1) // its job is available: not an orphan
		_, leased := f.submit(t, 1)  // held by a live worker
		_, dead := f.submit(t, 1)    // held by a worker that died
		// The dead one's job is gone from the queue's live states, as after a
		// crash that River has not rescued yet.
		if _, err := f.db.Writer().Exec(`DELETE FROM river_job WHERE kind = 'send_batch' AND id = (SELECT max(id) FROM river_job)`); err != nil {
			t.Fatal(err)
		}
		err := f.db.InTx(ctx, func(tx *store.Tx) error {
			if _, _, _, err := tx.ClaimBatch(ctx, leased, time.Now().Add(time.Hour)); err != nil {
				return err
			}
			_, _, _, err := tx.ClaimBatch(ctx, dead, time.Now().Add(-time.Second))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		before := jobs()
		n, err := f.d.Sweep(ctx)
		if err != nil || n != 1 {
			t.Fatalf("sweep = %d, %v; want only the dead batch (waiting %d, leased %d, dead %d)", n, err, waiting, leased, dead)
		}
		if jobs() != before+1 {
			t.Fatalf("jobs = %d, want %d", jobs(), before+1)
		}
		if n, _ := f.d.Sweep(ctx); n != 0 {
			t.Fatalf("second sweep re-enqueued %d: the first one's job is live", n)
		}
		// Its job runs: the batch is sent once.
		if err := f.d.sendBatch(ctx, dead, false); err != nil {
			t.Fatal(err)
		}
		if n, _ := f.d.Sweep(ctx); n != 0 {
			t.Fatalf("sweep after sending re-enqueued %d", n)
		}
	})
}

func TestReportBeforeTheSendAnswerKeepsTheSentStep(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		ms, batch := f.submit(t, 1)
		// The worker marked it sending; the delivery report wins the race
		// against the worker's write of the provider's answer.
		err := f.db.InTx(ctx, func(tx *store.Tx) error {
			msgs, err := tx.LockBatchMessages(ctx, batch, sms.StateQueued)
			if err != nil {
				return err
			}
			m := msgs[0]
			ev, err := m.Transition(sms.StateSending, time.Now(), sms.SourceWorker, "")
			if err != nil {
				return err
			}
			return tx.SaveMessages(ctx, []store.MessageUpdate{{Message: m, From: sms.StateQueued}}, []sms.Event{ev})
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.d.ApplyStatuses(ctx, "mock", sms.SourceWebhook, []provider.StatusUpdate{{Reference: ms[0].Reference, State: sms.StateDelivered}}); err != nil {
			t.Fatal(err)
		}
		if got := eventStates(t, f.db, ms[0].ID); got != "[queued/api sending/worker sent/webhook delivered/webhook]" {
			t.Fatalf("events = %s", got)
		}
	})
}

func TestApplyReplies(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		contact, err := f.db.CreateContact(ctx, sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001"})
		if err != nil {
			t.Fatal(err)
		}
		ms, batch := f.submit(t, 3) // to +5511900000001..3
		if err := f.d.sendBatch(ctx, batch, false); err != nil {
			t.Fatal(err)
		}
		sent := f.states(t, ms)
		at := time.Date(2026, 11, 16, 14, 30, 0, 0, time.UTC)
		replies := []provider.Reply{
			{ProviderReplyID: "r1", Phone: "5511900000001", Body: "SIM", ReceivedAt: at, InReplyToProviderMessageID: sent[0].ProviderMessageID},
			{ProviderReplyID: "r2", Phone: "(11) 90000-0002", Body: "Sair.", ReceivedAt: at, InReplyToReference: sent[1].Reference},
			{ProviderReplyID: "r3", Phone: "+5511900000003", Body: "quem é?", ReceivedAt: at}, // linked by phone
			{ProviderReplyID: "", Phone: "+5511900000003", Body: "no id"},                     // ignored
			{ProviderReplyID: "r4", Phone: "not a phone", Body: "x"},                          // ignored
		}
		if err := f.d.ApplyReplies(ctx, "mock", sms.SourceWebhook, replies); err != nil {
			t.Fatal(err)
		}
		if err := f.d.ApplyReplies(ctx, "mock", sms.SourcePoll, replies[:2]); err != nil { // seen again
			t.Fatal(err)
		}
		in, err := f.db.ListMessages(ctx, store.MessageFilter{Direction: sms.Inbound})
		if err != nil {
			t.Fatal(err)
		}
		if len(in) != 3 {
			t.Fatalf("inbound messages = %d, want 3 (duplicates and unreadable ones skipped)", len(in))
		}
		byBody := map[string]sms.Message{}
		for _, m := range in {
			byBody[m.Body] = m
		}
		for body, want := range map[string]int64{"SIM": sent[0].ID, "Sair.": sent[1].ID, "quem é?": sent[2].ID} {
			m := byBody[body]
			if m.ReplyTo == nil || *m.ReplyTo != want || m.State != sms.StateReceived || m.Direction != sms.Inbound {
				t.Errorf("reply %q: reply_to %v state %s, want reply to %d", body, m.ReplyTo, m.State, want)
			}
		}
		if m := byBody["SIM"]; m.ContactID == nil || *m.ContactID != contact.ID || !m.CreatedAt.Equal(at) {
			t.Errorf("reply SIM: contact %v at %v", m.ContactID, m.CreatedAt)
		}
		if got := eventStates(t, f.db, byBody["SIM"].ID); got != "[received/webhook]" {
			t.Errorf("reply events = %s", got)
		}
		c, _ := f.db.GetContact(ctx, contact.ID)
		if c.Stats.Received != 1 || c.OptedOut {
			t.Errorf("contact after SIM: %+v opted out %v", c.Stats, c.OptedOut)
		}
		// "Sair." opted +5511900000002 out: on the blacklist, marketing refused,
		// transactional still allowed.
		listed, _ := f.db.Blacklisted(ctx, []string{"+5511900000002", "+5511900000003"})
		if !listed["+5511900000002"] || listed["+5511900000003"] {
			t.Fatalf("blacklist = %v", listed)
		}
		_, err = f.d.Submit(ctx, []Request{{To: "+5511900000002", Body: "promo"}})
		if sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("marketing to a blacklisted number: %v", err)
		}
		if _, err := f.d.Submit(ctx, []Request{{To: "+5511900000002", Body: "código 123", Kind: sms.Transactional}}); err != nil {
			t.Fatalf("transactional to a blacklisted number: %v", err)
		}
	})
}

func TestConcurrentStatusReportsAreAllStored(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		ms, batch := f.submit(t, 300)
		if err := f.d.sendBatch(ctx, batch, false); err != nil {
			t.Fatal(err)
		}
		sent := f.states(t, ms)
		errs := make(chan error, len(sent))
		for _, m := range sent {
			go func() {
				errs <- f.d.ApplyStatuses(ctx, "mock", sms.SourceWebhook,
					[]provider.StatusUpdate{{ProviderMessageID: m.ProviderMessageID, State: sms.StateDelivered}})
			}()
		}
		for range sent {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		// Every call returned after its report was stored.
		for _, m := range f.states(t, ms) {
			if m.State != sms.StateDelivered {
				t.Fatalf("message %d is %s after its report was acknowledged", m.ID, m.State)
			}
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if err := f.d.ApplyStatuses(canceled, "mock", sms.SourceWebhook, []provider.StatusUpdate{{Reference: "x", State: sms.StateDelivered}}); err == nil {
			t.Fatal("a canceled call reported success")
		}
	})
}

func TestInbox(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		ana, err := f.db.CreateUser(ctx, store.User{Username: "ana", Role: "user", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.CreateContact(ctx, sms.Contact{Phone: "+5511900000001", OwnerID: &ana.ID}); err != nil {
			t.Fatal(err)
		}
		err = f.d.ApplyReplies(ctx, "mock", sms.SourceWebhook, []provider.Reply{
			{ProviderReplyID: "a", Phone: "+5511900000001", Body: "de um contato da Ana"},
			{ProviderReplyID: "b", Phone: "+5511900000002", Body: "de um desconhecido"},
		})
		if err != nil {
			t.Fatal(err)
		}
		all, _ := f.db.Inbox(ctx, store.InboxFilter{})
		mine, _ := f.db.Inbox(ctx, store.InboxFilter{OwnerID: &ana.ID})
		if len(all) != 2 || len(mine) != 1 || mine[0].Body != "de um contato da Ana" {
			t.Fatalf("inbox: all %d, mine %+v", len(all), mine)
		}
		if err := f.db.MarkRead(ctx, mine[0].ID); err != nil {
			t.Fatal(err)
		}
		unread, _ := f.db.Inbox(ctx, store.InboxFilter{Unread: true})
		if len(unread) != 1 || unread[0].Body != "de um desconhecido" {
			t.Fatalf("unread = %+v", unread)
		}
		m, _ := f.db.GetMessage(ctx, mine[0].ID)
		if m.ReadAt == nil {
			t.Fatal("read_at not set")
		}
	})
}

// TestOverlappingReportsAtOnce: calls that report the same messages, in
// opposite orders, by provider id and by reference, all at once: every call
// succeeds and each message is delivered once. On PostgreSQL two appliers
// run at once; every statement locks messages in the order of their ids,
// and a deadlock's victim would run again (with neither, this failed within
// 20 runs).
func TestOverlappingReportsAtOnce(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		f := newFixture(t, dsn)
		ms, batch := f.submit(t, 60)
		if err := f.d.sendBatch(ctx, batch, false); err != nil {
			t.Fatal(err)
		}
		sent := f.states(t, ms)
		n := len(sent)
		errs := make(chan error, 4*n)
		for round := range 4 {
			for i := range n {
				a, b := sent[i], sent[(i+1)%n]
				if (i+round)%2 == 1 {
					a, b = b, a
				}
				ups := []provider.StatusUpdate{{ProviderMessageID: a.ProviderMessageID, State: sms.StateDelivered},
					{ProviderMessageID: b.ProviderMessageID, State: sms.StateDelivered}}
				if round%2 == 1 { // by reference: the general path, rows locked by id
					ups = []provider.StatusUpdate{{Reference: a.Reference, State: sms.StateDelivered},
						{Reference: b.Reference, State: sms.StateDelivered}}
				}
				go func() { errs <- f.d.ApplyStatuses(ctx, "mock", sms.SourceWebhook, ups) }()
			}
		}
		for range 4 * n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range f.states(t, ms) {
			if m.State != sms.StateDelivered {
				t.Fatalf("message %d is %s", m.ID, m.State)
			}
			if got := eventStates(t, f.db, m.ID); strings.Count(got, "delivered/") != 1 {
				t.Fatalf("message %d events %s, want one delivered", m.ID, got)
			}
		}
	})
}
