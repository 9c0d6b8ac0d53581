package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

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

// ApplyImportChunk writes a chunk of imported contacts with a few set-based
// statements: contacts with the row's external id, or else its phone, are
// updated (fields merged, tags added, a non-empty name replaces the old);
// the others are inserted; all join the list. A row whose external id and
// phone name two different contacts is rejected ("phone_conflict"), as is
// one whose phone's contact has another external id
// ("external_id_conflict"). The rejects and, with an import record, its
// progress are written in the same transaction. counts is updated.
func (tx *Tx) ApplyImportChunk(ctx context.Context, ch ImportChunk, counts *ImportCounts) error {
	d, iq := tx.db.dialect, tx.db.iq()
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
		rows, err := tx.QueryContext(ctx, iq.existing, d.texts(phones), d.texts(exts))
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
	var updates, inserts []importRow
	var ids []int64
	taken := map[int64]bool{}
	var buf []byte
	for _, r := range ch.Rows {
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
		if target != 0 && taken[target] {
			rejects = append(rejects, ImportReject{Line: r.Line, Reason: "phone_conflict", Raw: r.Raw})
			continue
		}
		var row importRow
		row, buf = newImportRow(target, r, buf)
		if target != 0 {
			taken[target] = true
			updates = append(updates, row)
			ids = append(ids, target)
		} else {
			inserts = append(inserts, row)
		}
	}
	now := tx.db.now()
	if len(updates) > 0 {
		if err := tx.writeImported(ctx, iq.update, updates, now, true, nil); err != nil {
			return contactErr("import: update contacts", err)
		}
	}
	if len(inserts) > 0 {
		// The new ids are asked for only when the contacts join a list:
		// SQLite keeps the rows a statement returns until it ends.
		into := &ids
		if ch.ListID == nil {
			into = nil
		}
		if err := tx.writeImported(ctx, iq.insert, inserts, now, false, into); err != nil {
			return contactErr("import: insert contacts", err)
		}
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
		if _, err := tx.ExecContext(ctx, iq.rejects, append(rejectRows(d, rejects), ch.ImportID)...); err != nil {
			return wrapDBErr("import: rejects", err)
		}
	}
	by, _ := json.Marshal(counts.RejectedBy)
	_, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE imports SET rows_done = $2, bytes_done = $3, inserted = $4, updated = $5,
merged = $6, rejected = $7, rejected_by = $8, updated_at = $9 WHERE id = $1`),
		ch.ImportID, counts.Rows, counts.Bytes, counts.Inserted, counts.Updated, counts.Merged, counts.Rejects, string(by), now)
	return wrapDBErr("import: progress", err)
}

// importQueries are the statements ApplyImportChunk runs; sql_bulk_sqlite.go
// and sql_bulk_postgres.go hold one set each, under the same names.
type importQueries struct {
	// existing takes the chunk's phones and external ids (Dialect.texts) and
	// returns the contacts having either: id, phone, external id or ''.
	existing string
	// update and insert take importRow values (writeImported) and the time:
	// ?1 on SQLite, after the column arrays on PostgreSQL. insert returns
	// the new contacts' ids when its returning clause is added.
	update, insert rowsStatement
	// rejects takes rejectRows, then the import's id.
	rejects string
}

// rowsStatement is a statement over many rows. On a columnar dialect it is
// head alone, the rows bound as one array per column. On SQLite it is head,
// then row once per row (comma-separated), then tail: each value bound as a
// parameter of its own, read by SQLite without JSON to decode. Then come
// onConflict, if it is not left out (see writeImported), and returning, if
// the statement's rows are wanted.
type rowsStatement struct {
	head, row, tail       string
	onConflict, returning string
}

// text is the statement for n rows, with its conflict clause or not, with
// its returning clause or not.
func (q rowsStatement) text(n int, onConflict, returning bool) string {
	ret := ""
	if onConflict {
		ret = q.onConflict
	}
	if returning {
		ret += q.returning
	}
	if q.row == "" {
		return q.head + q.tail + ret
	}
	var b strings.Builder
	b.Grow(len(q.head) + n*(len(q.row)+1) + len(q.tail) + len(ret))
	b.WriteString(q.head)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q.row)
	}
	b.WriteString(q.tail)
	b.WriteString(ret)
	return b.String()
}

func (db *DB) iq() *importQueries {
	if db.dialect == SQLite {
		return &sqliteImport
	}
	return &postgresImport
}

// maxImportBatch is the most rows one SQLite statement of an import binds
// (9 parameters each, far below SQLite's 32766).
const maxImportBatch = 512

// importBatches splits n rows into the batch sizes SQLite's statements
// take: as many of maxImportBatch as fit, then powers of two. Only a few
// statement texts are ever prepared, and each is kept by the connection's
// statement cache.
func importBatches(n int) []int {
	var out []int
	for ; n >= maxImportBatch; n -= maxImportBatch {
		out = append(out, maxImportBatch)
	}
	for size := maxImportBatch / 2; size > 0; size /= 2 {
		if n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

// importRow is a contact to write, as its statement binds it.
type importRow struct {
	id                int64 // the contact updated; 0 for a new one
	name, phone, line string
	owner             int64  // 0: none
	ext               string // "": none
	fields, tags      string // JSON; "" when the row has none
}

// newImportRow encodes r, to update contact id (0: to insert it), using buf
// for the JSON of its fields and tags; it returns buf for the next row.
func newImportRow(id int64, r ImportRow, buf []byte) (importRow, []byte) {
	row := importRow{id: id, name: r.Name, phone: r.Phone, line: r.LineType, ext: r.ExternalID}
	if r.OwnerID != nil {
		row.owner = *r.OwnerID
	}
	if len(r.Fields) > 0 {
		buf = appendJSONObject(buf[:0], r.Fields)
		row.fields = string(buf)
	}
	if len(r.Tags) > 0 {
		buf = appendJSONArray(buf[:0], r.Tags)
		row.tags = string(buf)
	}
	return row, buf
}

// writeImported runs q over rows: keyed, each row binds its contact's id
// first (an update). With ids, q returns the ids of the rows it wrote, which
// are appended to ids. PostgreSQL takes all the rows at once, one array per
// column; SQLite a batch at a time (importBatches), each value a parameter.
//
// PostgreSQL runs an insert without its conflict clause first, in a
// savepoint: ON CONFLICT costs every row a speculative insertion (a fifth
// of the statement's time), and the rows to insert were found missing in
// this transaction, so only a contact created meanwhile by another one
// conflicts. Then the insert is run again, with its clause.
func (tx *Tx) writeImported(ctx context.Context, q rowsStatement, rows []importRow, now time.Time, keyed bool, ids *[]int64) error {
	run := func(text string, args []any) error {
		if ids == nil {
			_, err := tx.ExecContext(ctx, text, args...)
			return err
		}
		got, err := tx.ids(ctx, "import: write contacts", text, args...)
		*ids = append(*ids, got...)
		return err
	}
	if tx.db.dialect.columnar() {
		n := len(rows)
		cid, owner := make([]int64, n), make([]int64, n)
		name, phone, line, ext, fields, tags := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n)
		for i, r := range rows {
			cid[i], name[i], phone[i], line[i], owner[i], ext[i], fields[i], tags[i] =
				r.id, r.name, r.phone, r.line, r.owner, r.ext, r.fields, r.tags
		}
		args := []any{name, phone, line, owner, ext, fields, tags, now}
		if keyed {
			args = append([]any{cid}, args...)
		}
		if q.onConflict == "" {
			return run(q.text(n, false, ids != nil), args)
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT import_rows`); err != nil {
			return err
		}
		was := 0
		if ids != nil {
			was = len(*ids)
		}
		err := run(q.text(n, false, ids != nil), args)
		if err == nil {
			_, err = tx.ExecContext(ctx, `RELEASE SAVEPOINT import_rows`)
			return err
		}
		if !isUniqueViolation(err) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT import_rows`); err != nil {
			return err
		}
		if ids != nil {
			*ids = (*ids)[:was]
		}
		return run(q.text(n, true, ids != nil), args)
	}
	const perRow = 8
	args := make([]any, 0, 1+perRow*min(len(rows), maxImportBatch))
	for _, size := range importBatches(len(rows)) {
		args = append(args[:0], now)
		for _, r := range rows[:size] {
			var owner, ext, fields, tags any
			if r.owner != 0 {
				owner = r.owner
			}
			if r.ext != "" {
				ext = r.ext
			}
			if r.fields != "" {
				fields = r.fields
			}
			if r.tags != "" {
				tags = r.tags
			}
			if keyed {
				args = append(args, r.id)
			}
			args = append(args, r.name, r.phone, r.line, owner, ext, fields, tags)
		}
		if err := run(q.text(size, true, ids != nil), args); err != nil {
			return err
		}
		rows = rows[size:]
	}
	return nil
}

// rejectRows is the rows argument of the rejects statement: one JSON array
// of [row, reason, line] rows, or on a columnar dialect the three columns
// as arrays.
func rejectRows(d Dialect, rejects []ImportReject) []any {
	if d.columnar() {
		lines, reasons, raws := make([]int64, len(rejects)), make([]string, len(rejects)), make([]string, len(rejects))
		for i, r := range rejects {
			lines[i], reasons[i], raws[i] = int64(r.Line), r.Reason, r.Raw
		}
		return []any{lines, reasons, raws}
	}
	rows := make([][3]any, len(rejects))
	for i, r := range rejects {
		rows[i] = [3]any{r.Line, r.Reason, r.Raw}
	}
	return []any{jsonArray(rows)}
}

// appendJSONObject appends m as a JSON object, its keys sorted, as
// encoding/json writes it.
func appendJSONObject(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

// appendJSONArray appends s as a JSON array of strings.
func appendJSONArray(b []byte, s []string) []byte {
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD (as
// encoding/json does), everything else as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
