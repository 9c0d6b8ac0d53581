package dispatch

import (
	"context"
	"fmt"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// ApplyReplies stores replies as inbound messages in one transaction: linked
// to their contact and to the message they answer, de-duplicated by the
// provider's reply id. A reply that is an opt-out word (Config.OptOutWords)
// opts its contact out and puts the number on the blacklist, in the same
// transaction. It is the provider.ReplySink every provider reports to.
func (d *Dispatcher) ApplyReplies(ctx context.Context, providerName string, source sms.Source, replies []provider.Reply) error {
	if len(replies) == 0 {
		return nil
	}
	rows := make([]store.NewReply, 0, len(replies))
	for _, r := range replies {
		ph, err := sms.NormalizePhone(r.Phone, d.cfg.Region)
		if err != nil {
			d.log.Warn("reply from an unreadable phone number ignored", "provider", providerName, "reply", r.ProviderReplyID, "err", err)
			continue
		}
		if r.ProviderReplyID == "" {
			d.log.Warn("reply without an id ignored: it could not be de-duplicated", "provider", providerName)
			continue
		}
		at := r.ReceivedAt
		if at.IsZero() {
			at = d.cfg.Now()
		}
		seg := sms.Segments(r.Body)
		rows = append(rows, store.NewReply{Provider: providerName, ProviderReplyID: r.ProviderReplyID, Phone: ph.E164,
			Body: r.Body, Reference: d.refs.next("ri"), Segments: seg.Segments, Encoding: seg.Encoding, ReceivedAt: at.UTC(),
			InReplyToProviderMessageID: r.InReplyToProviderMessageID, InReplyToReference: r.InReplyToReference, Source: source})
	}
	var stored []store.StoredReply
	var optedOut []string
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if stored, err = tx.InsertReplies(ctx, rows); err != nil {
			return err
		}
		optedOut = optedOut[:0]
		var optOutReplies []int64
		for _, s := range stored {
			if sms.IsOptOut(s.Body, d.cfg.OptOutWords) {
				optedOut = append(optedOut, s.Phone)
				optOutReplies = append(optOutReplies, s.ID)
			}
		}
		if len(optedOut) == 0 {
			return nil
		}
		added, err := tx.AddToBlacklist(ctx, optedOut, "replied with an opt-out word", "reply", nil)
		if err != nil {
			return err
		}
		if len(added) > 0 {
			if err := d.enqueueBlacklistSync(ctx, tx); err != nil {
				return err
			}
		}
		if _, err = tx.OptOut(ctx, optedOut); err != nil {
			return err
		}
		return tx.EmitEvent(ctx, optOutReplies, "contact.opted_out", d.cfg.Now(), "replied with an opt-out word")
	})
	if err != nil {
		return fmt.Errorf("dispatch: apply replies: %w", err)
	}
	d.metrics.Statuses(providerName, string(source), "reply", len(stored))
	if len(optedOut) > 0 {
		d.log.Info("contacts opted out by reply", "provider", providerName, "count", len(optedOut))
	}
	return nil
}

// Blacklist puts numbers, in any common form, on the blacklist, and returns
// those it added in E.164; the push of the change to the providers that keep
// a blacklist is enqueued in the same transaction. A bad number refuses the
// whole request.
func (d *Dispatcher) Blacklist(ctx context.Context, phones []string, reason string, by *int64) ([]string, error) {
	var bad []sms.FieldError
	e164 := make([]string, 0, len(phones))
	for i, raw := range phones {
		ph, err := sms.NormalizePhone(raw, d.cfg.Region)
		if err != nil {
			bad = append(bad, sms.FieldError{Field: fmt.Sprintf("phones[%d]", i), Message: errMessage(err), Value: raw})
			continue
		}
		e164 = append(e164, ph.E164)
	}
	if len(bad) > 0 {
		return nil, sms.Invalid("invalid phone numbers", bad...)
	}
	var added []string
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		added, err = tx.AddToBlacklist(ctx, e164, reason, "manual", by)
		if err != nil || len(added) == 0 {
			return err
		}
		return d.enqueueBlacklistSync(ctx, tx)
	})
	return added, err
}
