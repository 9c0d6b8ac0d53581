package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// hookSecret is the fake Kolmeya provider's webhook secret.
const hookSecret = "chaos-webhook-secret-0123456789abcdef"

// schedule is Recado's retry schedule, the production one: the tests check
// that River was told to wait exactly this long, then let the job run at
// once instead of waiting.
var schedule = []time.Duration{60 * time.Second, 180 * time.Second, 600 * time.Second, 1800 * time.Second}

// clock is the fake Kolmeya's clock: a message's status moves when the test
// moves it. Recado runs on the real clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running Recado with its workers, whose provider "kolmeya" sends
// to a fake Kolmeya that posts its webhooks back to it.
type env struct {
	srv   *apptest.Server
	app   *app.App
	fake  *kolmeyatest.Server
	clk   *clock
	queue *river.Client[*sql.Tx] // reads and nudges send jobs; runs nothing

	mu   sync.Mutex
	gaps map[int64][]time.Duration // send job → the wait River scheduled before each retry
	seen map[[2]int64]bool         // (job, attempt) already nudged
}

type envOptions struct {
	outcomes kolmeyatest.Outcomes
	timeout  string // the Kolmeya client's timeout per request; 1s when empty
	config   func(*app.Config)
}

func newEnv(t *testing.T, dsn string, o envOptions) *env {
	t.Helper()
	e := &env{clk: &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}, gaps: map[int64][]time.Duration{}, seen: map[[2]int64]bool{}}
	e.fake = kolmeyatest.NewServer(kolmeyatest.Options{Token: "chaos-token", RateLimit: -1, Now: e.clk.Now,
		SentAfter: time.Minute, FinalAfter: time.Minute, Outcomes: o.outcomes})
	t.Cleanup(e.fake.Close)
	e.srv = apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers(), apptest.WithPublicURL(), apptest.WithConfig(func(c *app.Config) {
		c.Dispatch.SendTimeout = 10 * time.Second
		c.Dispatch.Background.Off = true // the tests poll when they mean to
		c.Dispatch.Background.FirstStatusPoll = time.Nanosecond
		if o.config != nil {
			o.config(c)
		}
	}))
	e.app = e.srv.App
	timeout := o.timeout
	if timeout == "" {
		timeout = "1s"
	}
	if st, body, _ := e.srv.Do(t, http.MethodPost, "/api/v1/providers", e.srv.Token, map[string]any{
		"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{"base_url": e.fake.URL(), "token": "chaos-token",
			"segment_id": 109, "webhook_secret": hookSecret, "cost_per_segment": "0.07", "timeout": timeout}}); st != http.StatusCreated {
		t.Fatalf("create the Kolmeya provider: %d %s", st, body)
	}
	e.queue = newQueueClient(t, e.app)
	return e
}

// newQueueClient returns a River client on a's database that runs nothing:
// the tests read and nudge jobs with it.
func newQueueClient(t *testing.T, a *app.App) *river.Client[*sql.Tx] {
	t.Helper()
	var c *river.Client[*sql.Tx]
	var err error
	if a.DB.Dialect() == store.SQLite {
		c, err = river.NewClient(riversqlite.New(a.DB.Writer()), &river.Config{})
	} else {
		c, err = river.NewClient(riverdatabasesql.New(a.DB.Writer()), &river.Config{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dialects runs fn on a fresh database of each dialect, both at once: the
// fault tests mostly wait (timeouts, back-offs), so they share the cores
// well.
func dialects(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, storetest.SQLiteDSN(t))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, storetest.PostgresDSN(t))
	})
}

// phone is the i-th fake mobile of a test.
func phone(i int) string { return fmt.Sprintf("+5511%09d", 900000000+i) }

// send posts one batch through the API to the phones, with references
// prefix-0, prefix-1…, and returns the references.
func (e *env) send(t *testing.T, prefix string, phones ...string) []string {
	t.Helper()
	msgs := make([]map[string]any, len(phones))
	refs := make([]string, len(phones))
	for i, p := range phones {
		refs[i] = fmt.Sprintf("%s-%d", prefix, i)
		msgs[i] = map[string]any{"to": p, "body": "Sua fatura vence amanhã.", "provider": "kolmeya", "reference": refs[i]}
	}
	if st, body, _ := e.srv.Do(t, http.MethodPost, "/api/v1/messages/batch", e.srv.Token, map[string]any{"messages": msgs}); st != http.StatusAccepted {
		t.Fatalf("send: %d %s", st, body)
	}
	return refs
}

// settle lets the queue finish every send: a job River scheduled for a
// retry has the wait it was given recorded, then runs at once (after
// before(attempt) for the attempt that failed, when set). It returns when
// no message is queued or sending and no send job is left.
func (e *env) settle(t *testing.T, before func(failed int)) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := e.queue.JobList(ctx, river.NewJobListParams().Kinds("send_batch").
			States(rivertype.JobStateRetryable, rivertype.JobStateAvailable, rivertype.JobStateRunning,
				rivertype.JobStateScheduled, rivertype.JobStatePending).First(1000))
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range res.Jobs {
			if j.State != rivertype.JobStateRetryable || j.AttemptedAt == nil {
				continue
			}
			key := [2]int64{j.ID, int64(j.Attempt)}
			e.mu.Lock()
			fresh := !e.seen[key]
			if fresh {
				e.seen[key] = true
				e.gaps[j.ID] = append(e.gaps[j.ID], j.ScheduledAt.Sub(*j.AttemptedAt))
			}
			e.mu.Unlock()
			if fresh && before != nil {
				before(j.Attempt)
			}
			if _, err := e.queue.JobRetry(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
		}
		left, err := e.app.DB.ListMessages(ctx, store.MessageFilter{States: []sms.State{sms.StateQueued, sms.StateSending}, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) == 0 && len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after a minute: %d send jobs left, messages still in flight: %v", len(res.Jobs), len(left) > 0)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSchedule fails unless every retry River scheduled waited as the
// schedule says (plus the time the failed attempt took), and returns the
// retries of the job that had most.
func (e *env) checkSchedule(t *testing.T) int {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	most := 0
	for job, gaps := range e.gaps {
		most = max(most, len(gaps))
		for i, g := range gaps {
			want := schedule[min(i, len(schedule)-1)]
			if g < want || g > want+10*time.Second {
				t.Errorf("job %d: retry %d was scheduled %v after its attempt began, want %v", job, i+1, g, want)
			}
		}
	}
	return most
}

// messages reads the messages of refs, by reference.
func (e *env) messages(t *testing.T, refs []string) map[string]sms.Message {
	t.Helper()
	ms, err := e.app.DB.MessagesByRef(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]sms.Message, len(ms))
	for _, m := range ms {
		out[m.Reference] = m
	}
	if len(out) != len(refs) {
		t.Fatalf("%d messages stored for %d references", len(out), len(refs))
	}
	return out
}

// checkOnce fails unless the fake accepted each of refs exactly once.
func (e *env) checkOnce(t *testing.T, refs []string) {
	t.Helper()
	for _, r := range refs {
		if n := e.fake.Accepted(r); n != 1 {
			t.Errorf("Kolmeya accepted %s %d times, want once", r, n)
		}
	}
}

// finish moves the fake's clock until every accepted message has its final
// status, lets it post its webhooks, and checks that each message of refs
// ends in the state its final status code says. With poll, the status poll
// runs too (for the webhooks a fault dropped).
func (e *env) finish(t *testing.T, refs []string, poll bool) {
	t.Helper()
	ctx := context.Background()
	e.clk.Advance(3 * time.Minute)
	e.fake.Tick(ctx)
	want := map[string]sms.State{}
	for _, r := range refs {
		code, ok := e.fake.MessageCode(r)
		if !ok {
			t.Fatalf("Kolmeya has no message %s", r)
		}
		want[r], _ = kolmeya.StateForCode(code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if poll {
			if _, err := e.app.Dispatch.PollStatuses(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got := e.messages(t, refs)
		var wrong []string
		for _, r := range refs {
			if got[r].State != want[r] {
				wrong = append(wrong, fmt.Sprintf("%s is %s, want %s", r, got[r].State, want[r]))
			}
		}
		if len(wrong) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages not in their final state: %v", len(wrong), wrong[:min(5, len(wrong))])
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.checkHistory(t, refs)
}

// checkHistory fails if a message of refs went through a state twice.
func (e *env) checkHistory(t *testing.T, refs []string) {
	t.Helper()
	ms := e.messages(t, refs)
	ids := make([]int64, 0, len(ms))
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	evs, err := e.app.DB.EventsFor(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for id, list := range evs {
		var states []sms.State
		for _, ev := range list {
			if slices.Contains(states, ev.State) {
				t.Errorf("message %d went through %s twice: %+v", id, ev.State, list)
			}
			states = append(states, ev.State)
		}
	}
}

// eventSources returns the source of each state a message went through.
func (e *env) eventSources(t *testing.T, id int64) map[sms.State]sms.Source {
	t.Helper()
	evs, err := e.app.DB.MessageEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	out := map[sms.State]sms.Source{}
	for _, ev := range evs {
		out[ev.State] = ev.Source
	}
	return out
}

// apptestGet is a GET without credentials.
func apptestGet(path string) apptest.Request {
	return apptest.Request{Method: http.MethodGet, Path: path}
}
