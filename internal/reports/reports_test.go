package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/reports"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

func TestReportsAndReconciliation(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "fake-token", RateLimit: -1, SentAfter: time.Millisecond,
			FinalAfter: time.Millisecond, Outcomes: kolmeyatest.Outcomes{Delivered: 3, Failed: 1}})
		defer fake.Close()
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		a := s.App
		settings := map[string]json.RawMessage{}
		for k, v := range map[string]any{"base_url": fake.URL(), "token": "fake-token", "segment_id": 109,
			"webhook_secret": "a-webhook-secret-of-forty-characters-000", "cost_per_segment": "0.07"} {
			settings[k], _ = json.Marshal(v)
		}
		if _, err := a.Providers.Create(ctx, providers.Input{Name: "kolmeya", Type: "kolmeya", Settings: settings}); err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(-time.Minute)
		var reqs []dispatch.Request
		for i := range 40 {
			reqs = append(reqs, dispatch.Request{To: fmt.Sprintf("+55119%08d", 50000000+i), Body: fmt.Sprintf("Olá %d", i), Provider: "kolmeya"})
		}
		ms, err := a.Dispatch.Submit(ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 20*time.Second, "the messages to be sent", func() bool {
			n, _ := a.DB.ListMessages(ctx, store.MessageFilter{States: []sms.State{sms.StateQueued, sms.StateSending}, Limit: 1})
			return len(n) == 0
		})
		// Recado hears of some fates (as by webhook) but not all, and one wrongly.
		time.Sleep(20 * time.Millisecond)
		var updates []provider.StatusUpdate
		for _, m := range ms[:10] {
			updates = append(updates, provider.StatusUpdate{Reference: m.Reference, State: sms.StateDelivered, At: time.Now()})
		}
		if err := a.Dispatch.ApplyStatuses(ctx, "kolmeya", sms.SourceWebhook, updates); err != nil {
			t.Fatal(err)
		}

		r, err := reports.New(a.DB, a.Providers).Reconcile(ctx, "kolmeya", start, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if r.Kolmeya != 40 || r.Recado != 40 || r.Matched != 40 {
			t.Fatalf("reconciliation counted %+v", r)
		}
		// Kolmeya knows every final fate by now; Recado only the 10 it was
		// told, and some of those may be wrong: every disagreement is listed
		// with both states.
		var differs int
		for _, d := range r.Differences {
			if d.Problem != "state_differs" || d.RecadoState == d.KolmeyaState || d.MessageID == 0 {
				t.Errorf("difference %+v", d)
			}
			differs++
		}
		if differs != 40-r.Agree || differs < 30 {
			t.Errorf("%d differences, %d agree: %+v", differs, r.Agree, r.Differences)
		}

		// Reports: by provider and day, then CSV.
		rep := apptest.JSON[struct {
			Rows []store.ReportRow
		}](t, s, http.MethodGet, "/api/v1/reports/messages?by=provider,day", s.Token, nil, http.StatusOK)
		if len(rep.Rows) != 1 || rep.Rows[0].Keys[0] != "kolmeya" || rep.Rows[0].Messages != 40 || rep.Rows[0].Delivered != 10 ||
			rep.Rows[0].CostText != "2.80" || rep.Rows[0].Keys[1] != time.Now().In(sms.SaoPaulo).Format("2006-01-02") {
			t.Errorf("report %+v", rep.Rows)
		}
		res := s.Send(t, apptest.Request{Method: http.MethodGet, Path: "/api/v1/reports/messages.csv?by=operator", Token: s.Token})
		if res.Status != 200 || !strings.HasPrefix(string(res.Body), "operator,operator_name,messages") || !bytes.Contains(res.Body, []byte("\n0,,40,")) {
			t.Errorf("csv: %d %s", res.Status, res.Body)
		}
		costs := apptest.JSON[struct {
			Rows []store.ReportRow
		}](t, s, http.MethodGet, "/api/v1/reports/costs", s.Token, nil, http.StatusOK)
		if len(costs.Rows) != 1 || costs.Rows[0].Keys[1] != "kolmeya" || costs.Rows[0].Segments != 40 {
			t.Errorf("costs %+v", costs.Rows)
		}
		for _, bad := range []string{"/api/v1/reports/messages?by=cpf", "/api/v1/reports/messages?from=ontem",
			"/api/v1/reports/messages?by=day,provider,campaign", "/api/v1/reports/costs?from=2026-13"} {
			if st, body, _ := s.Do(t, http.MethodGet, bad, s.Token, nil); st != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s", bad, st, body)
			}
		}
		_, op := s.Operator(t, "ana")
		if st, _, _ := s.Do(t, http.MethodGet, "/api/v1/reports/messages", op, nil); st != http.StatusForbidden {
			t.Errorf("an operator read the cost report: %d", st)
		}
	})
}
