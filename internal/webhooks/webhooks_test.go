package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
	"github.com/recado-sms/recado/internal/webhooks"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func testBox(t *testing.T) *secrets.Box {
	t.Helper()
	box, err := secrets.NewBox(make([]byte, secrets.KeySize), nil)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// received is one delivery as a receiver saw it.
type received struct {
	header http.Header
	body   []byte
	event  webhooks.Event
}

// receiver is an endpoint that checks every delivery's signature with
// webhooks.Verify, records it, and answers what answer says (200 when nil).
type receiver struct {
	*httptest.Server
	t      *testing.T
	now    func() time.Time
	mu     sync.Mutex
	secret string
	got    []received
	answer func(ev webhooks.Event, n int) int // n: how many times this delivery id came before
	seen   map[string]int
}

func newReceiver(t *testing.T, now func() time.Time) *receiver {
	r := &receiver{t: t, now: now, seen: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhooks.Verify(r.secret, req.Header.Get(webhooks.HeaderSignature), body, r.now(), time.Minute); err != nil {
		r.t.Errorf("delivery refused: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev webhooks.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("delivery body %s: %v", body, err)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": webhooks.UserAgent,
		webhooks.HeaderEvent: string(ev.Type), webhooks.HeaderDelivery: ev.ID} {
		if got := req.Header.Get(k); got != want {
			r.t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	n := r.seen[ev.ID]
	r.seen[ev.ID]++
	status := http.StatusOK
	if r.answer != nil {
		status = r.answer(ev, n)
	}
	if status/100 == 2 {
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, event: ev})
	}
	w.WriteHeader(status)
	io.WriteString(w, "boom")
}

func (r *receiver) events() []webhooks.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]webhooks.Event, len(r.got))
	for i, g := range r.got {
		out[i] = g.event
	}
	return out
}

// messages stores n messages and moves them to sending, as the send path
// does; it returns their references.
func messages(t *testing.T, db *store.DB, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	refs := make([]string, n)
	err := db.InTx(ctx, func(tx *store.Tx) error {
		batch, err := tx.CreateBatch(ctx, "mock", "batch-"+prefix)
		if err != nil {
			return err
		}
		msgs := make([]store.NewMessage, n)
		for i := range msgs {
			refs[i] = fmt.Sprintf("%s-%d", prefix, i)
			msgs[i] = store.NewMessage{Phone: fmt.Sprintf("+55119%08d", i), Body: "Olá", Kind: sms.Marketing,
				State: sms.StateQueued, Provider: "mock", Reference: refs[i], Segments: 1, Encoding: sms.GSM7, BatchID: &batch}
		}
		if _, err := tx.InsertMessages(ctx, msgs, sms.SourceAPI); err != nil {
			return err
		}
		_, err = tx.MarkBatchSending(ctx, batch, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func sent(t *testing.T, db *store.DB, refs ...string) {
	t.Helper()
	ctx := context.Background()
	var rs []store.SentResult
	for _, r := range refs {
		rs = append(rs, store.SentResult{Reference: r, ProviderMessageID: "pm-" + r})
	}
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.RecordSent(ctx, rs, 0, sms.SourceProvider)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func delivered(t *testing.T, db *store.DB, at time.Time, refs ...string) {
	t.Helper()
	ctx := context.Background()
	var ds []store.Delivery
	for _, r := range refs {
		ds = append(ds, store.Delivery{ProviderMessageID: "pm-" + r, At: at})
	}
	if err := db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.RecordDelivered(ctx, "mock", ds, sms.SourceWebhook)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"1","type":"message.sent"}`)
	h := webhooks.Sign("whsec_test", now, body)
	if !strings.HasPrefix(h, "t=1800000000,v1=") || len(h) != len("t=1800000000,v1=")+64 {
		t.Fatalf("header %q", h)
	}
	if err := webhooks.Verify("whsec_test", h, body, now.Add(time.Minute), 0); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	// A receiver that knows two secrets during a rotation may list both;
	// Recado's own header has one v1, but Verify takes any that matches.
	rotated := webhooks.Sign("old-secret-000000", now, body) + "," + strings.Split(h, ",")[1]
	if err := webhooks.Verify("whsec_test", rotated, body, now, 0); err != nil {
		t.Fatalf("two signatures: %v", err)
	}
	for name, c := range map[string]struct {
		secret, header string
		body           []byte
		now            time.Time
	}{
		"tampered body": {"whsec_test", h, []byte(`{"id":"2","type":"message.sent"}`), now},
		"wrong secret":  {"whsec_other", h, body, now},
		"replayed late": {"whsec_test", h, body, now.Add(6 * time.Minute)},
		"from future":   {"whsec_test", h, body, now.Add(-6 * time.Minute)},
		"no header":     {"whsec_test", "", body, now},
		"no time":       {"whsec_test", strings.Split(h, ",")[1], body, now},
		"bad time":      {"whsec_test", "t=soon," + strings.Split(h, ",")[1], body, now},
		"no signature":  {"whsec_test", "t=1800000000", body, now},
		"bad hex":       {"whsec_test", "t=1800000000,v1=zz", body, now},
	} {
		t.Run(name, func(t *testing.T) {
			err := webhooks.Verify(c.secret, c.header, c.body, c.now, 0)
			if !errors.Is(err, webhooks.ErrSignature) {
				t.Fatalf("Verify = %v, want ErrSignature", err)
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := webhooks.New(db, testBox(t), webhooks.Config{})

		for name, in := range map[string]webhooks.Input{
			"no url":          {Events: []webhooks.EventType{webhooks.MessageSent}},
			"ftp":             {URL: ptr("ftp://example.test/x"), Events: []webhooks.EventType{webhooks.MessageSent}},
			"relative":        {URL: ptr("/hooks"), Events: []webhooks.EventType{webhooks.MessageSent}},
			"no host":         {URL: ptr("https://"), Events: []webhooks.EventType{webhooks.MessageSent}},
			"credentials":     {URL: ptr("https://crm:hunter2@example.test/x"), Events: []webhooks.EventType{webhooks.MessageSent}},
			"fragment":        {URL: ptr("https://example.test/x#y"), Events: []webhooks.EventType{webhooks.MessageSent}},
			"no events":       {URL: ptr("https://example.test/x")},
			"unknown event":   {URL: ptr("https://example.test/x"), Events: []webhooks.EventType{"message.sent", "message.opened"}},
			"short secret":    {URL: ptr("https://example.test/x"), Events: []webhooks.EventType{webhooks.MessageSent}, Secret: "short"},
			"secret w/ space": {URL: ptr("https://example.test/x"), Events: []webhooks.EventType{webhooks.MessageSent}, Secret: "a secret with spaces"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := s.Create(ctx, in)
				if sms.KindOf(err) != sms.KindInvalid {
					t.Fatalf("Create = %v, want invalid", err)
				}
				if strings.Contains(fmt.Sprint(err, err.(*sms.Error).Fields), "hunter2") {
					t.Fatalf("the error shows the URL's password: %v", err.(*sms.Error).Fields)
				}
			})
		}
		if list, err := s.List(ctx); err != nil || len(list) != 0 {
			t.Fatalf("endpoints after refusals: %v, %v", list, err)
		}

		e, err := s.Create(ctx, webhooks.Input{URL: ptr(" https://crm.example.test/hooks?src=recado "), Description: ptr("CRM"),
			Events: []webhooks.EventType{webhooks.MessageDelivered, webhooks.MessageSent, webhooks.MessageDelivered, webhooks.ContactOptedOut}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.Secret, "whsec_") || len(e.Secret) != len("whsec_")+43 || !e.Active ||
			e.URL != "https://crm.example.test/hooks?src=recado" || fmt.Sprint(e.Events) != "[message.delivered message.sent contact.opted_out]" {
			t.Fatalf("created %+v", e)
		}
		got, err := s.Get(ctx, e.ID)
		if err != nil || got.Secret != "" || got.URL != e.URL {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		var raw string
		if err := db.Reader().QueryRow(`SELECT secret FROM webhook_endpoints`).Scan(&raw); err != nil || !secrets.IsSealed(raw) || strings.Contains(raw, e.Secret) {
			t.Fatalf("stored secret %q, %v: want it sealed", raw, err)
		}
		list, err := s.List(ctx)
		if err != nil || len(list) != 1 || list[0].Secret != "" {
			t.Fatalf("List = %+v, %v", list, err)
		}

		up, err := s.Update(ctx, e.ID, webhooks.Input{Active: ptr(false), Events: []webhooks.EventType{webhooks.MessageFailed}})
		if err != nil || up.Active || up.Secret != "" || fmt.Sprint(up.Events) != "[message.failed]" || up.URL != e.URL || up.Description != "CRM" {
			t.Fatalf("Update = %+v, %v", up, err)
		}
		rot, err := s.Update(ctx, e.ID, webhooks.Input{RotateSecret: true})
		if err != nil || !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == e.Secret {
			t.Fatalf("rotate = %+v, %v", rot, err)
		}
		if _, err := s.Update(ctx, e.ID, webhooks.Input{URL: ptr("mailto:x@example.test")}); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("Update with a bad URL = %v", err)
		}
		if _, err := s.Update(ctx, e.ID+100, webhooks.Input{Active: ptr(true)}); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("Update of a missing endpoint = %v", err)
		}
		if err := s.Delete(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, e.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("Get after Delete = %v", err)
		}
	})
}

// TestDeliveryOrder runs the deliverer against a receiver that refuses the
// first attempt at some "sent" events: each message's "delivered" must still
// arrive after its "sent", and every delivery be signed.
func TestDeliveryOrder(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn, store.Options{})
		rcv := newReceiver(t, time.Now)
		rcv.answer = func(ev webhooks.Event, n int) int {
			if ev.Type == webhooks.MessageSent && n == 0 && ev.Message.ID%3 == 0 {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		}
		s := webhooks.New(db, testBox(t), webhooks.Config{PollInterval: 10 * time.Millisecond, Concurrency: 4,
			Backoff: []time.Duration{20 * time.Millisecond}})
		e, err := s.Create(ctx, webhooks.Input{URL: ptr(rcv.URL + "/hooks"),
			Events: []webhooks.EventType{webhooks.MessageSent, webhooks.MessageDelivered}})
		if err != nil {
			t.Fatal(err)
		}
		rcv.secret = e.Secret
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Stop(ctx)

		const n = 30
		refs := messages(t, db, "o", n)
		sent(t, db, refs...)
		delivered(t, db, time.Now(), refs...)

		deadline := time.Now().Add(10 * time.Second)
		for len(rcv.events()) < 2*n {
			if time.Now().After(deadline) {
				t.Fatalf("received %d events of %d", len(rcv.events()), 2*n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The receiver has every event; the deliverer records each answer
		// just after it, so the log is awaited until it holds them all.
		var page webhooks.DeliveryPage
		for {
			page, err = s.Deliveries(ctx, e.ID, webhooks.DeliveryFilter{Status: store.DeliveryDelivered, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Deliveries) >= 2*n || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(page.Deliveries) != 2*n || page.NextCursor != "" {
			t.Fatalf("delivered log: %d, cursor %q", len(page.Deliveries), page.NextCursor)
		}
		evs := rcv.events() // nothing more came meanwhile
		if len(evs) != 2*n {
			t.Fatalf("received %d events, want %d", len(evs), 2*n)
		}
		state := map[int64]string{}
		for _, ev := range evs {
			m := ev.Message
			if m == nil || m.Reference == "" || m.Phone == "" || m.Provider != "mock" || m.ProviderMessageID != "pm-"+m.Reference {
				t.Fatalf("event %+v, message %+v", ev, m)
			}
			if string(ev.Type) != "message."+m.State {
				t.Errorf("event %s carries state %s", ev.Type, m.State)
			}
			switch ev.Type {
			case webhooks.MessageSent:
				if state[m.ID] != "" {
					t.Errorf("message %d: sent after %s", m.ID, state[m.ID])
				}
			case webhooks.MessageDelivered:
				if state[m.ID] != "sent" {
					t.Errorf("message %d: delivered after %q, want after sent", m.ID, state[m.ID])
				}
			}
			state[m.ID] = m.State
		}
		retried := 0
		for _, d := range page.Deliveries {
			if d.Attempts == 2 {
				retried++
				if d.LastStatus == nil || *d.LastStatus != http.StatusNoContent || d.DeliveredAt == nil {
					t.Errorf("retried delivery %+v", d)
				}
			}
		}
		if retried != n/3 {
			t.Errorf("%d deliveries took two attempts, want %d", retried, n/3)
		}
	})
}

// TestRetries steps a fake clock through the backoff: a receiver that fails
// three times then answers, one that never answers in time, and one that
// always fails until, three days on, the delivery is given up.
func TestRetries(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
		db := storetest.Open(t, dsn, store.Options{Now: clk.Now})
		s := webhooks.New(db, testBox(t), webhooks.Config{Now: clk.Now, Timeout: 100 * time.Millisecond})

		flaky := newReceiver(t, clk.Now)
		flaky.answer = func(_ webhooks.Event, n int) int {
			if n < 3 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		}
		down := newReceiver(t, clk.Now)
		down.answer = func(webhooks.Event, int) int { return http.StatusBadGateway }
		release := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer slow.Close()
		defer close(release)

		create := func(url string, secret string) webhooks.Endpoint {
			t.Helper()
			e, err := s.Create(ctx, webhooks.Input{URL: &url, Events: []webhooks.EventType{webhooks.MessageSent}, Secret: secret})
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		flakyEP := create(flaky.URL, "flaky-secret-0000")
		flaky.secret = flakyEP.Secret
		downEP := create(down.URL, "down-secret-00000")
		down.secret = downEP.Secret
		slowEP := create(slow.URL, "")

		refs := messages(t, db, "r", 1)
		sent(t, db, refs...)
		start := clk.Now()
		last := func(e webhooks.Endpoint) store.WebhookDelivery {
			t.Helper()
			page, err := s.Deliveries(ctx, e.ID, webhooks.DeliveryFilter{})
			if err != nil || len(page.Deliveries) != 1 {
				t.Fatalf("deliveries of %d: %+v, %v", e.ID, page, err)
			}
			return page.Deliveries[0]
		}
		step := func(want int) {
			t.Helper()
			n, err := s.DeliverDue(ctx)
			if err != nil || n != want {
				t.Fatalf("at +%s: DeliverDue = %d, %v; want %d", clk.Now().Sub(start), n, err, want)
			}
		}

		step(3)
		for i, wait := range []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute} {
			d := last(flakyEP)
			if d.Status != store.DeliveryPending || d.Attempts != i+1 || d.LastStatus == nil || *d.LastStatus != 500 ||
				d.LastError != "HTTP 500: boom" || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(clk.Now().Add(wait)) {
				t.Fatalf("after attempt %d: %+v (next %v)", i+1, d, d.NextAttemptAt)
			}
			if i == 0 {
				sd := last(slowEP)
				if sd.LastStatus != nil || sd.LastError != "no answer within 100ms" || sd.Attempts != 1 {
					t.Fatalf("slow endpoint: %+v", sd)
				}
			}
			clk.Add(wait - time.Second)
			step(0) // not yet
			clk.Add(time.Second)
			step(3)
		}
		d := last(flakyEP)
		if d.Status != store.DeliveryDelivered || d.Attempts != 4 || *d.LastStatus != 200 || d.LastError != "" ||
			d.DeliveredAt == nil || !d.DeliveredAt.Equal(clk.Now()) || d.NextAttemptAt != nil {
			t.Fatalf("flaky delivery at last: %+v", d)
		}
		if evs := flaky.events(); len(evs) != 1 || evs[0].ID != fmt.Sprint(d.ID) || evs[0].Type != webhooks.MessageSent {
			t.Fatalf("flaky receiver got %+v", evs)
		}

		// The other two keep failing until three days have passed.
		for i := 0; ; i++ {
			if i > 20 {
				t.Fatal("never given up")
			}
			dd := last(downEP)
			if dd.Status == store.DeliveryFailed {
				if dd.Attempts != 13 || dd.NextAttemptAt != nil || *dd.LastStatus != 502 {
					t.Fatalf("given up: %+v", dd)
				}
				if age := clk.Now().Sub(start); age > 72*time.Hour || age < 70*time.Hour {
					t.Fatalf("given up %s after the event", age)
				}
				break
			}
			clk.Set(*dd.NextAttemptAt)
			step(2)
		}
		if sd := last(slowEP); sd.Status != store.DeliveryFailed {
			t.Fatalf("slow endpoint's delivery: %+v", sd)
		}
		failed, err := s.Deliveries(ctx, downEP.ID, webhooks.DeliveryFilter{Status: store.DeliveryFailed})
		if err != nil || len(failed.Deliveries) != 1 {
			t.Fatalf("failed deliveries: %+v, %v", failed, err)
		}
		clk.Add(24 * time.Hour)
		step(0)

		// Resend: pending and due now, with its attempts counted afresh, the
		// same id, and three more days to go.
		down.answer = nil
		re, err := s.Resend(ctx, downEP.ID, failed.Deliveries[0].ID)
		if err != nil || re.Status != store.DeliveryPending || re.Attempts != 0 || re.ResentAt == nil || !re.NextAttemptAt.Equal(clk.Now()) {
			t.Fatalf("Resend = %+v, %v", re, err)
		}
		step(1)
		dd := last(downEP)
		if dd.Status != store.DeliveryDelivered || dd.Attempts != 1 {
			t.Fatalf("after resend: %+v", dd)
		}
		if evs := down.events(); len(evs) != 1 || evs[0].ID != fmt.Sprint(dd.ID) {
			t.Fatalf("down receiver got %+v", evs)
		}
		if _, err := s.Resend(ctx, flakyEP.ID, dd.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("Resend through another endpoint = %v", err)
		}
		if _, err := s.Deliveries(ctx, downEP.ID, webhooks.DeliveryFilter{Status: "lost"}); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("Deliveries with a bad status = %v", err)
		}
		if _, err := s.Deliveries(ctx, downEP.ID, webhooks.DeliveryFilter{Cursor: "x"}); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("Deliveries with a bad cursor = %v", err)
		}
	})
}

// TestDeliveriesPages pages through an endpoint's delivery log.
func TestDeliveriesPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := webhooks.New(db, testBox(t), webhooks.Config{})
		e, err := s.Create(ctx, webhooks.Input{URL: ptr("https://example.test/hooks"), Events: []webhooks.EventType{webhooks.MessageSent}})
		if err != nil {
			t.Fatal(err)
		}
		sent(t, db, messages(t, db, "p", 5)...)
		var ids []int64
		cursor := ""
		for range 3 {
			page, err := s.Deliveries(ctx, e.ID, webhooks.DeliveryFilter{Cursor: cursor, Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Deliveries {
				ids = append(ids, d.ID)
			}
			cursor = page.NextCursor
			if cursor == "" {
				break
			}
		}
		if len(ids) != 5 || ids[0] < ids[4] {
			t.Fatalf("paged ids %v", ids)
		}
		if _, err := s.Deliveries(ctx, e.ID+1, webhooks.DeliveryFilter{}); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("deliveries of a missing endpoint = %v", err)
		}
	})
}
