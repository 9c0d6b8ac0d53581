package campaign_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

var ctx = context.Background()

// always is a window open at any moment, so that tests do not depend on
// the hour they run at.
var always = campaign.AlwaysOpen()

func ptr[T any](v T) *T { return &v }

func contact(t *testing.T, s *apptest.Server, c sms.Contact) sms.Contact {
	t.Helper()
	c, err := s.App.DB.CreateContact(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func phone(i int) string { return fmt.Sprintf("+55119%08d", 30000000+i) }

// fastMock makes the mock provider answer at once and report nothing for an
// hour.
func fastMock(t *testing.T, s *apptest.Server) {
	t.Helper()
	_, err := s.App.Providers.Update(ctx, "mock", providers.Input{Settings: map[string]json.RawMessage{
		"delivery_delay": json.RawMessage(`"1h"`), "send_latency": json.RawMessage(`"0s"`)}})
	if err != nil {
		t.Fatal(err)
	}
}

// feedAll runs the feeder until it says to come back later for no other
// reason than waiting for sends, or the campaign stops.
func feedAll(t *testing.T, s *apptest.Server, id int64) {
	t.Helper()
	for i := 0; i < 100; i++ {
		err := s.App.Campaigns.Feed(ctx, id, -1)
		var snooze *river.JobSnoozeError
		if err == nil {
			return
		}
		if !errors.As(err, &snooze) {
			t.Fatalf("feed: %v", err)
		}
		c, _ := s.App.DB.GetCampaign(ctx, id)
		if c.Fed+c.Skipped >= c.Recipients && c.Materialized {
			return
		}
	}
	t.Fatal("the feeder never finished")
}

func TestExclusionsDryRunAndRun(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		fastMock(t, s)
		a := s.App
		list, err := a.DB.CreateList(ctx, "Clientes", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		var members []int64
		add := func(c sms.Contact) sms.Contact {
			c = contact(t, s, c)
			members = append(members, c.ID)
			return c
		}
		fields := map[string]string{"vencimento": "10/12"}
		for i := range 5 { // five who get it
			add(sms.Contact{Name: fmt.Sprintf("Fulana %d", i), Phone: phone(i), Fields: fields})
		}
		add(sms.Contact{Name: "Falecida", Phone: phone(10), Deceased: true, Fields: fields})
		add(sms.Contact{Name: "Saiu", Phone: phone(11), OptedOut: true, Fields: fields})
		add(sms.Contact{Name: "Bloqueada", Phone: phone(12), Fields: fields})
		nd := add(sms.Contact{Name: "Nao Perturbe", Phone: phone(13), Fields: fields})
		capped := add(sms.Contact{Name: "Cansada", Phone: phone(14), Fields: fields})
		add(sms.Contact{Name: "Sem Vencimento", Phone: phone(15)})
		already := add(sms.Contact{Name: "Ja Recebeu", Phone: phone(16), Fields: fields})
		if err := a.DB.ChangeMembers(ctx, list.ID, members, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Dispatch.Blacklist(ctx, []string{phone(12)}, "test", nil); err != nil {
			t.Fatal(err)
		}
		// A message the provider refused as "Não Me Perturbe", and a recent
		// marketing message that fills the frequency cap.
		ms, err := a.Dispatch.Submit(ctx, []dispatch.Request{{ContactID: &nd.ID, Body: "x", SendAt: ptr(time.Now().Add(time.Hour))},
			{ContactID: &capped.ID, Body: "y", SendAt: ptr(time.Now().Add(time.Hour))}})
		if err != nil {
			t.Fatal(err)
		}
		q := `UPDATE messages SET error_code = 'not_disturb' WHERE id = $1`
		if a.DB.Dialect() == store.SQLite {
			q = `UPDATE messages SET error_code = 'not_disturb' WHERE id = ?1`
		}
		if _, err := a.DB.Writer().Exec(q, ms[0].ID); err != nil {
			t.Fatal(err)
		}
		// An import whose list is in the audience: one row rejected, one merged.
		im, err := a.Imports.RunFile(ctx, "lista.csv", strings.NewReader("nome,telefone,vencimento\nArquivo,11930000020,01/01\nRuim,123,\nArquivo 2,11930000020,02/01\n"),
			0, imports.Options{List: "Arquivo"}, nil)
		if err != nil {
			t.Fatal(err)
		}

		c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr("Vencimento"), Body: ptr("Olá {{primeiro_nome}}, sua fatura vence em {{vencimento}}. {{campanha}}"),
			Audience: &store.Audience{Lists: []int64{list.ID}, Imports: []int64{im.ID}}, Window: &always,
			CapMessages: ptr(1), CapDays: ptr(30)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Already sent in this campaign: a message of it to one contact.
		if _, err := a.Dispatch.Submit(ctx, []dispatch.Request{{ContactID: &already.ID, Body: "antes", CampaignID: &c.ID, Kind: sms.Transactional}}); err != nil {
			t.Fatal(err)
		}

		dr, err := a.Campaigns.DryRun(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{store.SkipDeceased: 1, store.SkipOptedOut: 1, store.SkipBlacklisted: 1, store.SkipNotDisturb: 1,
			store.SkipFrequencyCap: 1, store.SkipMissingField: 1, store.SkipAlreadySent: 1, store.SkipNoValidPhone: 1, store.SkipDuplicate: 1}
		if fmt.Sprint(dr.SkippedBy) != fmt.Sprint(want) || dr.Recipients != 6 || dr.Skipped != 9 || dr.Audience != 15 {
			t.Fatalf("dry run: %d recipients, %d skipped by %v (audience %d); want 6, 9 by %v", dr.Recipients, dr.Skipped, dr.SkippedBy, dr.Audience, want)
		}
		if len(dr.Samples) != 5 || dr.Samples[0].Text != "Olá Fulana, sua fatura vence em 10/12. Vencimento" || dr.Samples[0].Encoding != sms.UCS2 {
			t.Errorf("samples %+v", dr.Samples)
		}
		if dr.Segments != 6 || dr.FoldedSegments != 6 || dr.CostText != "0.30" || dr.Saving != "0.00" || !dr.WindowOpen {
			t.Errorf("dry run figures %+v", dr)
		}
		if got, _ := a.DB.GetCampaign(ctx, c.ID); got.State != store.CampaignDraft || got.Materialized || got.Recipients != 0 {
			t.Errorf("the dry run changed the campaign: %+v", got)
		}

		if _, err := a.Campaigns.Start(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 30*time.Second, "the campaign to complete", func() bool {
			c, _ = a.DB.GetCampaign(ctx, c.ID)
			return c.State == store.CampaignCompleted
		})
		if c.Fed != 6 || c.Skipped != 9 || fmt.Sprint(c.SkippedBy) != fmt.Sprint(want) {
			t.Errorf("after the run: fed %d, skipped %d by %v", c.Fed, c.Skipped, c.SkippedBy)
		}
		st, err := a.Campaigns.Stats(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Messages.ByState["sent"] != 7 || st.Pending != 0 {
			t.Errorf("stats %+v", st)
		}
		sent, err := a.DB.ListMessages(ctx, store.MessageFilter{CampaignID: &c.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, m := range sent {
			seen[m.Phone]++
			if m.Body == "antes" {
				continue
			}
			if !strings.HasPrefix(m.Reference, fmt.Sprintf("cp%d.", c.ID)) || m.Kind != sms.Marketing {
				t.Errorf("campaign message %+v", m)
			}
		}
		for p, n := range seen {
			if n != 1 {
				t.Errorf("%s got %d messages of the campaign", p, n)
			}
		}
		if len(seen) != 7 {
			t.Errorf("%d phones got the campaign, want 6 and the earlier one", len(seen))
		}
	})
}

func TestPauseResumeCancel(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn)) // workers started by hand
		fastMock(t, s)
		a := s.App
		a.Campaigns.PauseCheck = 100 * time.Millisecond
		a.Campaigns.ChunkSize = 40
		for i := range 100 {
			contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(100 + i), Tags: []string{"lote"}})
		}
		mk := func(name string) store.Campaign {
			c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr(name), Body: ptr("Oi {{nome}}"), Window: &always,
				Audience: &store.Audience{Tags: []string{"lote"}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c, err = a.Campaigns.Start(ctx, c.ID); err != nil || c.State != store.CampaignRunning {
				t.Fatalf("start: %+v %v", c, err)
			}
			return c
		}
		count := func(id int64, st sms.State) int64 {
			n, err := a.DB.CampaignInFlight(ctx, id, st)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		p := mk("pausa")
		// Feed everything while no worker runs: 100 queued messages in batches.
		feedAll(t, s, p.ID)
		if q := count(p.ID, sms.StateQueued); q != 100 {
			t.Fatalf("%d queued after feeding, want 100", q)
		}
		if _, err := a.Campaigns.Pause(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Campaigns.Pause(ctx, p.ID); sms.KindOf(err) != sms.KindConflict {
			t.Errorf("pausing twice: %v", err)
		}
		if err := a.Dispatch.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Dispatch.Stop(context.Background()) })
		time.Sleep(700 * time.Millisecond)
		if q := count(p.ID, sms.StateQueued); q != 100 {
			t.Fatalf("a paused campaign's batches were sent: %d left queued", q)
		}
		if _, err := a.Campaigns.Resume(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 20*time.Second, "the resumed campaign to complete", func() bool {
			c, _ := a.DB.GetCampaign(ctx, p.ID)
			return c.State == store.CampaignCompleted
		})
		if n := count(p.ID, sms.StateSent); n != 100 {
			t.Errorf("%d sent, want 100", n)
		}

		// Cancel: a campaign canceled with queued messages and pending
		// recipients sends nothing more.
		a.Campaigns.Pause(ctx, mk("x").ID) // a paused one among them
		c := mk("cancela")
		a.Campaigns.PauseCheck = time.Hour // keep its batches waiting while paused
		if _, err := a.Campaigns.Pause(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Campaigns.Resume(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Campaigns.Cancel(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		got, _ := a.DB.GetCampaign(ctx, c.ID)
		if got.State != store.CampaignCanceled || got.FinishedAt == nil {
			t.Errorf("canceled campaign %+v", got)
		}
		if q := count(c.ID, sms.StateQueued); q != 0 {
			t.Errorf("%d messages still queued after cancel", q)
		}
		before := count(c.ID, sms.StateSent) + count(c.ID, sms.StateSending)
		time.Sleep(500 * time.Millisecond)
		if after := count(c.ID, sms.StateSent) + count(c.ID, sms.StateSending); after != before {
			t.Errorf("a canceled campaign kept sending: %d → %d", before, after)
		}
		if _, err := a.Campaigns.Resume(ctx, c.ID); sms.KindOf(err) != sms.KindConflict {
			t.Errorf("resuming a canceled campaign: %v", err)
		}
	})
}

func TestGateHoldsBatchesOfPausedCampaigns(t *testing.T) {
	s := apptest.New(t)
	a := s.App
	for i := range 3 {
		contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(300 + i), Tags: []string{"g"}})
	}
	c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr("g"), Body: ptr("Oi"), Window: &always, Audience: &store.Audience{Tags: []string{"g"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wait, cancel, err := a.Campaigns.Gate(ctx, c.ID)
	if err != nil || wait == 0 || cancel {
		t.Errorf("a draft's gate: %v %v %v", wait, cancel, err)
	}
	a.Campaigns.Start(ctx, c.ID)
	if wait, cancel, _ := a.Campaigns.Gate(ctx, c.ID); wait != 0 || cancel {
		t.Errorf("a running campaign's gate: %v %v", wait, cancel)
	}
	a.Campaigns.Cancel(ctx, c.ID)
	if _, cancel, _ := a.Campaigns.Gate(ctx, c.ID); !cancel {
		t.Error("a canceled campaign's gate lets batches go")
	}
	// Closed window: a marketing campaign on a date closed all day waits.
	closed := campaign.Window{ClosedDates: []string{time.Now().In(sms.SaoPaulo).Format("2006-01-02")}, OpenOnHolidays: true}
	d, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr("fechada"), Body: ptr("Oi"), Window: &closed, Audience: &store.Audience{Tags: []string{"g"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Campaigns.Start(ctx, d.ID)
	if wait, _, _ := a.Campaigns.Gate(ctx, d.ID); wait <= 0 {
		t.Error("a campaign outside its window lets batches go")
	}
	err = a.Campaigns.Feed(ctx, d.ID, -1)
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) {
		t.Errorf("feeding outside the window: %v, want a snooze", err)
	}
	if got, _ := a.DB.GetCampaign(ctx, d.ID); got.Fed != 0 {
		t.Errorf("fed %d outside the window", got.Fed)
	}
}

func TestBadCampaigns(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))
		a := s.App
		aud := &store.Audience{Tags: []string{"x"}}
		for _, tt := range []struct {
			name  string
			in    campaign.Input
			field string
		}{
			{"no name", campaign.Input{Body: ptr("oi"), Audience: aud}, "name"},
			{"no body", campaign.Input{Name: ptr("a"), Audience: aud}, "body"},
			{"bad body", campaign.Input{Name: ptr("a"), Body: ptr("{{"), Audience: aud}, "body"},
			{"no audience", campaign.Input{Name: ptr("a"), Body: ptr("oi")}, "audience"},
			{"unknown list", campaign.Input{Name: ptr("a"), Body: ptr("oi"), Audience: &store.Audience{Lists: []int64{99}}}, "audience.lists[0]"},
			{"unknown template", campaign.Input{Name: ptr("a"), TemplateID: ptr(int64(99)), Audience: aud}, "template_id"},
			{"unknown provider", campaign.Input{Name: ptr("a"), Body: ptr("oi"), Audience: aud, Provider: ptr("nope")}, "provider"},
			{"bad window", campaign.Input{Name: ptr("a"), Body: ptr("oi"), Audience: aud, Window: &campaign.Window{Hours: map[string]string{"mon": "22:00-08:00"}}}, "window.hours.mon"},
			{"half a cap", campaign.Input{Name: ptr("a"), Body: ptr("oi"), Audience: aud, CapMessages: ptr(2)}, "cap_messages"},
			{"bad kind", campaign.Input{Name: ptr("a"), Body: ptr("oi"), Audience: aud, Kind: ptr(sms.MessageKind("bulk"))}, "kind"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := a.Campaigns.Create(ctx, tt.in, nil)
				var e *sms.Error
				if !errors.As(err, &e) || e.Kind != sms.KindInvalid {
					t.Fatalf("err = %v, want invalid input", err)
				}
				found := false
				for _, f := range e.Fields {
					found = found || f.Field == tt.field
				}
				if !found {
					t.Errorf("no error on %s: %+v", tt.field, e.Fields)
				}
			})
		}
		if cs, _ := a.DB.ListCampaigns(ctx, nil, 10); len(cs) != 0 {
			t.Errorf("bad input stored %d campaigns", len(cs))
		}
	})
}

// TestLateChangesAreHonoured blacklists, opts out and marks deceased
// contacts after the campaign's recipients were written: feeding skips them.
func TestLateChangesAreHonoured(t *testing.T) {
	s := apptest.New(t)
	a := s.App
	var cs []sms.Contact
	for i := range 4 {
		cs = append(cs, contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(400 + i), Tags: []string{"late"}}))
	}
	c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr("late"), Body: ptr("Oi"), Window: &always, Audience: &store.Audience{Tags: []string{"late"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Campaigns.Start(ctx, c.ID)
	a.Campaigns.MaxInFlight, a.Campaigns.Slice = 0, 50*time.Millisecond // write the recipients, feed nobody
	err = a.Campaigns.Feed(ctx, c.ID, -1)
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) {
		t.Fatalf("first feed: %v", err)
	}
	if got, _ := a.DB.GetCampaign(ctx, c.ID); got.Recipients != 4 || got.Fed != 0 {
		t.Fatalf("after writing the recipients: %+v", got)
	}
	a.Dispatch.Blacklist(ctx, []string{cs[0].Phone}, "late", nil)
	cs[1].OptedOut, cs[2].Deceased = true, true
	a.DB.UpdateContact(ctx, cs[1])
	a.DB.UpdateContact(ctx, cs[2])
	a.Campaigns.MaxInFlight = 100
	feedAll(t, s, c.ID)
	got, _ := a.DB.GetCampaign(ctx, c.ID)
	want := map[string]int64{store.SkipBlacklisted: 1, store.SkipOptedOut: 1, store.SkipDeceased: 1}
	if got.Fed != 1 || fmt.Sprint(got.SkippedBy) != fmt.Sprint(want) {
		t.Errorf("fed %d, skipped %v; want 1 fed and %v", got.Fed, got.SkippedBy, want)
	}
}

func TestCheckRecipients(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))
		a := s.App
		ok := contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(500)})
		dead := contact(t, s, sms.Contact{Name: "Falecida", Phone: phone(501), Deceased: true})
		out := contact(t, s, sms.Contact{Name: "Saiu", Phone: phone(502), OptedOut: true})
		a.Dispatch.Blacklist(ctx, []string{phone(503)}, "x", nil)
		ms, err := a.Dispatch.Submit(ctx, []dispatch.Request{{To: phone(504), Body: "x", SendAt: ptr(time.Now().Add(time.Hour))}})
		if err != nil {
			t.Fatal(err)
		}
		q := `UPDATE messages SET error_code = 'not_disturb' WHERE id = $1`
		if a.DB.Dialect() == store.SQLite {
			q = `UPDATE messages SET error_code = 'not_disturb' WHERE id = ?1`
		}
		if _, err := a.DB.Writer().Exec(q, ms[0].ID); err != nil {
			t.Fatal(err)
		}
		targets := []campaign.Target{{ContactID: &ok.ID}, {To: "(11) 3333-0001"}, {ContactID: &dead.ID}, {To: out.Phone},
			{To: phone(503)}, {To: phone(504)}, {To: "11 93000-0500"}, {ContactID: ptr(int64(99999))}, {To: phone(505)}}
		got, err := a.Campaigns.Check(ctx, targets, sms.Marketing)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"", store.SkipNoValidPhone, store.SkipDeceased, store.SkipOptedOut, store.SkipBlacklisted, store.SkipNotDisturb,
			store.SkipDuplicate, "no_such_contact", ""}
		for i, w := range want {
			if got[i].Reason != w || got[i].OK != (w == "") {
				t.Errorf("target %d: %+v, want reason %q", i, got[i], w)
			}
		}
		if got[0].Name != "Fulana" || got[0].Phone != phone(500) {
			t.Errorf("first target %+v", got[0])
		}
		// Transactional messages go to the opted-out and the blacklisted.
		got, err = a.Campaigns.Check(ctx, targets[3:5], sms.Transactional)
		if err != nil || !got[0].OK || !got[1].OK {
			t.Errorf("transactional check: %+v %v", got, err)
		}
	})
}

func TestScheduledPauseResume(t *testing.T) {
	s := apptest.New(t)
	a := s.App
	contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(600), Tags: []string{"s"}})
	at := time.Now().Add(time.Hour)
	c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr("agendada"), Body: ptr("Oi"), Window: &always,
		Audience: &store.Audience{Tags: []string{"s"}}, ScheduleAt: &at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		fn   func(context.Context, int64) (store.Campaign, error)
		want string
	}{{a.Campaigns.Start, "scheduled"}, {a.Campaigns.Pause, "paused"}, {a.Campaigns.Resume, "scheduled"}} {
		got, err := step.fn(ctx, c.ID)
		if err != nil || got.State != step.want {
			t.Fatalf("got %s, %v; want %s", got.State, err, step.want)
		}
	}
	err = a.Campaigns.Feed(ctx, c.ID, -1)
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) || snooze.Duration < 59*time.Minute {
		t.Errorf("feeding before the schedule: %v, want a snooze of about an hour", err)
	}
	if got, _ := a.DB.GetCampaign(ctx, c.ID); got.Materialized || got.State != "scheduled" {
		t.Errorf("a scheduled campaign started early: %+v", got)
	}
}

func TestInactiveProviderPausesTheCampaign(t *testing.T) {
	s := apptest.New(t)
	a := s.App
	contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(700), Tags: []string{"p"}})
	if _, err := a.Providers.Create(ctx, providers.Input{Name: "outro", Type: "mock"}); err != nil {
		t.Fatal(err)
	}
	c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr("p"), Body: ptr("Oi"), Window: &always, Provider: ptr("outro"),
		Audience: &store.Audience{Tags: []string{"p"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Campaigns.Start(ctx, c.ID)
	if _, err := a.Providers.Update(ctx, "outro", providers.Input{Active: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Campaigns.Feed(ctx, c.ID, -1); err != nil {
		t.Fatalf("feed: %v", err)
	}
	if got, _ := a.DB.GetCampaign(ctx, c.ID); got.State != store.CampaignPaused || got.Fed != 0 {
		t.Errorf("campaign of an inactive provider: %+v", got)
	}
}

// TestRecipientsFollowTheCursor checks what a campaign's recipients read as
// while feeding only moves its cursor: fed ones queued with their messages,
// the rest pending, contacts deleted meanwhile skipped (between fed ones and
// after the last), and a cancel that cancels only those not fed.
func TestRecipientsFollowTheCursor(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn)) // no workers: nothing leaves "queued"
		a := s.App
		a.Campaigns.ChunkSize, a.Campaigns.MaxInFlight, a.Campaigns.Slice = 4, 4, time.Nanosecond
		var ids []int64
		for i := range 10 {
			c := contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(300 + i), Tags: []string{"cursor"}, Deceased: i == 1})
			ids = append(ids, c.ID)
		}
		start := func(name string) store.Campaign {
			c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr(name), Body: ptr("Oi {{nome}}"), Window: &always,
				Audience: &store.Audience{Tags: []string{"cursor"}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c, err = a.Campaigns.Start(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			// One slice: the recipients written and one chunk of four fed.
			var snooze *river.JobSnoozeError
			if err := a.Campaigns.Feed(ctx, c.ID, -1); !errors.As(err, &snooze) {
				t.Fatalf("first slice: %v", err)
			}
			return c
		}
		// want maps contact index → "status/reason", with "+m" when a
		// message is named.
		check := func(id int64, want map[int]string) {
			t.Helper()
			rs, err := a.DB.Recipients(ctx, id, "", "", 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			got := map[int]string{}
			for _, r := range rs {
				for i, cid := range ids {
					if cid == r.ContactID {
						v := r.Status + "/" + r.Reason
						if r.MessageID != nil {
							m, err := a.DB.GetMessage(ctx, *r.MessageID)
							if err != nil || m.ContactID == nil || *m.ContactID != cid {
								t.Errorf("contact %d: message %d is %+v (%v)", i, *r.MessageID, m, err)
							}
							v += "+m"
						}
						got[i] = v
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("recipients:\n got %v\nwant %v", got, want)
			}
			for _, status := range []string{"pending", "queued", "skipped", "canceled"} {
				rs, err := a.DB.Recipients(ctx, id, status, "", 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, w := range want {
					if strings.HasPrefix(w, status+"/") {
						n++
					}
				}
				if len(rs) != n {
					t.Errorf("%d recipients %s, want %d", len(rs), status, n)
				}
			}
		}

		c := start("cursor")
		check(c.ID, map[int]string{0: "queued/+m", 1: "skipped/deceased", 2: "queued/+m", 3: "queued/+m", 4: "queued/+m",
			5: "pending/", 6: "pending/", 7: "pending/", 8: "pending/", 9: "pending/"})
		// Deleted now: one that the next chunk passes over, and the last.
		for _, i := range []int{5, 9} {
			if err := a.DB.DeleteContact(ctx, ids[i]); err != nil {
				t.Fatal(err)
			}
		}
		a.Campaigns.MaxInFlight = 100
		feedAll(t, s, c.ID)
		got, err := a.DB.GetCampaign(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantBy := map[string]int64{store.SkipDeceased: 1, store.SkipDeleted: 2}
		if got.Recipients != 10 || got.Fed != 7 || got.Skipped != 3 || fmt.Sprint(got.SkippedBy) != fmt.Sprint(wantBy) {
			t.Errorf("counters: %d recipients, %d fed, %d skipped by %v", got.Recipients, got.Fed, got.Skipped, got.SkippedBy)
		}
		check(c.ID, map[int]string{0: "queued/+m", 1: "skipped/deceased", 2: "queued/+m", 3: "queued/+m", 4: "queued/+m",
			5: "skipped/contact_deleted", 6: "queued/+m", 7: "queued/+m", 8: "queued/+m", 9: "skipped/contact_deleted"})
		for _, reason := range []string{store.SkipDeleted} {
			rs, err := a.DB.Recipients(ctx, c.ID, "skipped", reason, 0, 100)
			if err != nil || len(rs) != 2 || rs[0].ContactID != ids[5] || rs[1].ContactID != ids[9] {
				t.Errorf("skipped as deleted: %+v %v", rs, err)
			}
		}
		if st, err := a.Campaigns.Stats(ctx, c.ID); err != nil || st.Pending != 0 || st.Messages.ByState["queued"] != 7 {
			t.Errorf("stats: %+v %v", st, err)
		}

		// Canceled after one chunk: the fed stay queued (their messages
		// canceled), the others are canceled.
		c2 := start("cancel")
		if _, err := a.Campaigns.Cancel(ctx, c2.ID); err != nil {
			t.Fatal(err)
		}
		check(c2.ID, map[int]string{0: "queued/+m", 1: "skipped/deceased", 2: "queued/+m", 3: "queued/+m", 4: "queued/+m",
			6: "canceled/", 7: "canceled/", 8: "canceled/"})
		if st, err := a.Campaigns.Stats(ctx, c2.ID); err != nil || st.Pending != 0 || st.Messages.ByState["canceled"] != 4 {
			t.Errorf("stats after cancel: %+v %v", st, err)
		}
	})
}

// TestRecipientsWrittenInChunks: a campaign's recipients are written a
// chunk per transaction at its start, and writing resumes after the last
// recipient written when a run died half-way: every contact of the
// audience becomes a recipient once, and gets its message once.
func TestRecipientsWrittenInChunks(t *testing.T) {
	tests := []struct {
		name     string
		contacts int
		chunk    int
		before   int // chunks written before the feeder runs, as by a feeder that died
	}{
		{"an audience of whole chunks", 9, 3, 0},
		{"a short last chunk", 10, 3, 0},
		{"resumed after a run that died", 10, 3, 2},
		{"one chunk", 5, 20000, 0},
	}
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := apptest.New(t, apptest.WithDatabase(dsn))
				a := s.App
				a.Campaigns.RecipientChunk, a.Campaigns.MaxInFlight = tt.chunk, 1000
				tag := fmt.Sprintf("chunks%d", i)
				for k := range tt.contacts {
					contact(t, s, sms.Contact{Name: "Fulana", Phone: phone(400 + 20*i + k), Tags: []string{tag}, Deceased: k == 1})
				}
				c, err := a.Campaigns.Create(ctx, campaign.Input{Name: ptr(tag), Body: ptr("Oi {{nome}}"), Window: &always,
					Audience: &store.Audience{Tags: []string{tag}}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if c, err = a.Campaigns.Start(ctx, c.ID); err != nil {
					t.Fatal(err)
				}
				spec := store.AudienceSpec{Audience: store.Audience{Tags: []string{tag}}, Exclusion: store.Exclusion{CampaignID: c.ID, Kind: sms.Marketing}}
				for range tt.before {
					if err := a.DB.InTx(ctx, func(tx *store.Tx) error {
						done, err := tx.Materialize(ctx, spec, nil, tt.chunk)
						if done {
							t.Error("the audience was done before its last chunk")
						}
						return err
					}); err != nil {
						t.Fatal(err)
					}
				}
				feedAll(t, s, c.ID)
				got, err := a.DB.GetCampaign(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Materialized || got.Recipients != int64(tt.contacts) || got.Skipped != 1 || got.Fed != int64(tt.contacts-1) {
					t.Errorf("materialized %v, %d recipients, %d skipped, %d fed; want %d, 1, %d",
						got.Materialized, got.Recipients, got.Skipped, got.Fed, tt.contacts, tt.contacts-1)
				}
				rs, err := a.DB.Recipients(ctx, c.ID, "", "", 0, 100)
				if err != nil || len(rs) != tt.contacts {
					t.Errorf("%d recipient rows (%v), want %d", len(rs), err, tt.contacts)
				}
				ms, err := a.DB.ListMessages(ctx, store.MessageFilter{CampaignID: &c.ID, Limit: 100})
				if err != nil || len(ms) != tt.contacts-1 {
					t.Errorf("%d messages (%v), want %d", len(ms), err, tt.contacts-1)
				}
				seen := map[int64]bool{}
				for _, m := range ms {
					if m.ContactID == nil || seen[*m.ContactID] {
						t.Errorf("message %d: a contact twice or none", m.ID)
					} else {
						seen[*m.ContactID] = true
					}
				}
			})
		}
	})
}
