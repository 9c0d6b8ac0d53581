package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// The statuses of an import.
const (
	ImportUploading = "uploading" // its file is arriving
	ImportPending   = "pending"   // waiting for its job
	ImportRunning   = "running"
	ImportDone      = "done"
	ImportFailed    = "failed"
)

// Import is a contact import and its progress.
type Import struct {
	ID         int64            `json:"id"`
	Status     string           `json:"status" enum:"uploading,pending,running,done,failed"`
	Filename   string           `json:"filename"`
	Options    json.RawMessage  `json:"options" doc:"The column mapping and list it was given"`
	ListID     *int64           `json:"list_id,omitempty"`
	SizeBytes  int64            `json:"size_bytes"`
	BytesDone  int64            `json:"bytes_done"`
	RowsDone   int64            `json:"rows_done" doc:"Data rows read so far (the header aside)"`
	Inserted   int64            `json:"inserted" doc:"New contacts"`
	Updated    int64            `json:"updated" doc:"Existing contacts updated (same external id, or same phone)"`
	Merged     int64            `json:"merged" doc:"Rows merged into an earlier row of the file with the same phone or external id"`
	Rejected   int64            `json:"rejected"`
	RejectedBy map[string]int64 `json:"rejected_by" doc:"Rejected rows by reason"`
	Error      string           `json:"error,omitempty"`
	CreatedBy  *int64           `json:"created_by,omitempty"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
	FinishedAt *time.Time       `json:"finished_at,omitempty"`
}

const importColumns = `id, status, filename, options, list_id, size_bytes, bytes_done, rows_done, inserted, updated,
	merged, rejected, rejected_by, error, created_by, created_at, updated_at, finished_at`

func scanImport(s scanner) (Import, error) {
	var im Import
	var opts, by string
	var list, creator sql.NullInt64
	var fin sql.NullTime
	err := s.Scan(&im.ID, &im.Status, &im.Filename, &opts, &list, &im.SizeBytes, &im.BytesDone, &im.RowsDone,
		&im.Inserted, &im.Updated, &im.Merged, &im.Rejected, &by, &im.Error, &creator, &im.CreatedAt, &im.UpdatedAt, &fin)
	if err != nil {
		return im, err
	}
	im.Options = json.RawMessage(opts)
	im.ListID, im.CreatedBy, im.FinishedAt = nullInt(list), nullInt(creator), nullTime(fin)
	im.CreatedAt, im.UpdatedAt = im.CreatedAt.UTC(), im.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(by), &im.RejectedBy); err != nil {
		return im, fmt.Errorf("import %d: %w", im.ID, err)
	}
	return im, nil
}

// CreateImport stores a new import in status uploading (or the status given).
func (db *DB) CreateImport(ctx context.Context, im Import) (Import, error) {
	now := db.now()
	if im.Status == "" {
		im.Status = ImportUploading
	}
	if len(im.Options) == 0 {
		im.Options = json.RawMessage("{}")
	}
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`INSERT INTO imports (status, filename, options, list_id, size_bytes, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`), im.Status, im.Filename, string(im.Options), im.ListID, im.SizeBytes, im.CreatedBy, now).Scan(&im.ID)
	if err != nil {
		return im, wrapDBErr("create import", err)
	}
	return db.GetImport(ctx, im.ID)
}

// GetImport returns one import.
func (db *DB) GetImport(ctx context.Context, id int64) (Import, error) {
	im, err := scanImport(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+importColumns+` FROM imports WHERE id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return im, sms.Errorf(sms.KindNotFound, "import %d not found", id)
	}
	return im, wrapDBErr("get import", err)
}

// ListImports returns the latest imports, newest first.
func (db *DB) ListImports(ctx context.Context, limit int) ([]Import, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+importColumns+` FROM imports ORDER BY id DESC LIMIT $1`), min(max(limit, 1), 1000))
	if err != nil {
		return nil, wrapDBErr("list imports", err)
	}
	defer rows.Close()
	out := []Import{}
	for rows.Next() {
		im, err := scanImport(rows)
		if err != nil {
			return nil, wrapDBErr("list imports", err)
		}
		out = append(out, im)
	}
	return out, wrapDBErr("list imports", rows.Err())
}

// AddImportChunk stores piece seq of an import's file.
func (db *DB) AddImportChunk(ctx context.Context, id int64, seq int, data []byte) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`INSERT INTO import_chunks (import_id, seq, data) VALUES ($1, $2, $3)`), id, seq, data)
	return wrapDBErr("store import chunk", err)
}

// ImportChunk returns piece seq of an import's file, or nil after the last.
func (db *DB) ImportChunk(ctx context.Context, id int64, seq int) ([]byte, error) {
	var data []byte
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT data FROM import_chunks WHERE import_id = $1 AND seq = $2`), id, seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return data, wrapDBErr("read import chunk", err)
}

// SetImportStatus moves an import to status (with its size, once uploaded)
// inside tx, so that its job is enqueued in the same transaction.
func (tx *Tx) SetImportStatus(ctx context.Context, id int64, status string, size int64) error {
	_, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE imports SET status = $2, size_bytes = CASE WHEN $3 > 0 THEN $3 ELSE size_bytes END, updated_at = $4 WHERE id = $1`),
		id, status, size, tx.db.now())
	return wrapDBErr("set import status", err)
}

// DeleteImport removes an import (an upload that failed) with its file.
func (db *DB) DeleteImport(ctx context.Context, id int64) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM imports WHERE id = $1`), id)
	return wrapDBErr("delete import", err)
}

// ClaimImport takes the lease of an import until leaseUntil and marks it
// running. ok is false when another run holds it or it is finished.
func (db *DB) ClaimImport(ctx context.Context, id int64, leaseUntil time.Time) (im Import, ok bool, err error) {
	now := db.now()
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE imports SET status = 'running', lease_until = $2, updated_at = $3
WHERE id = $1 AND status IN ('pending', 'running') AND (lease_until IS NULL OR lease_until < $3)`), id, leaseUntil, now)
	if err != nil {
		return im, false, wrapDBErr("claim import", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return im, false, nil
	}
	im, err = db.GetImport(ctx, id)
	return im, err == nil, err
}

// HandOverOrphanImports finds the running imports whose lease ran out,
// whose run died with its process (a crash, a kill -9) while holding it,
// clears their lease and returns their ids, inside tx, so that a new job
// for each is enqueued in the same transaction; an import handed over is
// not returned again unless its new run dies too. A lease given up by a
// live run (cleared as its job snoozes or waits to retry) is not one: that
// job goes on.
func (tx *Tx) HandOverOrphanImports(ctx context.Context) ([]int64, error) {
	return tx.ids(ctx, "orphan imports", tx.db.dialect.rebind(`UPDATE imports SET lease_until = NULL, updated_at = $1
WHERE status = 'running' AND lease_until < $1 RETURNING id`), tx.db.now())
}

// ReleaseImport gives up the lease of a running import.
func (db *DB) ReleaseImport(ctx context.Context, id int64) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE imports SET lease_until = NULL WHERE id = $1`), id)
	return wrapDBErr("release import", err)
}

// FinishImport ends an import as done or failed and drops its file; its
// rejected rows stay for download.
func (db *DB) FinishImport(ctx context.Context, id int64, status, errText string) error {
	return db.InTx(ctx, func(tx *Tx) error {
		now := db.now()
		if _, err := tx.ExecContext(ctx, db.dialect.rebind(`UPDATE imports SET status = $2, error = $3, lease_until = NULL, finished_at = $4, updated_at = $4 WHERE id = $1`),
			id, status, errText, now); err != nil {
			return wrapDBErr("finish import", err)
		}
		_, err := tx.ExecContext(ctx, db.dialect.rebind(`DELETE FROM import_chunks WHERE import_id = $1`), id)
		return wrapDBErr("finish import", err)
	})
}

// ImportRow is one contact read from a file, validated and normalised.
type ImportRow struct {
	Line       int // the row's number in the file, the header being row 1
	Name       string
	Phone      string // E.164
	LineType   string
	OwnerID    *int64
	ExternalID string
	Fields     map[string]string
	Tags       []string
	Raw        string // the row as CSV, for the rejected file
}

// ImportReject is a row refused, with its reason.
type ImportReject struct {
	Line   int
	Reason string
	Raw    string
}

// ImportCounts are an import's running totals.
type ImportCounts struct {
	Rows, Bytes                        int64
	Inserted, Updated, Merged, Rejects int64
	RejectedBy                         map[string]int64
}

// ImportChunk is one chunk of rows to write.
type ImportChunk struct {
	ImportID int64  // 0: no import record (progress is not stored)
	ListID   *int64 // the list the contacts join, if any
	Rows     []ImportRow
	Rejects  []ImportReject
	Merged   int   // rows of this chunk merged into others
	RowsRead int64 // data rows read up to the end of this chunk
	Bytes    int64 // bytes read up to the end of this chunk
}

type importJSON struct {
	ID     int64             `json:"id,omitempty"`
	Name   string            `json:"n"`
	Phone  string            `json:"p"`
	Line   string            `json:"l"`
	Owner  *int64            `json:"o,omitempty"`
	Ext    *string           `json:"x,omitempty"`
	Fields map[string]string `json:"f,omitempty"`
	Tags   []string          `json:"t,omitempty"`
}

// ApplyImportChunk writes a chunk of imported contacts with a few set-based
// statements: contacts with the row's external id, or else its phone, are
// updated (fields merged, tags added, a non-empty name replaces the old);
// the others are inserted; all join the list. A row whose external id and
// phone name two different contacts is rejected ("phone_conflict"), as is
// one whose phone's contact has another external id
// ("external_id_conflict"). The rejects and, with an import record, its
// progress are written in the same transaction. counts is updated.
func (tx *Tx) ApplyImportChunk(ctx context.Context, ch ImportChunk, counts *ImportCounts) error {
	bq := tx.db.bq()
	phones := make([]string, 0, len(ch.Rows))
	exts := []string{}
	for _, r := range ch.Rows {
		phones = append(phones, r.Phone)
		if r.ExternalID != "" {
			exts = append(exts, r.ExternalID)
		}
	}
	type existing struct {
		id         int64
		phone, ext string
	}
	byPhone, byExt := map[string]existing{}, map[string]existing{}
	if len(ch.Rows) > 0 {
		rows, err := tx.QueryContext(ctx, bq.existingForImport, jsonArray(phones), jsonArray(exts))
		if err != nil {
			return wrapDBErr("import: existing contacts", err)
		}
		for rows.Next() {
			var e existing
			if err := rows.Scan(&e.id, &e.phone, &e.ext); err != nil {
				rows.Close()
				return wrapDBErr("import: existing contacts", err)
			}
			byPhone[e.phone] = e
			if e.ext != "" {
				byExt[e.ext] = e
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrapDBErr("import: existing contacts", err)
		}
	}
	rejects := ch.Rejects
	var updates, inserts []importJSON
	var ids []int64
	taken := map[int64]bool{}
	for _, r := range ch.Rows {
		j := importJSON{Name: r.Name, Phone: r.Phone, Line: r.LineType, Owner: r.OwnerID, Fields: r.Fields, Tags: r.Tags}
		if r.ExternalID != "" {
			x := r.ExternalID
			j.Ext = &x
		}
		target := int64(0)
		if e, ok := byExt[r.ExternalID]; ok && r.ExternalID != "" {
			if p, ok := byPhone[r.Phone]; ok && p.id != e.id {
				rejects = append(rejects, ImportReject{Line: r.Line, Reason: "phone_conflict", Raw: r.Raw})
				continue
			}
			target = e.id
		} else if p, ok := byPhone[r.Phone]; ok {
			if r.ExternalID != "" && p.ext != "" && p.ext != r.ExternalID {
				rejects = append(rejects, ImportReject{Line: r.Line, Reason: "external_id_conflict", Raw: r.Raw})
				continue
			}
			target = p.id
		}
		if target != 0 {
			if taken[target] {
				rejects = append(rejects, ImportReject{Line: r.Line, Reason: "phone_conflict", Raw: r.Raw})
				continue
			}
			taken[target] = true
			j.ID = target
			updates = append(updates, j)
			ids = append(ids, target)
		} else {
			inserts = append(inserts, j)
		}
	}
	now := tx.db.now()
	if len(updates) > 0 {
		if _, err := tx.ExecContext(ctx, bq.updateImported, jsonArray(updates), now); err != nil {
			return contactErr("import: update contacts", err)
		}
	}
	if len(inserts) > 0 {
		got, err := tx.ids(ctx, "import: insert contacts", bq.insertImported, jsonArray(inserts), now)
		if err != nil {
			return contactErr("import: insert contacts", err)
		}
		ids = append(ids, got...)
	}
	if ch.ListID != nil {
		if err := tx.AddMembers(ctx, *ch.ListID, ids); err != nil {
			return err
		}
	}
	counts.Rows, counts.Bytes = ch.RowsRead, ch.Bytes
	counts.Inserted += int64(len(inserts))
	counts.Updated += int64(len(updates))
	counts.Merged += int64(ch.Merged)
	counts.Rejects += int64(len(rejects))
	if counts.RejectedBy == nil {
		counts.RejectedBy = map[string]int64{}
	}
	for _, r := range rejects {
		counts.RejectedBy[r.Reason]++
	}
	if ch.ImportID == 0 {
		return nil
	}
	if len(rejects) > 0 {
		rows := make([][3]any, len(rejects))
		for i, r := range rejects {
			rows[i] = [3]any{r.Line, r.Reason, r.Raw}
		}
		if _, err := tx.ExecContext(ctx, bq.insertRejects, jsonArray(rows), ch.ImportID); err != nil {
			return wrapDBErr("import: rejects", err)
		}
	}
	by, _ := json.Marshal(counts.RejectedBy)
	_, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE imports SET rows_done = $2, bytes_done = $3, inserted = $4, updated = $5,
merged = $6, rejected = $7, rejected_by = $8, updated_at = $9 WHERE id = $1`),
		ch.ImportID, counts.Rows, counts.Bytes, counts.Inserted, counts.Updated, counts.Merged, counts.Rejects, string(by), now)
	return wrapDBErr("import: progress", err)
}

// ImportRejects returns an import's rejected rows after row number after, in
// order, at most limit.
func (db *DB) ImportRejects(ctx context.Context, id int64, after, limit int) ([]ImportReject, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT row_num, reason, line FROM import_rejects
WHERE import_id = $1 AND row_num > $2 ORDER BY row_num LIMIT $3`), id, after, limit)
	if err != nil {
		return nil, wrapDBErr("import rejects", err)
	}
	defer rows.Close()
	var out []ImportReject
	for rows.Next() {
		var r ImportReject
		if err := rows.Scan(&r.Line, &r.Reason, &r.Raw); err != nil {
			return nil, wrapDBErr("import rejects", err)
		}
		out = append(out, r)
	}
	return out, wrapDBErr("import rejects", rows.Err())
}
