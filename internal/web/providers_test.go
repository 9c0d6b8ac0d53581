package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestKolmeyaProviderPage configures Kolmeya through the UI against the
// fake Kolmeya, on both databases: the token is write-only, the cost
// centres come from Kolmeya, the webhook URL (with its secret) is shown to
// managers only and rotates, and "test connection" keeps the balance.
func TestKolmeyaProviderPage(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		fake := kolmeyatest.NewServer(kolmeyatest.Options{})
		t.Cleanup(fake.Close)
		s := newServer(t, apptest.WithDatabase(dsn), apptest.WithConfig(func(c *app.Config) { c.PublicURL = "https://recado.example" }))
		b := manager(t, s)
		b.get("/providers/new?type=kolmeya")
		p := b.post("/providers", url.Values{"name": {"kolmeya"}, "type": {"kolmeya"}, "active": {"1"},
			"token": {"test-token"}, "base_url": {fake.URL()}, "cost_per_segment": {"0,07"},
			"low_balance_threshold": {"1000000"}, "webhook_secret": {"a-webhook-secret-of-some-length"}})
		wantStatus(t, p, http.StatusSeeOther)
		p = b.get("/providers/kolmeya")
		wantContains(t, p, `id="segment-id"`, "https://recado.example/webhooks/kolmeya/kolmeya/a-webhook-secret-of-some-length")
		if strings.Contains(p.Body, "test-token") {
			t.Fatal("the token is shown")
		}

		p = b.post("/providers/kolmeya/test", nil)
		wantStatus(t, p, http.StatusSeeOther)
		p = b.get("/providers/kolmeya")
		wantContains(t, p, `id="balance-low"`) // the fake's balance is below R$ 1.000.000
		if v, _ := s.App.Providers.View(context.Background(), "kolmeya"); v.Balance == nil || v.BalanceAt == nil {
			t.Fatalf("balance not kept: %+v", v)
		}

		wantStatus(t, b.post("/providers/kolmeya/rotate-secret", nil), http.StatusSeeOther)
		p = b.get("/providers/kolmeya")
		if strings.Contains(p.Body, "a-webhook-secret-of-some-length") || !strings.Contains(p.Body, "/webhooks/kolmeya/kolmeya/") {
			t.Fatal("the webhook secret did not change")
		}

		// Saving without a token keeps the stored one.
		wantStatus(t, b.post("/providers/kolmeya", url.Values{"active": {"1"}, "cost_per_segment": {"0.08"}, "base_url": {fake.URL()}}),
			http.StatusSeeOther)
		wantStatus(t, b.post("/providers/kolmeya/test", nil), http.StatusSeeOther)
		if p := b.get("/providers/kolmeya"); !strings.Contains(p.Body, "Connection works") {
			t.Fatalf("the token was lost on save: %.2000s", p.Body)
		}

		// An operator sees the provider but neither the URL nor the form.
		op := operator(t, s, "operadora")
		p = op.get("/providers/kolmeya")
		wantStatus(t, p, http.StatusOK)
		if strings.Contains(p.Body, "/webhooks/kolmeya/") || strings.Contains(p.Body, `id="provider-form"`) {
			t.Fatal("an operator sees the webhook URL or the form")
		}
	})
}
