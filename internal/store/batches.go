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
}

// CreateBatch stores a new, empty send batch for provider.
func (tx *Tx) CreateBatch(ctx context.Context, provider, reference string) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, tx.db.q.createBatch, provider, reference, tx.db.now()).Scan(&id)
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
	err = tx.QueryRowContext(ctx, tx.db.q.claimBatch, id, leaseUntil, now).Scan(&b.ID, &b.Provider, &b.Reference, &b.Attempts)
	if err == nil {
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

// TakeOrphans finds batches whose lease ran out while they still have
// messages to send, a sign that the worker holding them died (a live worker
// always releases its lease, and finishes within it), and clears their
// lease so that exactly one caller re-enqueues each. It returns their ids.
func (tx *Tx) TakeOrphans(ctx context.Context, limit int) ([]int64, error) {
	now := tx.db.now()
	rows, err := tx.QueryContext(ctx, tx.db.q.orphanBatches, now, limit)
	if err != nil {
		return nil, wrapDBErr("find orphan batches", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, wrapDBErr("find orphan batches", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr("find orphan batches", err)
	}
	var taken []int64
	for _, id := range ids {
		res, err := tx.ExecContext(ctx, tx.db.q.takeOrphan, id, now)
		if err != nil {
			return nil, wrapDBErr("take orphan batch", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			taken = append(taken, id)
		}
	}
	return taken, nil
}
