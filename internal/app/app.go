// Package app wires Recado together: it opens the database, builds the
// services, and runs the HTTP server and the queue's workers until its
// context ends. `recado serve` and the end-to-end tests run the same App.
package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/contacts"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/metrics"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/reports"
	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/templates"
	"github.com/recado-sms/recado/internal/web"
	"github.com/recado-sms/recado/internal/webhooks"
)

// Config is everything `recado serve` is told.
type Config struct {
	Addr           string // listen address, e.g. 127.0.0.1:8080 (port 0 picks one)
	DataDir        string // data folder: SQLite file, secret key
	DatabaseURL    string // empty: SQLite in DataDir; postgres://… for PostgreSQL
	PublicURL      string // Recado's public base URL, for webhook URLs
	SecretKey      string // RECADO_SECRET_KEY; empty: the key file in DataDir
	AdminPassword  string // RECADO_ADMIN_PASSWORD for the first admin
	BootstrapToken string // RECADO_BOOTSTRAP_TOKEN for the first admin
	Version        string

	// For tests and benchmarks; zero values are production defaults.
	Dispatch      dispatch.Config
	Webhooks      webhooks.Config // Rand and Logger default to the app's
	ProviderTypes []provider.Type // replaces the built-in provider types
	PasswordCost  *auth.Params
	Rand          io.Reader
	Logger        *slog.Logger
	Out           io.Writer // where the bootstrap credentials are printed (stdout)
	OnListen      func(addr string)
	ShutdownGrace time.Duration  // how long in-flight work may take at stop (30 s)
	Location      *time.Location // where the web UI shows dates (America/Sao_Paulo)
	LiveInterval  time.Duration  // how often the UI's live pages look for changes (1 s)
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the UI
	// believes for the client's address (sign-in throttling).
	TrustedProxies []netip.Prefix
}

// DatabaseDSN is the database the config names: the URL, or the SQLite file
// in the data folder.
func (c Config) DatabaseDSN() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return filepath.Join(c.DataDir, "recado.db")
}

// App is a wired Recado.
type App struct {
	cfg       Config
	log       *slog.Logger
	DB        *store.DB
	Dispatch  *dispatch.Dispatcher
	Providers *providers.Service
	Accounts  *accounts.Service
	TwoFactor *accounts.TwoFactor
	Webhooks  *webhooks.Service
	Imports   *imports.Service
	Campaigns *campaign.Service
	Templates *templates.Service
	Reports   *reports.Service
	Metrics   *metrics.Metrics
	Handler   http.Handler
}

// New opens the database (migrating it), creates the first admin and the
// mock provider on a new database, and builds the services and the HTTP
// handler. It starts nothing: see Run.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.DataDir == "" {
		cfg.DataDir = "data"
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	a := &App{cfg: cfg, log: cfg.Logger}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	key, err := secrets.LoadKey(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	box, err := secrets.NewBox(key, cfg.Rand)
	if err != nil {
		return nil, err
	}
	a.DB, err = store.Open(ctx, cfg.DatabaseDSN(), store.Options{})
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			a.DB.Close()
		}
	}()
	gauges := &gauges{db: a.DB}
	a.Metrics = metrics.New(gauges, a.log)

	// The registry's sink is the dispatcher, built after it: sinkRef breaks
	// the cycle.
	sink := &sinkRef{}
	reg := provider.NewRegistry(provider.Deps{Sink: sink, Replies: sink, HTTPClient: &http.Client{Timeout: time.Minute},
		Logger: a.log, Now: time.Now, PublicURL: strings.TrimRight(cfg.PublicURL, "/")})
	types := cfg.ProviderTypes
	if types == nil {
		types = BuiltinProviderTypes()
	}
	for _, t := range types {
		reg.Register(t)
	}
	a.Providers = providers.New(a.DB, reg, box)
	cfg.Dispatch.Rand = cfg.Rand
	a.Imports = imports.New(a.DB, a.log)
	a.Campaigns = campaign.New(a.DB, a.Providers, a.log, cfg.Dispatch.Now)
	cfg.Dispatch.Jobs = append(cfg.Dispatch.Jobs, dispatch.Jobs{Queue: imports.Queue, Workers: 1, Register: a.Imports.Register},
		dispatch.Jobs{Queue: campaign.Queue, Workers: 2, Register: a.Campaigns.Register})
	cfg.Dispatch.BatchGate = a.Campaigns.Gate
	a.Dispatch, err = dispatch.New(ctx, a.DB, a.Providers, a.Metrics, a.log, cfg.Dispatch)
	if err != nil {
		return nil, err
	}
	a.Imports.SetQueue(a.Dispatch)
	a.Campaigns.SetDispatcher(a.Dispatch)
	a.Templates, a.Reports = templates.New(a.DB, a.Providers), reports.New(a.DB, a.Providers)
	sink.d, gauges.d = a.Dispatch, a.Dispatch
	a.Metrics.WatchBalances(a.Dispatch, a.log)
	if cfg.Webhooks.Rand == nil {
		cfg.Webhooks.Rand = cfg.Rand
	}
	if cfg.Webhooks.Logger == nil {
		cfg.Webhooks.Logger = a.log
	}
	a.Webhooks = webhooks.New(a.DB, box, cfg.Webhooks)
	a.TwoFactor = accounts.NewTwoFactor(a.DB, box, cfg.Rand, nil)

	params := auth.DefaultParams()
	if cfg.PasswordCost != nil {
		params = *cfg.PasswordCost
	}
	a.Accounts = accounts.New(a.DB, cfg.Rand, params)
	// Instances starting at once on a new database make one admin between them.
	if err := a.DB.Exclusive(ctx, "bootstrap", func() error { return a.bootstrap(ctx) }); err != nil {
		return nil, err
	}
	if a.Handler, err = a.routes(cfg); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// BuiltinProviderTypes are the provider types Recado ships with. Kolmeya's
// rate limiters are shared by every Kolmeya provider built from this list, so
// that all workers of the process pace one account together.
func BuiltinProviderTypes() []provider.Type {
	return []provider.Type{mock.Type(), kolmeya.TypeWith(kolmeya.NewLimiters())}
}

func (a *App) bootstrap(ctx context.Context) error {
	b, err := a.Accounts.Bootstrap(ctx, a.cfg.AdminPassword, a.cfg.BootstrapToken)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if b.Created {
		var sb strings.Builder
		sb.WriteString("\n  A new Recado database: created the manager \"admin\".\n")
		if b.Password != "" {
			fmt.Fprintf(&sb, "    password:  %s\n", b.Password)
		} else {
			sb.WriteString("    password:  (from RECADO_ADMIN_PASSWORD)\n")
		}
		if b.Token != "" {
			fmt.Fprintf(&sb, "    API token: %s\n", b.Token)
		} else {
			sb.WriteString("    API token: (from RECADO_BOOTSTRAP_TOKEN)\n")
		}
		sb.WriteString("  They are shown this once. Keep them somewhere safe.\n\n")
		io.WriteString(a.cfg.Out, sb.String())
	}
	list, err := a.DB.ListProviders(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		settings := map[string]json.RawMessage{"cost_per_segment": json.RawMessage(`"0.05"`)}
		if _, err := a.Providers.Create(ctx, providers.Input{Name: "mock", Type: "mock", Settings: settings}); err != nil {
			return fmt.Errorf("create the mock provider: %w", err)
		}
		a.log.Info("created the mock provider, the default until you configure a real one")
	}
	return nil
}

// Run serves HTTP on cfg.Addr and runs the queue's workers until ctx ends,
// then stops taking work, lets what is in flight finish, and returns nil.
func (a *App) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	if err := a.Webhooks.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	if err := a.Dispatch.Start(ctx); err != nil {
		a.Webhooks.Stop(ctx)
		ln.Close()
		return err
	}
	a.Campaigns.RunSweeper(ctx, 10*time.Second)
	defer a.Campaigns.StopSweeper()
	a.Imports.RunSweeper(ctx, 10*time.Second)
	defer a.Imports.StopSweeper()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	addr := "http://" + ln.Addr().String()
	a.log.Info("Recado is listening", "url", addr, "database", string(a.DB.Dialect()))
	if a.cfg.OnListen != nil {
		a.cfg.OnListen(ln.Addr().String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-serveErr:
	}
	a.log.Info("stopping: finishing requests and sends in flight")
	stopCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(stopCtx); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	if err := a.Dispatch.Stop(stopCtx); err != nil {
		a.log.Warn("queue shutdown", "err", err)
	}
	if err := a.Webhooks.Stop(stopCtx); err != nil {
		a.log.Warn("webhooks shutdown", "err", err)
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}

// Close releases the providers and the database.
func (a *App) Close() error {
	a.Providers.Close()
	return a.DB.Close()
}

type sinkRef struct{ d *dispatch.Dispatcher }

func (s *sinkRef) ApplyStatuses(ctx context.Context, p string, src sms.Source, u []provider.StatusUpdate) error {
	return s.d.ApplyStatuses(ctx, p, src, u)
}

func (s *sinkRef) ApplyReplies(ctx context.Context, p string, src sms.Source, r []provider.Reply) error {
	return s.d.ApplyReplies(ctx, p, src, r)
}

type gauges struct {
	db *store.DB
	d  *dispatch.Dispatcher
}

func (g *gauges) MessagesByState(ctx context.Context) (map[string]float64, error) {
	by, err := g.db.CountMessagesByState(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(sms.States))
	for _, s := range sms.States {
		out[string(s)] = float64(by[s])
	}
	return out, nil
}

func (g *gauges) QueueDepth(ctx context.Context) (float64, error) { return g.d.QueueDepth(ctx) }

func (a *App) routes(cfg Config) (http.Handler, error) {
	mux := http.NewServeMux()
	cs := contacts.New(a.DB, "BR")
	api.New(mux, api.Deps{DB: a.DB, Dispatch: a.Dispatch, Providers: a.Providers, Accounts: a.Accounts,
		Contacts: cs, Webhooks: a.Webhooks, Logger: a.log, Version: cfg.Version,
		Templates: a.Templates, Imports: a.Imports, Campaigns: a.Campaigns, Reports: a.Reports})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		api.WriteProblem(w, sms.Errorf(sms.KindNotFound, "no such API route: %s %s", r.Method, r.URL.Path), a.log)
	})
	ui, err := web.New(web.Deps{DB: a.DB, Dispatch: a.Dispatch, Providers: a.Providers, Accounts: a.Accounts,
		Contacts: cs, Templates: a.Templates, TwoFactor: a.TwoFactor, Logger: a.log,
		Campaigns: a.Campaigns, Imports: a.Imports, Reports: a.Reports}, web.Config{PublicURL: cfg.PublicURL, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"),
		OptOutWords: cfg.Dispatch.OptOutWords, Location: cfg.Location, LiveInterval: cfg.LiveInterval,
		TrustedProxies: cfg.TrustedProxies})
	if err != nil {
		return nil, err
	}
	mux.Handle("/", ui.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		checks := map[string]string{"database": "ok", "queue": "ok"}
		status := http.StatusOK
		if err := a.DB.Ping(ctx); err != nil {
			checks["database"], status = err.Error(), http.StatusServiceUnavailable
		}
		if err := a.Dispatch.Healthy(ctx); err != nil {
			checks["queue"], status = err.Error(), http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(checks)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{}))
	// The mux sets the matched pattern on the request it is given, which
	// middleware has copied by then: hand it back to observe through the
	// context.
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = r.Pattern
		}
	})
	h = api.Idempotency(a.DB, a.log, h)
	h = api.Authenticate(a.Accounts, a.log, h)
	return a.observe(a.webhooks(h)), nil
}

// webhooks serves the providers' webhooks and hands every other request to
// next. A webhook carries its own credentials (a secret in its path, or a
// gateway's JWT in Authorization), so it must never meet the API's token
// check, which would refuse a JWT as a bad API token.
func (a *App) webhooks(next http.Handler) http.Handler {
	hooks := http.NewServeMux()
	hooks.Handle("POST /webhooks/kolmeya/{provider}/{secret}", kolmeya.NewWebhookHandler(kolmeya.WebhookOptions{
		Lookup: a.kolmeyaProvider, Sink: a.Dispatch, Replies: a.Dispatch, Logger: a.log, Now: time.Now}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/webhooks/") {
			next.ServeHTTP(w, r)
			return
		}
		hooks.ServeHTTP(w, r)
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = r.Pattern
		}
	})
}

// kolmeyaProvider returns the live Kolmeya provider named name, active or
// not (its messages' reports still count); a provider of another type is
// not found.
func (a *App) kolmeyaProvider(ctx context.Context, name string) (*kolmeya.Provider, error) {
	p, rec, err := a.Providers.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	kp, ok := p.(*kolmeya.Provider)
	if !ok {
		return nil, sms.Errorf(sms.KindNotFound, "provider %q is of type %s, not kolmeya", name, rec.Type)
	}
	return kp, nil
}

// loggablePath is a request's path fit for the logs: a webhook's path holds
// its provider's secret, so only its prefix is kept.
func loggablePath(path string) string {
	if strings.HasPrefix(path, "/webhooks/") {
		return "/webhooks/…"
	}
	return path
}

// observe counts requests by route pattern and status, and recovers panics
// into a 500 so that one bad request does not take the server down.
func (a *App) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		route := "unmatched"
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &route))
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic in handler", "panic", p, "path", loggablePath(r.URL.Path))
				if !sw.wrote {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			if route == "" {
				route = "unmatched"
			}
			a.Metrics.HTTP(route, sw.status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

type routeKey struct{}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(s int) {
	if !w.wrote {
		w.status, w.wrote = s, true
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
