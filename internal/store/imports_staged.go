package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// BeginStagedImport gives an upload that waits for its column mapping
// (status uploading, its file whole) its options and list, and makes it
// pending inside tx, so that its job is enqueued in the same transaction.
// An import that is not waiting so is a conflict and changes nothing.
func (tx *Tx) BeginStagedImport(ctx context.Context, id int64, options json.RawMessage, listID *int64) error {
	res, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE imports SET status = 'pending', options = $2, list_id = $3, updated_at = $4
WHERE id = $1 AND status = 'uploading' AND size_bytes > 0`), id, string(options), listID, tx.db.now())
	if err != nil {
		return wrapDBErr("begin staged import", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindConflict, "import %d is not waiting for its columns", id)
	}
	return nil
}

// DeleteStagedImport removes an upload that waits for its column mapping,
// with its file. Any other import is a conflict and stays.
func (db *DB) DeleteStagedImport(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM imports WHERE id = $1 AND status = 'uploading'`), id)
	if err != nil {
		return wrapDBErr("delete staged import", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := db.GetImport(ctx, id); err != nil {
			return err
		}
		return sms.Errorf(sms.KindConflict, "import %d has started: it is kept", id)
	}
	return nil
}

// DeleteStaleUploads removes the uploads still waiting, for their column
// mapping or the rest of their file, since before before, with their files:
// uploads left behind keep no space for ever.
func (db *DB) DeleteStaleUploads(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM imports WHERE status = 'uploading' AND created_at < $1`), before.UTC())
	if err != nil {
		return 0, wrapDBErr("delete stale uploads", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
