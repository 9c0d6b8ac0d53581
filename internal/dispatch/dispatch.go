// Package dispatch is Recado's one send path. The API, the composer and
// campaigns all hand messages to Dispatcher.Submit, which stores them queued
// and enqueues their work in the same transaction; the queue's workers then
// hand batches to providers and record every outcome; ApplyStatuses takes
// every later report (webhooks, polls, the mock's timers).
//
// Nothing is lost and nothing is sent twice:
//   - a message and its job commit together, or neither does;
//   - a batch is sent by one worker at a time (a lease on its row), so a job
//     rescued while its first run is alive waits instead of sending again;
//   - each attempt carries its own request reference and every message its
//     unique reference, and before sending a batch again the worker asks the
//     provider what it already accepted (Provider.Lookup), so a crash or a
//     timeout between the provider's answer and our write is reconciled, not
//     repeated;
//   - states only move forward (sms.CanTransition), so repeated or late
//     reports change nothing.
package dispatch

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/recado-sms/recado/internal/metrics"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Config tunes the pipeline. Zero fields take the defaults in parentheses.
type Config struct {
	// Retry is the wait before each retry of a batch that failed for a
	// temporary reason (60 s, 180 s, 600 s, 1800 s). After the last, the
	// batch's messages fail with the last error kept.
	Retry []time.Duration
	// SendTimeout bounds one send attempt, the provider call included (2 min).
	SendTimeout time.Duration
	// Workers is how many batches are sent at once (4).
	Workers int
	// PollInterval is how often idle workers look for new jobs that another
	// process enqueued (200 ms); jobs enqueued by this process start at once.
	PollInterval time.Duration
	// SweepInterval is how often the orphan sweeper looks for batches whose
	// worker died mid-send (10 s, or half a lease when that is shorter).
	SweepInterval time.Duration
	// Region is the default region for phone numbers without a country code
	// ("BR").
	Region string
	// MaxBody is the longest body accepted, in characters (1600).
	MaxBody int
	// OptOutWords are the replies that opt a contact out
	// (sms.DefaultOptOutWords).
	OptOutWords []string
	// Rand is the source of message references (crypto/rand).
	Rand io.Reader
	// Now is the clock (time.Now).
	Now func() time.Time
	// Background tunes the background jobs: status and reply polls, balance
	// checks, blacklist sync (background.go).
	Background BackgroundConfig
	// Jobs adds other packages' workers (imports, campaigns) to the queue,
	// each queue named with its number of workers.
	Jobs []Jobs
	// BatchGate, when set, is asked before a batch of a campaign is sent:
	// wait > 0 holds the batch (a paused campaign, a closed sending
	// window), cancel cancels its queued messages (a canceled campaign).
	BatchGate func(ctx context.Context, campaignID int64) (wait time.Duration, cancel bool, err error)
}

// Jobs are the workers of another package and the queue they run on.
type Jobs struct {
	Queue    string
	Workers  int
	Register func(*river.Workers)
}

func (c *Config) defaults() {
	if len(c.Retry) == 0 {
		c.Retry = []time.Duration{60 * time.Second, 180 * time.Second, 600 * time.Second, 1800 * time.Second}
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 2 * time.Minute
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.PollInterval == 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = min(10*time.Second, max(c.lease()/2, 100*time.Millisecond))
	}
	if c.Region == "" {
		c.Region = "BR"
	}
	if c.MaxBody == 0 {
		c.MaxBody = 1600
	}
	if len(c.OptOutWords) == 0 {
		c.OptOutWords = sms.DefaultOptOutWords
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Background.defaults()
}

// Dispatcher owns the queue and the send path.
type Dispatcher struct {
	db        *store.DB
	providers *providers.Service
	metrics   *metrics.Metrics
	log       *slog.Logger
	cfg       Config
	river     *river.Client[*sql.Tx]
	refs      *refSource
	stopSweep context.CancelFunc
	swept     chan struct{}

	statusOnce sync.Once
	statusCh   chan *statusCall

	submitOnce sync.Once
	submitCh   chan *submitCall
}

// lease is how long a worker holds a batch: longer than a send attempt may
// take, so that a live worker never loses it.
func (c Config) lease() time.Duration { return c.SendTimeout + c.SendTimeout/4 + time.Second }

// New prepares the queue on db (applying the queue's own migrations) and
// returns a Dispatcher. Call Start to run its workers; without Start it
// still enqueues, for processes that only accept work.
func New(ctx context.Context, db *store.DB, ps *providers.Service, m *metrics.Metrics, log *slog.Logger, cfg Config) (*Dispatcher, error) {
	cfg.defaults()
	d := &Dispatcher{db: db, providers: ps, metrics: m, log: log, cfg: cfg, refs: newRefSource(cfg.Rand)}
	if err := MigrateQueue(ctx, db, log); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &sendWorker{d: d})
	queues := map[string]river.QueueConfig{queueSend: {MaxWorkers: cfg.Workers}, queueBackground: {MaxWorkers: 2}}
	for _, j := range cfg.Jobs {
		j.Register(workers)
		queues[j.Queue] = river.QueueConfig{MaxWorkers: max(j.Workers, 1)}
	}
	d.addBackgroundWorkers(workers)
	lease := cfg.lease()
	var err error
	d.river, err = river.NewClient(riverDriver(db), &river.Config{
		Logger:       quiet(log),
		Workers:      workers,
		Queues:       queues,
		PeriodicJobs: d.periodicJobs(),
		JobTimeout:   cfg.SendTimeout,
		// Past the longest a live job runs: a send (its lease) or a background
		// job. Dead send jobs are found sooner by the orphan sweeper.
		RescueStuckJobsAfter: max(lease, backgroundTimeout) + time.Minute,
		FetchPollInterval:    cfg.PollInterval,
		FetchCooldown:        10 * time.Millisecond,
		// Completed jobs are only bookkeeping: the messages keep the history.
		CompletedJobRetentionPeriod: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("dispatch: queue client: %w", err)
	}
	return d, nil
}

// MigrateQueue applies the queue's own migrations (River's tables) to db.
// Instances starting at once on one PostgreSQL database take turns.
func MigrateQueue(ctx context.Context, db *store.DB, log *slog.Logger) error {
	migrator, err := rivermigrate.New(riverDriver(db), &rivermigrate.Config{Logger: quiet(log)})
	if err != nil {
		return fmt.Errorf("dispatch: queue migrations: %w", err)
	}
	return db.Exclusive(ctx, "queue-migrations", func() error {
		if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("dispatch: queue migrations: %w", err)
		}
		return nil
	})
}

// riverDriver gives River the writer pool: on SQLite its one connection, so
// the queue's writes queue behind ours instead of failing as busy.
func riverDriver(db *store.DB) riverdriver.Driver[*sql.Tx] {
	if db.Dialect() == store.SQLite {
		return riversqlite.New(db.Writer())
	}
	return riverdatabasesql.New(db.Writer())
}

// quiet keeps River's own logging to warnings and above: its info lines
// are about its internals, not about messages.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(levelFilter{log.Handler(), slog.LevelWarn})
}

type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// Start runs the workers until Stop.
func (d *Dispatcher) Start(ctx context.Context) error {
	if err := d.river.Start(ctx); err != nil {
		return fmt.Errorf("dispatch: start queue: %w", err)
	}
	sweepCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.stopSweep, d.swept = cancel, make(chan struct{})
	go d.sweepLoop(sweepCtx)
	return nil
}

// sweepLoop re-enqueues orphaned batches: those whose worker died (a crash,
// a kill -9) while holding their lease. River would rescue the dead job too,
// but only after its stuck-job timeout; the lease says sooner, and exactly.
func (d *Dispatcher) sweepLoop(ctx context.Context) {
	defer close(d.swept)
	t := time.NewTicker(d.cfg.SweepInterval)
	defer t.Stop()
	for {
		if n, err := d.Sweep(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("orphan sweep failed", "err", err)
		} else if n > 0 {
			d.log.Info("re-enqueued batches whose worker died", "batches", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep re-enqueues the batches that have messages to send but no job that
// will send them: their worker died (a crash, a kill -9) after taking the
// job, before or while holding the batch's lease. River would rescue such a
// job too, but only after its stuck-job timeout; the lease and the job
// table say sooner. A batch waiting for its job (new, scheduled, or retrying
// later) has a live job and is left alone. Should two instances sweep the
// same batch at once, the extra job finds it leased or done and sends
// nothing. It returns how many batches it re-enqueued.
func (d *Dispatcher) Sweep(ctx context.Context) (int, error) {
	var n int
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		candidates, err := tx.OrphanCandidates(ctx, 10000)
		if err != nil || len(candidates) == 0 {
			return err
		}
		jobs, err := tx.LiveSendJobs(ctx)
		if err != nil {
			return err
		}
		now := d.cfg.Now()
		live := make(map[int64]bool, len(jobs))
		for _, j := range jobs {
			// A running job whose attempt began more than a lease ago is dead:
			// a live one ends (its timeout) within the lease.
			dead := j.State == "running" && j.AttemptedAt != nil && now.Sub(*j.AttemptedAt) > d.cfg.lease()
			if !dead {
				live[j.BatchID] = true
			}
		}
		var params []river.InsertManyParams
		for _, id := range candidates {
			if !live[id] {
				params = append(params, river.InsertManyParams{Args: SendArgs{BatchID: id}})
			}
		}
		if len(params) == 0 {
			return nil
		}
		if _, err := d.river.InsertManyTx(ctx, tx.Tx, params); err != nil {
			return store.DBError("dispatch: enqueue orphans", err)
		}
		n = len(params)
		return nil
	})
	return n, err
}

// Stop stops taking jobs and waits for those running to finish, until ctx
// ends; then it cancels them (their batches are leased and will be
// reconciled when the jobs are rescued).
func (d *Dispatcher) Stop(ctx context.Context) error {
	if d.stopSweep != nil {
		d.stopSweep()
		<-d.swept
	}
	err := d.river.Stop(ctx)
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return d.river.StopAndCancel(stopCtx)
	}
	return nil
}

// Healthy reports whether the queue can reach its database.
func (d *Dispatcher) Healthy(ctx context.Context) error {
	_, err := d.QueueDepth(ctx)
	return err
}

// QueueDepth counts jobs waiting to run (available, scheduled, retryable).
func (d *Dispatcher) QueueDepth(ctx context.Context) (float64, error) {
	var n float64
	err := d.db.Reader().QueryRowContext(ctx,
		`SELECT count(*) FROM river_job WHERE state IN ('available', 'scheduled', 'retryable', 'running')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("dispatch: queue depth: %w", err)
	}
	return n, nil
}

// EnqueueTx puts a job on the queue inside tx: it commits, or rolls back,
// with the rows it is about.
func (d *Dispatcher) EnqueueTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := d.river.InsertTx(ctx, tx.Tx, args, opts); err != nil {
		return fmt.Errorf("dispatch: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}
