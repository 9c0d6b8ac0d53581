package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Recado's blacklist is the truth; providers that keep a blacklist of their
// own (provider.BlacklistSyncer; Kolmeya, which has no endpoint listing it)
// are kept in step with it:
//
//   - every change (a number added by the API, by an opt-out reply, or
//     because a provider refused to send to it as blacklisted; a number
//     removed by the API) is written to an outbox, blacklist_changes, by the
//     statement that makes it, and a sync job is enqueued in the same
//     transaction: the change and its push commit together or not at all;
//   - the job pushes, to each active provider that keeps a blacklist, the
//     changes after that provider's cursor, the last op per number, then
//     moves the cursor. One sync per provider runs at a time (a lease on
//     its row), so each change reaches each provider once, in order; a
//     failed push keeps the cursor and the job retries (BlacklistRetry), and
//     the periodic sync (BlacklistSyncEvery) catches whatever is left;
//   - a provider that never had the whole list (just configured) gets it
//     all first, as does any provider on demand (RequestBlacklistSync with
//     full, POST /api/v1/providers/{name}/sync-blacklist).
//
// A push never blocks the API: the API only writes and enqueues.

// BlacklistSyncResult says what one blacklist sync pushed.
type BlacklistSyncResult struct {
	Providers int // providers brought in step
	Added     int // numbers pushed as added
	Removed   int // numbers pushed as removed
}

// errSyncHeld says another sync holds a provider's lease: try again after
// wait.
type errSyncHeld struct {
	provider string
	wait     time.Duration
}

func (e *errSyncHeld) Error() string {
	return fmt.Sprintf("dispatch: blacklist sync of %s is running elsewhere; try again in %s", e.provider, e.wait)
}

func asHeld(err error, target **errSyncHeld) bool { return errors.As(err, target) }

// heldRecheck is the longest a sync waits before looking again at a
// provider whose lease another sync holds.
const heldRecheck = 2 * time.Second

// maxChangesPerPush bounds the changes read and pushed at once.
const maxChangesPerPush = 10000

// enqueueBlacklistSync enqueues a sync of every provider in tx, the
// transaction that changed the blacklist.
func (d *Dispatcher) enqueueBlacklistSync(ctx context.Context, tx *store.Tx) error {
	if _, err := d.river.InsertTx(ctx, tx.Tx, BlacklistSyncArgs{}, nil); err != nil {
		return store.DBError("dispatch: enqueue blacklist sync", err)
	}
	return nil
}

// RequestBlacklistSync enqueues a sync of provider name, of the whole list
// when full. A provider that keeps no blacklist is a conflict.
func (d *Dispatcher) RequestBlacklistSync(ctx context.Context, name string, full bool) error {
	p, _, err := d.providers.Lookup(ctx, name)
	if err != nil {
		return err
	}
	if _, ok := p.(provider.BlacklistSyncer); !ok {
		return sms.Errorf(sms.KindConflict, "provider %q keeps no blacklist of its own: there is nothing to sync", name)
	}
	if _, err := d.river.Insert(ctx, BlacklistSyncArgs{Provider: name, Full: full}, nil); err != nil {
		return store.DBError("dispatch: enqueue blacklist sync", err)
	}
	return nil
}

// Unblacklist takes a number, in any common form, off the blacklist, and
// enqueues the push of that change to the providers in the same
// transaction.
func (d *Dispatcher) Unblacklist(ctx context.Context, phone string) error {
	ph, err := sms.NormalizePhone(phone, d.cfg.Region)
	if err != nil {
		return sms.Invalid("invalid phone number", sms.FieldError{Field: "phone", Message: errMessage(err), Value: phone})
	}
	return d.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveFromBlacklist(ctx, ph.E164); err != nil {
			return err
		}
		return d.enqueueBlacklistSync(ctx, tx)
	})
}

// feedRefusals puts on the blacklist, in tx, the numbers a provider refused
// because they are on its own blacklist: Recado's list then says what the
// provider already does, and every other provider learns it.
func (d *Dispatcher) feedRefusals(ctx context.Context, tx *store.Tx, providerName string, msgs []sms.Message, byRef map[string]provider.Result) error {
	var phones []string
	for _, m := range msgs {
		if r, ok := byRef[m.Reference]; ok && r.State == sms.StateRejected && r.ErrorCode == "blacklist" {
			phones = append(phones, m.Phone)
		}
	}
	if len(phones) == 0 {
		return nil
	}
	added, err := tx.AddToBlacklist(ctx, phones, "refused by provider "+providerName+": on its blacklist", "provider", nil)
	if err != nil || len(added) == 0 {
		return err
	}
	return d.enqueueBlacklistSync(ctx, tx)
}

// SyncBlacklist pushes the blacklist changes not yet pushed to provider
// name, or with name empty to every active provider that keeps a blacklist;
// with full, the whole list. A provider whose sync runs elsewhere is left
// to it, and the error says when to try again; other failures are recorded
// on the provider (see providers.View) and returned together.
func (d *Dispatcher) SyncBlacklist(ctx context.Context, name string, full bool) (BlacklistSyncResult, error) {
	var res BlacklistSyncResult
	type target struct {
		name string
		s    provider.BlacklistSyncer
	}
	var targets []target
	if name != "" {
		p, _, err := d.providers.Lookup(ctx, name)
		if sms.KindOf(err) == sms.KindNotFound {
			return res, nil // deleted since the job was enqueued
		}
		if err != nil {
			return res, err
		}
		if s, ok := p.(provider.BlacklistSyncer); ok {
			targets = append(targets, target{name, s})
		}
	} else {
		recs, err := d.db.ListProviderRecords(ctx)
		if err != nil {
			return res, err
		}
		for _, rec := range recs {
			if !rec.Active {
				continue
			}
			p, _, err := d.providers.Lookup(ctx, rec.Name)
			if err != nil {
				d.log.Warn("blacklist sync: provider unavailable", "provider", rec.Name, "err", err)
				continue
			}
			if s, ok := p.(provider.BlacklistSyncer); ok {
				targets = append(targets, target{rec.Name, s})
			}
		}
	}
	var errs []error
	var held *errSyncHeld
	for _, t := range targets {
		added, removed, err := d.syncOne(ctx, t.name, t.s, full)
		res.Added += added
		res.Removed += removed
		var h *errSyncHeld
		switch {
		case errors.As(err, &h):
			if held == nil || h.wait > held.wait {
				held = h
			}
		case err != nil:
			errs = append(errs, err)
		default:
			res.Providers++
		}
	}
	if err := d.db.PruneBlacklistChanges(ctx, d.cfg.Now().Add(-7*24*time.Hour)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return res, errors.Join(errs...)
	}
	if held != nil {
		return res, held
	}
	return res, nil
}

// syncOne brings one provider in step under its lease.
func (d *Dispatcher) syncOne(ctx context.Context, name string, s provider.BlacklistSyncer, full bool) (added, removed int, err error) {
	bg := d.cfg.Background
	now := d.cfg.Now()
	cursor, ok, heldUntil, err := d.db.ClaimBlacklistSync(ctx, name, now.Add(bg.BlacklistLease))
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		// A live holder finishes in moments, usually before it could see
		// the change that enqueued this job; the lease's end matters only
		// when the holder died. So look again soon, not when the lease
		// ends: a change must not wait for another sync's lease.
		return 0, 0, &errSyncHeld{provider: name, wait: min(max(heldUntil.Sub(now), 100*time.Millisecond), heldRecheck)}
	}
	defer func() {
		text := ""
		if err != nil {
			text = err.Error()
			d.metrics.Background(name, "blacklist_sync", "error")
			d.log.Warn("blacklist sync failed; it will be retried", "provider", name, "err", err)
		} else {
			d.metrics.Background(name, "blacklist_sync", "ok")
		}
		// A fresh context: the lease must be given up even when ctx ended.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := d.db.ReleaseBlacklistSync(rctx, name, text, d.cfg.Now()); rerr != nil && err == nil {
			err = rerr
		}
	}()
	push := func(op string, phones []string) error {
		start := time.Now()
		var err error
		if op == "remove" {
			err = s.BlacklistRemove(ctx, phones)
		} else {
			err = s.BlacklistAdd(ctx, phones)
		}
		d.metrics.ProviderCall(name, "blacklist_"+op, time.Since(start))
		return err
	}
	if full || cursor == nil {
		// The whole list, then the changes made since it was read.
		last, err := d.db.LastBlacklistChange(ctx)
		if err != nil {
			return added, removed, err
		}
		for after := ""; ; {
			phones, err := d.db.BlacklistPhones(ctx, after, 1000)
			if err != nil {
				return added, removed, err
			}
			if len(phones) == 0 {
				break
			}
			if err := push("add", phones); err != nil {
				return added, removed, err
			}
			added += len(phones)
			after = phones[len(phones)-1]
		}
		if err := d.db.AdvanceBlacklistSync(ctx, name, last, d.cfg.Now()); err != nil {
			return added, removed, err
		}
		cursor = &last
	}
	for {
		changes, err := d.db.BlacklistChanges(ctx, *cursor, maxChangesPerPush)
		if err != nil || len(changes) == 0 {
			return added, removed, err
		}
		// The last change of each number decides; the order of numbers does
		// not matter once each is in one list.
		last := map[string]string{}
		var order []string
		for _, c := range changes {
			if _, seen := last[c.Phone]; !seen {
				order = append(order, c.Phone)
			}
			last[c.Phone] = c.Op
		}
		var adds, removes []string
		for _, ph := range order {
			if last[ph] == "remove" {
				removes = append(removes, ph)
			} else {
				adds = append(adds, ph)
			}
		}
		if len(removes) > 0 {
			if err := push("remove", removes); err != nil {
				return added, removed, err
			}
			removed += len(removes)
		}
		if len(adds) > 0 {
			if err := push("add", adds); err != nil {
				return added, removed, err
			}
			added += len(adds)
		}
		next := changes[len(changes)-1].ID
		if err := d.db.AdvanceBlacklistSync(ctx, name, next, d.cfg.Now()); err != nil {
			return added, removed, err
		}
		cursor = &next
		if len(changes) < maxChangesPerPush {
			return added, removed, nil
		}
	}
}
