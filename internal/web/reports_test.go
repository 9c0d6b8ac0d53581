package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestReportPages: the report by any one or two dimensions with its CSV,
// the monthly cost, and the reconciliation with the fake Kolmeya, for
// managers only; bad queries are refused with what is wrong.
func TestReportPages(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "fake-token", RateLimit: -1, SentAfter: time.Millisecond,
			FinalAfter: time.Millisecond, Outcomes: kolmeyatest.Outcomes{Delivered: 1}})
		t.Cleanup(fake.Close)
		s := newServer(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		settings := map[string]json.RawMessage{}
		for k, v := range map[string]any{"base_url": fake.URL(), "token": "fake-token", "segment_id": 109,
			"webhook_secret": "a-webhook-secret-of-forty-characters-000", "cost_per_segment": "0.07"} {
			settings[k], _ = json.Marshal(v)
		}
		if _, err := s.App.Providers.Create(ctx, providers.Input{Name: "kolmeya", Type: "kolmeya", Settings: settings}); err != nil {
			t.Fatal(err)
		}
		start := time.Now().Add(-time.Minute)
		var reqs []dispatch.Request
		for i := range 6 {
			reqs = append(reqs, dispatch.Request{To: fmt.Sprintf("+55119%08d", 50000000+i), Body: fmt.Sprintf("Olá %d", i), Provider: "kolmeya"})
		}
		reqs = append(reqs, dispatch.Request{To: "+5511900000099", Body: "Pelo mock"})
		if _, err := s.App.Dispatch.Submit(ctx, reqs); err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 20*time.Second, "the messages sent", func() bool {
			n, _ := s.App.DB.ListMessages(ctx, store.MessageFilter{States: []sms.State{sms.StateQueued, sms.StateSending}, Limit: 1})
			return len(n) == 0
		})
		b := manager(t, s)
		today := time.Now().In(sms.SaoPaulo).Format("2006-01-02")

		p := b.get("/reports")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `id="report"`, today, `id="report-total"`, `id="report-csv"`)
		p = b.get("/reports?by=provider&by2=operator")
		wantContains(t, p, ">kolmeya<", ">mock<", "nobody (API or system)", "R$0.42")
		p = b.get("/reports/export.csv?by=provider")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "provider,messages,sent,delivered", "\nkolmeya,6,")
		for _, bad := range []string{"by=cpf", "by=day&by2=day", "by2=cpf", "from=ontem", "to=2026-13-01",
			"from=2026-11-02&to=2026-11-01", "campaign_id=x", "operator=-1", "from=2020-01-01&to=2026-01-01"} {
			p := b.get("/reports?" + bad)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="form-errors"`)
			wantStatus(t, b.get("/reports/export.csv?"+bad), http.StatusUnprocessableEntity)
		}

		p = b.get("/reports/costs")
		wantContains(t, p, `id="costs"`, time.Now().In(sms.SaoPaulo).Format("2006-01"), "R$0.42", `id="costs-total"`)
		for _, bad := range []string{"from=2026-13", "to=ontem", "from=2026-05&to=2026-04"} {
			wantStatus(t, b.get("/reports/costs?"+bad), http.StatusUnprocessableEntity)
		}

		// Reconciliation: Recado hears of no fate, Kolmeya knows them all.
		p = b.get("/reports/reconcile")
		wantContains(t, p, `id="reconcile-form"`, `<option value="kolmeya" selected>`)
		loc := sms.SaoPaulo
		from, to := start.In(loc).Format("2006-01-02T15:04"), time.Now().Add(2*time.Minute).In(loc).Format("2006-01-02T15:04")
		for _, tt := range []struct {
			name string
			form url.Values
		}{
			{"no provider", url.Values{"provider": {""}, "from": {from}, "to": {to}}},
			{"not Kolmeya", url.Values{"provider": {"mock"}, "from": {from}, "to": {to}}},
			{"unknown provider", url.Values{"provider": {"nope"}, "from": {from}, "to": {to}}},
			{"bad start", url.Values{"provider": {"kolmeya"}, "from": {"ontem"}, "to": {to}}},
			{"backwards", url.Values{"provider": {"kolmeya"}, "from": {to}, "to": {from}}},
			{"too long", url.Values{"provider": {"kolmeya"}, "from": {"2026-01-01T00:00"}, "to": {"2026-03-01T00:00"}}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/reports/reconcile", tt.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				wantContains(t, p, `id="form-errors"`)
			})
		}
		wantStatus(t, b.post("/reports/reconcile", url.Values{"provider": {"kolmeya"}, "from": {from}, "to": {to}, "csrf_token": {"forged"}}), http.StatusForbidden)
		time.Sleep(20 * time.Millisecond) // the fake's fates are final after a millisecond
		p = b.post("/reports/reconcile", url.Values{"provider": {"kolmeya"}, "from": {from}, "to": {to}})
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `id="rc-recado">6<`, `id="rc-kolmeya">6<`, `id="rc-matched">6<`, `data-problem="state_differs"`)

		// Operators see no reports, nor the link to them.
		op := operator(t, s, "operadora")
		for _, path := range []string{"/reports", "/reports/costs", "/reports/reconcile", "/reports/export.csv"} {
			wantStatus(t, op.get(path), http.StatusForbidden)
		}
		wantStatus(t, op.post("/reports/reconcile", url.Values{"provider": {"kolmeya"}, "from": {from}, "to": {to}}), http.StatusForbidden)
		if strings.Contains(op.get("/").Body, `id="nav-reports"`) {
			t.Error("an operator is shown the reports link")
		}
	})
}
