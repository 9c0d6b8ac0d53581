package store

import (
	"context"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

// ListsOfContact returns the lists a contact is in, by name, with their
// member counts.
func (db *DB) ListsOfContact(ctx context.Context, contactID int64) ([]List, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+listColumns+` FROM lists l
WHERE EXISTS (SELECT 1 FROM list_members lm WHERE lm.list_id = l.id AND lm.contact_id = $1)
ORDER BY lower(l.name), l.id`), contactID)
	if err != nil {
		return nil, wrapDBErr("lists of contact", err)
	}
	defer rows.Close()
	out := []List{}
	for rows.Next() {
		l, err := scanList(rows)
		if err != nil {
			return nil, wrapDBErr("lists of contact", err)
		}
		out = append(out, l)
	}
	return out, wrapDBErr("lists of contact", rows.Err())
}

// AddMembersWhere puts every contact f selects (its Tag, ListID and
// Filter; a filter must be valid) in list id with one statement, and
// returns how many joined it; those already in it stay once. A filter that
// selects nothing adds nobody, and an f that names nothing (no tag, list or
// filter) is refused rather than taken as "every contact".
func (db *DB) AddMembersWhere(ctx context.Context, id int64, f ContactFilter) (int64, error) {
	if f.Tag == "" && f.ListID == 0 && f.Filter == nil {
		return 0, sms.Invalid("nobody named", sms.FieldError{Field: "scope", Message: "name a tag, a list or a filter"})
	}
	var added int64
	err := db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.lockList(ctx, id); err != nil {
			return err
		}
		a := &argList{}
		list := a.add(id)
		where := db.contactScope(f, []string{"TRUE"}, a)
		res, err := tx.ExecContext(ctx, db.dialect.rebind(`INSERT INTO list_members (list_id, contact_id)
SELECT `+list+`, c.id FROM contacts c WHERE `+strings.Join(where, " AND ")+`
ON CONFLICT DO NOTHING`), a.args...)
		if err != nil {
			return wrapDBErr("add members where", err)
		}
		added, _ = res.RowsAffected()
		return nil
	})
	return added, err
}
