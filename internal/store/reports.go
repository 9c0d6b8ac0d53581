package store

import (
	"context"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// The dimensions a report groups outbound messages by.
const (
	ByCampaign = "campaign"
	ByProvider = "provider"
	ByDay      = "day"   // the day in São Paulo
	ByMonth    = "month" // the month in São Paulo
	ByOperator = "operator"
)

// reportKey is the SQL expression of a dimension over messages m. Days and
// months are São Paulo's: UTC−3 all year since 2019.
func (db *DB) reportKey(by string) (string, bool) {
	switch by {
	case ByCampaign:
		return "coalesce(m.campaign_id, 0)", true
	case ByProvider:
		return "m.provider", true
	case ByOperator:
		return "coalesce(m.created_by, 0)", true
	case ByDay:
		if db.dialect == SQLite {
			return "date(m.created_at, '-3 hours')", true
		}
		return "to_char(m.created_at AT TIME ZONE 'America/Sao_Paulo', 'YYYY-MM-DD')", true
	case ByMonth:
		if db.dialect == SQLite {
			return "strftime('%Y-%m', m.created_at, '-3 hours')", true
		}
		return "to_char(m.created_at AT TIME ZONE 'America/Sao_Paulo', 'YYYY-MM')", true
	}
	return "", false
}

// ReportFilter selects the outbound messages a report counts.
type ReportFilter struct {
	By         []string  // one or two dimensions
	From, To   time.Time // created_at in [From, To)
	Provider   string
	CampaignID *int64
	CreatedBy  *int64
}

// ReportRow is one group of a report.
type ReportRow struct {
	Keys         []string  `json:"keys" doc:"The group's value in each dimension asked"`
	Labels       []string  `json:"labels" doc:"Names for the keys: campaign and operator names"`
	Messages     int64     `json:"messages"`
	Sent         int64     `json:"sent" doc:"Reached the provider (sent or delivered)"`
	Delivered    int64     `json:"delivered"`
	Failed       int64     `json:"failed"`
	Rejected     int64     `json:"rejected"`
	Expired      int64     `json:"expired"`
	Canceled     int64     `json:"canceled"`
	Pending      int64     `json:"pending" doc:"Queued or sending"`
	Segments     int64     `json:"segments"`
	Cost         sms.Money `json:"-"`
	CostText     string    `json:"cost"`
	DeliveryRate float64   `json:"delivery_rate" doc:"Delivered over delivered, failed, rejected and expired"`
}

func (db *DB) reportWhere(f ReportFilter, a *argList) string {
	w := []string{"m.direction = 'outbound'", "m.created_at >= " + a.add(f.From.UTC()), "m.created_at < " + a.add(f.To.UTC())}
	if f.Provider != "" {
		w = append(w, "m.provider = "+a.add(f.Provider))
	}
	if f.CampaignID != nil {
		w = append(w, "m.campaign_id = "+a.add(*f.CampaignID))
	}
	if f.CreatedBy != nil {
		w = append(w, "m.created_by = "+a.add(*f.CreatedBy))
	}
	return strings.Join(w, " AND ")
}

// Report counts outbound messages by state, with segments and cost, grouped
// by f.By, in one aggregate query.
func (db *DB) Report(ctx context.Context, f ReportFilter) ([]ReportRow, error) {
	if len(f.By) == 0 || len(f.By) > 2 {
		return nil, sms.Invalid("invalid report", sms.FieldError{Field: "by", Message: "one or two of campaign, provider, day, month, operator"})
	}
	var keys []string
	for _, b := range f.By {
		k, ok := db.reportKey(b)
		if !ok {
			return nil, sms.Invalid("invalid report", sms.FieldError{Field: "by", Message: "campaign, provider, day, month or operator", Value: b})
		}
		keys = append(keys, "CAST("+k+" AS TEXT)")
	}
	a := &argList{}
	sel := strings.Join(keys, ", ")
	q := `SELECT ` + sel + `, count(*),
  sum(CASE WHEN m.state IN ('sent', 'delivered') THEN 1 ELSE 0 END),
  sum(CASE WHEN m.state = 'delivered' THEN 1 ELSE 0 END),
  sum(CASE WHEN m.state = 'failed' THEN 1 ELSE 0 END),
  sum(CASE WHEN m.state = 'rejected' THEN 1 ELSE 0 END),
  sum(CASE WHEN m.state = 'expired' THEN 1 ELSE 0 END),
  sum(CASE WHEN m.state = 'canceled' THEN 1 ELSE 0 END),
  sum(CASE WHEN m.state IN ('queued', 'sending') THEN 1 ELSE 0 END),
  coalesce(sum(m.segments), 0), coalesce(sum(m.cost), 0)
FROM messages m WHERE ` + db.reportWhere(f, a) + ` GROUP BY ` + sel + ` ORDER BY ` + sel
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), a.args...)
	if err != nil {
		return nil, wrapDBErr("report", err)
	}
	defer rows.Close()
	out := []ReportRow{}
	for rows.Next() {
		r := ReportRow{Keys: make([]string, len(keys))}
		dest := make([]any, 0, len(keys)+10)
		for i := range r.Keys {
			dest = append(dest, &r.Keys[i])
		}
		var cost int64
		dest = append(dest, &r.Messages, &r.Sent, &r.Delivered, &r.Failed, &r.Rejected, &r.Expired, &r.Canceled, &r.Pending, &r.Segments, &cost)
		if err := rows.Scan(dest...); err != nil {
			return nil, wrapDBErr("report", err)
		}
		r.Cost, r.CostText = sms.Money(cost), sms.Money(cost).String()
		if final := r.Delivered + r.Failed + r.Rejected + r.Expired; final > 0 {
			r.DeliveryRate = float64(r.Delivered) / float64(final)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr("report", err)
	}
	return out, db.labelReport(ctx, f.By, out)
}

// labelReport names campaigns and operators.
func (db *DB) labelReport(ctx context.Context, by []string, rows []ReportRow) error {
	names := map[string]map[string]string{}
	for _, b := range by {
		var q string
		switch b {
		case ByCampaign:
			q = `SELECT CAST(id AS TEXT), name FROM campaigns`
		case ByOperator:
			q = `SELECT CAST(id AS TEXT), username FROM users`
		default:
			continue
		}
		m := map[string]string{"0": ""}
		r, err := db.read.QueryContext(ctx, q)
		if err != nil {
			return wrapDBErr("report labels", err)
		}
		for r.Next() {
			var id, name string
			if err := r.Scan(&id, &name); err != nil {
				r.Close()
				return wrapDBErr("report labels", err)
			}
			m[id] = name
		}
		r.Close()
		names[b] = m
	}
	for i := range rows {
		rows[i].Labels = make([]string, len(by))
		for j, b := range by {
			if m, ok := names[b]; ok {
				rows[i].Labels[j] = m[rows[i].Keys[j]]
			} else {
				rows[i].Labels[j] = rows[i].Keys[j]
			}
		}
	}
	return nil
}

// Reason is a count of failures with one error code.
type Reason struct {
	State string `json:"state"`
	Code  string `json:"code"`
	Count int64  `json:"count"`
}

// FailureReasons counts failed, rejected and expired outbound messages by
// state and error code, most frequent first.
func (db *DB) FailureReasons(ctx context.Context, f ReportFilter) ([]Reason, error) {
	a := &argList{}
	q := `SELECT m.state, m.error_code, count(*) FROM messages m WHERE ` + db.reportWhere(f, a) +
		` AND m.state IN ('failed', 'rejected', 'expired') GROUP BY m.state, m.error_code ORDER BY count(*) DESC, m.state, m.error_code`
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(q), a.args...)
	if err != nil {
		return nil, wrapDBErr("failure reasons", err)
	}
	defer rows.Close()
	out := []Reason{}
	for rows.Next() {
		var r Reason
		if err := rows.Scan(&r.State, &r.Code, &r.Count); err != nil {
			return nil, wrapDBErr("failure reasons", err)
		}
		out = append(out, r)
	}
	return out, wrapDBErr("failure reasons", rows.Err())
}

// SentInWindow returns a provider's outbound messages created in [from, to)
// that reached it (a provider id or a state past sending), for
// reconciliation with the provider's own report, at most limit.
func (db *DB) SentInWindow(ctx context.Context, provider string, from, to time.Time, limit int) ([]sms.Message, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+messageColumns+` FROM messages
WHERE provider = $1 AND direction = 'outbound' AND created_at >= $2 AND created_at < $3
  AND state IN ('sent', 'delivered', 'failed', 'rejected', 'expired') ORDER BY id LIMIT $4`), provider, from.UTC(), to.UTC(), limit)
	return collectMessages(rows, err, "sent in window")
}

// ParseMonth reads "2026-11" as its first instant in São Paulo.
func ParseMonth(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", s, sms.SaoPaulo)
	if err != nil {
		return t, sms.Errorf(sms.KindInvalid, "month %q: want yyyy-mm", s)
	}
	return t, nil
}
