package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// maxCoalesced bounds the reports one transaction applies.
const maxCoalesced = 5000

// statusCall is one caller of ApplyStatuses waiting for its reports to be
// stored.
type statusCall struct {
	provider string
	source   sms.Source
	updates  []provider.StatusUpdate
	done     chan error
}

// ApplyStatuses applies later reports about messages of a provider and
// returns once they are stored (so that a webhook answers 2xx only then).
// Reports that come late (a "sent" after "delivered"), repeat, or name no
// known message change nothing. It is the provider.StatusSink every provider
// reports to.
//
// Calls are coalesced: while one transaction commits, the calls that arrive
// queue up and the next transaction applies them all at once (group
// commit), so thousands of webhooks a second cost tens of transactions, not
// thousands, and a lone call waits for nothing.
func (d *Dispatcher) ApplyStatuses(ctx context.Context, providerName string, source sms.Source, updates []provider.StatusUpdate) error {
	if len(updates) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	call := &statusCall{provider: providerName, source: source, updates: updates, done: make(chan error, 1)}
	d.statusOnce.Do(func() {
		d.statusCh = make(chan *statusCall, 1024)
		// One applier: on SQLite there is one writer anyway, and on
		// PostgreSQL more appliers measured no faster on two cores while
		// opening a way to deadlocks between them.
		go d.statusLoop()
	})
	select {
	case d.statusCh <- call:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-call.done:
		return err
	case <-ctx.Done():
		// The reports may still be stored: applying them again is harmless.
		return ctx.Err()
	}
}

// statusLoop applies queued calls, as many as are waiting, one transaction
// at a time. It runs for the life of the process.
func (d *Dispatcher) statusLoop() {
	for first := range d.statusCh {
		calls := []*statusCall{first}
		n := len(first.updates)
	drain:
		for n < maxCoalesced {
			select {
			case c := <-d.statusCh:
				calls = append(calls, c)
				n += len(c.updates)
			default:
				break drain
			}
		}
		err := d.applyCalls(calls)
		for _, c := range calls {
			c.done <- err
		}
	}
}

// applyCalls applies the calls' reports in one transaction, merged per
// provider and source in the order they came.
func (d *Dispatcher) applyCalls(calls []*statusCall) error {
	type key struct {
		provider string
		source   sms.Source
	}
	var order []key
	merged := map[key][]provider.StatusUpdate{}
	for _, c := range calls {
		k := key{c.provider, c.source}
		if _, ok := merged[k]; !ok {
			order = append(order, k)
		}
		merged[k] = append(merged[k], c.updates...)
	}
	type counts struct{ applied, stale, unknown int }
	results := map[key]counts{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		clear(results)
		for _, k := range order {
			a, s, u, err := d.applyStatuses(ctx, tx, k.provider, k.source, merged[k])
			if err != nil {
				return err
			}
			results[k] = counts{a, s, u}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dispatch: apply statuses: %w", err)
	}
	for k, c := range results {
		d.metrics.Statuses(k.provider, string(k.source), "applied", c.applied)
		d.metrics.Statuses(k.provider, string(k.source), "stale", c.stale)
		d.metrics.Statuses(k.provider, string(k.source), "unknown", c.unknown)
		if c.unknown > 0 {
			d.log.Info("status reports for unknown messages ignored", "provider", k.provider, "count", c.unknown)
		}
	}
	return nil
}
