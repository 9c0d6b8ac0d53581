package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// campaignForm is a valid campaign's form to the list, open at any hour
// so that tests do not depend on when they run; changes replace fields.
func campaignForm(list int64, changes url.Values) url.Values {
	f := url.Values{"name": {"Natal 2026"}, "body": {"Olá {{primeiro_nome}}! {{campanha}} chegou."}, "kind": {"marketing"},
		"list": {fmt.Sprint(list)}, "on_missing": {"skip"}, "rate_per_minute": {"0"}, "cap_messages": {"0"}, "cap_days": {"0"},
		"open_on_holidays": {"1"}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		f.Set("open_"+d, "1")
		f.Set("from_"+d, "00:00")
		f.Set("to_"+d, "00:00")
	}
	for k, v := range changes {
		f[k] = v
	}
	return f
}

func campaigns(t *testing.T, s *apptest.Server) []store.Campaign {
	t.Helper()
	cs, err := s.App.DB.ListCampaigns(context.Background(), nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestCampaignPages: a campaign is made from a list with a template's text
// and its preview, refused with every kind of bad input, dry-run, started,
// watched to the end, and paused, resumed and canceled; an operator only
// looks.
func TestCampaignPages(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := newServer(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		ctx := context.Background()
		l, _ := s.App.DB.CreateList(ctx, "Clientes", "", nil)
		var ids []int64
		for i, name := range []string{"Fulana Teste", "Beltrana Teste", "Ciclana Teste"} {
			c, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: name, Phone: fmt.Sprintf("+55119000000%02d", i+1)})
			ids = append(ids, c.ID)
		}
		out, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Saiu Teste", Phone: "+5511900000009", OptedOut: true})
		ids = append(ids, out.ID)
		if err := s.App.DB.ChangeMembers(ctx, l.ID, ids, nil); err != nil {
			t.Fatal(err)
		}
		tm, _ := s.App.DB.CreateTemplate(ctx, sms.Template{Name: "Boas festas", Body: "Boas festas, {{primeiro_nome}}!", Kind: sms.Marketing})
		b := manager(t, s)

		p := b.get(fmt.Sprintf("/campaigns/new?list_id=%d&template_id=%d", l.ID, tm.ID))
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, fmt.Sprintf(`name="list" value="%d" checked`, l.ID), "Boas festas, {{primeiro_nome}}!", `id="open-sat" checked`)
		if strings.Contains(p.Body, `id="open-sun" checked`) {
			t.Error("the marketing default sends on Sundays")
		}
		p = b.post("/campaigns/preview", url.Values{"body": {"Olá {{primeiro_nome}}! {{campanha}} {{cupom}}"}, "name": {"Natal"}, "vars": {"cupom=NATAL10"}})
		wantContains(t, p, "Olá Fulana! Natal NATAL10", `id="template-segments"`)
		wantContains(t, b.get(fmt.Sprintf("/campaigns/template?template_id=%d", tm.ID)), "Boas festas, {{primeiro_nome}}!")
		wantContains(t, b.get("/campaigns/window?kind=transactional"), `id="open-sun" checked`)

		for _, tt := range []struct {
			name    string
			changes url.Values
		}{
			{"no name", url.Values{"name": {""}}},
			{"name too long", url.Values{"name": {strings.Repeat("n", 101)}}},
			{"no text", url.Values{"body": {" "}}},
			{"text too long", url.Values{"body": {strings.Repeat("a", 1601)}}},
			{"unclosed placeholder", url.Values{"body": {"Olá {{nome"}}},
			{"bad kind", url.Values{"kind": {"spam"}}},
			{"no audience", url.Values{"list": nil}},
			{"unknown list", url.Values{"list": {"99999"}}},
			{"list not an id", url.Values{"list": {"abc"}}},
			{"unknown template", url.Values{"template_id": {"99999"}}},
			{"template not an id", url.Values{"template_id": {"x"}}},
			{"unknown provider", url.Values{"provider": {"nope"}}},
			{"bad schedule", url.Values{"schedule_at": {"amanhã"}}},
			{"no day open", url.Values{"open_mon": nil, "open_tue": nil, "open_wed": nil, "open_thu": nil, "open_fri": nil, "open_sat": nil, "open_sun": nil}},
			{"hours backwards", url.Values{"from_mon": {"21:00"}, "to_mon": {"09:00"}}},
			{"bad hours", url.Values{"from_tue": {"9h"}}},
			{"bad closed date", url.Values{"closed_dates": {"24/12/2026"}}},
			{"negative speed", url.Values{"rate_per_minute": {"-1"}}},
			{"speed not a number", url.Values{"rate_per_minute": {"fast"}}},
			{"cap without days", url.Values{"cap_messages": {"2"}}},
			{"cap days too many", url.Values{"cap_messages": {"2"}, "cap_days": {"400"}}},
			{"bad missing rule", url.Values{"on_missing": {"maybe"}}},
			{"bad variables", url.Values{"vars": {"no equals sign"}}},
			{"forged CSRF", url.Values{"csrf_token": {"forged"}}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/campaigns", campaignForm(l.ID, tt.changes))
				if tt.name == "forged CSRF" {
					wantStatus(t, p, http.StatusForbidden)
				} else {
					wantStatus(t, p, http.StatusUnprocessableEntity)
					wantContains(t, p, `id="form-errors"`, `id="campaign-form"`)
				}
				if cs := campaigns(t, s); len(cs) != 0 {
					t.Fatalf("bad input stored %d campaigns", len(cs))
				}
			})
		}

		p = b.post("/campaigns", campaignForm(l.ID, url.Values{"template_id": {fmt.Sprint(tm.ID)}, "vars": {"cupom=NATAL10"}}))
		wantStatus(t, p, http.StatusSeeOther)
		cs := campaigns(t, s)
		if len(cs) != 1 || cs[0].State != store.CampaignDraft || cs[0].TemplateID == nil || cs[0].Vars["cupom"] != "NATAL10" {
			t.Fatalf("stored %+v", cs)
		}
		c := cs[0]
		path := fmt.Sprintf("/campaigns/%d", c.ID)
		if p.Location != path {
			t.Fatalf("went to %q", p.Location)
		}
		p = b.get(path)
		wantContains(t, p, `data-cstate="draft"`, `id="start-campaign"`, `id="edit-campaign"`, `id="dry-run-button"`)
		if strings.Contains(p.Body, "sse-connect") {
			t.Error("a draft's page streams")
		}

		// Edit: the form shows the stored campaign; bad input changes nothing.
		p = b.get(path + "/edit")
		wantContains(t, p, `value="Natal 2026"`, `id="open-sun" checked`, "cupom=NATAL10")
		wantStatus(t, b.post(path, campaignForm(l.ID, url.Values{"name": {""}})), http.StatusUnprocessableEntity)
		wantStatus(t, b.post(path, campaignForm(l.ID, url.Values{"name": {"Natal"}, "body": {"Olá {{primeiro_nome}}, aproveite o {{campanha}}!"}})), http.StatusSeeOther)
		if c, _ = s.App.DB.GetCampaign(ctx, c.ID); c.Name != "Natal" {
			t.Fatalf("not saved: %+v", c)
		}

		// The dry run: three get it, the opted-out one is skipped.
		p = b.do(htmxGet(t, b, path+"/dry-run"))
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `id="dr-recipients"><strong>3</strong>`, `data-reason="opted_out"`, `id="dr-cost"`, "Olá Fulana, aproveite o Natal!", `id="dr-window">open now`)
		if c, _ := s.App.DB.GetCampaign(ctx, c.ID); c.State != store.CampaignDraft || c.Materialized {
			t.Fatal("the dry run changed the campaign")
		}

		// An operator looks but changes nothing.
		op := operator(t, s, "operadora")
		wantStatus(t, op.get("/campaigns"), http.StatusOK)
		p = op.get(path)
		wantStatus(t, p, http.StatusOK)
		if strings.Contains(p.Body, `id="start-campaign"`) || strings.Contains(p.Body, `id="c-cost"`) {
			t.Error("the operator is shown the start button or the cost")
		}
		wantStatus(t, op.post(path+"/start", nil), http.StatusForbidden)
		wantStatus(t, op.post("/campaigns", campaignForm(l.ID, nil)), http.StatusForbidden)

		// Started, it runs to the end; the mock delivers everything.
		wantStatus(t, b.post(path+"/start", nil), http.StatusSeeOther)
		apptest.Eventually(t, 30*time.Second, "the campaign completed and delivered", func() bool {
			st, err := s.App.Campaigns.Stats(ctx, c.ID)
			return err == nil && st.Campaign.State == store.CampaignCompleted && st.Messages.ByState["delivered"] == 3
		})
		p = b.get(path)
		wantContains(t, p, `data-cstate="completed"`, `id="c-delivered">3<`, `id="c-skipped">1<`, `id="campaign-chart"`, `data-reason="opted_out"`)
		if strings.Contains(p.Body, "sse-connect") {
			t.Error("a finished campaign's page streams")
		}
		chart := b.get(path + "/chart")
		if chart.Status != http.StatusOK || !strings.HasPrefix(chart.Body, "<svg") {
			t.Fatalf("chart: %d %.200s", chart.Status, chart.Body)
		}
		p = b.get(path + "/live?since=running")
		wantContains(t, p, "event: update", `id="campaign-live-wrap" hx-swap-oob="true"`, `data-cstate="completed"`)
		wantStatus(t, b.post(path, campaignForm(l.ID, nil)), http.StatusConflict)
		wantStatus(t, b.post(path+"/start", nil), http.StatusConflict)
		wantStatus(t, b.post(path+"/resume", nil), http.StatusConflict)
		if n := countMessages(t, s); n != 3 {
			t.Fatalf("%d messages, want 3", n)
		}
		wantContains(t, b.get("/campaigns"), `data-state="completed"`)
		wantContains(t, b.get("/campaigns?state=completed"), "Natal")
		wantStatus(t, b.get("/campaigns?state=bogus"), http.StatusUnprocessableEntity)

		// Another, scheduled for later: paused, resumed (waiting for its
		// time again), canceled.
		later := time.Now().Add(48 * time.Hour).In(sms.SaoPaulo).Format("2006-01-02T15:04")
		wantStatus(t, b.post("/campaigns", campaignForm(l.ID, url.Values{"name": {"Depois"}, "schedule_at": {later}})), http.StatusSeeOther)
		second := campaigns(t, s)[0]
		path2 := fmt.Sprintf("/campaigns/%d", second.ID)
		wantStatus(t, b.post(path2+"/start", nil), http.StatusSeeOther)
		wantContains(t, b.get(path2), `data-cstate="scheduled"`, `id="pause-campaign"`, "sse-connect")
		wantContains(t, b.get("/"), `id="active-campaigns"`, "Depois")
		for _, step := range []struct{ action, state string }{{"pause", "paused"}, {"resume", "scheduled"}, {"pause", "paused"}, {"cancel", "canceled"}} {
			wantStatus(t, b.post(path2+"/"+step.action, nil), http.StatusSeeOther)
			if got, _ := s.App.DB.GetCampaign(ctx, second.ID); got.State != step.state {
				t.Fatalf("after %s: %s, want %s", step.action, got.State, step.state)
			}
		}
		wantStatus(t, b.post(path2+"/delete", nil), http.StatusConflict)

		// A draft can be deleted.
		wantStatus(t, b.post("/campaigns", campaignForm(l.ID, url.Values{"name": {"Rascunho"}})), http.StatusSeeOther)
		third := campaigns(t, s)[0]
		wantStatus(t, b.post(fmt.Sprintf("/campaigns/%d/delete", third.ID), nil), http.StatusSeeOther)
		if _, err := s.App.DB.GetCampaign(ctx, third.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatal("the draft was not deleted")
		}
	})
}

func htmxGet(t *testing.T, b *browser, path string) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	req.Header.Set("HX-Request", "true")
	return req
}
