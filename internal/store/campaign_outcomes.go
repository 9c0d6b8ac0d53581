package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// MinuteOutcome counts a campaign's messages that reached a final outcome
// in one minute: delivered, or failed, rejected or expired.
type MinuteOutcome struct {
	Minute    time.Time
	Delivered int64
	Failed    int64
}

// CampaignOutcomes counts a campaign's delivered and failed messages per
// minute (UTC) of their delivery or last change, oldest first, for a chart
// of its delivery rate over time.
func (db *DB) CampaignOutcomes(ctx context.Context, campaignID int64) ([]MinuteOutcome, error) {
	bucket := `to_char(date_trunc('minute', coalesce(m.delivered_at, m.updated_at) AT TIME ZONE 'UTC'), 'YYYY-MM-DD"T"HH24:MI:00"Z"')`
	if db.dialect == SQLite {
		bucket = `strftime('%Y-%m-%dT%H:%M:00Z', coalesce(m.delivered_at, m.updated_at))`
	}
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+bucket+` AS b,
  sum(CASE WHEN m.state = 'delivered' THEN 1 ELSE 0 END),
  sum(CASE WHEN m.state <> 'delivered' THEN 1 ELSE 0 END)
FROM messages m WHERE m.campaign_id = $1 AND m.state IN ('delivered', 'failed', 'rejected', 'expired')
GROUP BY b ORDER BY b`), campaignID)
	if err != nil {
		return nil, wrapDBErr("campaign outcomes", err)
	}
	defer rows.Close()
	var out []MinuteOutcome
	for rows.Next() {
		var b string
		var o MinuteOutcome
		if err := rows.Scan(&b, &o.Delivered, &o.Failed); err != nil {
			return nil, wrapDBErr("campaign outcomes", err)
		}
		if o.Minute, err = time.Parse(time.RFC3339, b); err != nil {
			return nil, wrapDBErr("campaign outcomes", err)
		}
		out = append(out, o)
	}
	return out, wrapDBErr("campaign outcomes", rows.Err())
}

// CampaignActivity is a fingerprint of a campaign and its messages, their
// number by state, that differs as soon as the campaign changes or one of
// its messages is added or changes state; it reads the campaign's index
// only. A live dashboard asks for it every second and redraws only when it
// moves.
func (db *DB) CampaignActivity(ctx context.Context, campaignID int64) (string, error) {
	c, err := db.GetCampaign(ctx, campaignID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(c.State + "|" + strconv.FormatInt(c.Fed, 10) + "|" + c.UpdatedAt.String())
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT state, count(*) FROM messages WHERE campaign_id = $1 GROUP BY state ORDER BY state`), campaignID)
	if err != nil {
		return "", wrapDBErr("campaign activity", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return "", wrapDBErr("campaign activity", err)
		}
		b.WriteString("|" + st + "=" + strconv.FormatInt(n, 10))
	}
	return b.String(), wrapDBErr("campaign activity", rows.Err())
}
