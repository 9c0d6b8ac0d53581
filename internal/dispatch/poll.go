package dispatch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// The status poll is the safety net under status webhooks, which may repeat,
// come out of order, or never come. Every StatusPollEvery it asks the
// database, in one grouped statement, which provider jobs (send requests)
// still have messages sent or sending and are due; asks each job's provider
// (provider.StatusPoller) for its messages, at most StatusJobsPerRun jobs a
// run; applies the answers through ApplyStatuses with source "poll", one
// group-committed call per provider; and writes when each job is due next,
// in one statement.
//
// A job is first polled FirstStatusPoll after it was sent, then less and
// less often as it ages (StatusSchedule). At StatusHorizon (72 h) polling
// gives up: after one last poll, the job's messages still without a final
// state are marked expired with error code "no_final_status". SMS validity
// at carriers is at most a few days, so a message with no news after three
// is taken as never delivered. This applies to every provider's jobs, those
// of providers that cannot be polled included (they are only scheduled for
// the horizon), so that no message stays "sent" for ever; messages sent
// without a provider job id are not tracked.

// statusHorizonGrace is how long past the horizon a job whose last poll
// keeps failing for a temporary reason is still asked before it is expired
// all the same.
const statusHorizonGrace = 24 * time.Hour

// ErrorNoFinalStatus is the error code of messages expired by the status
// poll's horizon.
const ErrorNoFinalStatus = "no_final_status"

// StatusPollResult says what one status poll did.
type StatusPollResult struct {
	Jobs    int // jobs due
	Polled  int // jobs asked about successfully
	Failed  int // jobs whose poll failed
	Updates int // reports handed to ApplyStatuses
	Expired int // messages given up on at the horizon
}

// nextStatusPoll returns when a job sent at firstSent, polled at now, is
// due next: per the schedule for its age, and never after the horizon.
func (c BackgroundConfig) nextStatusPoll(firstSent, now time.Time) time.Time {
	age := now.Sub(firstSent)
	every := c.StatusSchedule[len(c.StatusSchedule)-1].Every
	for _, s := range c.StatusSchedule {
		if age < s.Until {
			every = s.Every
			break
		}
	}
	next := now.Add(every)
	if horizon := firstSent.Add(c.StatusHorizon); next.After(horizon) && now.Before(horizon) {
		next = horizon
	}
	return next
}

// PollStatuses runs one status poll (see above) and says what it did. A
// provider that fails is noted on its jobs and asked again later; only a
// failure of Recado's own database is returned.
func (d *Dispatcher) PollStatuses(ctx context.Context) (StatusPollResult, error) {
	bg := d.cfg.Background
	now := d.cfg.Now()
	var res StatusPollResult
	jobs, err := d.db.DueStatusPolls(ctx, now, now.Add(-bg.FirstStatusPoll), bg.StatusJobsPerRun)
	if err != nil || len(jobs) == 0 {
		return res, err
	}
	res.Jobs = len(jobs)
	byProvider := map[string][]store.InFlightJob{}
	var names []string
	for _, j := range jobs {
		if _, ok := byProvider[j.Provider]; !ok {
			names = append(names, j.Provider)
		}
		byProvider[j.Provider] = append(byProvider[j.Provider], j)
	}
	slices.Sort(names)
	var polls []store.StatusPoll
	expire := map[string][]string{}
	for _, name := range names {
		var poller provider.StatusPoller
		if p, _, err := d.providers.Lookup(ctx, name); err == nil {
			poller, _ = p.(provider.StatusPoller)
		} else if sms.KindOf(err) != sms.KindNotFound {
			d.log.Warn("status poll: provider unavailable", "provider", name, "err", err)
		}
		var updates []provider.StatusUpdate
		var failing error // a temporary failure: the provider's other jobs wait
		for _, j := range byProvider[name] {
			atHorizon := !now.Before(j.FirstSentAt.Add(bg.StatusHorizon))
			poll := store.StatusPoll{Provider: name, JobID: j.JobID, NextPollAt: bg.nextStatusPoll(j.FirstSentAt, now)}
			ok := poller == nil // nothing to ask: only the horizon applies
			switch {
			case poller == nil:
				if h := j.FirstSentAt.Add(bg.StatusHorizon); h.After(now) {
					poll.NextPollAt = h
				}
			case failing != nil:
				poll.Error = "not asked: " + failing.Error()
				poll.NextPollAt = now.Add(bg.StatusRetry)
			default:
				start := time.Now()
				u, err := poller.PollJob(ctx, j.JobID)
				d.metrics.ProviderCall(name, "poll", time.Since(start))
				poll.Polled = true
				if err != nil {
					res.Failed++
					poll.Error = err.Error()
					d.metrics.Background(name, "status_poll", "error")
					if sms.Retryable(err) || sms.KindOf(err) == sms.KindRateLimited {
						failing = err
						poll.NextPollAt = now.Add(bg.StatusRetry)
						d.log.Warn("status poll failed; the provider's jobs are asked again later", "provider", name, "job", j.JobID, "err", err)
					} else {
						ok = true // asking again will not help
						d.log.Warn("status poll refused", "provider", name, "job", j.JobID, "err", err)
					}
					break
				}
				d.metrics.Background(name, "status_poll", "ok")
				res.Polled++
				ok = true
				updates = append(updates, u...)
			}
			if atHorizon && (ok || now.After(j.FirstSentAt.Add(bg.StatusHorizon+statusHorizonGrace))) {
				expire[name] = append(expire[name], j.JobID)
			}
			polls = append(polls, poll)
		}
		if err := d.applyInChunks(ctx, name, updates); err != nil {
			return res, err
		}
		res.Updates += len(updates)
	}
	if err := d.db.RecordStatusPolls(ctx, now, polls); err != nil {
		return res, err
	}
	for _, name := range names {
		if len(expire[name]) == 0 {
			continue
		}
		refs, err := d.db.InFlightReferences(ctx, name, expire[name])
		if err != nil {
			return res, err
		}
		text := fmt.Sprintf("no final status from %s within %s of sending", name, bg.StatusHorizon)
		ups := make([]provider.StatusUpdate, len(refs))
		for i, ref := range refs {
			ups[i] = provider.StatusUpdate{Reference: ref, State: sms.StateExpired, At: now,
				ErrorCode: ErrorNoFinalStatus, ErrorText: text}
		}
		if err := d.applyInChunks(ctx, name, ups); err != nil {
			return res, err
		}
		res.Expired += len(refs)
		if len(refs) > 0 {
			d.log.Warn("messages without a final status at the polling horizon marked expired",
				"provider", name, "messages", len(refs), "horizon", bg.StatusHorizon)
		}
	}
	if err := d.db.PruneStatusPolls(ctx, now.Add(-bg.StatusHorizon-2*statusHorizonGrace)); err != nil {
		return res, err
	}
	return res, nil
}

// applyInChunks hands updates to ApplyStatuses with source poll, in pieces
// one transaction takes.
func (d *Dispatcher) applyInChunks(ctx context.Context, providerName string, updates []provider.StatusUpdate) error {
	for len(updates) > 0 {
		n := min(len(updates), maxCoalesced)
		if err := d.ApplyStatuses(ctx, providerName, sms.SourcePoll, updates[:n]); err != nil {
			return err
		}
		updates = updates[n:]
	}
	return nil
}
