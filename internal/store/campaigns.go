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

// campaignQueries are the campaign statements that differ by dialect.
type campaignQueries struct {
	markSkipped string // ?1 campaign, ?2 JSON [contact, ...], ?3 reason
	hourBucket  string // an expression of messages m's delivered_at truncated to the hour, as text
	notDisturb  string // ?1 JSON [phone, ...]: those a provider refused as "Não Me Perturbe"
	// contactsAfter, when set, is added to NextRecipients' conditions: the
	// contacts' own bound at the cursor (?2), which the join implies.
	contactsAfter string
}

// The states of a campaign.
const (
	CampaignDraft     = "draft"
	CampaignScheduled = "scheduled"
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignCompleted = "completed"
	CampaignCanceled  = "canceled"
)

// Audience is who a campaign goes to: the contacts in any of Lists, with any
// of Tags, selected by any of Segments, or imported by any of Imports (each
// import's list).
type Audience struct {
	Lists    []int64  `json:"lists,omitempty" maxItems:"100"`
	Tags     []string `json:"tags,omitempty" maxItems:"100"`
	Segments []int64  `json:"segments,omitempty" maxItems:"100"`
	Imports  []int64  `json:"imports,omitempty" maxItems:"100" doc:"Uploaded files (POST /imports with a list): their contacts, and their rejected and merged rows counted as skipped"`
}

// Empty reports whether a names nobody.
func (a Audience) Empty() bool {
	return len(a.Lists) == 0 && len(a.Tags) == 0 && len(a.Segments) == 0 && len(a.Imports) == 0
}

// Campaign is a campaign as stored.
type Campaign struct {
	ID            int64             `json:"id"`
	Name          string            `json:"name"`
	TemplateID    *int64            `json:"template_id,omitempty"`
	Body          string            `json:"body"`
	Kind          sms.MessageKind   `json:"kind"`
	Provider      string            `json:"provider"`
	Audience      Audience          `json:"audience"`
	Vars          map[string]string `json:"vars"`
	ScheduleAt    *time.Time        `json:"schedule_at,omitempty"`
	Window        json.RawMessage   `json:"window,omitempty"`
	RatePerMinute int               `json:"rate_per_minute"`
	CapMessages   int               `json:"cap_messages"`
	CapDays       int               `json:"cap_days"`
	OnMissing     string            `json:"on_missing"`
	State         string            `json:"state"`
	Materialized  bool              `json:"-"`
	Cursor        int64             `json:"-"`
	Recipients    int64             `json:"recipients" doc:"Contacts in the audience when it started"`
	Skipped       int64             `json:"skipped"`
	SkippedBy     map[string]int64  `json:"skipped_by"`
	Fed           int64             `json:"fed" doc:"Messages made so far"`
	CreatedBy     *int64            `json:"created_by,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	StartedAt     *time.Time        `json:"started_at,omitempty"`
	FinishedAt    *time.Time        `json:"finished_at,omitempty"`
}

const campaignColumns = `id, name, template_id, body, kind, provider, audience, vars, schedule_at, send_window,
	rate_per_minute, cap_messages, cap_days, on_missing, state, materialized, feed_cursor, recipients, skipped,
	skipped_by, fed, created_by, created_at, updated_at, started_at, finished_at`

func scanCampaign(s scanner) (Campaign, error) {
	var c Campaign
	var tmpl, by sql.NullInt64
	var aud, vars, skippedBy string
	var window sql.NullString
	var sched, started, finished sql.NullTime
	err := s.Scan(&c.ID, &c.Name, &tmpl, &c.Body, &c.Kind, &c.Provider, &aud, &vars, &sched, &window,
		&c.RatePerMinute, &c.CapMessages, &c.CapDays, &c.OnMissing, &c.State, &c.Materialized, &c.Cursor, &c.Recipients,
		&c.Skipped, &skippedBy, &c.Fed, &by, &c.CreatedAt, &c.UpdatedAt, &started, &finished)
	if err != nil {
		return c, err
	}
	c.TemplateID, c.CreatedBy = nullInt(tmpl), nullInt(by)
	c.ScheduleAt, c.StartedAt, c.FinishedAt = nullTime(sched), nullTime(started), nullTime(finished)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if window.Valid && window.String != "" {
		c.Window = json.RawMessage(window.String)
	}
	for _, u := range []struct {
		src string
		dst any
	}{{aud, &c.Audience}, {vars, &c.Vars}, {skippedBy, &c.SkippedBy}} {
		if err := json.Unmarshal([]byte(u.src), u.dst); err != nil {
			return c, fmt.Errorf("campaign %d: %w", c.ID, err)
		}
	}
	if c.Vars == nil {
		c.Vars = map[string]string{}
	}
	if c.SkippedBy == nil {
		c.SkippedBy = map[string]int64{}
	}
	return c, nil
}

func windowArg(w json.RawMessage) any {
	if len(w) == 0 || string(w) == "null" {
		return nil
	}
	return string(w)
}

// CreateCampaign stores a new campaign as a draft.
func (db *DB) CreateCampaign(ctx context.Context, c Campaign) (Campaign, error) {
	now := db.now()
	aud, _ := json.Marshal(c.Audience)
	vars, _ := json.Marshal(c.Vars)
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`INSERT INTO campaigns (name, template_id, body, kind, provider, audience, vars,
    schedule_at, send_window, rate_per_minute, cap_messages, cap_days, on_missing, state, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $15, $15) RETURNING id`),
		c.Name, c.TemplateID, c.Body, string(c.Kind), c.Provider, string(aud), string(vars), c.ScheduleAt, windowArg(c.Window),
		c.RatePerMinute, c.CapMessages, c.CapDays, c.OnMissing, c.CreatedBy, now).Scan(&c.ID)
	if err != nil {
		return c, wrapDBErr("create campaign", err)
	}
	return db.GetCampaign(ctx, c.ID)
}

// UpdateCampaign writes a draft's settings; a campaign past draft is a
// conflict.
func (db *DB) UpdateCampaign(ctx context.Context, c Campaign) (Campaign, error) {
	aud, _ := json.Marshal(c.Audience)
	vars, _ := json.Marshal(c.Vars)
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE campaigns SET name = $2, template_id = $3, body = $4, kind = $5,
    provider = $6, audience = $7, vars = $8, schedule_at = $9, send_window = $10, rate_per_minute = $11, cap_messages = $12,
    cap_days = $13, on_missing = $14, updated_at = $15
WHERE id = $1 AND state = 'draft'`), c.ID, c.Name, c.TemplateID, c.Body, string(c.Kind), c.Provider, string(aud), string(vars),
		c.ScheduleAt, windowArg(c.Window), c.RatePerMinute, c.CapMessages, c.CapDays, c.OnMissing, db.now())
	if err != nil {
		return c, wrapDBErr("update campaign", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		cur, err := db.GetCampaign(ctx, c.ID)
		if err != nil {
			return c, err
		}
		return c, sms.Errorf(sms.KindConflict, "campaign %d is %s: only drafts can be changed", c.ID, cur.State)
	}
	return db.GetCampaign(ctx, c.ID)
}

// GetCampaign returns one campaign.
func (db *DB) GetCampaign(ctx context.Context, id int64) (Campaign, error) {
	c, err := scanCampaign(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, sms.Errorf(sms.KindNotFound, "campaign %d not found", id)
	}
	return c, wrapDBErr("get campaign", err)
}

// LockCampaign loads a campaign inside tx, its row locked on PostgreSQL.
func (tx *Tx) LockCampaign(ctx context.Context, id int64) (Campaign, error) {
	c, err := scanCampaign(tx.QueryRowContext(ctx, tx.db.dialect.rebind(`SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`+tx.db.q.forUpdate), id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, sms.Errorf(sms.KindNotFound, "campaign %d not found", id)
	}
	return c, wrapDBErr("lock campaign", err)
}

// ListCampaigns returns campaigns, newest first, in one of states (any when
// empty).
func (db *DB) ListCampaigns(ctx context.Context, states []string, limit int) ([]Campaign, error) {
	a := &argList{}
	q := `SELECT ` + campaignColumns + ` FROM campaigns`
	if len(states) > 0 {
		ph := make([]string, len(states))
		for i, s := range states {
			ph[i] = a.add(s)
		}
		q += ` WHERE state IN (` + strings.Join(ph, ", ") + `)`
	}
	q += ` ORDER BY id DESC LIMIT ` + a.add(min(max(limit, 1), 1000))
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), a.args...)
	if err != nil {
		return nil, wrapDBErr("list campaigns", err)
	}
	defer rows.Close()
	out := []Campaign{}
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, wrapDBErr("list campaigns", err)
		}
		out = append(out, c)
	}
	return out, wrapDBErr("list campaigns", rows.Err())
}

// DeleteCampaign removes a draft.
func (db *DB) DeleteCampaign(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM campaigns WHERE id = $1 AND state = 'draft'`), id)
	if err != nil {
		return wrapDBErr("delete campaign", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c, err := db.GetCampaign(ctx, id)
		if err != nil {
			return err
		}
		return sms.Errorf(sms.KindConflict, "campaign %d is %s: only drafts can be deleted", id, c.State)
	}
	return nil
}

// SetCampaignState moves a campaign to state to inside tx, if it is in one
// of from; otherwise it is a conflict. Start and end times are kept.
func (tx *Tx) SetCampaignState(ctx context.Context, id int64, from []string, to string) error {
	now := tx.db.now()
	a := &argList{}
	q := `UPDATE campaigns SET state = ` + a.add(to) + `, updated_at = ` + a.add(now)
	switch to {
	case CampaignRunning:
		q += `, started_at = coalesce(started_at, ` + a.add(now) + `)`
	case CampaignCompleted, CampaignCanceled:
		q += `, finished_at = ` + a.add(now)
	}
	if to != CampaignRunning {
		// A stopped campaign's feeder lease goes: whichever job resumes it
		// may feed.
		q += `, feed_lease = NULL, feed_owner = NULL`
	}
	ph := make([]string, len(from))
	for i, s := range from {
		ph[i] = a.add(s)
	}
	q += ` WHERE id = ` + a.add(id) + ` AND state IN (` + strings.Join(ph, ", ") + `)`
	res, err := tx.ExecContext(ctx, tx.db.dialect.rebind(q), a.args...)
	if err != nil {
		return wrapDBErr("set campaign state", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c, err := tx.LockCampaign(ctx, id)
		if err != nil {
			return err
		}
		return sms.Errorf(sms.KindConflict, "campaign %d is %s: it cannot become %s", id, c.State, to)
	}
	return nil
}

// ClaimFeeder takes the feeder's lease of a running campaign for owner (a
// queue job's id) until until. ok is false when the campaign is not running
// or another owner's lease is still good.
func (db *DB) ClaimFeeder(ctx context.Context, id, owner int64, until time.Time) (bool, error) {
	now := db.now()
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE campaigns SET feed_lease = $2, feed_owner = $4
WHERE id = $1 AND state = 'running' AND (feed_lease IS NULL OR feed_lease < $3 OR feed_owner = $4)`), id, until, now, owner)
	if err != nil {
		return false, wrapDBErr("claim feeder", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// HoldFeeder keeps owner's lease until until, while its job waits.
func (db *DB) HoldFeeder(ctx context.Context, id, owner int64, until time.Time) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE campaigns SET feed_lease = $3 WHERE id = $1 AND feed_owner = $2`), id, owner, until)
	return wrapDBErr("hold feeder", err)
}

// ReleaseFeeder gives owner's lease up.
func (db *DB) ReleaseFeeder(ctx context.Context, id, owner int64) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE campaigns SET feed_lease = NULL, feed_owner = NULL WHERE id = $1 AND feed_owner = $2`), id, owner)
	return wrapDBErr("release feeder", err)
}

// OrphanCampaigns returns running campaigns whose feeder lease is missing or
// ran out: their feeder job died, or was never made.
func (db *DB) OrphanCampaigns(ctx context.Context) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT id FROM campaigns
WHERE state = 'running' AND (feed_lease IS NULL OR feed_lease < $1) ORDER BY id LIMIT 1000`), db.now())
	if err != nil {
		return nil, wrapDBErr("orphan campaigns", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrapDBErr("orphan campaigns", err)
		}
		out = append(out, id)
	}
	return out, wrapDBErr("orphan campaigns", rows.Err())
}

// Exclusion is what decides whether a contact of the audience is skipped:
// the campaign's kind, id and frequency cap, and the template's needs.
type Exclusion struct {
	CampaignID   int64
	Kind         sms.MessageKind
	CapMessages  int       // 0: no cap
	CapSince     time.Time // marketing messages since then count against the cap
	NeedsName    bool      // the template needs the contact's name
	NeedsFields  []string  // custom fields the template needs (no default)
	SkipOnMissed bool      // skip contacts missing a needed value
}

// The reasons a contact of the audience is skipped.
const (
	SkipDeceased     = "deceased"
	SkipOptedOut     = "opted_out"
	SkipBlacklisted  = "blacklisted"
	SkipNotDisturb   = "do_not_disturb"
	SkipAlreadySent  = "already_sent"
	SkipFrequencyCap = "frequency_cap"
	SkipMissingField = "missing_field"
	SkipNoValidPhone = "no_valid_phone"
	SkipDuplicate    = "duplicate_phone"
	SkipDeleted      = "contact_deleted"
)

// audienceSQL is the condition on contacts c that selects a's members,
// with filters the segments' (loaded by the caller, in order).
func (db *DB) audienceSQL(a Audience, filters []sms.Filter, importLists []int64, args *argList, now time.Time) string {
	var or []string
	lists := append(append([]int64{}, a.Lists...), importLists...)
	for _, l := range lists {
		or = append(or, "EXISTS (SELECT 1 FROM list_members lm WHERE lm.list_id = "+args.add(l)+" AND lm.contact_id = c.id)")
	}
	for _, t := range a.Tags {
		or = append(or, fmt.Sprintf(db.bq().tagHas, args.add(t)))
	}
	for _, f := range filters {
		or = append(or, "("+db.filterSQL(f, args, now)+")")
	}
	if len(or) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// reasonSQL is the expression that says why contact c is skipped, or NULL.
func (db *DB) reasonSQL(x Exclusion, args *argList) string {
	var b strings.Builder
	b.WriteString("CASE WHEN c.deceased THEN '" + SkipDeceased + "'")
	if x.Kind == sms.Marketing {
		b.WriteString(" WHEN c.opted_out THEN '" + SkipOptedOut + "'")
		b.WriteString(" WHEN EXISTS (SELECT 1 FROM blacklist bl WHERE bl.phone = c.phone) THEN '" + SkipBlacklisted + "'")
		b.WriteString(" WHEN EXISTS (SELECT 1 FROM messages nd WHERE nd.phone = c.phone AND nd.error_code = 'not_disturb') THEN '" + SkipNotDisturb + "'")
	}
	b.WriteString(" WHEN EXISTS (SELECT 1 FROM messages am WHERE am.campaign_id = " + args.add(x.CampaignID) +
		" AND am.contact_id = c.id AND am.direction = 'outbound') THEN '" + SkipAlreadySent + "'")
	if x.Kind == sms.Marketing && x.CapMessages > 0 {
		b.WriteString(" WHEN (SELECT count(*) FROM messages fm WHERE fm.contact_id = c.id AND fm.direction = 'outbound' AND fm.kind = 'marketing'" +
			" AND fm.created_at >= " + args.add(x.CapSince) + ") >= " + args.add(x.CapMessages) + " THEN '" + SkipFrequencyCap + "'")
	}
	if x.SkipOnMissed {
		var miss []string
		if x.NeedsName {
			miss = append(miss, "trim(c.name) = ''")
		}
		for _, k := range x.NeedsFields {
			arg := k
			if db.dialect == SQLite {
				arg = sqliteFieldPath(k)
			}
			miss = append(miss, "trim("+fmt.Sprintf(db.bq().fieldValue, args.add(arg))+") = ''")
		}
		if len(miss) > 0 {
			b.WriteString(" WHEN " + strings.Join(miss, " OR ") + " THEN '" + SkipMissingField + "'")
		}
	}
	b.WriteString(" ELSE NULL END")
	return b.String()
}

// AudienceSpec is everything that selects a campaign's recipients.
type AudienceSpec struct {
	Audience    Audience
	Filters     []sms.Filter // the segments' filters
	ImportLists []int64      // the imports' lists
	Exclusion   Exclusion
}

// CountAudience counts the audience by reason, "" for those who would get a
// message: the dry run's figures, by one aggregate query.
func (db *DB) CountAudience(ctx context.Context, spec AudienceSpec) (map[string]int64, error) {
	args := &argList{}
	reason := db.reasonSQL(spec.Exclusion, args)
	where := db.audienceSQL(spec.Audience, spec.Filters, spec.ImportLists, args, db.now())
	q := `SELECT coalesce(reason, ''), count(*) FROM (SELECT ` + reason + ` AS reason FROM contacts c WHERE ` + where + `) x GROUP BY reason`
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), args.args...)
	if err != nil {
		return nil, wrapDBErr("count audience", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return nil, wrapDBErr("count audience", err)
		}
		out[r] = n
	}
	return out, wrapDBErr("count audience", rows.Err())
}

// SampleAudience returns up to n contacts of the audience who would get a
// message, lowest id first.
func (db *DB) SampleAudience(ctx context.Context, spec AudienceSpec, n int) ([]sms.Contact, error) {
	args := &argList{}
	reason := db.reasonSQL(spec.Exclusion, args)
	where := db.audienceSQL(spec.Audience, spec.Filters, spec.ImportLists, args, db.now())
	q := `SELECT ` + prefixed("c.", contactColumns) + ` FROM contacts c WHERE ` + where + ` AND (` + reason + `) IS NULL ORDER BY c.id LIMIT ` + args.add(n)
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), args.args...)
	if err != nil {
		return nil, wrapDBErr("sample audience", err)
	}
	defer rows.Close()
	var out []sms.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, wrapDBErr("sample audience", err)
		}
		out = append(out, c)
	}
	return out, wrapDBErr("sample audience", rows.Err())
}

// Materialize writes the next chunk of a campaign's recipients, set-based,
// in one statement: up to n contacts of the audience, in contact id order
// after the last one written, each pending or skipped with its reason. When
// the chunk comes out short the audience is done: the counters are written,
// with extra skips (rows an import rejected or merged) added, and the
// campaign is marked materialized. It reports whether the campaign is
// materialized. A large audience is thus written in several short
// transactions, so that SQLite's one writer is never held for long; after a
// crash the next call continues after the last recipient written.
func (tx *Tx) Materialize(ctx context.Context, spec AudienceSpec, extra map[string]int64, n int) (done bool, err error) {
	id := spec.Exclusion.CampaignID
	c, err := tx.LockCampaign(ctx, id)
	if err != nil || c.Materialized {
		return c.Materialized, err
	}
	var after int64
	if err := tx.QueryRowContext(ctx, tx.db.dialect.rebind(`SELECT coalesce(max(contact_id), 0) FROM campaign_recipients WHERE campaign_id = $1`), id).Scan(&after); err != nil {
		return false, wrapDBErr("materialize campaign", err)
	}
	args := &argList{}
	reason := tx.db.reasonSQL(spec.Exclusion, args)
	where := tx.db.audienceSQL(spec.Audience, spec.Filters, spec.ImportLists, args, tx.db.now())
	q := `INSERT INTO campaign_recipients (campaign_id, contact_id, status, reason)
SELECT ` + args.add(id) + `, x.id, CASE WHEN x.reason IS NULL THEN 'pending' ELSE 'skipped' END, coalesce(x.reason, '')
FROM (SELECT c.id, ` + reason + ` AS reason FROM contacts c WHERE (` + where + `) AND c.id > ` + args.add(after) +
		` ORDER BY c.id LIMIT ` + args.add(n) + `) x`
	res, err := tx.ExecContext(ctx, tx.db.dialect.rebind(q), args.args...)
	if err != nil {
		return false, wrapDBErr("materialize campaign", err)
	}
	if written, err := res.RowsAffected(); err != nil {
		return false, wrapDBErr("materialize campaign", err)
	} else if written >= int64(n) {
		return false, nil
	}
	by := map[string]int64{}
	rows, err := tx.QueryContext(ctx, tx.db.dialect.rebind(`SELECT reason, count(*) FROM campaign_recipients
WHERE campaign_id = $1 AND status = 'skipped' GROUP BY reason`), id)
	if err != nil {
		return false, wrapDBErr("materialize campaign", err)
	}
	for rows.Next() {
		var r string
		var k int64
		if err := rows.Scan(&r, &k); err != nil {
			rows.Close()
			return false, wrapDBErr("materialize campaign", err)
		}
		by[r] = k
	}
	rows.Close()
	var total int64
	if err := tx.QueryRowContext(ctx, tx.db.dialect.rebind(`SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1`), id).Scan(&total); err != nil {
		return false, wrapDBErr("materialize campaign", err)
	}
	var skipped int64
	for r, k := range extra {
		by[r] += k
		total += k
	}
	for _, k := range by {
		skipped += k
	}
	raw, _ := json.Marshal(by)
	_, err = tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE campaigns SET materialized = TRUE, recipients = $2, skipped = $3, skipped_by = $4, updated_at = $5 WHERE id = $1`),
		id, total, skipped, string(raw), tx.db.now())
	return err == nil, wrapDBErr("materialize campaign", err)
}

// A campaign's recipients and its cursor: a recipient written pending at
// Start is fed (its message made, or skipped late with its reason) once the
// campaign's feed_cursor reaches its contact id; feeding moves the cursor and
// writes only the recipients it skips, not one row per message. So a
// recipient's status as read is its row's, except that a pending row at or
// before the cursor reads as queued, its message the one with the reference
// cp<campaign>.<contact> (recipientStatus).

// NextRecipients returns up to n pending recipients of a campaign after
// contact id cursor, in order, with what feeding reads of their contacts:
// id, name, phone, custom fields and the opted-out and deceased flags (the
// rest is left zero: parsing times, tags and counters for every recipient
// took half of this read's cost, inside the writer's transaction).
// Recipients whose contact was deleted are not among them: GoneRecipients
// finds those.
func (tx *Tx) NextRecipients(ctx context.Context, campaignID, cursor int64, n int) ([]sms.Contact, error) {
	rows, err := tx.QueryContext(ctx, tx.db.dialect.rebind(`SELECT c.id, c.name, c.phone, c.fields, c.opted_out, c.deceased
FROM campaign_recipients r JOIN contacts c ON c.id = r.contact_id
WHERE r.campaign_id = $1 AND r.contact_id > $2`+tx.db.bq().contactsAfter+` AND r.status = 'pending' ORDER BY r.contact_id LIMIT $3`), campaignID, cursor, n)
	if err != nil {
		return nil, wrapDBErr("next recipients", err)
	}
	defer rows.Close()
	out := make([]sms.Contact, 0, n)
	var fields []byte
	for rows.Next() {
		var c sms.Contact
		if err := rows.Scan(&c.ID, &c.Name, &c.Phone, &fields, &c.OptedOut, &c.Deceased); err != nil {
			return nil, wrapDBErr("next recipients", err)
		}
		if len(fields) > 2 { // "{}" is the common case: no map to fill
			if err := json.Unmarshal(fields, &c.Fields); err != nil {
				return nil, fmt.Errorf("store: next recipients: contact %d fields: %w", c.ID, err)
			}
		}
		out = append(out, c)
	}
	return out, wrapDBErr("next recipients", rows.Err())
}

// GoneRecipients returns the pending recipients of a campaign after contact
// id from up to and including to whose contact was deleted, given that
// NextRecipients found live of them there: it counts the range first (the
// recipients' own key, no contact read) and looks further only when the
// count says some are gone.
func (tx *Tx) GoneRecipients(ctx context.Context, campaignID, from, to int64, live int) ([]int64, error) {
	var n int
	if err := tx.QueryRowContext(ctx, tx.db.dialect.rebind(`SELECT count(*) FROM campaign_recipients
WHERE campaign_id = $1 AND contact_id > $2 AND contact_id <= $3 AND status = 'pending'`), campaignID, from, to).Scan(&n); err != nil {
		return nil, wrapDBErr("gone recipients", err)
	}
	if n <= live {
		return nil, nil
	}
	return tx.ids(ctx, "gone recipients", tx.db.dialect.rebind(`SELECT r.contact_id FROM campaign_recipients r
WHERE r.campaign_id = $1 AND r.contact_id > $2 AND r.contact_id <= $3 AND r.status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = r.contact_id) ORDER BY r.contact_id`), campaignID, from, to)
}

// FeedResult is what one chunk of a campaign became.
type FeedResult struct {
	Cursor  int64              // the last contact id of the chunk
	Queued  int                // messages made
	Skipped map[string][]int64 // reason → contacts
}

// RecordFeed marks a chunk's skipped recipients skipped, and moves the
// campaign's cursor and counters, set-based. The recipients whose messages
// were made keep their rows as written: the cursor past them says they were
// fed.
func (tx *Tx) RecordFeed(ctx context.Context, campaignID int64, r FeedResult) error {
	cq := tx.db.bq().campaignQueries
	var skipped int64
	c, err := tx.LockCampaign(ctx, campaignID)
	if err != nil {
		return err
	}
	for reason, ids := range r.Skipped {
		if len(ids) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, cq.markSkipped, campaignID, jsonArray(ids), reason); err != nil {
			return wrapDBErr("record feed", err)
		}
		c.SkippedBy[reason] += int64(len(ids))
		skipped += int64(len(ids))
	}
	raw, _ := json.Marshal(c.SkippedBy)
	_, err = tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE campaigns SET feed_cursor = $2, fed = fed + $3, skipped = skipped + $4,
skipped_by = $5, updated_at = $6 WHERE id = $1`), campaignID, max(r.Cursor, c.Cursor), r.Queued, skipped, string(raw), tx.db.now())
	return wrapDBErr("record feed", err)
}

// SkipLeftovers marks the recipients that feeding left behind skipped as
// deleted contacts, and returns how many: those still pending past the
// cursor once no live one is (their contacts were deleted after the
// campaign started). The counters then account for every recipient; if they
// still do not (a campaign partly fed by a version that marked each fed
// recipient queued, and left deleted contacts pending behind the cursor),
// the pending recipients behind the cursor without a message are marked too.
func (tx *Tx) SkipLeftovers(ctx context.Context, campaignID int64) (int64, error) {
	c, err := tx.LockCampaign(ctx, campaignID)
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE campaign_recipients SET status = 'skipped', reason = $2
WHERE campaign_id = $1 AND contact_id > $3 AND status = 'pending'`), campaignID, SkipDeleted, c.Cursor)
	if err != nil {
		return 0, wrapDBErr("skip leftovers", err)
	}
	n, _ := res.RowsAffected()
	if c.Recipients-c.Skipped-c.Fed-n > 0 {
		res, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE campaign_recipients SET status = 'skipped', reason = $2
WHERE campaign_id = $1 AND contact_id <= $3 AND status = 'pending'
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.reference = 'cp' || campaign_recipients.campaign_id || '.' || campaign_recipients.contact_id)`),
			campaignID, SkipDeleted, c.Cursor)
		if err != nil {
			return 0, wrapDBErr("skip leftovers", err)
		}
		more, _ := res.RowsAffected()
		n += more
	}
	if n > 0 {
		c.SkippedBy[SkipDeleted] += n
		raw, _ := json.Marshal(c.SkippedBy)
		if _, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE campaigns SET skipped = skipped + $2, skipped_by = $3 WHERE id = $1`),
			campaignID, n, string(raw)); err != nil {
			return 0, wrapDBErr("skip leftovers", err)
		}
	}
	return n, nil
}

// CancelRecipients marks a campaign's recipients not fed yet (pending past
// its cursor) canceled.
func (tx *Tx) CancelRecipients(ctx context.Context, campaignID int64) error {
	_, err := tx.ExecContext(ctx, tx.db.dialect.rebind(`UPDATE campaign_recipients SET status = 'canceled'
WHERE campaign_id = $1 AND status = 'pending' AND contact_id > (SELECT feed_cursor FROM campaigns WHERE id = $1)`), campaignID)
	return wrapDBErr("cancel recipients", err)
}

// CampaignInFlight counts a campaign's messages in states (queued, sending).
func (db *DB) CampaignInFlight(ctx context.Context, campaignID int64, states ...sms.State) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT count(*) FROM messages WHERE campaign_id = $1 AND `+
		strings.Replace(db.q.stateInJSON, "$?", "$2", 1)), campaignID, statesJSON(states)).Scan(&n)
	return n, wrapDBErr("campaign in flight", err)
}

// CancelQueued cancels, set-based, the queued messages of a campaign (batch
// 0) or of one batch (campaign 0), with their events, and returns how many.
func (tx *Tx) CancelQueued(ctx context.Context, campaignID, batchID int64, detail string) (int, error) {
	now := tx.db.now()
	q := `UPDATE messages SET state = 'canceled', next_attempt_at = NULL, updated_at = $2 WHERE campaign_id = $1 AND state = 'queued' RETURNING id`
	arg := campaignID
	if batchID != 0 {
		q = `UPDATE messages SET state = 'canceled', next_attempt_at = NULL, updated_at = $2 WHERE batch_id = $1 AND state = 'queued' RETURNING id`
		arg = batchID
	}
	ids, err := tx.ids(ctx, "cancel queued", tx.db.dialect.rebind(q), arg, now)
	if err != nil {
		return 0, err
	}
	return len(ids), tx.insertEventIDs(ctx, ids, sms.StateCanceled, now, sms.SourceWorker, detail)
}

// CampaignStats are a campaign's live figures.
type CampaignStats struct {
	ByState    map[string]int64 `json:"by_state" doc:"Messages by state"`
	Failures   map[string]int64 `json:"failures" doc:"Failed, rejected and expired messages by error code"`
	Segments   int64            `json:"segments"`
	Cost       sms.Money        `json:"-"`
	CostText   string           `json:"cost"`
	Replies    int64            `json:"replies"`
	OptOuts    int64            `json:"opt_outs"`
	Deliveries []HourCount      `json:"deliveries" doc:"Messages delivered per hour (UTC)"`
}

// HourCount is a count in one hour.
type HourCount struct {
	Hour  string `json:"hour"`
	Count int64  `json:"count"`
}

// CampaignStats reads a campaign's figures with a few aggregate queries on
// the campaign's index.
func (db *DB) CampaignStats(ctx context.Context, campaignID int64) (CampaignStats, error) {
	st := CampaignStats{ByState: map[string]int64{}, Failures: map[string]int64{}, Deliveries: []HourCount{}}
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT state, error_code, count(*), coalesce(sum(segments), 0), coalesce(sum(cost), 0)
FROM messages WHERE campaign_id = $1 GROUP BY state, error_code`), campaignID)
	if err != nil {
		return st, wrapDBErr("campaign stats", err)
	}
	var cost int64
	for rows.Next() {
		var state, code string
		var n, segs, c int64
		if err := rows.Scan(&state, &code, &n, &segs, &c); err != nil {
			rows.Close()
			return st, wrapDBErr("campaign stats", err)
		}
		st.ByState[state] += n
		if state == string(sms.StateReceived) {
			st.Replies += n
			continue
		}
		st.Segments += segs
		cost += c
		if s := sms.State(state); s.Failure() && s != sms.StateCanceled {
			if code == "" {
				code = state
			}
			st.Failures[code] += n
		}
	}
	rows.Close()
	st.Cost = sms.Money(cost)
	st.CostText = st.Cost.String()
	err = db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT count(DISTINCT m.phone) FROM messages m
JOIN blacklist b ON b.phone = m.phone AND b.source = 'reply'
WHERE m.campaign_id = $1 AND m.state = 'received'`), campaignID).Scan(&st.OptOuts)
	if err != nil {
		return st, wrapDBErr("campaign stats", err)
	}
	rows, err = db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+db.bq().hourBucket+` AS h, count(*) FROM messages m
WHERE m.campaign_id = $1 AND m.state = 'delivered' GROUP BY h ORDER BY h`), campaignID)
	if err != nil {
		return st, wrapDBErr("campaign stats", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h HourCount
		if err := rows.Scan(&h.Hour, &h.Count); err != nil {
			return st, wrapDBErr("campaign stats", err)
		}
		st.Deliveries = append(st.Deliveries, h)
	}
	return st, wrapDBErr("campaign stats", rows.Err())
}

// Recipient is one contact of a started campaign and what became of it.
type Recipient struct {
	ContactID int64  `json:"contact_id"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Status    string `json:"status" doc:"pending, queued, skipped or canceled"`
	Reason    string `json:"reason,omitempty" doc:"Why it was skipped"`
	MessageID *int64 `json:"message_id,omitempty"`
}

// Recipients lists a campaign's recipients after contact id after, in
// order, with status (any when empty) and reason (any when empty).
func (db *DB) Recipients(ctx context.Context, campaignID int64, status, reason string, after int64, limit int) ([]Recipient, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT x.contact_id, coalesce(c.name, ''), coalesce(c.phone, ''), x.status, x.reason,
  coalesce(x.message_id, CASE WHEN x.fed THEN (SELECT m.id FROM messages m WHERE m.reference = 'cp' || x.campaign_id || '.' || x.contact_id) END)
FROM (SELECT r.campaign_id, r.contact_id, r.reason, r.message_id, r.status = 'pending' AND r.contact_id <= k.feed_cursor AS fed,
        CASE WHEN r.status = 'pending' AND r.contact_id <= k.feed_cursor THEN 'queued' ELSE r.status END AS status
      FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id
      WHERE r.campaign_id = $1 AND r.contact_id > $2) x
LEFT JOIN contacts c ON c.id = x.contact_id
WHERE ($3 = '' OR x.status = $3) AND ($4 = '' OR x.reason = $4)
ORDER BY x.contact_id LIMIT $5`), campaignID, after, status, reason, min(max(limit, 1), 1000))
	if err != nil {
		return nil, wrapDBErr("recipients", err)
	}
	defer rows.Close()
	out := []Recipient{}
	for rows.Next() {
		var r Recipient
		var msg sql.NullInt64
		if err := rows.Scan(&r.ContactID, &r.Name, &r.Phone, &r.Status, &r.Reason, &msg); err != nil {
			return nil, wrapDBErr("recipients", err)
		}
		r.MessageID = nullInt(msg)
		out = append(out, r)
	}
	return out, wrapDBErr("recipients", rows.Err())
}

// RefusedAsNotDisturb returns which of phones a provider refused as on the
// national "Não Me Perturbe" register.
func (db *DB) RefusedAsNotDisturb(ctx context.Context, phones []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(phones) == 0 {
		return out, nil
	}
	rows, err := db.read.QueryContext(ctx, db.bq().notDisturb, jsonArray(phones))
	if err != nil {
		return nil, wrapDBErr("not disturb", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, wrapDBErr("not disturb", err)
		}
		out[p] = true
	}
	return out, wrapDBErr("not disturb", rows.Err())
}
