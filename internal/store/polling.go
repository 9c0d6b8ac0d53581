package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// The statements of the safety-net jobs (status and reply polling, blacklist
// sync, balance checks) and of the state they keep per provider. Those that
// differ by dialect are in polling_sqlite.go and polling_postgres.go.

// pollingQueries are the polling statements that differ by dialect.
type pollingQueries struct {
	recordPolls  string
	inFlightRefs string
	logBlacklist string
}

func (db *DB) pq() *pollingQueries {
	if db.dialect == SQLite {
		return &sqlitePollingQueries
	}
	return &postgresPollingQueries
}

// ListProviderRecords returns every provider by name, without counting their
// messages: the cheap list the periodic jobs walk.
func (db *DB) ListProviderRecords(ctx context.Context) ([]ProviderRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+providerColumns+` FROM providers ORDER BY name`)
	if err != nil {
		return nil, wrapDBErr("list provider records", err)
	}
	defer rows.Close()
	var out []ProviderRecord
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, wrapDBErr("list provider records", err)
		}
		out = append(out, p)
	}
	return out, wrapDBErr("list provider records", rows.Err())
}

// InFlightJob is one provider job (a send request) with messages still
// waiting for their final state, and what the status poll knows of it.
type InFlightJob struct {
	Provider    string
	JobID       string
	Messages    int        // messages of the job still sent or sending
	FirstSentAt time.Time  // when the job's oldest such message was sent
	PolledAt    *time.Time // the last poll; nil before the first
	NextPollAt  *time.Time // when it is due; nil before the first poll
	Polls       int        // polls made so far
}

// DueStatusPolls returns, oldest first, at most limit jobs with messages in
// flight (sent or sending, with the provider's job id) that are due for a
// status poll: never polled and sent before firstBefore, or whose next poll
// is at or before now. One statement, one row per job.
func (db *DB) DueStatusPolls(ctx context.Context, now, firstBefore time.Time, limit int) ([]InFlightJob, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`
SELECT m.provider, m.provider_job_id, count(*), min(coalesce(m.sent_at, m.updated_at)),
       max(p.polled_at), max(p.next_poll_at), coalesce(max(p.polls), 0)
FROM messages m LEFT JOIN status_polls p ON p.provider = m.provider AND p.job_id = m.provider_job_id
WHERE m.state IN ('sent', 'sending') AND m.provider_job_id IS NOT NULL AND m.provider_job_id <> ''
GROUP BY m.provider, m.provider_job_id
HAVING (max(p.next_poll_at) IS NULL AND min(coalesce(m.sent_at, m.updated_at)) <= $1)
    OR max(p.next_poll_at) <= $2
ORDER BY coalesce(max(p.next_poll_at), min(coalesce(m.sent_at, m.updated_at))), m.provider, m.provider_job_id
LIMIT $3`), firstBefore.UTC(), now.UTC(), limit)
	if err != nil {
		return nil, wrapDBErr("due status polls", err)
	}
	defer rows.Close()
	var out []InFlightJob
	for rows.Next() {
		var j InFlightJob
		var first, polled, next any
		if err := rows.Scan(&j.Provider, &j.JobID, &j.Messages, &first, &polled, &next, &j.Polls); err != nil {
			return nil, wrapDBErr("due status polls", err)
		}
		var err error
		if j.FirstSentAt, err = anyTime(first); err != nil {
			return nil, fmt.Errorf("store: due status polls: %w", err)
		}
		if j.PolledAt, err = anyTimePtr(polled); err != nil {
			return nil, fmt.Errorf("store: due status polls: %w", err)
		}
		if j.NextPollAt, err = anyTimePtr(next); err != nil {
			return nil, fmt.Errorf("store: due status polls: %w", err)
		}
		out = append(out, j)
	}
	return out, wrapDBErr("due status polls", rows.Err())
}

// StatusPoll records one poll of a job (or, with Polled false, only when it
// is due next).
type StatusPoll struct {
	Provider   string
	JobID      string
	NextPollAt time.Time
	Error      string
	Polled     bool
}

// RecordStatusPolls stores when each job was polled and when it is due
// next, in one statement. A job must appear once.
func (db *DB) RecordStatusPolls(ctx context.Context, at time.Time, polls []StatusPoll) error {
	if len(polls) == 0 {
		return nil
	}
	rows := make([][5]any, len(polls))
	for i, p := range polls {
		n := 0
		if p.Polled {
			n = 1
		}
		rows[i] = [5]any{p.Provider, p.JobID, jsonTime(p.NextPollAt), truncateText(p.Error, 500), n}
	}
	payload, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("store: record status polls: %w", err)
	}
	if _, err := db.write.ExecContext(ctx, db.pq().recordPolls, payload, at.UTC()); err != nil {
		return wrapDBErr("record status polls", err)
	}
	return nil
}

// InFlightReferences returns the references of a provider's messages that
// are still sent or sending in the given jobs.
func (db *DB) InFlightReferences(ctx context.Context, providerName string, jobIDs []string) ([]string, error) {
	var out []string
	for chunk := range chunks(jobIDs, 1000) {
		rows, err := db.read.QueryContext(ctx, db.pq().inFlightRefs, providerName, jsonArray(chunk))
		if err != nil {
			return nil, wrapDBErr("in-flight references", err)
		}
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return nil, wrapDBErr("in-flight references", err)
			}
			out = append(out, ref)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, wrapDBErr("in-flight references", err)
		}
	}
	return out, nil
}

// PruneStatusPolls forgets polls made before cutoff: their jobs are final by
// then, or expired.
func (db *DB) PruneStatusPolls(ctx context.Context, cutoff time.Time) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM status_polls WHERE polled_at < $1`), cutoff.UTC())
	return wrapDBErr("prune status polls", err)
}

// ProviderSync is what Recado keeps about a provider's background jobs.
type ProviderSync struct {
	Provider string
	// RepliesPolledAt is the time up to which replies are in.
	RepliesPolledAt *time.Time
	RepliesError    string
	// BlacklistCursor is the last blacklist change pushed; nil: the whole
	// list has never been pushed.
	BlacklistCursor   *int64
	BlacklistSyncedAt *time.Time
	BlacklistError    string
	BlacklistErrorAt  *time.Time
	// BlacklistPending counts the changes not pushed yet, or the numbers on
	// the list while it has never been pushed whole.
	BlacklistPending int64
	BalanceError     string
	BalanceErrorAt   *time.Time
}

const providerSyncSelect = `
SELECT s.provider, s.replies_polled_at, s.replies_error, s.blacklist_cursor, s.blacklist_synced_at,
       s.blacklist_error, s.blacklist_error_at, s.balance_error, s.balance_error_at,
       CASE WHEN s.blacklist_cursor IS NULL THEN (SELECT count(*) FROM blacklist)
            ELSE (SELECT count(*) FROM blacklist_changes c WHERE c.id > s.blacklist_cursor) END
FROM provider_sync s`

// ProviderSyncStates returns the sync state of every provider that has one,
// by name.
func (db *DB) ProviderSyncStates(ctx context.Context) (map[string]ProviderSync, error) {
	rows, err := db.read.QueryContext(ctx, providerSyncSelect)
	if err != nil {
		return nil, wrapDBErr("provider sync states", err)
	}
	defer rows.Close()
	out := map[string]ProviderSync{}
	for rows.Next() {
		s, err := scanProviderSync(rows)
		if err != nil {
			return nil, wrapDBErr("provider sync states", err)
		}
		out[s.Provider] = s
	}
	return out, wrapDBErr("provider sync states", rows.Err())
}

func scanProviderSync(sc scanner) (ProviderSync, error) {
	var s ProviderSync
	var replies, synced, errAt, balErrAt sql.NullTime
	var cursor sql.NullInt64
	err := sc.Scan(&s.Provider, &replies, &s.RepliesError, &cursor, &synced, &s.BlacklistError, &errAt,
		&s.BalanceError, &balErrAt, &s.BlacklistPending)
	s.RepliesPolledAt, s.BlacklistSyncedAt, s.BlacklistErrorAt, s.BalanceErrorAt =
		nullTime(replies), nullTime(synced), nullTime(errAt), nullTime(balErrAt)
	s.BlacklistCursor = nullInt(cursor)
	return s, err
}

// ProviderSyncState returns one provider's sync state; a provider without
// one gets a zero state with the whole blacklist pending.
func (db *DB) ProviderSyncState(ctx context.Context, providerName string) (ProviderSync, error) {
	s, err := scanProviderSync(db.read.QueryRowContext(ctx, db.dialect.rebind(providerSyncSelect+` WHERE s.provider = $1`), providerName))
	if errors.Is(err, sql.ErrNoRows) {
		s = ProviderSync{Provider: providerName}
		err = db.read.QueryRowContext(ctx, `SELECT count(*) FROM blacklist`).Scan(&s.BlacklistPending)
	}
	return s, wrapDBErr("provider sync state", err)
}

// SetRepliesPolled records a successful reply poll that covered replies
// received up to at, or, with errText, a failed one (at is then ignored).
func (db *DB) SetRepliesPolled(ctx context.Context, providerName string, at time.Time, errText string) error {
	var err error
	if errText == "" {
		_, err = db.write.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO provider_sync (provider, replies_polled_at, replies_error) VALUES ($1, $2, '')
ON CONFLICT (provider) DO UPDATE SET replies_polled_at = excluded.replies_polled_at, replies_error = ''`),
			providerName, at.UTC())
	} else {
		_, err = db.write.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO provider_sync (provider, replies_error) VALUES ($1, $2)
ON CONFLICT (provider) DO UPDATE SET replies_error = excluded.replies_error`),
			providerName, truncateText(errText, 500))
	}
	return wrapDBErr("record reply poll", err)
}

// SetBalance records a provider's balance as of at and clears the balance
// error.
func (db *DB) SetBalance(ctx context.Context, providerName string, bal sms.Money, at time.Time) error {
	return db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, db.dialect.rebind(`UPDATE providers SET balance = $2, balance_at = $3 WHERE name = $1`),
			providerName, int64(bal), at.UTC())
		if err != nil {
			return wrapDBErr("set balance", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sms.Errorf(sms.KindNotFound, "provider %q not found", providerName)
		}
		_, err = tx.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO provider_sync (provider) VALUES ($1)
ON CONFLICT (provider) DO UPDATE SET balance_error = '', balance_error_at = NULL`), providerName)
		return wrapDBErr("set balance", err)
	})
}

// SetBalanceError records that a balance check failed.
func (db *DB) SetBalanceError(ctx context.Context, providerName, errText string, at time.Time) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO provider_sync (provider, balance_error, balance_error_at) VALUES ($1, $2, $3)
ON CONFLICT (provider) DO UPDATE SET balance_error = excluded.balance_error, balance_error_at = excluded.balance_error_at`),
		providerName, truncateText(errText, 500), at.UTC())
	return wrapDBErr("record balance error", err)
}

// ClaimBlacklistSync takes the lease on a provider's blacklist sync until
// leaseUntil, so that one sync at a time pushes its changes, across
// instances. It returns the provider's cursor (nil: never synced whole) and
// ok=false with the end of the current lease when another sync holds it.
func (db *DB) ClaimBlacklistSync(ctx context.Context, providerName string, leaseUntil time.Time) (cursor *int64, ok bool, heldUntil time.Time, err error) {
	now := db.now()
	err = db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, db.dialect.rebind(
			`INSERT INTO provider_sync (provider) VALUES ($1) ON CONFLICT (provider) DO NOTHING`), providerName); err != nil {
			return wrapDBErr("claim blacklist sync", err)
		}
		var c sql.NullInt64
		err := tx.QueryRowContext(ctx, db.dialect.rebind(`
UPDATE provider_sync SET blacklist_lease_until = $2
WHERE provider = $1 AND (blacklist_lease_until IS NULL OR blacklist_lease_until < $3)
RETURNING blacklist_cursor`), providerName, leaseUntil.UTC(), now).Scan(&c)
		if errors.Is(err, sql.ErrNoRows) {
			var held sql.NullTime
			err = tx.QueryRowContext(ctx, db.dialect.rebind(`SELECT blacklist_lease_until FROM provider_sync WHERE provider = $1`),
				providerName).Scan(&held)
			heldUntil = held.Time
			return wrapDBErr("claim blacklist sync", err)
		}
		if err != nil {
			return wrapDBErr("claim blacklist sync", err)
		}
		ok, cursor = true, nullInt(c)
		return nil
	})
	return cursor, ok, heldUntil, err
}

// AdvanceBlacklistSync records that the provider has every change up to
// cursor, at at; the lease stays.
func (db *DB) AdvanceBlacklistSync(ctx context.Context, providerName string, cursor int64, at time.Time) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE provider_sync SET blacklist_cursor = $2, blacklist_synced_at = $3, blacklist_error = '', blacklist_error_at = NULL
WHERE provider = $1`), providerName, cursor, at.UTC())
	return wrapDBErr("advance blacklist sync", err)
}

// ReleaseBlacklistSync gives up the lease, recording errText (empty for a
// sync that succeeded) at at.
func (db *DB) ReleaseBlacklistSync(ctx context.Context, providerName, errText string, at time.Time) error {
	var err error
	if errText == "" {
		_, err = db.write.ExecContext(ctx, db.dialect.rebind(
			`UPDATE provider_sync SET blacklist_lease_until = NULL WHERE provider = $1`), providerName)
	} else {
		_, err = db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE provider_sync SET blacklist_lease_until = NULL, blacklist_error = $2, blacklist_error_at = $3
WHERE provider = $1`), providerName, truncateText(errText, 500), at.UTC())
	}
	return wrapDBErr("release blacklist sync", err)
}

// ResetBlacklistSync forgets what a provider was sent, so that the next sync
// pushes the whole list again.
func (db *DB) ResetBlacklistSync(ctx context.Context, providerName string) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO provider_sync (provider) VALUES ($1)
ON CONFLICT (provider) DO UPDATE SET blacklist_cursor = NULL`), providerName)
	return wrapDBErr("reset blacklist sync", err)
}

// BlacklistChange is one change of the blacklist, in the order they were
// made.
type BlacklistChange struct {
	ID    int64
	Phone string
	Op    string // "add" or "remove"
}

// BlacklistChanges returns at most limit changes made after cursor, oldest
// first.
func (db *DB) BlacklistChanges(ctx context.Context, cursor int64, limit int) ([]BlacklistChange, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(
		`SELECT id, phone, op FROM blacklist_changes WHERE id > $1 ORDER BY id LIMIT $2`), cursor, limit)
	if err != nil {
		return nil, wrapDBErr("blacklist changes", err)
	}
	defer rows.Close()
	var out []BlacklistChange
	for rows.Next() {
		var c BlacklistChange
		if err := rows.Scan(&c.ID, &c.Phone, &c.Op); err != nil {
			return nil, wrapDBErr("blacklist changes", err)
		}
		out = append(out, c)
	}
	return out, wrapDBErr("blacklist changes", rows.Err())
}

// LastBlacklistChange returns the id of the latest blacklist change, 0 when
// there is none.
func (db *DB) LastBlacklistChange(ctx context.Context) (int64, error) {
	var id int64
	err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM blacklist_changes`).Scan(&id)
	return id, wrapDBErr("last blacklist change", err)
}

// BlacklistPhones returns at most limit numbers on the blacklist after
// after, in order.
func (db *DB) BlacklistPhones(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(
		`SELECT phone FROM blacklist WHERE phone > $1 ORDER BY phone LIMIT $2`), after, limit)
	if err != nil {
		return nil, wrapDBErr("blacklist phones", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, wrapDBErr("blacklist phones", err)
		}
		out = append(out, p)
	}
	return out, wrapDBErr("blacklist phones", rows.Err())
}

// PruneBlacklistChanges deletes changes made before cutoff that every
// provider in step with the list has received.
func (db *DB) PruneBlacklistChanges(ctx context.Context, cutoff time.Time) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`
DELETE FROM blacklist_changes
WHERE at < $1 AND id <= (SELECT coalesce(min(blacklist_cursor), 0) FROM provider_sync WHERE blacklist_cursor IS NOT NULL)`),
		cutoff.UTC())
	return wrapDBErr("prune blacklist changes", err)
}

// logBlacklist records changes of the blacklist in its outbox, in the
// transaction that made them.
func (tx *Tx) logBlacklist(ctx context.Context, phones []string, op string) error {
	if len(phones) == 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.db.pq().logBlacklist, jsonArray(phones), op, tx.db.now()); err != nil {
		return wrapDBErr("log blacklist change", err)
	}
	return nil
}

// RemoveFromBlacklist takes a number off the blacklist and records the
// change for the providers' sync.
func (tx *Tx) RemoveFromBlacklist(ctx context.Context, phone string) error {
	res, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`DELETE FROM blacklist WHERE phone = $1`), phone)
	if err != nil {
		return wrapDBErr("remove from blacklist", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "%s is not on the blacklist", phone)
	}
	return tx.logBlacklist(ctx, []string{phone}, "remove")
}

// anyTime reads a time scanned into an any: PostgreSQL gives a time.Time;
// SQLite gives text for an aggregate, whose column type it does not know.
func anyTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return parseSQLiteTime(t)
	case []byte:
		return parseSQLiteTime(string(t))
	}
	return time.Time{}, fmt.Errorf("unexpected time value %T", v)
}

func anyTimePtr(v any) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	t, err := anyTime(v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// parseSQLiteTime reads the forms modernc's driver writes times in.
func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{timeLayout, "2006-01-02 15:04:05.999999999Z07:00", time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unreadable time %q", s)
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
