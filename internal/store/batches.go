package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Batch is a send batch: the messages one queue job hands to a provider.
type Batch struct {
	ID        int64
	Provider  string
	Reference string
	Attempts  int // send attempts started, this one included once claimed
	// CampaignID is the campaign whose messages the batch holds, if any.
	CampaignID *int64
}

// CreateBatch stores a new, empty send batch for provider.
func (tx *Tx) CreateBatch(ctx context.Context, provider, reference string) (int64, error) {
	return tx.CreateCampaignBatch(ctx, provider, reference, nil)
}

// CreateCampaignBatch stores a new, empty send batch for provider holding
// messages of a campaign (nil: none).
func (tx *Tx) CreateCampaignBatch(ctx context.Context, provider, reference string, campaignID *int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, tx.db.q.createBatch, provider, reference, tx.db.now(), campaignID).Scan(&id)
	if err != nil {
		return 0, wrapDBErr("create batch", err)
	}
	return id, nil
}

// ClaimBatch takes the lease of a batch until leaseUntil and counts an
// attempt. It returns ok=false, and the time the current lease ends, when
// another worker holds it: a rescued job whose first run is still alive must
// not send the same messages alongside it.
func (tx *Tx) ClaimBatch(ctx context.Context, id int64, leaseUntil time.Time) (b Batch, ok bool, heldUntil time.Time, err error) {
	now := tx.db.now()
	var campaign sql.NullInt64
	err = tx.QueryRowContext(ctx, tx.db.q.claimBatch, id, leaseUntil, now).Scan(&b.ID, &b.Provider, &b.Reference, &b.Attempts, &campaign)
	if err == nil {
		b.CampaignID = nullInt(campaign)
		return b, true, time.Time{}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return b, false, time.Time{}, wrapDBErr("claim batch", err)
	}
	var lease sql.NullTime
	err = tx.QueryRowContext(ctx, tx.db.q.batchLease, id).Scan(&lease)
	if errors.Is(err, sql.ErrNoRows) {
		return b, false, time.Time{}, nil // gone: nothing to do
	}
	if err != nil {
		return b, false, time.Time{}, wrapDBErr("claim batch", err)
	}
	return b, false, lease.Time, nil
}

// ReleaseBatch gives up the lease of a batch.
func (tx *Tx) ReleaseBatch(ctx context.Context, id int64) error {
	if _, err := tx.ExecContext(ctx, tx.db.q.releaseBatch, id); err != nil {
		return wrapDBErr("release batch", err)
	}
	return nil
}

// OrphanCandidates returns batches that still have messages to send and
// that no worker holds (no lease, or a lease that ran out). Most are simply
// waiting for their job; the sweeper compares them with LiveSendJobs.
func (tx *Tx) OrphanCandidates(ctx context.Context, limit int) ([]int64, error) {
	return tx.ids(ctx, "orphan candidates", tx.db.q.orphanBatches, tx.db.now(), limit)
}

// LiveSendJob is a send job the queue still holds.
type LiveSendJob struct {
	BatchID     int64
	State       string
	AttemptedAt *time.Time
}

// LiveSendJobs lists the send jobs that are waiting or running. It reads
// River's job table: the one place Recado looks inside the queue.
func (tx *Tx) LiveSendJobs(ctx context.Context) ([]LiveSendJob, error) {
	rows, err := tx.QueryContext(ctx, tx.db.q.liveSendJobs)
	if err != nil {
		return nil, wrapDBErr("live send jobs", err)
	}
	defer rows.Close()
	var out []LiveSendJob
	for rows.Next() {
		var j LiveSendJob
		var at sql.NullTime
		if err := rows.Scan(&j.BatchID, &j.State, &at); err != nil {
			return nil, wrapDBErr("live send jobs", err)
		}
		j.AttemptedAt = nullTime(at)
		out = append(out, j)
	}
	return out, wrapDBErr("live send jobs", rows.Err())
}

func (tx *Tx) ids(ctx context.Context, op, q string, args ...any) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDBErr(op, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrapDBErr(op, err)
		}
		ids = append(ids, id)
	}
	return ids, wrapDBErr(op, rows.Err())
}
