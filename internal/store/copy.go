package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// CopyReport says what CopyTo carried over.
type CopyReport struct {
	// Tables are the tables copied, in the order they were, with their rows.
	Tables []TableCopy
	// Jobs are the queue jobs carried over (waiting, scheduled, retrying,
	// or running when the source stopped, which wait to run again).
	Jobs int
	// JobsLeft are the jobs left behind: finished ones (bookkeeping only)
	// and periodic ones, which the new database's leader enqueues anew.
	JobsLeft int
}

// TableCopy is one table copied.
type TableCopy struct {
	Name string
	Rows int64
}

// CopyProgress is told, after each batch, how far the copy of a table is.
type CopyProgress func(table string, done, total int64)

// queueTables are River's own tables: the queue's schema is made on the
// destination by its migrations, and its jobs are carried over by
// copyJobs, not as rows.
func isQueueTable(name string) bool {
	return strings.HasPrefix(name, "river_") || name == "goose_db_version"
}

// CopyTo copies every Recado table of db, a SQLite database, into dst, an
// empty PostgreSQL database migrated to the same schema version (and with
// the queue's tables: dispatch.MigrateQueue), in one transaction: if
// anything fails, dst is left empty. Tables go parents first (their
// foreign keys decide), rows in primary-key order, in batches of batch rows
// through PostgreSQL's COPY; values are converted to the destination's
// column types (SQLite's 0/1 to booleans, its time text to timestamps).
// Each identity sequence is then moved past the largest id copied, so new
// rows get new ids; and the queue's jobs still to run are carried over
// with their schedule and attempts (see CopyReport). Recado must not be
// running on db meanwhile.
func (db *DB) CopyTo(ctx context.Context, dst *DB, batch int, progress CopyProgress) (CopyReport, error) {
	var rep CopyReport
	if db.dialect != SQLite || dst.dialect != Postgres {
		return rep, errors.New("store: copy: from SQLite to PostgreSQL only")
	}
	if batch <= 0 {
		batch = 5000
	}
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if err := sameSchema(ctx, db, dst); err != nil {
		return rep, err
	}
	tables, err := dst.copyOrder(ctx)
	if err != nil {
		return rep, err
	}
	for _, t := range tables {
		var n int64
		if err := dst.read.QueryRowContext(ctx, `SELECT count(*) FROM `+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return rep, fmt.Errorf("store: copy: count %s: %w", t, err)
		}
		if n > 0 {
			return rep, fmt.Errorf("store: copy: the destination is not empty (%s has %d rows); give it a new database", t, n)
		}
	}
	conn, err := dst.write.Conn(ctx)
	if err != nil {
		return rep, wrapDBErr("copy", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		for _, t := range tables {
			n, err := db.copyTable(ctx, tx, t, batch, progress)
			if err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			rep.Tables = append(rep.Tables, TableCopy{Name: t, Rows: n})
		}
		if err := advanceSequences(ctx, tx); err != nil {
			return err
		}
		if rep.Jobs, rep.JobsLeft, err = db.copyJobs(ctx, tx); err != nil {
			return fmt.Errorf("queue jobs: %w", err)
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return CopyReport{}, fmt.Errorf("store: copy: %w", err)
	}
	return rep, nil
}

// sameSchema fails unless both databases have the same migrations applied.
func sameSchema(ctx context.Context, a, b *DB) error {
	version := func(d *DB) (int64, error) {
		list, err := d.MigrationStatus(ctx)
		if err != nil {
			return 0, err
		}
		var v int64
		for _, m := range list {
			if m.State == "applied" {
				v = max(v, m.Source.Version)
			}
		}
		return v, nil
	}
	va, err := version(a)
	if err != nil {
		return fmt.Errorf("store: copy: schema of the source: %w", err)
	}
	vb, err := version(b)
	if err != nil {
		return fmt.Errorf("store: copy: schema of the destination: %w", err)
	}
	if va != vb {
		return fmt.Errorf("store: copy: the source is at schema version %d and the destination at %d; migrate both with this recado", va, vb)
	}
	return nil
}

// copyOrder lists Recado's tables of a PostgreSQL database, each after the
// tables its foreign keys point to.
func (db *DB) copyOrder(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, wrapDBErr("copy: tables", err)
	}
	var all []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, wrapDBErr("copy: tables", err)
		}
		if !isQueueTable(t) {
			all = append(all, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr("copy: tables", err)
	}
	deps := map[string][]string{}
	rows, err = db.read.QueryContext(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, wrapDBErr("copy: foreign keys", err)
	}
	defer rows.Close()
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, wrapDBErr("copy: foreign keys", err)
		}
		if child != parent {
			deps[child] = append(deps[child], parent)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr("copy: foreign keys", err)
	}
	var order []string
	done := map[string]bool{}
	for len(order) < len(all) {
		progressed := false
		for _, t := range all {
			if done[t] || slices.ContainsFunc(deps[t], func(p string) bool { return !done[p] && slices.Contains(all, p) }) {
				continue
			}
			done[t] = true
			order = append(order, t)
			progressed = true
		}
		if !progressed {
			return nil, errors.New("store: copy: the tables' foreign keys go round in a circle")
		}
	}
	return order, nil
}

// pgColumn is a destination column: its name and type.
type pgColumn struct{ name, typ string }

// copyTable copies one table in batches, returning its rows.
func (db *DB) copyTable(ctx context.Context, tx pgx.Tx, table string, batch int, progress CopyProgress) (int64, error) {
	dst, err := destColumns(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	src, pk, err := db.sqliteColumns(ctx, table)
	if err != nil {
		return 0, err
	}
	var cols []pgColumn
	var names []string
	for _, c := range dst {
		if slices.Contains(src, c.name) {
			cols = append(cols, c)
			names = append(names, c.name)
		}
	}
	if len(cols) == 0 {
		return 0, nil
	}
	var total int64
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM "`+table+`"`).Scan(&total); err != nil {
		return 0, wrapDBErr("copy: count "+table, err)
	}
	q := `SELECT "` + strings.Join(names, `", "`) + `" FROM "` + table + `"`
	if len(pk) > 0 {
		q += ` ORDER BY "` + strings.Join(pk, `", "`) + `"`
	}
	rows, err := db.read.QueryContext(ctx, q)
	if err != nil {
		return 0, wrapDBErr("copy: read "+table, err)
	}
	defer rows.Close()
	var done int64
	buf := make([][]any, 0, batch)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromRows(buf)); err != nil {
			return err
		}
		done += int64(len(buf))
		buf = buf[:0]
		progress(table, done, total)
		return nil
	}
	progress(table, 0, total)
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return done, err
		}
		for i, c := range cols {
			if vals[i], err = convertFor(c.typ, vals[i]); err != nil {
				return done, fmt.Errorf("column %s: %w", c.name, err)
			}
		}
		buf = append(buf, vals)
		if len(buf) == batch {
			if err := flush(); err != nil {
				return done, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return done, err
	}
	return done, flush()
}

func destColumns(ctx context.Context, tx pgx.Tx, table string) ([]pgColumn, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pgColumn
	for rows.Next() {
		var c pgColumn
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// sqliteColumns returns the columns of a SQLite table and its primary key's.
func (db *DB) sqliteColumns(ctx context.Context, table string) (cols, pk []string, err error) {
	rows, err := db.read.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?1) ORDER BY pk, cid`, table)
	if err != nil {
		return nil, nil, wrapDBErr("copy: columns of "+table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var k int
		if err := rows.Scan(&name, &k); err != nil {
			return nil, nil, err
		}
		cols = append(cols, name)
		if k > 0 {
			pk = append(pk, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("store: copy: the source has no table %s; is it a Recado database at this version?", table)
	}
	return cols, pk, nil
}

// sqliteTimes are the ways SQLite text holds a time: the store's own
// (_time_format=sqlite), River's, and RFC 3339.
var sqliteTimes = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02"}

// convertFor turns a value read from SQLite into one PostgreSQL takes in a
// column of type typ.
func convertFor(typ string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case "timestamp with time zone", "timestamp without time zone":
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			for _, layout := range sqliteTimes {
				if t, err := time.Parse(layout, x); err == nil {
					return t.UTC(), nil
				}
			}
			return nil, fmt.Errorf("unreadable time %q", x)
		case int64:
			return time.Unix(x, 0).UTC(), nil
		}
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case float64:
			return int64(x), nil
		case bool:
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "text", "character varying":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case time.Time:
			return x.UTC().Format(time.RFC3339Nano), nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("cannot store a %T in a %s column", v, typ)
}

// advanceSequences moves each identity column's sequence past the largest
// value copied.
func advanceSequences(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`)
	if err != nil {
		return err
	}
	type col struct{ table, column string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column); err != nil {
			rows.Close()
			return err
		}
		if !isQueueTable(c.table) {
			cols = append(cols, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range cols {
		t, k := pgx.Identifier{c.table}.Sanitize(), pgx.Identifier{c.column}.Sanitize()
		_, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(`+k+`) FROM `+t+`), 1),
(SELECT max(`+k+`) IS NOT NULL FROM `+t+`))`, c.table, c.column)
		if err != nil {
			return fmt.Errorf("sequence of %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// copyJobs carries the queue's jobs still to run from SQLite to
// PostgreSQL, keeping their kind, arguments, queue, priority, attempts,
// errors and schedule; a job that was running when the source stopped
// waits to run again. Periodic jobs (the leader enqueues them anew) and
// finished ones stay behind. A unique job loses its uniqueness: Recado's
// only unique jobs are the periodic ones.
func (db *DB) copyJobs(ctx context.Context, tx pgx.Tx) (moved, left int, err error) {
	var all int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&all); err != nil {
		return 0, 0, wrapDBErr("copy: jobs", err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT kind, json(args), attempt, max_attempts, priority, queue, state,
scheduled_at, created_at, attempted_at, json(metadata), json(tags), json(errors) FROM river_job
WHERE state IN ('available', 'scheduled', 'retryable', 'pending', 'running')
  AND coalesce(json_extract(metadata, '$.periodic'), 0) = 0 ORDER BY id`)
	if err != nil {
		return 0, 0, wrapDBErr("copy: jobs", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, args, queue, state, metadata, tags string
		var errs sql.NullString
		var attempt, maxAttempts, priority int
		var scheduled, created, attempted any
		if err := rows.Scan(&kind, &args, &attempt, &maxAttempts, &priority, &queue, &state, &scheduled, &created, &attempted,
			&metadata, &tags, &errs); err != nil {
			return moved, 0, err
		}
		if state == "running" {
			state = "available"
		}
		var at [3]any
		for i, v := range []any{scheduled, created, attempted} {
			if at[i], err = convertFor("timestamp with time zone", v); err != nil {
				return moved, 0, err
			}
		}
		if !json.Valid([]byte(tags)) {
			tags = "[]"
		}
		var errsJSON any
		if errs.Valid {
			errsJSON = errs.String
		}
		_, err = tx.Exec(ctx, `INSERT INTO river_job (kind, args, attempt, max_attempts, priority, queue, state, scheduled_at,
created_at, attempted_at, metadata, tags, errors)
VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7::river_job_state, $8, $9, $10, $11::jsonb,
  ARRAY(SELECT jsonb_array_elements_text($12::jsonb))::varchar(255)[],
  CASE WHEN $13::jsonb IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements($13::jsonb)) END)`,
			kind, args, attempt, maxAttempts, priority, queue, state, at[0], at[1], at[2], metadata, tags, errsJSON)
		if err != nil {
			return moved, 0, fmt.Errorf("job of kind %s: %w", kind, err)
		}
		moved++
	}
	return moved, all - moved, rows.Err()
}
