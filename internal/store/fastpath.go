package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// The statements in this file are the send pipeline's hot path. Each does
// for a whole batch, in one statement, one move the domain allows without
// deciding anything per message (queued → sending, sending → sent), so they
// need not load the messages into Go first. Every other change goes through
// SaveMessages, where sms.Message.Transition decides.

// insertEventIDs records one event, the same for every message in ids.
func (tx *Tx) insertEventIDs(ctx context.Context, ids []int64, state sms.State, at time.Time, source sms.Source, detail string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.db.q.insertEventIDs, tx.db.dialect.ids(ids), string(state), at, string(source), detail); err != nil {
		return wrapDBErr("insert events", err)
	}
	return tx.emitEventIDs(ctx, ids, state, at, detail)
}

// MarkBatchSending moves the batch's queued messages to sending (recording
// the event), counts an attempt on every message of the batch still queued or
// sending, and returns those messages with the fields a send needs: id,
// contact, phone, body, kind, state, provider, reference, segments, cost and
// attempts.
func (tx *Tx) MarkBatchSending(ctx context.Context, batchID int64, detail string) ([]sms.Message, error) {
	now := tx.db.now()
	// The "sending" events recorded here are not announced to webhooks
	// (announced in webhooks.go), so no delivery follows them.
	var rows *sql.Rows
	var err error
	if q := tx.db.q.markSendingWithEvents; q != "" {
		rows, err = tx.QueryContext(ctx, q, batchID, now, string(sms.SourceWorker), detail)
	} else {
		if _, err := tx.ExecContext(ctx, tx.db.q.eventsForQueued, batchID, now, string(sms.SourceWorker), detail); err != nil {
			return nil, wrapDBErr("mark sending", err)
		}
		rows, err = tx.QueryContext(ctx, tx.db.q.markSending, batchID, now)
	}
	if err != nil {
		return nil, wrapDBErr("mark sending", err)
	}
	defer rows.Close()
	var out []sms.Message
	for rows.Next() {
		var m sms.Message
		var contact *int64
		var cost int64
		if err := rows.Scan(&m.ID, &contact, &m.Phone, &m.Body, &m.Kind, &m.State, &m.Provider, &m.Reference,
			&m.Segments, &cost, &m.Attempts); err != nil {
			return nil, wrapDBErr("mark sending", err)
		}
		m.ContactID, m.Cost, m.Direction, m.UpdatedAt = contact, sms.Money(cost), sms.Outbound, now
		out = append(out, m)
	}
	return out, wrapDBErr("mark sending", rows.Err())
}

// SentResult is a provider's acceptance of one message.
type SentResult struct {
	// MessageID, when known, finds the message by its key; otherwise
	// Reference does.
	MessageID         int64
	Reference         string
	ProviderMessageID string
	ProviderJobID     string
	Cost              *sms.Money // nil: the price per segment times the segments
}

// RecordSent moves the messages still sending that the provider accepted to
// sent (found by id when every result names one, else by reference), with its ids and the cost, records the event, and counts them in
// their contacts' statistics. It returns the references it moved; the
// others (a report moved them first) need the general path.
func (tx *Tx) RecordSent(ctx context.Context, results []SentResult, pricePerSegment sms.Money, source sms.Source) (map[string]bool, error) {
	if len(results) == 0 {
		return nil, nil
	}
	now := tx.db.now()
	q, byID := tx.db.q.recordSentByID, true
	for _, r := range results {
		if r.MessageID == 0 {
			q, byID = tx.db.q.recordSent, false
			break
		}
	}
	args, err := sentRows(tx.db.dialect, results, byID)
	if err != nil {
		return nil, err
	}
	res, err := tx.QueryContext(ctx, q, append(args, now, int64(pricePerSegment))...)
	if err != nil {
		return nil, wrapDBErr("record sent", err)
	}
	moved := make(map[string]bool, len(results))
	var ids []int64
	perContact := map[int64]int{}
	for res.Next() {
		var id int64
		var ref string
		var contact *int64
		if err := res.Scan(&id, &ref, &contact); err != nil {
			res.Close()
			return nil, wrapDBErr("record sent", err)
		}
		moved[ref] = true
		ids = append(ids, id)
		if contact != nil {
			perContact[*contact]++
		}
	}
	if err := res.Close(); err != nil {
		return nil, wrapDBErr("record sent", err)
	}
	if err := res.Err(); err != nil {
		return nil, wrapDBErr("record sent", err)
	}
	if err := tx.insertEventIDs(ctx, ids, sms.StateSent, now, source, ""); err != nil {
		return nil, err
	}
	return moved, tx.bumpContactStats(ctx, nil, perContact, nil, now)
}

// deliveredRows is the rows argument of recordDelivered: one JSON array of
// [provider id, time] rows, or on a columnar dialect the two columns as
// arrays.
func deliveredRows(d Dialect, ds []Delivery) ([]any, error) {
	if d.columnar() {
		pmids := make([]string, len(ds))
		ats := make([]time.Time, len(ds))
		for i, x := range ds {
			pmids[i], ats[i] = x.ProviderMessageID, x.At.UTC()
		}
		return []any{pmids, ats}, nil
	}
	rows := make([][2]string, len(ds))
	for i, x := range ds {
		rows[i] = [2]string{x.ProviderMessageID, jsonTime(x.At)}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("store: record delivered: %w", err)
	}
	return []any{payload}, nil
}

// sentRows is the rows argument of recordSent (recordSentByID when byID):
// one JSON array of [key, provider id, job id, cost] rows, or on a columnar
// dialect the four columns as arrays.
func sentRows(d Dialect, results []SentResult, byID bool) ([]any, error) {
	if d.columnar() {
		refs := make([]string, 0, len(results))
		ids := make([]int64, 0, len(results))
		pmids := make([]string, len(results))
		pjids := make([]string, len(results))
		costs := make([]*int64, len(results))
		for i, r := range results {
			if byID {
				ids = append(ids, r.MessageID)
			} else {
				refs = append(refs, r.Reference)
			}
			pmids[i], pjids[i] = r.ProviderMessageID, r.ProviderJobID
			if r.Cost != nil {
				c := int64(*r.Cost)
				costs[i] = &c
			}
		}
		var keys any = refs
		if byID {
			keys = ids
		}
		return []any{keys, pmids, pjids, costs}, nil
	}
	rows := make([][4]any, len(results))
	for i, r := range results {
		var cost any
		if r.Cost != nil {
			cost = int64(*r.Cost)
		}
		var key any = r.Reference
		if byID {
			key = r.MessageID
		}
		rows[i] = [4]any{key, r.ProviderMessageID, r.ProviderJobID, cost}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("store: record sent: %w", err)
	}
	return []any{payload}, nil
}

// Delivery is a provider's report that one of its messages was delivered.
type Delivery struct {
	ProviderMessageID string
	At                time.Time
	Detail            string
}

// RecordDelivered moves the provider's messages that are sent to delivered,
// by the provider's id, in one statement, with their events. It returns the
// provider ids it moved; the others (unknown ids, messages not in sent) need
// the general path.
func (tx *Tx) RecordDelivered(ctx context.Context, providerName string, ds []Delivery, source sms.Source) (map[string]bool, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	byID := make(map[string]Delivery, len(ds))
	for _, d := range ds {
		byID[d.ProviderMessageID] = d
	}
	args, err := deliveredRows(tx.db.dialect, ds)
	if err != nil {
		return nil, err
	}
	res, err := tx.QueryContext(ctx, tx.db.q.recordDelivered, append(args, providerName, tx.db.now())...)
	if err != nil {
		return nil, wrapDBErr("record delivered", err)
	}
	moved := map[string]bool{}
	var events []sms.Event
	for res.Next() {
		var id int64
		var pmid string
		if err := res.Scan(&id, &pmid); err != nil {
			res.Close()
			return nil, wrapDBErr("record delivered", err)
		}
		moved[pmid] = true
		d := byID[pmid]
		events = append(events, sms.Event{MessageID: id, State: sms.StateDelivered, At: d.At, Source: source, Detail: d.Detail})
	}
	if err := res.Close(); err != nil {
		return nil, wrapDBErr("record delivered", err)
	}
	return moved, tx.insertEvents(ctx, events)
}
