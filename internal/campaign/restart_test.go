package campaign_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// openApp builds a Recado on dir and dsn with a short send timeout (so that
// a dead worker's batch is swept within seconds) and fast retries.
func openApp(t testing.TB, dir, dsn string) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), app.Config{DataDir: dir, DatabaseURL: dsn, BootstrapToken: apptest.ManagerToken,
		AdminPassword: apptest.ManagerPassword, PasswordCost: &apptest.CheapPasswords, Out: io.Discard,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Dispatch: dispatch.Config{Workers: 4, PollInterval: 20 * time.Millisecond, SendTimeout: 2 * time.Second,
			Retry: []time.Duration{200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	a.Campaigns.ChunkSize, a.Campaigns.Slice = 100, 300*time.Millisecond
	return a
}

// addFakeKolmeya configures the provider "kolmeya" against fake.
func addFakeKolmeya(t testing.TB, a *app.App, fake *kolmeyatest.Server) {
	t.Helper()
	settings := map[string]json.RawMessage{}
	for k, v := range map[string]any{"base_url": fake.URL(), "token": "fake-token", "segment_id": 109,
		"webhook_secret": "a-webhook-secret-of-forty-characters-000", "cost_per_segment": "0.07"} {
		settings[k], _ = json.Marshal(v)
	}
	if _, err := a.Providers.Create(context.Background(), providers.Input{Name: "kolmeya", Type: "kolmeya", Settings: settings}); err != nil {
		t.Fatal(err)
	}
}

// importContacts imports n contacts with phones from base into list.
func importContacts(t testing.TB, a *app.App, n, base int, list string) store.Import {
	t.Helper()
	var b strings.Builder
	b.WriteString("nome,telefone\n")
	for i := range n {
		fmt.Fprintf(&b, "Fulana Teste %d,+55119%08d\n", i, base+i)
	}
	im, err := a.Imports.RunFile(context.Background(), "c.csv", strings.NewReader(b.String()), 0, imports.Options{List: list}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestRestartMidCampaign stops a Recado in the middle of a campaign to the
// fake Kolmeya, its jobs cancelled mid-work, and starts another on the same
// database: the campaign completes, and the fake accepted every recipient's
// message exactly once.
func TestRestartMidCampaign(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "fake-token", RateLimit: -1, SentAfter: time.Hour, FinalAfter: time.Hour})
		defer fake.Close()
		dir := t.TempDir()
		if dsn == "" || !strings.HasPrefix(dsn, "postgres") {
			dsn = ""
		}
		a1 := openApp(t, dir, dsn)
		addFakeKolmeya(t, a1, fake)
		const n = 2000
		im := importContacts(t, a1, n, 40000000, "todos")
		c, err := a1.Campaigns.Create(ctx, campaign.Input{Name: ptr("queda"), Body: ptr("Oi {{primeiro_nome}}"), Provider: ptr("kolmeya"),
			Window: &always, Audience: &store.Audience{Lists: []int64{*im.ListID}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a1.Dispatch.Start(ctx); err != nil {
			t.Fatal(err)
		}
		a1.Campaigns.RunSweeper(ctx, 200*time.Millisecond)
		if _, err := a1.Campaigns.Start(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		apptest.Eventually(t, 60*time.Second, "part of the campaign to be sent", func() bool {
			return fake.TotalAccepted() >= 300
		})
		// Stop without grace: the context is already over, so running jobs
		// are cancelled where they are.
		gone, cancel := context.WithCancel(ctx)
		cancel()
		a1.Campaigns.StopSweeper()
		a1.Dispatch.Stop(gone)
		a1.Close()
		mid := fake.TotalAccepted()
		if mid >= n {
			t.Fatalf("the whole campaign was sent before the stop (%d): the test proves nothing", mid)
		}

		a2 := openApp(t, dir, dsn)
		defer a2.Close()
		if err := a2.Dispatch.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer a2.Dispatch.Stop(ctx)
		a2.Campaigns.RunSweeper(ctx, 200*time.Millisecond)
		defer a2.Campaigns.StopSweeper()
		apptest.Eventually(t, 120*time.Second, "the campaign to complete after the restart", func() bool {
			got, err := a2.DB.GetCampaign(ctx, c.ID)
			return err == nil && got.State == store.CampaignCompleted
		})
		got, _ := a2.DB.GetCampaign(ctx, c.ID)
		if got.Fed != n || got.Skipped != 0 {
			t.Errorf("fed %d, skipped %d by %v; want %d fed", got.Fed, got.Skipped, got.SkippedBy, n)
		}
		contacts, err := a2.DB.ListContacts(ctx, store.ContactFilter{ListID: *im.ListID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var lost, twice int
		for before := int64(0); ; {
			for _, ct := range contacts {
				switch k := fake.Accepted(fmt.Sprintf("cp%d.%d", c.ID, ct.ID)); {
				case k == 0:
					lost++
				case k > 1:
					twice++
				}
			}
			if len(contacts) < 1000 {
				break
			}
			before = contacts[len(contacts)-1].ID
			if contacts, err = a2.DB.ListContacts(ctx, store.ContactFilter{ListID: *im.ListID, Before: before, Limit: 1000}); err != nil {
				t.Fatal(err)
			}
		}
		if lost > 0 || twice > 0 || fake.TotalAccepted() != n {
			t.Fatalf("after a stop at %d accepted: %d never accepted, %d accepted twice, %d in all (want %d)", mid, lost, twice, fake.TotalAccepted(), n)
		}
		if q, _ := a2.DB.CampaignInFlight(ctx, c.ID, sms.StateQueued, sms.StateSending); q != 0 {
			t.Errorf("%d messages still in flight", q)
		}
		t.Logf("stopped at %d of %d accepted; after the restart each was accepted exactly once", mid, n)
	})
}
