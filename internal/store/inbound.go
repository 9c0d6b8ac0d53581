package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// NewReply is a reply to store as an inbound message. Phone is E.164.
type NewReply struct {
	Provider                   string
	ProviderReplyID            string
	Phone                      string
	Body                       string
	Reference                  string // Recado's own, unique
	Segments                   int
	Encoding                   sms.Encoding
	ReceivedAt                 time.Time
	InReplyToProviderMessageID string
	InReplyToReference         string
	Source                     sms.Source // of the received event; webhook when empty
}

// StoredReply is a reply as stored: the inbound message with what it was
// linked to.
type StoredReply struct {
	ID        int64
	ContactID *int64
	ReplyTo   *int64
	Phone     string
	Body      string
}

// InsertReplies stores replies as inbound messages in state received, in
// one statement: each linked to the contact with its phone and to the
// message it answers (by the provider's id for it, by our reference, or else
// the latest message sent to that phone), inheriting that message's
// campaign. Replies already stored (same provider and reply id) are skipped
// and not returned. The received event and the contacts' counters follow.
func (tx *Tx) InsertReplies(ctx context.Context, replies []NewReply) ([]StoredReply, error) {
	if len(replies) == 0 {
		return nil, nil
	}
	rows := make([][10]any, len(replies))
	for i, r := range replies {
		rows[i] = [10]any{r.Provider, r.ProviderReplyID, r.Phone, r.Body, r.Reference, r.Segments, string(r.Encoding),
			jsonTime(r.ReceivedAt), r.InReplyToProviderMessageID, r.InReplyToReference}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("store: insert replies: %w", err)
	}
	res, err := tx.QueryContext(ctx, tx.db.q.insertReplies, payload)
	if err != nil {
		return nil, wrapDBErr("insert replies", err)
	}
	var out []StoredReply
	var events []sms.Event
	received := map[int64]int{}
	byRef := map[string]NewReply{}
	for _, r := range replies {
		byRef[r.Reference] = r
	}
	for res.Next() {
		var s StoredReply
		var ref string
		var contact, replyTo sql.NullInt64
		if err := res.Scan(&s.ID, &ref, &contact, &replyTo, &s.Phone, &s.Body); err != nil {
			res.Close()
			return nil, wrapDBErr("insert replies", err)
		}
		s.ContactID, s.ReplyTo = nullInt(contact), nullInt(replyTo)
		if s.ContactID != nil {
			received[*s.ContactID]++
		}
		out = append(out, s)
		src := byRef[ref].Source
		if src == "" {
			src = sms.SourceWebhook
		}
		events = append(events, sms.Event{MessageID: s.ID, State: sms.StateReceived, At: byRef[ref].ReceivedAt, Source: src})
	}
	if err := res.Close(); err != nil {
		return nil, wrapDBErr("insert replies", err)
	}
	if err := tx.insertEvents(ctx, events); err != nil {
		return nil, err
	}
	ids := make([]int64, len(out))
	for i, s := range out {
		ids[i] = s.ID
	}
	if err := tx.EmitEvent(ctx, ids, "reply.received", tx.db.now(), ""); err != nil {
		return nil, err
	}
	return out, tx.bumpContactStats(ctx, nil, nil, received, tx.db.now())
}

// BlacklistEntry is a number on Recado's blacklist.
type BlacklistEntry struct {
	Phone     string    `json:"phone"`
	Reason    string    `json:"reason"`
	Source    string    `json:"source" doc:"manual, reply (an opt-out word), provider (refused by it), import"`
	CreatedBy *int64    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AddToBlacklist adds numbers (E.164) to the blacklist; numbers already on it
// keep their first entry. It returns the numbers it added, and records them
// as changes for the providers' blacklist sync.
func (tx *Tx) AddToBlacklist(ctx context.Context, phones []string, reason, source string, by *int64) ([]string, error) {
	if len(phones) == 0 {
		return nil, nil
	}
	rows, err := tx.QueryContext(ctx, tx.db.q.addBlacklist, jsonArray(phones), reason, source, by, tx.db.now())
	if err != nil {
		return nil, wrapDBErr("add to blacklist", err)
	}
	defer rows.Close()
	var added []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, wrapDBErr("add to blacklist", err)
		}
		added = append(added, p)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr("add to blacklist", err)
	}
	rows.Close()
	return added, tx.logBlacklist(ctx, added, "add")
}

// OptOut marks the contacts with these phones opted out.
func (tx *Tx) OptOut(ctx context.Context, phones []string) ([]int64, error) {
	if len(phones) == 0 {
		return nil, nil
	}
	return tx.ids(ctx, "opt out", tx.db.q.optOut, jsonArray(phones), tx.db.now())
}

// RemoveFromBlacklist takes a number off the blacklist (see
// Tx.RemoveFromBlacklist).
func (db *DB) RemoveFromBlacklist(ctx context.Context, phone string) error {
	return db.InTx(ctx, func(tx *Tx) error { return tx.RemoveFromBlacklist(ctx, phone) })
}

// BlacklistFilter selects blacklist entries: Query is part of the number;
// After is the cursor (entries ordered by phone).
type BlacklistFilter struct {
	Query string
	After string
	Limit int
}

// ListBlacklist returns blacklist entries ordered by phone.
func (db *DB) ListBlacklist(ctx context.Context, f BlacklistFilter) ([]BlacklistEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`
SELECT phone, reason, source, created_by, created_at FROM blacklist
WHERE phone > $1 AND phone LIKE $2 ESCAPE '\' ORDER BY phone LIMIT $3`), f.After, "%"+escapeLike(f.Query)+"%", min(limit, 1000))
	if err != nil {
		return nil, wrapDBErr("list blacklist", err)
	}
	defer rows.Close()
	out := []BlacklistEntry{}
	for rows.Next() {
		var e BlacklistEntry
		var by sql.NullInt64
		if err := rows.Scan(&e.Phone, &e.Reason, &e.Source, &by, &e.CreatedAt); err != nil {
			return nil, wrapDBErr("list blacklist", err)
		}
		e.CreatedBy, e.CreatedAt = nullInt(by), e.CreatedAt.UTC()
		out = append(out, e)
	}
	return out, wrapDBErr("list blacklist", rows.Err())
}

// Blacklisted returns which of phones are on the blacklist.
func (db *DB) Blacklisted(ctx context.Context, phones []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(phones) == 0 {
		return out, nil
	}
	rows, err := db.read.QueryContext(ctx, db.q.blacklisted, jsonArray(phones))
	if err != nil {
		return nil, wrapDBErr("blacklisted", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, wrapDBErr("blacklisted", err)
		}
		out[p] = true
	}
	return out, wrapDBErr("blacklisted", rows.Err())
}

// MarkRead records that an operator read an inbound message.
func (db *DB) MarkRead(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(
		`UPDATE messages SET read_at = coalesce(read_at, $2) WHERE id = $1 AND direction = 'inbound'`), id, db.now())
	if err != nil {
		return wrapDBErr("mark read", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := db.GetMessage(ctx, id); err != nil {
			return err
		}
		return errors.New("store: only inbound messages can be marked read")
	}
	return nil
}

// InboxFilter selects inbound messages: those of contacts owned by OwnerID
// when set, only unread ones when Unread; Before is the id cursor.
type InboxFilter struct {
	OwnerID *int64
	Unread  bool
	Before  int64
	Limit   int
}

// Inbox returns inbound messages, newest first.
func (db *DB) Inbox(ctx context.Context, f InboxFilter) ([]sms.Message, error) {
	q := `SELECT ` + prefixed("m.", messageColumns) + ` FROM messages m WHERE m.direction = 'inbound'`
	var args []any
	if f.OwnerID != nil {
		args = append(args, *f.OwnerID)
		q += fmt.Sprintf(" AND m.contact_id IN (SELECT c.id FROM contacts c WHERE c.owner_id = $%d)", len(args))
	}
	if f.Unread {
		q += " AND m.read_at IS NULL"
	}
	if f.Before > 0 {
		args = append(args, f.Before)
		q += fmt.Sprintf(" AND m.id < $%d", len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, min(limit, 1000))
	q += fmt.Sprintf(" ORDER BY m.id DESC LIMIT $%d", len(args))
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), args...)
	return collectMessages(rows, err, "inbox")
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
