package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

const contactColumns = `id, name, phone, line_type, owner_id, fields, tags, opted_out, deceased,
	sms_total, sms_sent, sms_received, last_sms_at, created_at, updated_at, external_id`

func scanContact(s scanner) (sms.Contact, error) {
	var c sms.Contact
	var owner sql.NullInt64
	var fields, tags string
	var last sql.NullTime
	var ext sql.NullString
	err := s.Scan(&c.ID, &c.Name, &c.Phone, &c.LineType, &owner, &fields, &tags, &c.OptedOut, &c.Deceased,
		&c.Stats.Total, &c.Stats.Sent, &c.Stats.Received, &last, &c.CreatedAt, &c.UpdatedAt, &ext)
	if err != nil {
		return c, err
	}
	c.OwnerID = nullInt(owner)
	c.ExternalID = ext.String
	c.Stats.LastSMSAt = nullTime(last)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
		return c, fmt.Errorf("contact %d fields: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(tags), &c.Tags); err != nil {
		return c, fmt.Errorf("contact %d tags: %w", c.ID, err)
	}
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	return c, nil
}

func contactErr(op string, err error) error {
	if isUniqueViolation(err) {
		if strings.Contains(err.Error(), "external_id") {
			return &sms.Error{Kind: sms.KindConflict, Message: "a contact with this external id already exists", Err: err}
		}
		return &sms.Error{Kind: sms.KindConflict, Message: "a contact with this phone already exists", Err: err}
	}
	if isForeignKeyViolation(err) {
		return sms.Invalid("the owner does not exist", sms.FieldError{Field: "owner_id", Message: "no such user"})
	}
	return wrapDBErr(op, err)
}

func isForeignKeyViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "FOREIGN KEY constraint failed") || strings.Contains(s, "SQLSTATE 23503")
}

// CreateContact stores a new contact; its phone must be E.164 and unused.
func (db *DB) CreateContact(ctx context.Context, c sms.Contact) (sms.Contact, error) {
	now := db.now()
	fields, tags := marshalFieldsTags(c)
	var id int64
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`
INSERT INTO contacts (name, phone, line_type, owner_id, fields, tags, opted_out, deceased, created_at, updated_at, external_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING id`),
		c.Name, c.Phone, c.LineType, c.OwnerID, fields, tags, c.OptedOut, c.Deceased, now, nullString(c.ExternalID)).Scan(&id)
	if err != nil {
		return c, contactErr("create contact", err)
	}
	return db.GetContact(ctx, id)
}

func marshalFieldsTags(c sms.Contact) (string, string) {
	if c.Fields == nil {
		c.Fields = map[string]string{}
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	f, _ := json.Marshal(c.Fields)
	t, _ := json.Marshal(c.Tags)
	return string(f), string(t)
}

// GetContact returns one contact.
func (db *DB) GetContact(ctx context.Context, id int64) (sms.Contact, error) {
	c, err := scanContact(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+contactColumns+` FROM contacts WHERE id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, sms.Errorf(sms.KindNotFound, "contact %d not found", id)
	}
	if err != nil {
		return c, wrapDBErr("get contact", err)
	}
	return c, nil
}

// ContactByPhone returns the contact with an E.164 phone.
func (db *DB) ContactByPhone(ctx context.Context, phone string) (sms.Contact, error) {
	c, err := scanContact(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+contactColumns+` FROM contacts WHERE phone = $1`), phone))
	if errors.Is(err, sql.ErrNoRows) {
		return c, sms.Errorf(sms.KindNotFound, "no contact with phone %s", phone)
	}
	if err != nil {
		return c, wrapDBErr("contact by phone", err)
	}
	return c, nil
}

// UpdateContact writes a contact's editable fields (not its statistics).
func (db *DB) UpdateContact(ctx context.Context, c sms.Contact) (sms.Contact, error) {
	fields, tags := marshalFieldsTags(c)
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE contacts SET name = $2, phone = $3, line_type = $4, owner_id = $5, fields = $6, tags = $7,
       opted_out = $8, deceased = $9, updated_at = $10, external_id = $11
WHERE id = $1`), c.ID, c.Name, c.Phone, c.LineType, c.OwnerID, fields, tags, c.OptedOut, c.Deceased, db.now(), nullString(c.ExternalID))
	if err != nil {
		return c, contactErr("update contact", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c, sms.Errorf(sms.KindNotFound, "contact %d not found", c.ID)
	}
	return db.GetContact(ctx, c.ID)
}

// DeleteContact removes a contact; its messages stay, unlinked.
func (db *DB) DeleteContact(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM contacts WHERE id = $1`), id)
	if err != nil {
		return wrapDBErr("delete contact", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "contact %d not found", id)
	}
	return nil
}

// ContactFilter selects contacts: Query matches name (case-insensitive) or
// phone digits as a substring; Tag, ListID and Filter (a valid sms.Filter,
// as a saved segment holds) narrow further; Before is the id cursor, newest
// first.
type ContactFilter struct {
	Query  string
	Tag    string
	ListID int64
	Filter *sms.Filter
	Before int64
	Limit  int
}

// ListContacts returns contacts matching f, newest first.
func (db *DB) ListContacts(ctx context.Context, f ContactFilter) ([]sms.Contact, error) {
	var where []string
	a := &argList{}
	if q := strings.TrimSpace(f.Query); q != "" {
		like := "%" + escapeLike(q) + "%"
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q)
		phoneLike := like
		if digits != "" {
			phoneLike = "%" + digits + "%"
		}
		cond := strings.Replace(db.q.searchContacts, "$?", a.add(like), 1)
		cond = strings.Replace(cond, "$?", a.add(phoneLike), 1)
		where = append(where, cond)
	}
	where = db.contactScope(f, where, a)
	if f.Before > 0 {
		where = append(where, "id < "+a.add(f.Before))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := "SELECT " + contactColumns + " FROM contacts c"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT " + a.add(min(limit, 1000))
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), a.args...)
	if err != nil {
		return nil, wrapDBErr("list contacts", err)
	}
	defer rows.Close()
	var out []sms.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list contacts: %w", err)
		}
		out = append(out, c)
	}
	return out, wrapDBErr("list contacts", rows.Err())
}

// escapeLike makes s match itself literally inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ContactsForSend returns the contacts with the given ids or phones, in one
// query, for checks before sending (deceased, opted out).
func (db *DB) ContactsForSend(ctx context.Context, ids []int64, phones []string) ([]sms.Contact, error) {
	if len(ids) == 0 && len(phones) == 0 {
		return nil, nil
	}
	if ids == nil {
		ids = []int64{}
	}
	if phones == nil {
		phones = []string{}
	}
	rows, err := db.read.QueryContext(ctx, db.q.contactsForSend, jsonArray(ids), jsonArray(phones))
	if err != nil {
		return nil, wrapDBErr("contacts for send", err)
	}
	defer rows.Close()
	var out []sms.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("store: contacts for send: %w", err)
		}
		out = append(out, c)
	}
	return out, wrapDBErr("contacts for send", rows.Err())
}

// nullString stores an empty string as NULL, for optional unique columns.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
