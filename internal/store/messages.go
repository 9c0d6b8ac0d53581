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

// NewMessage is an outbound message to store. Phone is E.164 and already
// validated; Segments and Encoding already counted.
type NewMessage struct {
	ContactID  *int64
	Phone      string
	Body       string
	Kind       sms.MessageKind
	State      sms.State // queued, or draft
	Provider   string
	Reference  string
	Segments   int
	Encoding   sms.Encoding
	Cost       sms.Money // estimated from the provider's price per segment
	BatchID    *int64
	CampaignID *int64
	TemplateID *int64
	CreatedBy  *int64
}

// timeLayout is how times travel inside the JSON arrays of bulk statements:
// the form modernc's SQLite driver writes (so SQLite compares like with like)
// and one PostgreSQL reads as timestamptz.
const timeLayout = "2006-01-02 15:04:05.999999999-07:00"

func jsonTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func jsonTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := jsonTime(*t)
	return &s
}

// InsertMessages stores outbound messages with their first event, links each
// to the contact with its phone when none is given, and counts them in the
// contacts' statistics, with one statement per table for the whole slice. It
// returns the messages as stored, in the order given.
//
// The messages of one call share their state, provider, batch, campaign,
// template and creator (the send path groups them so); only what differs per
// message travels per row, which keeps the bulk statement light.
func (tx *Tx) InsertMessages(ctx context.Context, msgs []NewMessage, source sms.Source) ([]sms.Message, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	now := tx.db.now()
	first := msgs[0]
	for i, m := range msgs {
		if m.State != first.State || m.Provider != first.Provider || !sameID(m.BatchID, first.BatchID) ||
			!sameID(m.CampaignID, first.CampaignID) || !sameID(m.TemplateID, first.TemplateID) || !sameID(m.CreatedBy, first.CreatedBy) {
			return nil, fmt.Errorf("store: insert messages: message %d differs from the first in state, provider, batch, campaign, template or creator", i)
		}
	}
	args, err := newMessageRows(tx.db.dialect, msgs)
	if err != nil {
		return nil, err
	}
	res, err := tx.QueryContext(ctx, tx.db.q.insertMessages, append(args, now, string(first.State), first.Provider,
		first.BatchID, first.CampaignID, first.TemplateID, first.CreatedBy)...)
	if err != nil {
		return nil, insertErr(err)
	}
	type ins struct {
		id        int64
		contactID sql.NullInt64
	}
	byRef := make(map[string]ins, len(msgs))
	for res.Next() {
		var r ins
		var ref string
		if err := res.Scan(&r.id, &ref, &r.contactID); err != nil {
			res.Close()
			return nil, fmt.Errorf("store: insert messages: %w", err)
		}
		byRef[ref] = r
	}
	if err := res.Close(); err != nil {
		return nil, insertErr(err)
	}
	if err := res.Err(); err != nil {
		return nil, insertErr(err)
	}
	out := make([]sms.Message, len(msgs))
	ids := make([]int64, len(msgs))
	perContact := map[int64]int{}
	for i, m := range msgs {
		r, ok := byRef[m.Reference]
		if !ok {
			return nil, fmt.Errorf("store: insert messages: no row returned for reference %q", m.Reference)
		}
		out[i] = sms.Message{
			ID: r.id, Phone: m.Phone, Body: m.Body, Direction: sms.Outbound, Kind: m.Kind, State: m.State,
			Provider: m.Provider, Reference: m.Reference, Segments: m.Segments, Encoding: m.Encoding, Cost: m.Cost,
			CampaignID: m.CampaignID, TemplateID: m.TemplateID, CreatedBy: m.CreatedBy, CreatedAt: now, UpdatedAt: now,
		}
		if r.contactID.Valid {
			id := r.contactID.Int64
			out[i].ContactID = &id
			perContact[id]++
		}
		ids[i] = r.id
	}
	// Every message of one call starts in the same state (queued, or draft).
	if err := tx.insertEventIDs(ctx, ids, msgs[0].State, now, source, ""); err != nil {
		return nil, err
	}
	if err := tx.bumpContactStats(ctx, perContact, nil, nil, now); err != nil {
		return nil, err
	}
	return out, nil
}

// newMessageRows is the rows argument of insertMessages: what differs per
// message (contact, phone, body, reference, segments, encoding, cost, kind),
// as one JSON array of rows, or on a columnar dialect as eight arrays.
func newMessageRows(d Dialect, msgs []NewMessage) ([]any, error) {
	if d.columnar() {
		contacts := make([]*int64, len(msgs))
		phones := make([]string, len(msgs))
		bodies := make([]string, len(msgs))
		refs := make([]string, len(msgs))
		segments := make([]int64, len(msgs))
		encodings := make([]string, len(msgs))
		costs := make([]int64, len(msgs))
		kinds := make([]string, len(msgs))
		for i, m := range msgs {
			contacts[i], phones[i], bodies[i], refs[i] = m.ContactID, m.Phone, m.Body, m.Reference
			segments[i], encodings[i], costs[i], kinds[i] = int64(m.Segments), string(m.Encoding), int64(m.Cost), string(m.Kind)
		}
		return []any{contacts, phones, bodies, refs, segments, encodings, costs, kinds}, nil
	}
	rows := make([][8]any, len(msgs))
	for i, m := range msgs {
		var contact any
		if m.ContactID != nil {
			contact = *m.ContactID
		}
		rows[i] = [8]any{contact, m.Phone, m.Body, m.Reference, m.Segments, string(m.Encoding), int64(m.Cost), string(m.Kind)}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("store: insert messages: %w", err)
	}
	return []any{payload}, nil
}

func insertErr(err error) error {
	if isUniqueViolation(err) {
		return &sms.Error{Kind: sms.KindConflict, Message: "a message with this reference already exists", Err: err}
	}
	return wrapDBErr("insert messages", err)
}

// isUniqueViolation recognises a unique-constraint failure in either dialect.
func isUniqueViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") ||
		strings.Contains(s, "duplicate key value")
}

func (tx *Tx) insertEvents(ctx context.Context, events []sms.Event) error {
	if len(events) == 0 {
		return nil
	}
	type row struct {
		M int64   `json:"m"`
		S string  `json:"s"`
		A string  `json:"a"`
		O string  `json:"o"`
		D *string `json:"d"`
	}
	rows := make([]row, len(events))
	for i, e := range events {
		rows[i] = row{M: e.MessageID, S: string(e.State), A: jsonTime(e.At), O: string(e.Source)}
		if e.Detail != "" {
			d := e.Detail
			rows[i].D = &d
		}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("store: insert events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.db.q.insertEvents, payload); err != nil {
		return wrapDBErr("insert events", err)
	}
	return tx.emitEvents(ctx, events, payload)
}

// bumpContactStats adds to the contacts' counters, set-based: one
// statement for all the contacts that get the same amounts (most often one
// statement in all, each contact of a batch counted once), which reads a
// plain array of ids instead of a record per contact.
func (tx *Tx) bumpContactStats(ctx context.Context, total, sent, received map[int64]int, at time.Time) error {
	type amounts struct{ t, s, r int }
	acc := make(map[int64]amounts, max(len(total), len(sent), len(received)))
	for id, n := range total {
		a := acc[id]
		a.t += n
		acc[id] = a
	}
	for id, n := range sent {
		a := acc[id]
		a.s += n
		acc[id] = a
	}
	for id, n := range received {
		a := acc[id]
		a.r += n
		acc[id] = a
	}
	groups := map[amounts][]int64{}
	for id, a := range acc {
		groups[a] = append(groups[a], id)
	}
	for a, ids := range groups {
		if _, err := tx.ExecContext(ctx, tx.db.q.bumpContactStats, tx.db.dialect.ids(ids), a.t, a.s, a.r, at); err != nil {
			return wrapDBErr("contact stats", err)
		}
	}
	return nil
}

// messageColumns is the column list every message read selects, in the order
// scanMessage reads them.
const messageColumns = `id, contact_id, phone, body, direction, kind, state, provider,
	provider_message_id, provider_job_id, reference, segments, encoding, cost, error_code, error_text,
	attempts, next_attempt_at, campaign_id, template_id, reply_to, created_by, created_at, updated_at,
	sent_at, delivered_at, read_at`

type scanner interface{ Scan(dest ...any) error }

func scanMessage(s scanner) (sms.Message, error) {
	var m sms.Message
	var contactID, campaignID, templateID, replyTo, createdBy sql.NullInt64
	var pmid, pjid sql.NullString
	var next, sent, delivered, read sql.NullTime
	var cost int64
	err := s.Scan(&m.ID, &contactID, &m.Phone, &m.Body, &m.Direction, &m.Kind, &m.State, &m.Provider,
		&pmid, &pjid, &m.Reference, &m.Segments, &m.Encoding, &cost, &m.ErrorCode, &m.ErrorText,
		&m.Attempts, &next, &campaignID, &templateID, &replyTo, &createdBy, &m.CreatedAt, &m.UpdatedAt,
		&sent, &delivered, &read)
	if err != nil {
		return m, err
	}
	m.Cost = sms.Money(cost)
	m.ContactID = nullInt(contactID)
	m.CampaignID = nullInt(campaignID)
	m.TemplateID = nullInt(templateID)
	m.ReplyTo = nullInt(replyTo)
	m.CreatedBy = nullInt(createdBy)
	m.ProviderMessageID = pmid.String
	m.ProviderJobID = pjid.String
	m.NextAttemptAt = nullTime(next)
	m.SentAt = nullTime(sent)
	m.DeliveredAt = nullTime(delivered)
	m.ReadAt = nullTime(read)
	m.CreatedAt = m.CreatedAt.UTC()
	m.UpdatedAt = m.UpdatedAt.UTC()
	return m, nil
}

func nullInt(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

func nullTime(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	v := n.Time.UTC()
	return &v
}

func collectMessages(rows *sql.Rows, err error, op string) ([]sms.Message, error) {
	if err != nil {
		return nil, wrapDBErr(op, err)
	}
	defer rows.Close()
	var out []sms.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr(op, err)
	}
	return out, nil
}

// LockBatchMessages loads the messages of a send batch that are still in one
// of states, locking their rows until the transaction ends.
func (tx *Tx) LockBatchMessages(ctx context.Context, batchID int64, states ...sms.State) ([]sms.Message, error) {
	rows, err := tx.QueryContext(ctx, tx.db.q.lockBatchMessages, batchID, statesJSON(states))
	return collectMessages(rows, err, "load batch messages")
}

// LockMessagesByRef loads the messages with the given references, locked.
func (tx *Tx) LockMessagesByRef(ctx context.Context, refs []string) ([]sms.Message, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	payload, _ := json.Marshal(refs)
	rows, err := tx.QueryContext(ctx, tx.db.q.lockMessagesByRef, payload)
	return collectMessages(rows, err, "load messages by reference")
}

// LockMessagesByProviderID loads a provider's messages by the provider's own
// ids, locked.
func (tx *Tx) LockMessagesByProviderID(ctx context.Context, provider string, ids []string) ([]sms.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	payload, _ := json.Marshal(ids)
	rows, err := tx.QueryContext(ctx, tx.db.q.lockMessagesByProviderID, provider, payload)
	return collectMessages(rows, err, "load messages by provider id")
}

// LockMessage loads one message by id, locked.
func (tx *Tx) LockMessage(ctx context.Context, id int64) (sms.Message, error) {
	m, err := scanMessage(tx.QueryRowContext(ctx, tx.db.q.lockMessage, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, sms.Errorf(sms.KindNotFound, "message %d not found", id)
	}
	if err != nil {
		return m, wrapDBErr("load message", err)
	}
	return m, nil
}

func statesJSON(states []sms.State) []byte {
	b, _ := json.Marshal(states)
	return b
}

// MessageUpdate is a message changed in memory (through sms.Message.Transition
// and field updates) to be written back. From is its state as loaded: the
// write only lands if the row still has it.
type MessageUpdate struct {
	Message sms.Message
	From    sms.State
}

// SaveMessages writes changed messages and their events, and keeps the
// contacts' "sent" counters, with one statement per table.
func (tx *Tx) SaveMessages(ctx context.Context, updates []MessageUpdate, events []sms.Event) error {
	if len(updates) == 0 && len(events) == 0 {
		return nil
	}
	type row struct {
		ID        int64   `json:"id"`
		From      string  `json:"from"`
		State     string  `json:"state"`
		PMID      *string `json:"pmid"`
		PJID      *string `json:"pjid"`
		ECode     string  `json:"ecode"`
		EText     string  `json:"etext"`
		Cost      int64   `json:"cost"`
		Attempts  int     `json:"attempts"`
		Next      *string `json:"next"`
		Sent      *string `json:"sent"`
		Delivered *string `json:"delivered"`
		Updated   string  `json:"updated"`
	}
	now := tx.db.now()
	rows := make([]row, len(updates))
	sent := map[int64]int{}
	for i, u := range updates {
		m := u.Message
		rows[i] = row{ID: m.ID, From: string(u.From), State: string(m.State), ECode: m.ErrorCode, EText: m.ErrorText,
			Cost: int64(m.Cost), Attempts: m.Attempts, Next: jsonTimePtr(m.NextAttemptAt), Sent: jsonTimePtr(m.SentAt),
			Delivered: jsonTimePtr(m.DeliveredAt), Updated: jsonTime(now)}
		if m.ProviderMessageID != "" {
			rows[i].PMID = &m.ProviderMessageID
		}
		if m.ProviderJobID != "" {
			rows[i].PJID = &m.ProviderJobID
		}
		if m.ContactID != nil && reachedSent(u.From, m.State) {
			sent[*m.ContactID]++
		}
	}
	if len(rows) > 0 {
		payload, err := json.Marshal(rows)
		if err != nil {
			return fmt.Errorf("store: save messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, tx.db.q.saveMessages, payload); err != nil {
			return wrapDBErr("save messages", err)
		}
	}
	if err := tx.insertEvents(ctx, events); err != nil {
		return err
	}
	return tx.bumpContactStats(ctx, nil, sent, nil, now)
}

// reachedSent reports whether a move from → to is the one in which a message
// first counts as sent to its contact.
func reachedSent(from, to sms.State) bool {
	before := from == sms.StateDraft || from == sms.StateQueued || from == sms.StateSending
	return before && (to == sms.StateSent || to == sms.StateDelivered)
}

func sameID(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
