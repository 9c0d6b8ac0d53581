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

// statusAppliers is how many transactions apply reports at once on
// PostgreSQL. SQLite has one writer, so one applier. On PostgreSQL a second
// one commits while the first writes: with Kolmeya's documented webhooks
// (ten reports a call), in six pairs of runs on two cores, from 15,900 –
// 21,300 to 19,100 – 29,000 reports/s (recado bench --scenario webhooks
// --per-webhook 10; with one report a call, HTTP is the bound: +10 %).
const statusAppliers = 2

// maxTxConflicts is how many times a transaction of reports is run again
// when PostgreSQL ends it as a deadlock's victim: two appliers may lock the
// same messages (a repeated report) in another order. Applying reports
// again is harmless: they move messages forward only.
const maxTxConflicts = 5

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
		go d.statusLoop()
		if d.db.Dialect() == store.Postgres {
			for range statusAppliers - 1 {
				go d.statusLoop()
			}
		}
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
	var err error
	for try := 1; ; try++ {
		err = d.db.InTx(ctx, func(tx *store.Tx) error {
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
		if err == nil || !store.IsTxConflict(err) || try == maxTxConflicts {
			break
		}
		d.log.Debug("status reports' transaction ran into another; running it again", "try", try, "err", err)
	}
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
