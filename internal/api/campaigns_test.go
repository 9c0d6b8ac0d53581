package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

func TestCampaignsAPI(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		_, op := s.Operator(t, "ana")
		for i := range 3 {
			createContact(t, s, map[string]any{"phone": fmt.Sprintf("+55 11 90000-07%02d", i), "name": "Fulana Teste", "tags": []string{"natal"}})
		}
		createContact(t, s, map[string]any{"phone": "+55 11 90000-0799", "name": "Saiu", "tags": []string{"natal"}, "opted_out": true})
		tm := apptest.JSON[struct{ ID int64 }](t, s, http.MethodPost, "/api/v1/templates", s.Token,
			map[string]any{"name": "natal", "body": "Feliz Natal, {{primeiro_nome}}! {{campanha}}"}, http.StatusCreated)
		always := map[string]any{"open_on_holidays": true}
		c := apptest.JSON[store.Campaign](t, s, http.MethodPost, "/api/v1/campaigns", s.Token, map[string]any{
			"name": "Natal", "template_id": tm.ID, "audience": map[string]any{"tags": []string{"natal"}}, "window": always}, http.StatusCreated)
		if c.State != "draft" || c.Body != "Feliz Natal, {{primeiro_nome}}! {{campanha}}" || c.Kind != "marketing" {
			t.Fatalf("created %+v", c)
		}
		path := fmt.Sprintf("/api/v1/campaigns/%d", c.ID)
		dr := apptest.JSON[campaign.DryRun](t, s, http.MethodPost, path+"/dry-run", op, nil, http.StatusOK)
		if dr.Recipients != 3 || dr.SkippedBy["opted_out"] != 1 || len(dr.Samples) != 3 || dr.Samples[0].Text != "Feliz Natal, Fulana! Natal" {
			t.Fatalf("dry run %+v", dr)
		}

		t.Run("bad input changes nothing", func(t *testing.T) {
			tests := []struct {
				name, method, path, token string
				body                      any
				status                    int
				field                     string
			}{
				{"malformed", "POST", "/api/v1/campaigns", s.Token, `{"name": `, 400, ""},
				{"unknown field", "POST", "/api/v1/campaigns", s.Token, map[string]any{"name": "x", "body": "oi", "audience": map[string]any{"tags": []string{"a"}}, "speed": 3}, 422, "body.speed"},
				{"no audience", "POST", "/api/v1/campaigns", s.Token, map[string]any{"name": "x", "body": "oi"}, 422, "audience"},
				{"body too long", "POST", "/api/v1/campaigns", s.Token, map[string]any{"name": "x", "body": strings.Repeat("a", 1601), "audience": map[string]any{"tags": []string{"a"}}}, 422, "body"},
				{"oversize", "POST", "/api/v1/campaigns", s.Token, map[string]any{"name": "x", "body": strings.Repeat("a", 2<<20)}, 413, ""},
				{"bad hours", "POST", "/api/v1/campaigns", s.Token, map[string]any{"name": "x", "body": "oi", "audience": map[string]any{"tags": []string{"a"}}, "window": map[string]any{"hours": map[string]string{"mon": "9-21"}}}, 422, "window.hours.mon"},
				{"operator cannot create", "POST", "/api/v1/campaigns", op, map[string]any{"name": "x", "body": "oi", "audience": map[string]any{"tags": []string{"a"}}}, 403, ""},
				{"operator cannot start", "POST", path + "/start", op, nil, 403, ""},
				{"resume a draft", "POST", path + "/resume", s.Token, nil, 409, ""},
				{"pause a draft", "POST", path + "/pause", s.Token, nil, 409, ""},
				{"unknown campaign", "POST", "/api/v1/campaigns/999999/start", s.Token, nil, 404, ""},
				{"bad state filter", "GET", "/api/v1/campaigns?state=going", s.Token, nil, 422, "state"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					checkProblem(t, s.Send(t, apptest.Request{Method: tt.method, Path: tt.path, Token: tt.token, Body: tt.body}), tt.status, tt.field)
				})
			}
			list := apptest.JSON[struct{ Campaigns []store.Campaign }](t, s, http.MethodGet, "/api/v1/campaigns", op, nil, http.StatusOK)
			if len(list.Campaigns) != 1 || list.Campaigns[0].State != "draft" {
				t.Errorf("bad input changed the campaigns: %+v", list.Campaigns)
			}
		})

		apptest.JSON[store.Campaign](t, s, http.MethodPost, path+"/start", s.Token, nil, http.StatusOK)
		var st campaign.Stats
		apptest.Eventually(t, 30*time.Second, "the campaign to complete", func() bool {
			st = apptest.JSON[campaign.Stats](t, s, http.MethodGet, path+"/stats", op, nil, http.StatusOK)
			return st.Campaign.State == "completed"
		})
		if st.Campaign.Fed != 3 || st.Campaign.SkippedBy["opted_out"] != 1 || st.Messages.ByState["sent"]+st.Messages.ByState["delivered"] != 3 {
			t.Errorf("stats %+v", st)
		}
		// A reply to the campaign, an opt-out word: counted as a reply and an opt-out of the campaign.
		if err := s.App.Dispatch.ApplyReplies(context.Background(), "mock", sms.SourceWebhook,
			[]provider.Reply{{ProviderReplyID: "r-natal-1", Phone: "+5511900000700", Body: "SAIR"}}); err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 20*time.Second, "deliveries and the reply in the statistics", func() bool {
			st = apptest.JSON[campaign.Stats](t, s, http.MethodGet, path+"/stats", op, nil, http.StatusOK)
			return st.Messages.ByState["delivered"] == 3 && st.Messages.Replies == 1
		})
		if st.Messages.OptOuts != 1 || len(st.Messages.Deliveries) == 0 || st.Messages.Deliveries[0].Count != 3 || st.Rate != 1 {
			t.Errorf("statistics after deliveries and an opt-out reply: %+v, rate %v", st.Messages, st.Rate)
		}
		rs := apptest.JSON[struct{ Recipients []store.Recipient }](t, s, http.MethodGet, path+"/recipients?status=skipped", op, nil, http.StatusOK)
		if len(rs.Recipients) != 1 || rs.Recipients[0].Reason != "opted_out" || rs.Recipients[0].Name != "Saiu" {
			t.Errorf("skipped recipients %+v", rs.Recipients)
		}
		ms := apptest.JSON[messageList](t, s, http.MethodGet, fmt.Sprintf("/api/v1/messages?campaign_id=%d&direction=outbound", c.ID), op, nil, http.StatusOK)
		if len(ms.Messages) != 3 || ms.Messages[0].TemplateID == nil || *ms.Messages[0].TemplateID != tm.ID {
			t.Errorf("campaign messages %+v", ms.Messages)
		}
	})
}
