package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// Recado's outgoing webhooks are stored in two tables: the endpoints other
// systems registered, and one delivery per event and subscribed endpoint.
// Deliveries are written in the same transaction as the change of state they
// announce (emitEvents, emitEventIDs), so that an event is announced if and
// only if it happened; package webhooks sends them.

// The statuses of a webhook delivery.
const (
	DeliveryPending   = "pending"   // to be sent, now or at next_attempt_at
	DeliveryDelivered = "delivered" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // given up on; a resend makes it pending again
)

// announced reports whether a message's move to s is announced to webhooks,
// as the event "message.<s>". The emit statements list the same states.
func announced(s sms.State) bool {
	switch s {
	case sms.StateSent, sms.StateDelivered, sms.StateFailed, sms.StateRejected, sms.StateExpired:
		return true
	}
	return false
}

// webhookQueries are the webhook statements that differ by dialect
// (webhooks_sqlite.go, webhooks_postgres.go); the others are below.
type webhookQueries struct {
	emitEvents      string
	emitEventIDs    string
	claimDeliveries string
	messagesByID    string
}

func (db *DB) wq() *webhookQueries {
	if db.dialect == SQLite {
		return &sqliteWebhookQueries
	}
	return &postgresWebhookQueries
}

// webhookGate remembers whether any webhook endpoint is active, so that a
// change of state costs nothing more when no one listens: the send path asks
// it on every transaction. A change made through this DB is seen at once; one
// made by another instance sharing the database, within webhookGateTTL.
type webhookGate struct {
	mu     sync.Mutex
	gen    uint64 // bumped by every change, so a read that raced one is not kept
	known  bool
	active bool
	until  time.Time
}

// webhookGateTTL is how long the gate trusts what it read.
const webhookGateTTL = 2 * time.Second

// webhooksActive reports whether any endpoint is active, reading through q
// (the transaction asking) when the cached answer is stale. The cache runs on
// the wall clock, not the store's: it is about other instances, not about
// the domain's time.
func (db *DB) webhooksActive(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (bool, error) {
	g := &db.hooks
	now := time.Now()
	g.mu.Lock()
	if g.known && now.Before(g.until) {
		active := g.active
		g.mu.Unlock()
		return active, nil
	}
	gen := g.gen
	g.mu.Unlock()
	var active bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE active)`).Scan(&active); err != nil {
		return false, wrapDBErr("webhook endpoints", err)
	}
	g.mu.Lock()
	if g.gen == gen {
		g.known, g.active, g.until = true, active, now.Add(webhookGateTTL)
	}
	g.mu.Unlock()
	return active, nil
}

// forgetWebhooks makes the gate read again after a change of endpoints.
func (db *DB) forgetWebhooks() {
	g := &db.hooks
	g.mu.Lock()
	g.gen++
	g.known = false
	g.mu.Unlock()
}

// emitEvents queues the webhook deliveries of events, given as the JSON
// array insertEvents wrote them from (fields m, s, a, d).
func (tx *Tx) emitEvents(ctx context.Context, events []sms.Event, payload []byte) error {
	some := false
	for _, e := range events {
		if announced(e.State) {
			some = true
			break
		}
	}
	if !some {
		return nil
	}
	if active, err := tx.db.webhooksActive(ctx, tx); err != nil || !active {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.db.wq().emitEvents, payload, tx.db.now()); err != nil {
		return wrapDBErr("queue webhooks", err)
	}
	return nil
}

// emitEventIDs queues the webhook deliveries of one event shared by the
// messages whose ids are in ids.
func (tx *Tx) emitEventIDs(ctx context.Context, ids []int64, state sms.State, at time.Time, detail string) error {
	if !announced(state) {
		return nil
	}
	if active, err := tx.db.webhooksActive(ctx, tx); err != nil || !active {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.db.wq().emitEventIDs, jsonArray(ids), "message."+string(state), at, detail, tx.db.now()); err != nil {
		return wrapDBErr("queue webhooks", err)
	}
	return nil
}

// EmitEvent queues the webhook deliveries of an event about messages that
// is not a change of their state (reply.received, contact.opted_out about
// the reply that asked it), for the endpoints subscribed to it.
func (tx *Tx) EmitEvent(ctx context.Context, ids []int64, event string, at time.Time, detail string) error {
	if len(ids) == 0 {
		return nil
	}
	if active, err := tx.db.webhooksActive(ctx, tx); err != nil || !active {
		return err
	}
	if _, err := tx.ExecContext(ctx, tx.db.wq().emitEventIDs, jsonArray(ids), event, at, detail, tx.db.now()); err != nil {
		return wrapDBErr("queue webhooks", err)
	}
	return nil
}

// WebhookEndpoint is a system that receives Recado's events. Secret is sealed
// (secrets.Box): the store never sees it in clear.
type WebhookEndpoint struct {
	ID          int64
	URL         string
	Events      []string
	Secret      string
	Active      bool
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const endpointColumns = `id, url, events, secret, active, description, created_at, updated_at`

func scanEndpoint(s scanner) (WebhookEndpoint, error) {
	var e WebhookEndpoint
	var events string
	if err := s.Scan(&e.ID, &e.URL, &events, &e.Secret, &e.Active, &e.Description, &e.CreatedAt, &e.UpdatedAt); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return e, fmt.Errorf("endpoint %d: events: %w", e.ID, err)
	}
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	return e, nil
}

// CreateWebhookEndpoint stores an endpoint; its deliveries start with the
// next change of state.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) (WebhookEndpoint, error) {
	now := db.now()
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`
INSERT INTO webhook_endpoints (url, events, secret, active, description, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`),
		e.URL, string(jsonArray(e.Events)), e.Secret, e.Active, e.Description, now).Scan(&e.ID)
	if err != nil {
		return e, wrapDBErr("create webhook endpoint", err)
	}
	db.forgetWebhooks()
	e.CreatedAt, e.UpdatedAt = now, now
	return e, nil
}

// UpdateWebhookEndpoint writes an endpoint's URL, events, secret, active flag
// and description.
func (db *DB) UpdateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) (WebhookEndpoint, error) {
	e.UpdatedAt = db.now()
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE webhook_endpoints SET url = $2, events = $3, secret = $4, active = $5, description = $6, updated_at = $7
WHERE id = $1`), e.ID, e.URL, string(jsonArray(e.Events)), e.Secret, e.Active, e.Description, e.UpdatedAt)
	if err != nil {
		return e, wrapDBErr("update webhook endpoint", err)
	}
	db.forgetWebhooks()
	if n, _ := res.RowsAffected(); n == 0 {
		return e, sms.Errorf(sms.KindNotFound, "webhook endpoint %d not found", e.ID)
	}
	return e, nil
}

// DeleteWebhookEndpoint removes an endpoint with its deliveries.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM webhook_endpoints WHERE id = $1`), id)
	if err != nil {
		return wrapDBErr("delete webhook endpoint", err)
	}
	db.forgetWebhooks()
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "webhook endpoint %d not found", id)
	}
	return nil
}

// GetWebhookEndpoint returns one endpoint.
func (db *DB) GetWebhookEndpoint(ctx context.Context, id int64) (WebhookEndpoint, error) {
	e, err := scanEndpoint(db.read.QueryRowContext(ctx,
		db.dialect.rebind(`SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, sms.Errorf(sms.KindNotFound, "webhook endpoint %d not found", id)
	}
	return e, wrapDBErr("get webhook endpoint", err)
}

// ListWebhookEndpoints returns every endpoint, oldest first.
func (db *DB) ListWebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id`)
	if err != nil {
		return nil, wrapDBErr("list webhook endpoints", err)
	}
	defer rows.Close()
	out := []WebhookEndpoint{}
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list webhook endpoints: %w", err)
		}
		out = append(out, e)
	}
	return out, wrapDBErr("list webhook endpoints", rows.Err())
}

// WebhookDelivery is one event on its way to one endpoint, and the log of
// its attempts.
type WebhookDelivery struct {
	ID            int64      `json:"id"`
	EndpointID    int64      `json:"endpoint_id"`
	MessageID     int64      `json:"message_id"`
	Event         string     `json:"event" doc:"The event type, e.g. message.delivered"`
	At            time.Time  `json:"at" doc:"When the event happened"`
	Detail        string     `json:"detail,omitempty"`
	Status        string     `json:"status" enum:"pending,delivered,failed"`
	Attempts      int        `json:"attempts" doc:"Attempts made (since the last resend)"`
	LastStatus    *int       `json:"last_status,omitempty" doc:"The HTTP status of the last attempt; absent when it got no answer"`
	LastError     string     `json:"last_error,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty" doc:"When a pending delivery is tried next"`
	CreatedAt     time.Time  `json:"created_at"`
	ResentAt      *time.Time `json:"resent_at,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

const deliveryColumns = `id, endpoint_id, message_id, event, at, detail, status, attempts, last_status, last_error,
	next_attempt_at, created_at, resent_at, delivered_at`

func scanDelivery(s scanner) (WebhookDelivery, error) {
	var d WebhookDelivery
	var last sql.NullInt64
	var next, resent, delivered sql.NullTime
	err := s.Scan(&d.ID, &d.EndpointID, &d.MessageID, &d.Event, &d.At, &d.Detail, &d.Status, &d.Attempts, &last,
		&d.LastError, &next, &d.CreatedAt, &resent, &delivered)
	if last.Valid {
		n := int(last.Int64)
		d.LastStatus = &n
	}
	d.At, d.CreatedAt = d.At.UTC(), d.CreatedAt.UTC()
	d.NextAttemptAt, d.ResentAt, d.DeliveredAt = nullTime(next), nullTime(resent), nullTime(delivered)
	return d, err
}

func collectDeliveries(rows *sql.Rows, err error, op string) ([]WebhookDelivery, error) {
	if err != nil {
		return nil, wrapDBErr(op, err)
	}
	defer rows.Close()
	out := []WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", op, err)
		}
		out = append(out, d)
	}
	return out, wrapDBErr(op, rows.Err())
}

// DeliveryFilter selects an endpoint's deliveries: Status when set; Before is
// the cursor (deliveries come newest first).
type DeliveryFilter struct {
	EndpointID int64
	Status     string
	Before     int64
	Limit      int // 1..1000; 50 when zero
}

// ListWebhookDeliveries returns an endpoint's deliveries, newest first.
func (db *DB) ListWebhookDeliveries(ctx context.Context, f DeliveryFilter) ([]WebhookDelivery, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+deliveryColumns+` FROM webhook_deliveries
WHERE endpoint_id = $1 AND ($2 = '' OR status = $2) AND ($3 = 0 OR id < $3)
ORDER BY id DESC LIMIT $4`), f.EndpointID, f.Status, f.Before, min(limit, 1000))
	return collectDeliveries(rows, err, "list webhook deliveries")
}

// WebhooksDue reports whether ClaimWebhookDeliveries would find work at now:
// a read that spares the writer a claim when there is nothing to do.
func (db *DB) WebhooksDue(ctx context.Context, now time.Time) (bool, error) {
	var due bool
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT EXISTS (
    SELECT 1 FROM webhook_deliveries AS d JOIN webhook_endpoints AS ep ON ep.id = d.endpoint_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND ep.active
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries AS o
                      WHERE o.message_id = d.message_id AND o.endpoint_id = d.endpoint_id
                        AND o.status = 'pending' AND o.id < d.id))`), now.UTC()).Scan(&due)
	return due, wrapDBErr("webhooks due", err)
}

// ClaimWebhookDeliveries takes up to limit deliveries due at now and leases
// them until leaseUntil: no other claim returns them before then, so a
// delivery whose worker died comes due again when its lease runs out. Only
// active endpoints' deliveries are taken, and of those the oldest pending
// one of each message and endpoint, so that a message's events arrive in
// order.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]WebhookDelivery, error) {
	rows, err := db.write.QueryContext(ctx, db.wq().claimDeliveries, now.UTC(), leaseUntil.UTC(), limit)
	ds, err := collectDeliveries(rows, err, "claim webhook deliveries")
	// RETURNING follows no order; the oldest first reads best in logs and tests.
	slices.SortFunc(ds, func(a, b WebhookDelivery) int { return cmp.Compare(a.ID, b.ID) })
	return ds, err
}

// DeliveryAttempt is the outcome of one attempt at a delivery.
type DeliveryAttempt struct {
	Status     string     // DeliveryDelivered, DeliveryFailed (given up) or DeliveryPending (retry at Next)
	HTTPStatus int        // 0 when no answer came
	Error      string     // empty on success
	Next       *time.Time // the next attempt of a pending delivery
	At         time.Time
}

// RecordWebhookAttempt writes the outcome of an attempt at a pending
// delivery. It reports false when the delivery is no longer pending (its
// endpoint was deleted meanwhile).
func (db *DB) RecordWebhookAttempt(ctx context.Context, id int64, a DeliveryAttempt) (bool, error) {
	var httpStatus *int
	if a.HTTPStatus != 0 {
		httpStatus = &a.HTTPStatus
	}
	var delivered *time.Time
	if a.Status == DeliveryDelivered {
		at := a.At.UTC()
		delivered = &at
	}
	var next *time.Time
	if a.Next != nil {
		n := a.Next.UTC()
		next = &n
	}
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_status = $3, last_error = $4,
       next_attempt_at = $5, delivered_at = $6
WHERE id = $1 AND status = 'pending'`), id, a.Status, httpStatus, a.Error, next, delivered)
	if err != nil {
		return false, wrapDBErr("record webhook attempt", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ResendWebhookDelivery makes an endpoint's delivery pending and due at now,
// whatever its status, with its attempts counted afresh.
func (db *DB) ResendWebhookDelivery(ctx context.Context, endpointID, id int64, now time.Time) (WebhookDelivery, error) {
	d, err := scanDelivery(db.write.QueryRowContext(ctx, db.dialect.rebind(`
UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, resent_at = $3, delivered_at = NULL
WHERE id = $1 AND endpoint_id = $2
RETURNING `+deliveryColumns), id, endpointID, now.UTC()))
	if errors.Is(err, sql.ErrNoRows) {
		return d, sms.Errorf(sms.KindNotFound, "delivery %d of webhook endpoint %d not found", id, endpointID)
	}
	return d, wrapDBErr("resend webhook delivery", err)
}

// MessagesByID returns the messages with the given ids, in no order; ids
// not found are left out.
func (db *DB) MessagesByID(ctx context.Context, ids []int64) ([]sms.Message, error) {
	var out []sms.Message
	for chunk := range chunks(ids, 1000) {
		rows, err := db.read.QueryContext(ctx, db.wq().messagesByID, jsonArray(chunk))
		ms, err := collectMessages(rows, err, "messages by id")
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}
