package chaos

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// instanceKey is the secret key the instances of a test share, as
// RECADO_SECRET_KEY would be shared: each reads the provider secrets the
// others sealed.
const instanceKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// startInstances starts n Recados with their workers on one PostgreSQL
// database, all at once (as a deployment of several instances starts),
// each with a data folder of its own.
func startInstances(t *testing.T, dsn string, n int, bg dispatch.BackgroundConfig) []*apptest.Server {
	t.Helper()
	out := make([]*apptest.Server, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers(), apptest.WithPublicURL(), apptest.WithConfig(func(c *app.Config) {
				c.SecretKey = instanceKey
				c.Dispatch.SendTimeout = 5 * time.Second
				c.Dispatch.Background = bg
			}))
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return out
}

// sent is how many messages an instance handed to a provider and saw
// accepted, from its own metrics.
func sent(t *testing.T, s *apptest.Server) int {
	t.Helper()
	families, err := s.App.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if f.GetName() != "recado_provider_sends_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if label(m, "outcome") == "sent" {
				n += int(m.GetCounter().GetValue())
			}
		}
	}
	return n
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestInstancesShareTheWork starts two, then three, Recados at once on one
// PostgreSQL database and sends through all of them: every message is
// accepted by Kolmeya exactly once, every instance sends some, the status
// webhooks reach whichever instance sent, and the periodic status poll is
// enqueued once per period between them, never two at a time.
func TestInstancesShareTheWork(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d instances", n), func(t *testing.T) {
			dsn := storetest.PostgresDSN(t)
			const every = 300 * time.Millisecond
			bg := dispatch.BackgroundConfig{StatusPollEvery: every, ReplyPollEvery: time.Hour, BalanceEvery: time.Hour,
				BlacklistSyncEvery: time.Hour, FirstStatusPoll: time.Hour}
			srvs := startInstances(t, dsn, n, bg)
			clk := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
			fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "chaos-token", RateLimit: -1, Now: clk.Now,
				SentAfter: time.Minute, FinalAfter: time.Minute, Outcomes: mixed})
			t.Cleanup(fake.Close)
			if st, body, _ := srvs[0].Do(t, http.MethodPost, "/api/v1/providers", srvs[0].Token, map[string]any{
				"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{"base_url": fake.URL(), "token": "chaos-token",
					"webhook_secret": hookSecret, "timeout": "2s"}}); st != http.StatusCreated {
				t.Fatalf("create the Kolmeya provider: %d %s", st, body)
			}
			e := &env{srv: srvs[0], app: srvs[0].App, fake: fake, clk: clk, gaps: map[int64][]time.Duration{}, seen: map[[2]int64]bool{}}
			e.queue = newQueueClient(t, e.app)
			// Batches go in through each instance's API in turn.
			var refs []string
			for b := range 40 {
				phones := make([]string, 50)
				for i := range phones {
					phones[i] = phone(b*50 + i)
				}
				refs = append(refs, (&env{srv: srvs[b%n]}).send(t, fmt.Sprintf("in%d", b), phones...)...)
			}
			e.settle(t, nil)
			e.checkOnce(t, refs)
			total := 0
			for i, s := range srvs {
				got := sent(t, s)
				if got == 0 {
					t.Errorf("instance %d sent nothing: the work is not shared", i)
				}
				total += got
			}
			if total != len(refs) {
				t.Errorf("the instances sent %d messages between them, want %d", total, len(refs))
			}
			e.finish(t, refs, false)

			// The periodic status poll: once per period between them all, from
			// when the leader began enqueuing it.
			db := e.app.DB.Reader()
			var polls, leaders int
			var span time.Duration
			deadline := time.Now().Add(30 * time.Second)
			for polls < 6 {
				var first, last time.Time
				if err := db.QueryRow(`SELECT count(*), coalesce(min(created_at), now()), coalesce(max(created_at), now())
FROM river_job WHERE kind = 'poll_statuses'`).Scan(&polls, &first, &last); err != nil {
					t.Fatal(err)
				}
				span = last.Sub(first)
				if time.Now().After(deadline) {
					t.Fatalf("%d status polls enqueued in 30 s", polls)
				}
				time.Sleep(every / 3)
			}
			if err := db.QueryRow(`SELECT count(*) FROM river_leader`).Scan(&leaders); err != nil {
				t.Fatal(err)
			}
			if most := int(span/every) + 2; polls > most || leaders != 1 {
				t.Errorf("%d status polls enqueued in %v by %d leaders, want at most %d by one", polls, span, leaders, most)
			}
			var overlaps int
			err := db.QueryRow(`SELECT count(*) FROM river_job a JOIN river_job b ON a.id < b.id
WHERE a.kind = 'poll_statuses' AND b.kind = 'poll_statuses' AND a.attempted_at IS NOT NULL AND b.attempted_at IS NOT NULL
  AND b.attempted_at < coalesce(a.finalized_at, now())`).Scan(&overlaps)
			if err != nil {
				t.Fatal(err)
			}
			if overlaps != 0 {
				t.Errorf("%d status polls ran while an earlier one was running", overlaps)
			}
		})
	}
}
