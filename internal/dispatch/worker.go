package dispatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

const queueSend = "send"

// SendArgs is the job that sends one batch.
type SendArgs struct {
	BatchID int64 `json:"batch_id"`
}

// Kind names the job for the queue.
func (SendArgs) Kind() string { return "send_batch" }

// InsertOpts puts the job on the send queue with one attempt more than the
// retry schedule has waits.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueSend}
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	d *Dispatcher
}

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	last := job.Attempt >= w.maxAttempts()
	return w.d.sendBatch(ctx, job.Args.BatchID, last)
}

func (w *sendWorker) maxAttempts() int { return len(w.d.cfg.Retry) + 1 }

// NextRetry follows the configured schedule: 60 s, 180 s, 600 s, 1800 s.
func (w *sendWorker) NextRetry(job *river.Job[SendArgs]) time.Time {
	i := min(max(job.Attempt-1, 0), len(w.d.cfg.Retry)-1)
	return time.Now().Add(w.d.cfg.Retry[i])
}

func (w *sendWorker) Timeout(*river.Job[SendArgs]) time.Duration { return w.d.cfg.SendTimeout }

// errHeld rolls back the claim of a batch that its campaign holds back.
var errHeld = errors.New("dispatch: batch held by its campaign")

// errRetry marks a batch attempt that must be retried on the schedule.
type errRetry struct{ cause error }

func (e errRetry) Error() string { return "retry later: " + e.cause.Error() }
func (e errRetry) Unwrap() error { return e.cause }

// sendBatch runs one attempt at a batch. last says no retry will follow: a
// temporary failure then fails the messages.
func (d *Dispatcher) sendBatch(ctx context.Context, batchID int64, last bool) error {
	now := d.cfg.Now()
	lease := now.Add(d.cfg.lease())

	// 1. Take the batch and mark its queued messages sending.
	var b store.Batch
	var pending []sms.Message
	var snooze time.Duration
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		var ok bool
		var held time.Time
		var err error
		b, ok, held, err = tx.ClaimBatch(ctx, batchID, lease)
		if err != nil || !ok {
			if err == nil && !held.IsZero() {
				snooze = max(held.Sub(now), time.Second)
			}
			return err
		}
		if b.CampaignID != nil && d.cfg.BatchGate != nil {
			// A paused campaign's batch waits (the claim is rolled back); a
			// canceled one's queued messages are canceled.
			wait, cancel, err := d.cfg.BatchGate(ctx, *b.CampaignID)
			switch {
			case err != nil:
				return err
			case cancel:
				if _, err := tx.CancelQueued(ctx, 0, batchID, "campaign canceled"); err != nil {
					return err
				}
			case wait > 0:
				snooze = wait
				return errHeld
			}
		}
		pending, err = tx.MarkBatchSending(ctx, batchID, "attempt "+strconv.Itoa(b.Attempts))
		return err
	})
	if errors.Is(err, errHeld) {
		return river.JobSnooze(snooze)
	}
	if err != nil {
		return fmt.Errorf("dispatch: batch %d: %w", batchID, err)
	}
	if snooze > 0 {
		return river.JobSnooze(snooze)
	}
	if len(pending) == 0 || b.ID == 0 {
		return d.release(batchID)
	}
	// The lease is given up when the attempt ends: with the results, in
	// their transaction, when every message got one (the common case: one
	// write transaction less per batch), else on the way out.
	released := false
	defer func() {
		if !released {
			d.release(batchID)
		}
	}()

	p, rec, err := d.providers.Lookup(ctx, b.Provider)
	if err != nil {
		if sms.Retryable(err) || sms.KindOf(err) == sms.KindInternal {
			return d.retryOrFail(ctx, pending, err, last)
		}
		return d.fail(ctx, pending, "provider_unavailable", err)
	}

	// 2. An earlier attempt may have reached the provider: ask before
	// sending again.
	if b.Attempts > 1 {
		q := provider.LookupQuery{}
		for i := 1; i < b.Attempts; i++ {
			q.RequestReferences = append(q.RequestReferences, attemptRef(b.Reference, i))
		}
		for _, m := range pending {
			q.MessageReferences = append(q.MessageReferences, m.Reference)
		}
		start := time.Now()
		found, err := p.Lookup(ctx, q)
		d.metrics.ProviderCall(b.Provider, "lookup", time.Since(start))
		if err != nil {
			if sms.KindOf(err) == sms.KindRateLimited {
				return d.snoozeFor(ctx, pending, err) // "slow down" spends no attempt, here as for a send
			}
			if sms.Retryable(err) {
				return d.retryOrFail(ctx, pending, err, last)
			}
			// The provider cannot tell what it has: sending again could send
			// twice, so the messages fail and say why.
			return d.fail(ctx, pending, "unknown_outcome", fmt.Errorf("an earlier attempt may have reached %s and it cannot be asked: %w", b.Provider, err))
		}
		if len(found) > 0 {
			if err := d.record(ctx, rec, pending, found, sms.SourcePoll, 0); err != nil {
				return err
			}
			pending = withoutResults(pending, found)
		}
		if len(pending) == 0 {
			return nil
		}
	}

	// 3. Send.
	batch := provider.Batch{Reference: attemptRef(b.Reference, b.Attempts), Messages: make([]provider.Outbound, len(pending))}
	for i, m := range pending {
		batch.Messages[i] = provider.Outbound{Reference: m.Reference, Phone: m.Phone, Body: m.Body, Kind: m.Kind}
	}
	start := time.Now()
	results, err := p.Send(ctx, batch)
	d.metrics.ProviderCall(b.Provider, "send", time.Since(start))
	if err != nil {
		d.metrics.Sent(b.Provider, "error", len(pending))
		switch sms.KindOf(err) {
		case sms.KindRateLimited:
			return d.snoozeFor(ctx, pending, err)
		case sms.KindProviderTemporary, sms.KindUnavailable, sms.KindInternal:
			return d.retryOrFail(ctx, pending, err, last)
		default:
			return d.fail(ctx, pending, errCode(err, "provider_error"), err)
		}
	}
	rest := withoutResults(pending, results)
	var release int64
	if len(rest) == 0 {
		release = batchID
	}
	if err := d.record(ctx, rec, pending, results, sms.SourceProvider, release); err != nil {
		return err
	}
	released = release != 0
	if len(rest) > 0 {
		return d.retryOrFail(ctx, rest, provider.Temporary(b.Provider, "no answer for some messages of the batch", nil), last)
	}
	return nil
}

// attemptRef is the request reference of attempt n of a batch: unique per
// attempt, so that a lookup names exactly what one attempt sent.
func attemptRef(batchRef string, n int) string { return batchRef + "." + strconv.Itoa(n) }

func (d *Dispatcher) release(batchID int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return d.db.InTx(ctx, func(tx *store.Tx) error { return tx.ReleaseBatch(ctx, batchID) })
}

func withoutResults(msgs []sms.Message, results []provider.Result) []sms.Message {
	got := make(map[string]bool, len(results))
	for _, r := range results {
		got[r.Reference] = true
	}
	var rest []sms.Message
	for _, m := range msgs {
		if !got[m.Reference] {
			rest = append(rest, m)
		}
	}
	return rest
}

// record applies a provider's per-message results to the messages of a
// batch in one transaction; when release is a batch's id, that transaction
// also gives up the batch's lease.
func (d *Dispatcher) record(ctx context.Context, rec store.ProviderRecord, msgs []sms.Message, results []provider.Result, source sms.Source, release int64) error {
	now := d.cfg.Now()
	byRef := make(map[string]provider.Result, len(results))
	for _, r := range results {
		byRef[r.Reference] = r
	}
	counts := map[string]int{}
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		clear(counts)
		// The common case, accepted messages still sending, in one statement.
		var accepted []store.SentResult
		for _, m := range msgs {
			if r, ok := byRef[m.Reference]; ok && r.State == sms.StateSent {
				accepted = append(accepted, store.SentResult{MessageID: m.ID, Reference: r.Reference, ProviderMessageID: r.ProviderMessageID,
					ProviderJobID: r.ProviderJobID, Cost: r.Cost})
			}
		}
		moved, err := tx.RecordSent(ctx, accepted, rec.CostPerSegment, source)
		if err != nil {
			return err
		}
		if err := d.feedRefusals(ctx, tx, rec.Name, msgs, byRef); err != nil {
			return err
		}
		counts[string(sms.StateSent)] = len(moved)
		if release != 0 {
			if err := tx.ReleaseBatch(ctx, release); err != nil {
				return err
			}
		}
		// Everything else (refusals, failures, messages a report moved
		// meanwhile) through the domain's transitions.
		refs := make([]string, 0, len(msgs))
		for _, m := range msgs {
			if _, ok := byRef[m.Reference]; ok && !moved[m.Reference] {
				refs = append(refs, m.Reference)
			}
		}
		if len(refs) == 0 {
			return nil
		}
		// Reload under lock: a status report may have moved them meanwhile.
		current, err := tx.LockMessagesByRef(ctx, refs)
		if err != nil {
			return err
		}
		var ups []store.MessageUpdate
		var evs []sms.Event
		for _, m := range current {
			r := byRef[m.Reference]
			from := m.State
			if r.ProviderMessageID != "" {
				m.ProviderMessageID = r.ProviderMessageID
			}
			if r.ProviderJobID != "" {
				m.ProviderJobID = r.ProviderJobID
			}
			if r.Cost != nil {
				m.Cost = *r.Cost
			} else {
				m.Cost = rec.CostPerSegment.Times(m.Segments)
			}
			if r.ErrorCode != "" || r.ErrorText != "" {
				m.ErrorCode, m.ErrorText = r.ErrorCode, r.ErrorText
			}
			if r.State.Failure() {
				m.Cost = 0 // refused or failed messages are not charged
			}
			state := r.State
			if !state.Valid() || state == sms.StateQueued || state == sms.StateDraft {
				state = sms.StateSent
			}
			detail := r.ErrorText
			if ev, err := m.Transition(state, now, source, detail); err == nil {
				evs = append(evs, ev)
				counts[string(outcomeOf(state))]++
			} else if !errors.Is(err, sms.ErrStale) {
				return err
			}
			ups = append(ups, store.MessageUpdate{Message: m, From: from})
		}
		return tx.SaveMessages(ctx, ups, evs)
	})
	if err != nil {
		return fmt.Errorf("dispatch: record results: %w", err)
	}
	for o, n := range counts {
		d.metrics.Sent(rec.Name, o, n)
	}
	return nil
}

func outcomeOf(s sms.State) sms.State {
	if s == sms.StateDelivered || s == sms.StateSending {
		return sms.StateSent
	}
	return s
}

// retryOrFail keeps the messages sending with the error and the time of the
// next attempt, and asks the queue to retry; on the last attempt they fail.
func (d *Dispatcher) retryOrFail(ctx context.Context, msgs []sms.Message, cause error, last bool) error {
	if last {
		return d.fail(ctx, msgs, errCode(cause, "provider_temporary"), cause)
	}
	return d.note(ctx, msgs, cause, errRetry{cause})
}

// snoozeFor keeps the messages sending and snoozes the job for the
// provider's RetryAfter, without spending an attempt.
func (d *Dispatcher) snoozeFor(ctx context.Context, msgs []sms.Message, cause error) error {
	wait := sms.RetryAfter(cause)
	if wait <= 0 {
		wait = time.Minute
	}
	return d.note(ctx, msgs, cause, river.JobSnooze(wait))
}

func (d *Dispatcher) note(ctx context.Context, msgs []sms.Message, cause, ret error) error {
	now := d.cfg.Now()
	next := now.Add(d.cfg.Retry[0])
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		current, err := tx.LockMessagesByRef(ctx, refsOf(msgs))
		if err != nil {
			return err
		}
		var ups []store.MessageUpdate
		for _, m := range current {
			if m.State != sms.StateSending {
				continue
			}
			m.ErrorCode, m.ErrorText = errCode(cause, "provider_temporary"), truncate(cause.Error(), 500)
			m.NextAttemptAt = &next
			ups = append(ups, store.MessageUpdate{Message: m, From: m.State})
		}
		return tx.SaveMessages(ctx, ups, nil)
	})
	if err != nil {
		return fmt.Errorf("dispatch: note failure: %w", err)
	}
	d.log.Warn("send attempt failed; will retry", "messages", len(msgs), "err", cause)
	return ret
}

// fail ends the messages in state failed with the error kept.
func (d *Dispatcher) fail(ctx context.Context, msgs []sms.Message, code string, cause error) error {
	now := d.cfg.Now()
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		current, err := tx.LockMessagesByRef(ctx, refsOf(msgs))
		if err != nil {
			return err
		}
		var ups []store.MessageUpdate
		var evs []sms.Event
		for _, m := range current {
			from := m.State
			m.ErrorCode, m.ErrorText = code, truncate(cause.Error(), 500)
			m.Cost = 0
			ev, err := m.Transition(sms.StateFailed, now, sms.SourceWorker, m.ErrorText)
			if err != nil {
				continue // already final
			}
			ups = append(ups, store.MessageUpdate{Message: m, From: from})
			evs = append(evs, ev)
		}
		return tx.SaveMessages(ctx, ups, evs)
	})
	if err != nil {
		return fmt.Errorf("dispatch: fail messages: %w", err)
	}
	d.metrics.Sent(msgsProvider(msgs), "failed", len(msgs))
	d.log.Warn("messages failed", "messages", len(msgs), "code", code, "err", cause)
	return nil
}

func msgsProvider(msgs []sms.Message) string {
	if len(msgs) == 0 {
		return ""
	}
	return msgs[0].Provider
}

func refsOf(msgs []sms.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Reference
	}
	return out
}

func errCode(err error, def string) string {
	var e *sms.Error
	if errors.As(err, &e) && e.Code != "" {
		return e.Code
	}
	return def
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
