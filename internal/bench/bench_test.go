package bench

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestScenarios runs every scenario small on each database: each must
// finish, pass its own checks (every message accepted exactly once, every
// webhook applied, every campaign recipient's message accepted exactly
// once) and report a row with figures.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Recado and runs load")
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			cfg := Config{N: 1000, Rate: 500, Workers: 2}
			if dialect == "postgres" {
				cfg.DatabaseURL = storetest.PostgresDSN(t)
			}
			scenarios := Builtin()
			for i := range scenarios {
				if scenarios[i].Name == "campaign" {
					scenarios[i].size = 300
				}
			}
			results, err := Run(context.Background(), cfg, scenarios)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]Result{}
			for _, r := range results {
				seen[r.Scenario] = r
				if r.Database != dialect || r.Seconds <= 0 || r.Throughput <= 0 || r.Requests == 0 || r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
					t.Errorf("row %+v", r)
				}
			}
			for _, name := range []string{"send", "webhooks", "api", "api:send", "api:read", "campaign"} {
				r, ok := seen[name]
				if !ok {
					t.Errorf("no row for %s", name)
					continue
				}
				if !strings.Contains(name, ":") && len(r.Checks) == 0 {
					t.Errorf("%s reports no checks", name)
				}
			}
			if r := seen["send"]; r.Requests != 1 || r.Extra["accepted/s"] <= 0 {
				t.Errorf("send: %d requests of 1000 messages for 1000, extra %v", r.Requests, r.Extra)
			}
			if r := seen["webhooks"]; r.Requests != 1000 {
				t.Errorf("webhooks: %d requests for 1000", r.Requests)
			}
			if r := seen["api:send"]; r.Requests != 500 || seen["api:read"].Requests != 500 || r.Rate != 500 {
				t.Errorf("api: %d sends and %d reads of 1000 at %d/s", r.Requests, seen["api:read"].Requests, r.Rate)
			}
			if r := seen["campaign"]; r.N != 300 || r.Load != "2 workers" || r.Extra["import rows/s"] <= 0 || r.Extra["CPU µs per message"] <= 0 ||
				r.Extra["msgs/s to the last accepted"] < r.Throughput || !slices.ContainsFunc(r.Checks, func(c string) bool {
				return strings.Contains(c, "each of the 300 recipients' messages exactly once")
			}) {
				t.Errorf("campaign: %+v", r)
			}
			var table bytes.Buffer
			if err := WriteTable(&table, results); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(table.String(), "messages/s") || !strings.Contains(table.String(), "exactly once") {
				t.Errorf("table:\n%s", table.String())
			}
		})
	}
}

func TestSelect(t *testing.T) {
	all := Builtin()
	got, err := Select(all, " webhooks, send ")
	if err != nil || len(got) != 2 || got[0].Name != "webhooks" || got[1].Name != "send" {
		t.Fatalf("Select = %v, %v", got, err)
	}
	if got, err := Select(all, "webhooks:500,api"); err != nil || got[0].size != 500 || got[1].size != 0 {
		t.Fatalf("Select with a size = %+v, %v", got, err)
	}
	if got, err := Select(all, "campaign:300"); err != nil || got[0].Name != "campaign" || got[0].size != 300 {
		t.Fatalf("Select campaign = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "nope", "send,nope", "send:0", "send:x", "campaign:-1"} {
		if _, err := Select(all, bad); err == nil {
			t.Errorf("Select(%q) accepted", bad)
		}
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	n, p50, p99, most := percentiles(ds)
	if n != 100 || p50 != 50*time.Millisecond || p99 != 99*time.Millisecond || most != 100*time.Millisecond {
		t.Fatalf("percentiles = %d %v %v %v", n, p50, p99, most)
	}
	if n, _, _, _ := percentiles(nil); n != 0 {
		t.Fatal("percentiles of nothing")
	}
}

func TestRefusesAUsedDatabase(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	env, err := Start(context.Background(), Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	env.Close()
	if _, err := Start(context.Background(), Config{DatabaseURL: dsn}); err == nil || !strings.Contains(err.Error(), "already has users") {
		t.Fatalf("a second bench on the same database: %v", err)
	}
}

// TestWebhooksManyReportsPerCall: with PerWebhook, the webhooks scenario
// posts Kolmeya's documented shape (a "messages" array), the last webhook
// carrying the rest, and every report is applied.
func TestWebhooksManyReportsPerCall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Recado and runs load")
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			cfg := Config{N: 100, PerWebhook: 7, Concurrency: 4}
			if dialect == "postgres" {
				cfg.DatabaseURL = storetest.PostgresDSN(t)
			}
			scenarios, err := Select(Builtin(), "webhooks")
			if err != nil {
				t.Fatal(err)
			}
			results, err := Run(context.Background(), cfg, scenarios)
			if err != nil {
				t.Fatal(err)
			}
			r := results[0]
			if r.Requests != 15 || r.N != 100 || r.Unit != "reports" ||
				!slices.ContainsFunc(r.Checks, func(c string) bool { return strings.Contains(c, "all 100 messages delivered") }) {
				t.Errorf("webhooks of 7 reports: %d requests for 100 reports (want 15), %+v", r.Requests, r)
			}
		})
	}
}
