package dispatch

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// The background jobs are the safety net around the send path: they poll
// providers for statuses and replies whose webhooks never came, keep the
// providers' blacklists in step with Recado's, and check balances. They run
// on a queue of their own, so that a slow provider never holds up sends.
//
// The periodic ones (status poll, reply poll, balance check, blacklist sync)
// are enqueued by River's leader only, so that several instances sharing a
// PostgreSQL database poll once, not once each; and each is unique while a
// run of it is waiting or running, so that a change of leader, or a run
// longer than its period, never makes two run at once.

const queueBackground = "background"

// BackgroundConfig tunes the background jobs. Zero fields take the defaults
// in parentheses.
type BackgroundConfig struct {
	// Off disables the periodic jobs; jobs enqueued by changes (blacklist
	// sync) still run. For tools and tests.
	Off bool

	// StatusPollEvery is how often the status poll looks for jobs due (1 min).
	StatusPollEvery time.Duration
	// FirstStatusPoll is how long after sending a job is first polled, giving
	// webhooks time to arrive (5 min).
	FirstStatusPoll time.Duration
	// StatusSchedule is how often a job is polled as it ages
	// (DefaultStatusSchedule: every 5 min in its first hour, 15 min until 6 h,
	// hourly until 24 h, every 3 h after).
	StatusSchedule []PollStep
	// StatusHorizon is when polling gives up: messages still without a final
	// state that long after they were sent are marked expired (72 h).
	StatusHorizon time.Duration
	// StatusRetry is when a job whose poll failed for a temporary reason is
	// asked again (5 min).
	StatusRetry time.Duration
	// StatusJobsPerRun bounds the jobs one status poll asks about (200).
	StatusJobsPerRun int

	// ReplyPollEvery is how often replies are polled (5 min).
	ReplyPollEvery time.Duration
	// ReplyPollMargin is how far before the last successful poll the next
	// one asks from (10 min): replies may be listed late.
	ReplyPollMargin time.Duration
	// ReplyFirstLookback is how far back the first poll of a provider asks
	// (24 h).
	ReplyFirstLookback time.Duration

	// BalanceEvery is how often balances are checked (15 min).
	BalanceEvery time.Duration

	// BlacklistSyncEvery is how often every provider's blacklist is brought
	// in step, beyond the sync each change enqueues (15 min).
	BlacklistSyncEvery time.Duration
	// BlacklistRetry is the wait before each retry of a failed blacklist
	// sync (1 min, 3 min, 10 min, then 30 min), for up to 25 attempts.
	BlacklistRetry []time.Duration
	// BlacklistLease bounds one blacklist sync of one provider (10 min, at
	// most the 10 min a background job may run).
	BlacklistLease time.Duration
}

// PollStep is one step of the status poll's back-off: while a job is younger
// than Until, it is polled every Every.
type PollStep struct {
	Until time.Duration
	Every time.Duration
}

// DefaultStatusSchedule is the status poll's default back-off.
var DefaultStatusSchedule = []PollStep{
	{Until: time.Hour, Every: 5 * time.Minute},
	{Until: 6 * time.Hour, Every: 15 * time.Minute},
	{Until: 24 * time.Hour, Every: time.Hour},
	{Until: 72 * time.Hour, Every: 3 * time.Hour},
}

func (c *BackgroundConfig) defaults() {
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.StatusPollEvery, time.Minute)
	set(&c.FirstStatusPoll, 5*time.Minute)
	set(&c.StatusHorizon, 72*time.Hour)
	set(&c.StatusRetry, 5*time.Minute)
	set(&c.ReplyPollEvery, 5*time.Minute)
	set(&c.ReplyPollMargin, 10*time.Minute)
	set(&c.ReplyFirstLookback, 24*time.Hour)
	set(&c.BalanceEvery, 15*time.Minute)
	set(&c.BlacklistSyncEvery, 15*time.Minute)
	set(&c.BlacklistLease, backgroundTimeout)
	c.BlacklistLease = min(c.BlacklistLease, backgroundTimeout)
	if len(c.StatusSchedule) == 0 {
		c.StatusSchedule = DefaultStatusSchedule
	}
	if c.StatusJobsPerRun <= 0 {
		c.StatusJobsPerRun = 200
	}
	if len(c.BlacklistRetry) == 0 {
		c.BlacklistRetry = []time.Duration{time.Minute, 3 * time.Minute, 10 * time.Minute, 30 * time.Minute}
	}
}

// backgroundTimeout bounds one run of a background job; River rescues a
// job as stuck only after it (see New).
const backgroundTimeout = 10 * time.Minute

// liveStates are the states in which a periodic job blocks another of its
// kind from being enqueued.
var liveStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}

// StatusPollArgs is the periodic job that polls statuses.
type StatusPollArgs struct{}

// Kind names the job for the queue.
func (StatusPollArgs) Kind() string { return "poll_statuses" }

// ReplyPollArgs is the periodic job that polls replies.
type ReplyPollArgs struct{}

// Kind names the job for the queue.
func (ReplyPollArgs) Kind() string { return "poll_replies" }

// BalanceArgs is the job that checks balances: one provider's, or with
// Provider empty every active provider's.
type BalanceArgs struct {
	Provider string `json:"provider,omitempty"`
}

// Kind names the job for the queue.
func (BalanceArgs) Kind() string { return "check_balances" }

// BlacklistSyncArgs is the job that pushes blacklist changes to providers:
// to one, or with Provider empty to every active provider that keeps a
// blacklist. Full pushes the whole list instead of the changes.
type BlacklistSyncArgs struct {
	Provider string `json:"provider,omitempty"`
	Full     bool   `json:"full,omitempty"`
}

// Kind names the job for the queue.
func (BlacklistSyncArgs) Kind() string { return "sync_blacklist" }

// InsertOpts puts the job on the background queue.
func (BlacklistSyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueBackground, MaxAttempts: 25}
}

func (d *Dispatcher) addBackgroundWorkers(w *river.Workers) {
	river.AddWorker(w, &statusPollWorker{d: d})
	river.AddWorker(w, &replyPollWorker{d: d})
	river.AddWorker(w, &balanceWorker{d: d})
	river.AddWorker(w, &blacklistWorker{d: d})
}

// periodicJobs are the background jobs River's leader enqueues.
func (d *Dispatcher) periodicJobs() []*river.PeriodicJob {
	bg := d.cfg.Background
	if bg.Off {
		return nil
	}
	every := func(id string, interval time.Duration, args river.JobArgs) *river.PeriodicJob {
		return river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{Queue: queueBackground, MaxAttempts: 3,
				UniqueOpts: river.UniqueOpts{ByState: liveStates}}
		}, &river.PeriodicJobOpts{ID: id, RunOnStart: true})
	}
	return []*river.PeriodicJob{
		every("poll_statuses", bg.StatusPollEvery, StatusPollArgs{}),
		every("poll_replies", bg.ReplyPollEvery, ReplyPollArgs{}),
		every("check_balances", bg.BalanceEvery, BalanceArgs{}),
		every("sync_blacklist", bg.BlacklistSyncEvery, BlacklistSyncArgs{}),
	}
}

type statusPollWorker struct {
	river.WorkerDefaults[StatusPollArgs]
	d *Dispatcher
}

func (w *statusPollWorker) Work(ctx context.Context, _ *river.Job[StatusPollArgs]) error {
	_, err := w.d.PollStatuses(ctx)
	return err
}

func (w *statusPollWorker) Timeout(*river.Job[StatusPollArgs]) time.Duration {
	return backgroundTimeout
}

type replyPollWorker struct {
	river.WorkerDefaults[ReplyPollArgs]
	d *Dispatcher
}

func (w *replyPollWorker) Work(ctx context.Context, _ *river.Job[ReplyPollArgs]) error {
	_, err := w.d.PollReplies(ctx)
	return err
}

func (w *replyPollWorker) Timeout(*river.Job[ReplyPollArgs]) time.Duration { return backgroundTimeout }

type balanceWorker struct {
	river.WorkerDefaults[BalanceArgs]
	d *Dispatcher
}

func (w *balanceWorker) Work(ctx context.Context, job *river.Job[BalanceArgs]) error {
	if job.Args.Provider != "" {
		_, err := w.d.CheckBalance(ctx, job.Args.Provider)
		return err
	}
	return w.d.CheckBalances(ctx)
}

func (w *balanceWorker) Timeout(*river.Job[BalanceArgs]) time.Duration { return backgroundTimeout }

type blacklistWorker struct {
	river.WorkerDefaults[BlacklistSyncArgs]
	d *Dispatcher
}

func (w *blacklistWorker) Work(ctx context.Context, job *river.Job[BlacklistSyncArgs]) error {
	_, err := w.d.SyncBlacklist(ctx, job.Args.Provider, job.Args.Full)
	var held *errSyncHeld
	if asHeld(err, &held) {
		return river.JobSnooze(held.wait)
	}
	return err
}

// NextRetry follows BackgroundConfig.BlacklistRetry.
func (w *blacklistWorker) NextRetry(job *river.Job[BlacklistSyncArgs]) time.Time {
	r := w.d.cfg.Background.BlacklistRetry
	return time.Now().Add(r[min(max(job.Attempt-1, 0), len(r)-1)])
}

func (w *blacklistWorker) Timeout(*river.Job[BlacklistSyncArgs]) time.Duration {
	return w.d.cfg.Background.BlacklistLease
}
