package dispatch

import (
	"context"
	"errors"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// applyStatuses applies one provider's reports inside tx and counts what
// became of them.
func (d *Dispatcher) applyStatuses(ctx context.Context, tx *store.Tx, providerName string, source sms.Source, updates []provider.StatusUpdate) (applied, stale, unknown int, err error) {
	// The common case first: "delivered" for a message that is sent, by the
	// provider's id, in one statement. What it does not move (unknown ids,
	// messages in another state, repeats) takes the general path below.
	var fast []store.Delivery
	seen := map[string]bool{}
	for _, u := range updates {
		if u.State == sms.StateDelivered && u.ProviderMessageID != "" && !seen[u.ProviderMessageID] {
			seen[u.ProviderMessageID] = true
			at := u.At
			if at.IsZero() {
				at = d.cfg.Now()
			}
			fast = append(fast, store.Delivery{ProviderMessageID: u.ProviderMessageID, At: at.UTC(), Detail: u.Detail})
		}
	}
	moved, err := tx.RecordDelivered(ctx, providerName, fast, source)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(moved) > 0 {
		applied = len(moved)
		rest := make([]provider.StatusUpdate, 0, len(updates)-len(moved))
		for _, u := range updates {
			if u.State == sms.StateDelivered && moved[u.ProviderMessageID] {
				delete(moved, u.ProviderMessageID) // only the first report of it was applied
				continue
			}
			rest = append(rest, u)
		}
		updates = rest
		if len(updates) == 0 {
			return applied, 0, 0, nil
		}
	}
	err = func() error {
		var ids, refs []string
		for _, u := range updates {
			if u.ProviderMessageID != "" {
				ids = append(ids, u.ProviderMessageID)
			}
			if u.Reference != "" {
				refs = append(refs, u.Reference)
			}
		}
		byID, err := tx.LockMessagesByProviderID(ctx, providerName, ids)
		if err != nil {
			return err
		}
		byRef, err := tx.LockMessagesByRef(ctx, refs)
		if err != nil {
			return err
		}
		type entry struct {
			m    *sms.Message
			from sms.State
		}
		index := map[int64]*entry{}
		pmid, ref := map[string]*entry{}, map[string]*entry{}
		for _, list := range [][]sms.Message{byID, byRef} {
			for i := range list {
				m := list[i]
				if m.Provider != providerName {
					continue // a reference from another provider's message: not ours to change
				}
				e, ok := index[m.ID]
				if !ok {
					e = &entry{m: &m, from: m.State}
					index[m.ID] = e
				}
				if m.ProviderMessageID != "" {
					pmid[m.ProviderMessageID] = e
				}
				ref[m.Reference] = e
			}
		}
		var evs []sms.Event
		changed := map[int64]bool{}
		for _, u := range updates {
			e := pmid[u.ProviderMessageID]
			if e == nil {
				e = ref[u.Reference]
			}
			if e == nil {
				unknown++
				continue
			}
			m := e.m
			if m.ProviderMessageID == "" && u.ProviderMessageID != "" {
				m.ProviderMessageID = u.ProviderMessageID
				changed[m.ID] = true
			}
			at := u.At
			if at.IsZero() {
				at = d.cfg.Now()
			}
			detail := u.Detail
			if u.ErrorText != "" {
				detail = u.ErrorText
			}
			// A report of a fate after sending (delivered, failed, expired) for a
			// message whose "sent" answer we have not recorded yet proves it was
			// sent: record that step too, so the history has no gap.
			if (m.State == sms.StateQueued || m.State == sms.StateSending) && afterSent(u.State) {
				if ev, err := m.Transition(sms.StateSent, at.UTC(), source, "implied by the "+string(u.State)+" report"); err == nil {
					evs = append(evs, ev)
				}
			}
			ev, err := m.Transition(u.State, at.UTC(), source, detail)
			if err != nil {
				if errors.Is(err, sms.ErrStale) {
					stale++
					continue
				}
				return err
			}
			if u.ErrorCode != "" || u.ErrorText != "" {
				m.ErrorCode, m.ErrorText = u.ErrorCode, truncate(u.ErrorText, 500)
			}
			if u.State.Failure() {
				m.Cost = 0
			}
			evs = append(evs, ev)
			changed[m.ID] = true
			applied++
		}
		ups := make([]store.MessageUpdate, 0, len(changed))
		for id := range changed {
			e := index[id]
			ups = append(ups, store.MessageUpdate{Message: *e.m, From: e.from})
		}
		return tx.SaveMessages(ctx, ups, evs)
	}()
	return applied, stale, unknown, err
}

// afterSent reports whether a reported state can only follow a send.
func afterSent(s sms.State) bool {
	return s == sms.StateDelivered || s == sms.StateFailed || s == sms.StateExpired
}
