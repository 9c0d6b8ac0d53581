package dispatch

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// QueueChunk is the send path's bulk entry for campaigns: inside the
// caller's transaction it stores msgs (already rendered and checked, all of
// one campaign) as queued in batches of the provider's size, and enqueues one
// send job per batch, set-based: one insert per batch, one enqueue for all.
// A message without a Reference gets one. It returns the stored messages in
// the order given.
func (d *Dispatcher) QueueChunk(ctx context.Context, tx *store.Tx, providerName string, campaignID int64, msgs []store.NewMessage) ([]sms.Message, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	p, rec, err := d.providers.Get(ctx, providerName)
	if err != nil {
		return nil, err
	}
	size := max(1, p.Limits().MaxBatch)
	out := make([]sms.Message, 0, len(msgs))
	jobs := make([]river.InsertManyParams, 0, (len(msgs)+size-1)/size)
	for start := 0; start < len(msgs); start += size {
		part := msgs[start:min(start+size, len(msgs))]
		batchID, err := tx.CreateCampaignBatch(ctx, rec.Name, d.refs.next("rb"), &campaignID)
		if err != nil {
			return nil, err
		}
		for i := range part {
			m := &part[i]
			m.BatchID, m.CampaignID, m.Provider, m.State = &batchID, &campaignID, rec.Name, sms.StateQueued
			if m.Reference == "" {
				m.Reference = d.refs.next("rc")
			}
			if m.Cost == 0 {
				m.Cost = rec.CostPerSegment.Times(m.Segments)
			}
		}
		stored, err := tx.InsertMessages(ctx, part, sms.SourceWorker)
		if err != nil {
			return nil, err
		}
		out = append(out, stored...)
		jobs = append(jobs, river.InsertManyParams{Args: SendArgs{BatchID: batchID}})
	}
	if _, err := d.river.InsertManyTx(ctx, tx.Tx, jobs); err != nil {
		return nil, fmt.Errorf("dispatch: enqueue campaign batches: %w", err)
	}
	return out, nil
}
