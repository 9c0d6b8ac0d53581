package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Config is what a bench run is told. Zero values take the defaults in
// parentheses.
type Config struct {
	// DatabaseURL is an empty PostgreSQL database (postgres://…); empty
	// means SQLite in a temporary folder, removed at the end.
	DatabaseURL string
	// N is the size of each scenario (its DefaultN).
	N int
	// Concurrency is how many clients a closed-loop scenario runs at once
	// (the scenario's DefaultConcurrency).
	Concurrency int
	// Rate is the requests per second of the open-loop api scenario (1000).
	Rate int
	// SendShare is the share of the api scenario's requests that are single
	// sends, the rest being reads: 0.5 when 0, none when negative.
	SendShare float64
	// Workers is how many batches Recado sends at once (4).
	Workers int
	// PerWebhook is how many status reports the webhooks scenario puts in
	// one webhook: 1 (when 0) posts Kolmeya's flat shape, one message per
	// call; more post its documented shape, a "messages" array.
	PerWebhook int
	// Logger receives Recado's own log (discarded when nil).
	Logger *slog.Logger
	// Progress receives a line as each scenario starts and ends (discarded
	// when nil).
	Progress io.Writer
}

func (c *Config) defaults() {
	if c.Rate <= 0 {
		c.Rate = 1000
	}
	if c.SendShare == 0 {
		c.SendShare = 0.5
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.PerWebhook <= 0 {
		c.PerWebhook = 1
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Scenario is one named measurement.
type Scenario struct {
	// Name is what --scenario calls it.
	Name string
	// Doc says in a line what it measures.
	Doc string
	// DefaultN is its size when Config.N is 0, in its Unit.
	DefaultN int
	// DefaultConcurrency is its clients at once when Config.Concurrency
	// is 0.
	DefaultConcurrency int
	// Unit names what N counts ("messages", "webhooks", "requests"; a
	// campaign's N recipients get a message each).
	Unit string
	// Run measures. It may prepare what it needs first, then calls
	// m.Start when the measured part begins and m.Stop when it ends,
	// recording each request's latency with m.Record (or m.RecordAs for
	// one of several kinds of request). It returns checks that passed, as
	// lines for the report; an error means the run is not to be trusted.
	Run func(ctx context.Context, env *Env, m *Meter, n, concurrency int) (checks []string, err error)

	size int // asked for by name ("webhooks:100000"), over Config.N
}

// Builtin returns the scenarios `recado bench` knows, in the order it runs
// them.
func Builtin() []Scenario {
	return []Scenario{sendScenario(), webhooksScenario(), apiScenario(), campaignScenario()}
}

// Select returns the scenarios of list named in names (comma-separated, in
// the order given), or an error naming any that is unknown. A name may
// carry its own size, "webhooks:100000", which then overrides Config.N for
// that scenario.
func Select(list []Scenario, names string) ([]Scenario, error) {
	var out []Scenario
	for name := range strings.SplitSeq(names, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		name, size, sized := strings.Cut(name, ":")
		n, err := strconv.Atoi(size)
		if sized && (err != nil || n <= 0) {
			return nil, fmt.Errorf("bench: %s:%s: the size must be a positive number", name, size)
		}
		i := slices.IndexFunc(list, func(s Scenario) bool { return s.Name == name })
		if i < 0 {
			known := make([]string, len(list))
			for j, s := range list {
				known[j] = s.Name
			}
			return nil, fmt.Errorf("bench: no scenario %q; there are %s", name, strings.Join(known, ", "))
		}
		s := list[i]
		if sized {
			s.size = n
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New("bench: no scenario named")
	}
	return out, nil
}

// Run starts an Env, runs the scenarios one after the other on it, and
// stops it. It returns a Result per row measured, even when a later
// scenario fails.
func Run(ctx context.Context, cfg Config, scenarios []Scenario) ([]Result, error) {
	cfg.defaults()
	env, err := Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	var results []Result
	for _, s := range scenarios {
		n, conc := cfg.N, cfg.Concurrency
		if s.size > 0 {
			n = s.size
		}
		if n <= 0 {
			n = s.DefaultN
		}
		if conc <= 0 {
			conc = s.DefaultConcurrency
		}
		if conc > 0 {
			fmt.Fprintf(cfg.Progress, "%s: %d %s, %d at once, on %s…\n", s.Name, n, s.Unit, conc, env.Database())
		} else {
			fmt.Fprintf(cfg.Progress, "%s: %d %s on %s…\n", s.Name, n, s.Unit, env.Database())
		}
		m := newMeter(s.Name, s.Unit, n, conc, env.Database())
		checks, err := s.Run(ctx, env, m, n, conc)
		m.Stop()
		if err != nil {
			return results, fmt.Errorf("bench: scenario %s: %w", s.Name, err)
		}
		rows := m.results(checks)
		for _, r := range rows {
			fmt.Fprintf(cfg.Progress, "%s: %.0f %s/s, p99 %s\n", r.Scenario, r.Throughput, r.Unit, fmtDur(r.P99))
		}
		results = append(results, rows...)
	}
	if n := env.DatabaseBytes(); n > 0 {
		fmt.Fprintf(cfg.Progress, "the SQLite database holds %d messages in %.0f MB (with its WAL)\n", env.messages(ctx), float64(n)/(1<<20))
	}
	return results, nil
}

// Env is a fake Kolmeya and a running Recado on loopback, with a Kolmeya
// provider "kolmeya" pointed at the fake.
type Env struct {
	// App is the running Recado, for setup that the API cannot do fast.
	App *app.App
	// URL is Recado's base URL, without a trailing slash.
	URL string
	// Token is the bench manager's API token.
	Token string
	// Fake is the fake Kolmeya the provider "kolmeya" sends to.
	Fake *kolmeyatest.Server
	// HookSecret is the provider's webhook secret: Kolmeya's webhooks go
	// to URL + "/webhooks/kolmeya/kolmeya/" + HookSecret.
	HookSecret string
	// Client is an HTTP client fit for many requests at once.
	Client *http.Client
	// Config is the run's configuration.
	Config Config
	// RunID is unique to this run, for references that must not collide
	// with an earlier run's on the same database.
	RunID string

	cancel  context.CancelFunc
	done    chan error
	tempDir string
}

// Provider is the name of the Kolmeya provider the scenarios send through.
const Provider = "kolmeya"

// Start starts the fake Kolmeya and Recado. On PostgreSQL the database must
// be empty of users: the bench writes messages by the hundred thousand, and
// refuses to do so into a database in use.
func Start(ctx context.Context, cfg Config) (*Env, error) {
	cfg.defaults()
	env := &Env{Config: cfg, RunID: randomHex(4)}
	ok := false
	defer func() {
		if !ok {
			env.Close()
		}
	}()
	var err error
	if env.tempDir, err = os.MkdirTemp("", "recado-bench-"); err != nil {
		return nil, fmt.Errorf("bench: temp folder: %w", err)
	}
	if cfg.DatabaseURL != "" {
		if err := refuseUsedDatabase(ctx, cfg.DatabaseURL); err != nil {
			return nil, err
		}
	}
	env.Fake = kolmeyatest.NewServer(kolmeyatest.Options{Token: "bench-kolmeya-token", RateLimit: -1,
		SentAfter: 24 * time.Hour, FinalAfter: 24 * time.Hour, StartBalance: 1_000_000_000 * sms.MoneyScale})
	env.Token = "bench-" + randomHex(16)
	env.HookSecret = "bench-hook-" + randomHex(16)
	listening := make(chan string, 1)
	a, err := app.New(ctx, app.Config{
		Addr: "127.0.0.1:0", DataDir: env.tempDir, DatabaseURL: cfg.DatabaseURL,
		AdminPassword: "bench-" + randomHex(16), BootstrapToken: env.Token, Version: "bench",
		// The admin's password is random and never used: hash it cheaply.
		PasswordCost: &auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Out:          io.Discard, Logger: cfg.Logger, ShutdownGrace: 10 * time.Second,
		// The background jobs (polls, balance, blacklist sync) are off: the
		// scenarios measure the send path, the webhooks and the API.
		Dispatch: dispatch.Config{Workers: cfg.Workers, Background: dispatch.BackgroundConfig{Off: true}},
		OnListen: func(addr string) { listening <- addr },
	})
	if err != nil {
		return nil, fmt.Errorf("bench: start Recado: %w", err)
	}
	env.App = a
	settings := map[string]json.RawMessage{}
	for k, v := range map[string]any{"base_url": env.Fake.URL(), "token": "bench-kolmeya-token", "segment_id": 109,
		"webhook_secret": env.HookSecret, "cost_per_segment": "0.07"} {
		settings[k], _ = json.Marshal(v)
	}
	if _, err := a.Providers.Create(ctx, providers.Input{Name: Provider, Type: "kolmeya", Settings: settings}); err != nil {
		return nil, fmt.Errorf("bench: configure Kolmeya: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	env.cancel, env.done = cancel, make(chan error, 1)
	go func() { env.done <- a.Run(runCtx) }()
	select {
	case addr := <-listening:
		env.URL = "http://" + addr
	case err := <-env.done:
		env.done <- err
		return nil, fmt.Errorf("bench: Recado stopped at start: %w", err)
	case <-time.After(time.Minute):
		return nil, errors.New("bench: Recado did not start within a minute")
	}
	env.Client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	ok = true
	return env, nil
}

// refuseUsedDatabase fails unless the database at dsn has no users yet.
func refuseUsedDatabase(ctx context.Context, dsn string) error {
	db, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer db.Close()
	n, err := db.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if n > 0 {
		return errors.New("bench: the database already has users; give the bench an empty database of its own, it writes messages by the hundred thousand")
	}
	return nil
}

// Database names the database the Env runs on: "sqlite" or "postgres".
func (e *Env) Database() string {
	if e.App == nil {
		return ""
	}
	return string(e.App.DB.Dialect())
}

// DatabaseBytes is the size of the SQLite database and its WAL; 0 on
// PostgreSQL.
func (e *Env) DatabaseBytes() int64 {
	if e.App == nil || e.App.DB.Dialect() != store.SQLite {
		return 0
	}
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(filepath.Join(e.tempDir, "recado.db"+suffix)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func (e *Env) messages(ctx context.Context) int64 {
	var n int64
	e.App.DB.Reader().QueryRowContext(ctx, `SELECT count(*) FROM messages`).Scan(&n)
	return n
}

// Close stops Recado and the fake and removes the temporary folder.
func (e *Env) Close() {
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	if e.App != nil {
		e.App.Close()
	}
	if e.Fake != nil {
		e.Fake.Close()
	}
	if e.Client != nil {
		e.Client.CloseIdleConnections()
	}
	if e.tempDir != "" {
		os.RemoveAll(e.tempDir)
	}
}

// Post sends body (JSON) to path with the bench token and returns the
// status and the answer.
func (e *Env) Post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	return e.do(ctx, http.MethodPost, path, body)
}

// Get reads path with the bench token.
func (e *Env) Get(ctx context.Context, path string) (int, []byte, error) {
	return e.do(ctx, http.MethodGet, path, nil)
}

func (e *Env) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, e.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// WaitSent waits until no message is queued or sending, polling cheaply
// (one index probe), or until ctx ends.
func (e *Env) WaitSent(ctx context.Context) error {
	for {
		left, err := e.App.DB.ListMessages(ctx, store.MessageFilter{States: []sms.State{sms.StateQueued, sms.StateSending}, Limit: 1})
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// CheckAccepted checks that the fake Kolmeya accepted each reference
// exactly once, and says so in a line for the report.
func (e *Env) CheckAccepted(refs func(yield func(string) bool)) (string, error) {
	var n, lost, doubled int
	for r := range refs {
		n++
		switch c := e.Fake.Accepted(r); {
		case c == 0:
			lost++
		case c > 1:
			doubled++
		}
	}
	if lost > 0 || doubled > 0 {
		return "", fmt.Errorf("of %d messages, Kolmeya never accepted %d and accepted %d more than once", n, lost, doubled)
	}
	return fmt.Sprintf("Kolmeya accepted each of the %d messages exactly once", n), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// phone returns the i-th fake Brazilian mobile of a scenario.
func phone(i int) string { return fmt.Sprintf("+5511%09d", 900000000+i%100000000) }
