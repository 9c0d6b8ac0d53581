package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// GetMessage returns one message.
func (db *DB) GetMessage(ctx context.Context, id int64) (sms.Message, error) {
	m, err := scanMessage(db.read.QueryRowContext(ctx, db.q.getMessage, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, sms.Errorf(sms.KindNotFound, "message %d not found", id)
	}
	if err != nil {
		return m, wrapDBErr("get message", err)
	}
	return m, nil
}

// MessagesByRef returns the messages with the given references, in no order.
func (db *DB) MessagesByRef(ctx context.Context, refs []string) ([]sms.Message, error) {
	var out []sms.Message
	for chunk := range chunks(refs, 1000) {
		rows, err := db.read.QueryContext(ctx, db.q.messagesByRef, jsonArray(chunk))
		ms, err := collectMessages(rows, err, "messages by reference")
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// MessageEvents returns a message's events, oldest first.
func (db *DB) MessageEvents(ctx context.Context, id int64) ([]sms.Event, error) {
	rows, err := db.read.QueryContext(ctx, db.q.messageEvents, id)
	if err != nil {
		return nil, wrapDBErr("message events", err)
	}
	defer rows.Close()
	var out []sms.Event
	for rows.Next() {
		var e sms.Event
		if err := rows.Scan(&e.MessageID, &e.State, &e.At, &e.Source, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: message events: %w", err)
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, wrapDBErr("message events", rows.Err())
}

// MessageFilter selects messages. Zero fields do not filter. Results come
// newest first; Before is the cursor: only ids below it.
type MessageFilter struct {
	States     []sms.State
	Direction  sms.Direction
	ContactID  *int64
	Provider   string
	CampaignID *int64
	From, To   *time.Time // created_at in [From, To)
	Text       string     // part of the body, in any case (SQLite folds only ASCII letters)
	Before     int64
	Limit      int // 1..1000; 50 when zero
}

// ListMessages returns the messages that match f, newest first.
//
// The WHERE clause is assembled from fixed fragments, each with its own
// placeholder, so that each filter can use its index; no input is ever
// written into the SQL text.
func (db *DB) ListMessages(ctx context.Context, f MessageFilter) ([]sms.Message, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	if len(f.States) > 0 {
		add(db.q.stateInJSON, statesJSON(f.States))
	}
	if f.Direction != "" {
		add("direction = $?", string(f.Direction))
	}
	if f.ContactID != nil {
		add("contact_id = $?", *f.ContactID)
	}
	if f.Provider != "" {
		add("provider = $?", f.Provider)
	}
	if f.CampaignID != nil {
		add("campaign_id = $?", *f.CampaignID)
	}
	if f.From != nil {
		add("created_at >= $?", f.From.UTC())
	}
	if f.To != nil {
		add("created_at < $?", f.To.UTC())
	}
	if f.Text != "" {
		add(`lower(body) LIKE lower($?) ESCAPE '\'`, "%"+escapeLike(f.Text)+"%")
	}
	if f.Before > 0 {
		add("id < $?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	q := "SELECT " + messageColumns + " FROM messages"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), args...)
	return collectMessages(rows, err, "list messages")
}

// CountMessagesByState counts messages per state, for metrics.
func (db *DB) CountMessagesByState(ctx context.Context) (map[sms.State]int64, error) {
	rows, err := db.read.QueryContext(ctx, db.q.countByState)
	if err != nil {
		return nil, wrapDBErr("count messages", err)
	}
	defer rows.Close()
	out := map[sms.State]int64{}
	for rows.Next() {
		var s sms.State
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("store: count messages: %w", err)
		}
		out[s] = n
	}
	return out, wrapDBErr("count messages", rows.Err())
}

// DeleteMessage removes a message that is final or a draft, with its events.
func (db *DB) DeleteMessage(ctx context.Context, id int64) error {
	return db.InTx(ctx, func(tx *Tx) error {
		m, err := tx.LockMessage(ctx, id)
		if err != nil {
			return err
		}
		if !m.State.Final() && m.State != sms.StateDraft {
			return sms.Errorf(sms.KindConflict, "message %d is %s: only drafts and finished messages can be deleted; cancel it first", id, m.State)
		}
		if _, err := tx.ExecContext(ctx, tx.db.q.deleteMessage, id); err != nil {
			return wrapDBErr("delete message", err)
		}
		return nil
	})
}
