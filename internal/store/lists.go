package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// bulkQueries are the statements of lists, filters and campaigns that
// differ by dialect (sql_bulk_sqlite.go, sql_bulk_postgres.go); imports
// have theirs in importQueries.
type bulkQueries struct {
	tagHas, fieldValue, like string

	addMembers, removeMembers, countContactIDs string

	campaignQueries
}

func (db *DB) bq() *bulkQueries {
	if db.dialect == SQLite {
		return &sqliteBulk
	}
	return &postgresBulk
}

// List is a named list of contacts.
type List struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Members     int64     `json:"members" doc:"How many contacts it holds"`
	CreatedBy   *int64    `json:"created_by,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

const listColumns = `l.id, l.name, l.description, (SELECT count(*) FROM list_members m WHERE m.list_id = l.id),
	l.created_by, l.created_at, l.updated_at`

func scanList(s scanner) (List, error) {
	var l List
	var by sql.NullInt64
	err := s.Scan(&l.ID, &l.Name, &l.Description, &l.Members, &by, &l.CreatedAt, &l.UpdatedAt)
	l.CreatedBy = nullInt(by)
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, err
}

func nameTaken(err error, name string) error {
	if isUniqueViolation(err) {
		return sms.Invalid("name taken", sms.FieldError{Field: "name", Message: "already in use", Value: name})
	}
	return nil
}

// CreateList stores a new list; its name must be unused.
func (db *DB) CreateList(ctx context.Context, name, description string, by *int64) (List, error) {
	now := db.now()
	var id int64
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`INSERT INTO lists (name, description, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4) RETURNING id`), name, description, by, now).Scan(&id)
	if err != nil {
		if e := nameTaken(err, name); e != nil {
			return List{}, e
		}
		return List{}, wrapDBErr("create list", err)
	}
	return db.GetList(ctx, id)
}

// ListByName returns the list named name.
func (db *DB) ListByName(ctx context.Context, name string) (List, error) {
	l, err := scanList(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+listColumns+` FROM lists l WHERE l.name = $1`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return l, sms.Errorf(sms.KindNotFound, "no list named %q", name)
	}
	return l, wrapDBErr("list by name", err)
}

// GetList returns one list with its member count.
func (db *DB) GetList(ctx context.Context, id int64) (List, error) {
	l, err := scanList(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+listColumns+` FROM lists l WHERE l.id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, sms.Errorf(sms.KindNotFound, "list %d not found", id)
	}
	return l, wrapDBErr("get list", err)
}

// Lists returns every list, by name.
func (db *DB) Lists(ctx context.Context) ([]List, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+listColumns+` FROM lists l ORDER BY lower(l.name), l.id`)
	if err != nil {
		return nil, wrapDBErr("lists", err)
	}
	defer rows.Close()
	out := []List{}
	for rows.Next() {
		l, err := scanList(rows)
		if err != nil {
			return nil, wrapDBErr("lists", err)
		}
		out = append(out, l)
	}
	return out, wrapDBErr("lists", rows.Err())
}

// UpdateList renames a list or changes its description.
func (db *DB) UpdateList(ctx context.Context, id int64, name, description string) (List, error) {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE lists SET name = $2, description = $3, updated_at = $4 WHERE id = $1`),
		id, name, description, db.now())
	if err != nil {
		if e := nameTaken(err, name); e != nil {
			return List{}, e
		}
		return List{}, wrapDBErr("update list", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return List{}, sms.Errorf(sms.KindNotFound, "list %d not found", id)
	}
	return db.GetList(ctx, id)
}

// DeleteList removes a list; its contacts stay.
func (db *DB) DeleteList(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM lists WHERE id = $1`), id)
	if err != nil {
		return wrapDBErr("delete list", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "list %d not found", id)
	}
	return nil
}

// ChangeMembers adds contacts to list id and removes others, in one
// transaction. Unknown contacts are an invalid-input error and change nothing.
func (db *DB) ChangeMembers(ctx context.Context, id int64, add, remove []int64) error {
	return db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.lockList(ctx, id); err != nil {
			return err
		}
		if len(add) > 0 {
			var n int
			err := tx.QueryRowContext(ctx, tx.db.bq().countContactIDs, jsonArray(add)).Scan(&n)
			if err != nil {
				return wrapDBErr("add members", err)
			}
			if n != len(dedupIDs(add)) {
				return sms.Invalid("unknown contacts", sms.FieldError{Field: "add", Message: "every id must name a contact"})
			}
			if err := tx.AddMembers(ctx, id, add); err != nil {
				return err
			}
		}
		if len(remove) > 0 {
			if _, err := tx.ExecContext(ctx, tx.db.bq().removeMembers, jsonArray(remove), id); err != nil {
				return wrapDBErr("remove members", err)
			}
		}
		return nil
	})
}

func (tx *Tx) lockList(ctx context.Context, id int64) (int64, error) {
	var got int64
	err := tx.QueryRowContext(ctx, tx.db.dialect.rebind(`SELECT id FROM lists WHERE id = $1`+tx.db.q.forUpdate), id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, sms.Errorf(sms.KindNotFound, "list %d not found", id)
	}
	return got, wrapDBErr("lock list", err)
}

// AddMembers puts contacts in a list, in one statement; those already in it
// stay once.
func (tx *Tx) AddMembers(ctx context.Context, listID int64, contactIDs []int64) error {
	if len(contactIDs) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.db.bq().addMembers, tx.db.dialect.ids(contactIDs), listID); err != nil {
		return wrapDBErr("add members", err)
	}
	return nil
}

func dedupIDs(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Segment is a saved filter over contacts.
type Segment struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Filter      sms.Filter `json:"filter"`
	CreatedBy   *int64     `json:"created_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

const segmentColumns = `id, name, description, filter, created_by, created_at, updated_at`

func scanSegment(s scanner) (Segment, error) {
	var g Segment
	var by sql.NullInt64
	var filter string
	if err := s.Scan(&g.ID, &g.Name, &g.Description, &filter, &by, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return g, err
	}
	g.CreatedBy = nullInt(by)
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(filter), &g.Filter); err != nil {
		return g, fmt.Errorf("segment %d filter: %w", g.ID, err)
	}
	return g, nil
}

// SaveSegment creates a segment (ID 0) or replaces one; its filter must
// be valid (sms.Filter.Validate) and its name unused.
func (db *DB) SaveSegment(ctx context.Context, g Segment) (Segment, error) {
	filter, _ := json.Marshal(g.Filter)
	now := db.now()
	var err error
	if g.ID == 0 {
		err = db.write.QueryRowContext(ctx, db.dialect.rebind(`INSERT INTO segments (name, description, filter, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $5) RETURNING id`), g.Name, g.Description, string(filter), g.CreatedBy, now).Scan(&g.ID)
	} else {
		var res sql.Result
		res, err = db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE segments SET name = $2, description = $3, filter = $4, updated_at = $5 WHERE id = $1`),
			g.ID, g.Name, g.Description, string(filter), now)
		if err == nil {
			if n, _ := res.RowsAffected(); n == 0 {
				return g, sms.Errorf(sms.KindNotFound, "segment %d not found", g.ID)
			}
		}
	}
	if err != nil {
		if e := nameTaken(err, g.Name); e != nil {
			return g, e
		}
		return g, wrapDBErr("save segment", err)
	}
	return db.GetSegment(ctx, g.ID)
}

// GetSegment returns one segment.
func (db *DB) GetSegment(ctx context.Context, id int64) (Segment, error) {
	g, err := scanSegment(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+segmentColumns+` FROM segments WHERE id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return g, sms.Errorf(sms.KindNotFound, "segment %d not found", id)
	}
	return g, wrapDBErr("get segment", err)
}

// Segments returns every segment, by name.
func (db *DB) Segments(ctx context.Context) ([]Segment, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+segmentColumns+` FROM segments ORDER BY lower(name), id`)
	if err != nil {
		return nil, wrapDBErr("segments", err)
	}
	defer rows.Close()
	out := []Segment{}
	for rows.Next() {
		g, err := scanSegment(rows)
		if err != nil {
			return nil, wrapDBErr("segments", err)
		}
		out = append(out, g)
	}
	return out, wrapDBErr("segments", rows.Err())
}

// DeleteSegment removes a segment.
func (db *DB) DeleteSegment(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM segments WHERE id = $1`), id)
	if err != nil {
		return wrapDBErr("delete segment", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "segment %d not found", id)
	}
	return nil
}

// argList numbers the arguments of a query as they are added.
type argList struct{ args []any }

func (a *argList) add(v any) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args))
}

// filterSQL compiles f into a condition on contacts aliased c. Every value is
// a placeholder; the SQL text comes only from the fixed fragments here and in
// the dialect files. f must be valid.
func (db *DB) filterSQL(f sms.Filter, a *argList, now time.Time) string {
	if len(f.Conditions) == 0 {
		return "TRUE"
	}
	bq := db.bq()
	parts := make([]string, 0, len(f.Conditions))
	for _, c := range f.Conditions {
		parts = append(parts, "("+db.conditionSQL(bq, c, a, now)+")")
	}
	join := " AND "
	if f.Match == "any" {
		join = " OR "
	}
	return strings.Join(parts, join)
}

func (db *DB) conditionSQL(bq *bulkQueries, c sms.Condition, a *argList, now time.Time) string {
	text := func(col string) string {
		switch c.Op {
		case "eq":
			return "lower(" + col + ") = lower(" + a.add(c.Value) + ")"
		case "neq":
			return "lower(" + col + ") <> lower(" + a.add(c.Value) + ")"
		case "contains":
			return fmt.Sprintf(bq.like, col, a.add("%"+escapeLike(c.Value)+"%"))
		case "starts_with":
			return fmt.Sprintf(bq.like, col, a.add(escapeLike(c.Value)+"%"))
		case "empty":
			return col + " = ''"
		default: // not_empty
			return col + " <> ''"
		}
	}
	at := func() time.Time {
		t, _ := sms.ParseFilterTime(c.Value)
		return t.UTC()
	}
	if key, ok := strings.CutPrefix(c.Field, "field."); ok {
		arg := key
		if db.dialect == SQLite {
			arg = sqliteFieldPath(key)
		}
		return text(fmt.Sprintf(bq.fieldValue, a.add(arg)))
	}
	switch c.Field {
	case "name":
		return text("c.name")
	case "phone":
		return text("c.phone")
	case "external_id":
		return text("coalesce(c.external_id, '')")
	case "opted_out", "deceased":
		return "c." + c.Field + " = " + a.add(c.Value == "true")
	case "owner":
		switch c.Op {
		case "empty":
			return "c.owner_id IS NULL"
		case "not_empty":
			return "c.owner_id IS NOT NULL"
		}
		id, _ := strconv.ParseInt(c.Value, 10, 64)
		return "c.owner_id = " + a.add(id)
	case "tag":
		has := fmt.Sprintf(bq.tagHas, a.add(c.Value))
		if c.Op == "not_has" {
			return "NOT " + has
		}
		return has
	case "list":
		id, _ := strconv.ParseInt(c.Value, 10, 64)
		in := "EXISTS (SELECT 1 FROM list_members lm WHERE lm.list_id = " + a.add(id) + " AND lm.contact_id = c.id)"
		if c.Op == "not_in" {
			return "NOT " + in
		}
		return in
	case "replied":
		days, _ := strconv.Atoi(c.Value)
		replied := "EXISTS (SELECT 1 FROM messages rm WHERE rm.contact_id = c.id AND rm.direction = 'inbound' AND rm.created_at >= " +
			a.add(now.Add(-time.Duration(days)*24*time.Hour)) + ")"
		if c.Op == "not_within_days" {
			return "NOT " + replied
		}
		return replied
	case "last_sms":
		switch c.Op {
		case "never":
			return "c.last_sms_at IS NULL"
		case "before":
			return "c.last_sms_at < " + a.add(at())
		}
		return "c.last_sms_at >= " + a.add(at())
	case "created":
		if c.Op == "before" {
			return "c.created_at < " + a.add(at())
		}
		return "c.created_at >= " + a.add(at())
	}
	return "FALSE" // unreachable for a valid filter
}

// contactScope adds the tag, list and filter conditions of f to a query on
// contacts aliased c.
func (db *DB) contactScope(f ContactFilter, where []string, a *argList) []string {
	if f.Tag != "" {
		where = append(where, fmt.Sprintf(db.bq().tagHas, a.add(f.Tag)))
	}
	if f.ListID != 0 {
		where = append(where, "EXISTS (SELECT 1 FROM list_members lm WHERE lm.list_id = "+a.add(f.ListID)+" AND lm.contact_id = c.id)")
	}
	if f.Filter != nil {
		where = append(where, "("+db.filterSQL(*f.Filter, a, db.now())+")")
	}
	return where
}

// CountContacts counts the contacts f selects (Query, Before and Limit
// aside).
func (db *DB) CountContacts(ctx context.Context, f ContactFilter) (int64, error) {
	a := &argList{}
	where := db.contactScope(f, []string{"TRUE"}, a)
	var n int64
	err := db.read.QueryRowContext(ctx, db.dialect.rebind("SELECT count(*) FROM contacts c WHERE "+strings.Join(where, " AND ")), a.args...).Scan(&n)
	return n, wrapDBErr("count contacts", err)
}
