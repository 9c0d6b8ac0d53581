package store

import (
	"context"
	"fmt"
)

// Tags lists the distinct tags of all contacts, sorted, at most limit.
func (db *DB) Tags(ctx context.Context, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.sq().tags, limit)
	if err != nil {
		return nil, wrapDBErr("tags", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("store: tags: %w", err)
		}
		out = append(out, t)
	}
	return out, wrapDBErr("tags", rows.Err())
}

// ContactIDsWithTag returns the ids of up to limit contacts carrying tag,
// oldest first.
func (db *DB) ContactIDsWithTag(ctx context.Context, tag string, limit int) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, db.sq().contactIDsWithTag, tag, limit)
	if err != nil {
		return nil, wrapDBErr("contacts with tag", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: contacts with tag: %w", err)
		}
		out = append(out, id)
	}
	return out, wrapDBErr("contacts with tag", rows.Err())
}
