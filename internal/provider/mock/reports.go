package mock

import (
	"context"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// How a report the sink refused is tried again: reportAttempts calls in all,
// waiting reportBackoff before the second and twice as long before each next
// one. A report still refused is logged and dropped; the pipeline's lookups
// find the final state anyway.
const (
	reportAttempts = 4
	reportBackoff  = 50 * time.Millisecond
	reportTimeout  = 30 * time.Second
)

// report is the final status of the messages one Send accepted, due after the
// delivery delay.
type report struct {
	timer   *time.Timer
	updates []provider.StatusUpdate
	started bool // taken by the timer or by Flush; only one of them runs it
}

// schedule arranges for updates to be reported after the delivery delay, in
// a goroutine of their own even when the delay is zero. p.mu is held.
func (p *Provider) schedule(updates []provider.StatusUpdate) {
	id := p.nextID
	p.nextID++
	r := &report{updates: updates}
	p.pending[id] = r
	// The timer's function takes p.mu, so it cannot run before Send, which
	// holds it, has returned its answer.
	r.timer = time.AfterFunc(p.settings.DeliveryDelay, func() { p.fire(id) })
}

// fire runs report id when its timer goes off, unless Flush or Close took it.
func (p *Provider) fire(id uint64) {
	p.mu.Lock()
	r, ok := p.pending[id]
	if !ok || r.started {
		p.mu.Unlock()
		return
	}
	r.started = true
	p.mu.Unlock()
	p.run(id, r)
}

// run applies a report: first to what Lookup answers, since the provider
// knows the fate whether or not the sink takes it, then to the sink.
func (p *Provider) run(id uint64, r *report) {
	defer func() {
		p.mu.Lock()
		delete(p.pending, id)
		p.idle.Broadcast()
		p.mu.Unlock()
	}()
	at := p.now()
	p.mu.Lock()
	for i := range r.updates {
		up := &r.updates[i]
		up.At = at
		rec, ok := p.messages[up.Reference]
		if ok && sms.CanTransition(rec.result.State, up.State) {
			rec.result.State = up.State
			rec.result.ErrorCode = up.ErrorCode
			rec.result.ErrorText = up.ErrorText
		}
	}
	p.mu.Unlock()
	if p.sink == nil {
		return
	}
	err := p.deliver(r.updates)
	if err != nil && p.ctx.Err() == nil {
		p.logger.Warn("mock: status report dropped; lookups will find it",
			"provider", p.name, "messages", len(r.updates), "err", err)
	}
}

// deliver hands updates to the sink, trying again with backoff while it
// fails and the provider is open.
func (p *Provider) deliver(updates []provider.StatusUpdate) error {
	wait := reportBackoff
	var err error
	for attempt := 1; ; attempt++ {
		if p.ctx.Err() != nil {
			return p.ctx.Err()
		}
		ctx, cancel := context.WithTimeout(p.ctx, reportTimeout)
		err = p.sink.ApplyStatuses(ctx, p.name, sms.SourceWebhook, updates)
		cancel()
		if err == nil || attempt == reportAttempts {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-p.ctx.Done():
			t.Stop()
		}
		wait *= 2
	}
}

// Flush reports at once every status still waiting for its delivery delay,
// and returns when all reports, these and those already under way, are done.
func (p *Provider) Flush() {
	p.mu.Lock()
	for id, r := range p.pending {
		if !r.started {
			r.started = true
			r.timer.Stop()
			go p.run(id, r)
		}
	}
	p.mu.Unlock()
	p.Wait()
}

// Wait returns when no status report is pending: every report due has been
// made (or dropped after its retries) and none waits for its delay. Sends
// made while Wait waits are waited for too.
func (p *Provider) Wait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.pending) > 0 {
		p.idle.Wait()
	}
}

// Close stops the reports still waiting for their delay, cancels those under
// way and returns when they have stopped. Sends after Close fail with a
// temporary error. Close always returns nil; it has an error result so that
// the mock is an io.Closer like the providers that hold connections.
func (p *Provider) Close() error {
	p.cancel()
	p.mu.Lock()
	p.closed = true
	for id, r := range p.pending {
		if !r.started {
			r.timer.Stop() // a timer that already fired finds nothing to run
			delete(p.pending, id)
		}
	}
	p.idle.Broadcast()
	j := p.journal
	p.journal = nil
	p.mu.Unlock()
	p.Wait()
	if j != nil {
		return j.close()
	}
	return nil
}
