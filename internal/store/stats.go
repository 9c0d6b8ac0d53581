package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// statsQueries are the read-only aggregates and lookups of the web UI
// (dashboard, live pages, composer), per dialect (sql_stats_sqlite.go, sql_stats_postgres.go).
type statsQueries struct {
	volumeByHour      string
	eventsFor         string
	changedSince      string
	tags              string
	contactIDsWithTag string
}

func (db *DB) sq() *statsQueries {
	if db.dialect == SQLite {
		return &sqliteStatsQueries
	}
	return &postgresStatsQueries
}

// HourVolume counts the messages created in one hour (UTC) with one
// direction and state, with their segments and cost.
type HourVolume struct {
	Hour      time.Time
	Direction sms.Direction
	State     sms.State
	Count     int64
	Segments  int64
	Cost      sms.Money
}

// VolumeByHour counts messages created in [from, to) by hour, direction
// and state. Callers fold hours into days in their own time zone.
func (db *DB) VolumeByHour(ctx context.Context, from, to time.Time) ([]HourVolume, error) {
	rows, err := db.read.QueryContext(ctx, db.sq().volumeByHour, from.UTC(), to.UTC())
	if err != nil {
		return nil, wrapDBErr("volume by hour", err)
	}
	defer rows.Close()
	var out []HourVolume
	for rows.Next() {
		var h HourVolume
		var hour string
		var cost int64
		if err := rows.Scan(&hour, &h.Direction, &h.State, &h.Count, &h.Segments, &cost); err != nil {
			return nil, fmt.Errorf("store: volume by hour: %w", err)
		}
		if h.Hour, err = time.Parse("2006-01-02 15", hour); err != nil {
			return nil, fmt.Errorf("store: volume by hour: hour %q: %w", hour, err)
		}
		h.Cost = sms.Money(cost)
		out = append(out, h)
	}
	return out, wrapDBErr("volume by hour", rows.Err())
}

// CountUnread counts unread replies, those of contacts owned by ownerID when
// it is set, counting no further than limit (a badge shows "99+").
func (db *DB) CountUnread(ctx context.Context, ownerID *int64, limit int) (int, error) {
	q := `SELECT count(*) FROM (SELECT 1 FROM messages m WHERE m.direction = 'inbound' AND m.read_at IS NULL`
	args := []any{}
	if ownerID != nil {
		args = append(args, *ownerID)
		q += ` AND m.contact_id IN (SELECT c.id FROM contacts c WHERE c.owner_id = $1)`
	}
	args = append(args, limit)
	q += fmt.Sprintf(` LIMIT $%d) AS u`, len(args))
	var n int
	if err := db.read.QueryRowContext(ctx, db.dialect.rebind(q), args...).Scan(&n); err != nil {
		return 0, wrapDBErr("count unread", err)
	}
	return n, nil
}

// EventsFor returns the events of several messages, each message's oldest
// first, in one query.
func (db *DB) EventsFor(ctx context.Context, ids []int64) (map[int64][]sms.Event, error) {
	out := map[int64][]sms.Event{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.read.QueryContext(ctx, db.sq().eventsFor, jsonArray(ids))
	if err != nil {
		return nil, wrapDBErr("events", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e sms.Event
		if err := rows.Scan(&e.MessageID, &e.State, &e.At, &e.Source, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: events: %w", err)
		}
		e.At = e.At.UTC()
		out[e.MessageID] = append(out[e.MessageID], e)
	}
	return out, wrapDBErr("events", rows.Err())
}

// ContactActivity is a fingerprint of a contact's messages, their number and
// latest change, that differs as soon as one is added or changes state: the
// live timeline asks for it every second and redraws only when it moves.
func (db *DB) ContactActivity(ctx context.Context, contactID int64) (string, error) {
	var n int64
	var last sql.NullString
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(
		`SELECT count(*), max(updated_at) FROM messages WHERE contact_id = $1`), contactID).Scan(&n, &last)
	if err != nil {
		return "", wrapDBErr("contact activity", err)
	}
	return strconv.FormatInt(n, 10) + "|" + last.String, nil
}

// MessagesActivity is ContactActivity for a set of messages.
func (db *DB) MessagesActivity(ctx context.Context, ids []int64) (string, error) {
	if len(ids) == 0 {
		return "", nil
	}
	var last sql.NullString
	if err := db.read.QueryRowContext(ctx, db.sq().changedSince, jsonArray(ids)).Scan(&last); err != nil {
		return "", wrapDBErr("messages activity", err)
	}
	return last.String, nil
}
