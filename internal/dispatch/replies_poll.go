package dispatch

import (
	"context"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// The reply poll is the safety net under reply webhooks. Every
// ReplyPollEvery it asks each active provider that keeps replies
// (provider.ReplyPoller) for those received since its last successful poll,
// less ReplyPollMargin (the first poll asks for ReplyFirstLookback), and
// stores them through ApplyReplies with source "poll": a reply already
// stored, by webhook or an earlier poll, is skipped by its reply id. Kolmeya
// keeps replies 168 hours; polling every few minutes stays well inside that,
// and a poll that finds its last success older than the provider keeps
// replies says so in the log.

// ReplyPollResult says what one reply poll did.
type ReplyPollResult struct {
	Providers int // providers asked successfully
	Failed    int // providers whose poll failed
	Replies   int // replies the providers listed (new and already stored)
}

// PollReplies runs one reply poll (see above). A provider that fails is
// noted on its record and asked again at the next poll from where it
// stopped; only a failure of Recado's own database is returned.
func (d *Dispatcher) PollReplies(ctx context.Context) (ReplyPollResult, error) {
	bg := d.cfg.Background
	var res ReplyPollResult
	recs, err := d.db.ListProviderRecords(ctx)
	if err != nil {
		return res, err
	}
	states, err := d.db.ProviderSyncStates(ctx)
	if err != nil {
		return res, err
	}
	for _, rec := range recs {
		if !rec.Active {
			continue
		}
		p, _, err := d.providers.Lookup(ctx, rec.Name)
		if err != nil {
			d.log.Warn("reply poll: provider unavailable", "provider", rec.Name, "err", err)
			continue
		}
		rp, ok := p.(provider.ReplyPoller)
		if !ok {
			continue
		}
		now := d.cfg.Now()
		since := now.Add(-bg.ReplyFirstLookback)
		if at := states[rec.Name].RepliesPolledAt; at != nil {
			since = at.Add(-bg.ReplyPollMargin)
		}
		if keep := rp.ReplyRetention(); keep > 0 && now.Sub(since) > keep {
			d.log.Warn("reply poll: the last successful poll is older than the provider keeps replies; some may be lost",
				"provider", rec.Name, "since", since, "kept", keep)
			since = now.Add(-keep)
		}
		start := time.Now()
		replies, err := rp.PollReplies(ctx, since)
		d.metrics.ProviderCall(rec.Name, "poll_replies", time.Since(start))
		if err != nil {
			res.Failed++
			d.metrics.Background(rec.Name, "reply_poll", "error")
			d.log.Warn("reply poll failed; asked again at the next poll", "provider", rec.Name, "err", err)
			if err := d.db.SetRepliesPolled(ctx, rec.Name, now, err.Error()); err != nil {
				return res, err
			}
			continue
		}
		if err := d.ApplyReplies(ctx, rec.Name, sms.SourcePoll, replies); err != nil {
			return res, err
		}
		if err := d.db.SetRepliesPolled(ctx, rec.Name, now, ""); err != nil {
			return res, err
		}
		d.metrics.Background(rec.Name, "reply_poll", "ok")
		res.Providers++
		res.Replies += len(replies)
	}
	return res, nil
}
