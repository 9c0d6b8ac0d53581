package kolmeya

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// MaxReportWindow is the longest period one /sms/reports/statuses query may
// cover; the client cuts longer periods into windows of 7 days less a
// minute, since both ends are inclusive minutes.
const MaxReportWindow = 7 * 24 * time.Hour

// MaxAccessesLimit is the largest "limit" /sms/accesses takes.
const MaxAccessesLimit = 5000

// ErrReportTruncated says a report window of a single minute still held
// as many rows as the limit allows, so rows may be missing from it.
var ErrReportTruncated = errors.New("kolmeya: report truncated: one minute holds the row limit")

// ReportJob is a send job of the last 7 days. Job ids are integers, read as
// text.
type ReportJob struct {
	ID       FlexString `json:"id"`
	Created  Time       `json:"created"`
	Approved Time       `json:"approved"`
}

// ReportMessage is one message row of a status report. Kolmeya names the
// fields in Portuguese; the Go names translate them.
type ReportMessage struct {
	Phone      FlexString `json:"telefone"`
	Name       FlexString `json:"nome"`
	CPF        FlexString `json:"cpf"`
	Message    FlexString `json:"mensagem"`
	Status     FlexString `json:"status"`
	SentAt     Time       `json:"enviada_em"`
	Parameters Params     `json:"parametros"`
	Batch      FlexString `json:"lote"`
	Job        FlexString `json:"job"`
	CostCenter FlexString `json:"centro_custo"`
	API        FlexString `json:"api"`
	Broker     FlexString `json:"broker"`
	Product    FlexString `json:"produto"`
}

// AccessReport is the answer of /sms/accesses: clicks on shortened links.
// The items' fields are not known, so each is a Record.
type AccessReport struct {
	Accesses []Record `json:"accesses"`
	Total    FlexInt  `json:"totalAccesses"`
}

// ReportJobs lists the send jobs of the last 7 days.
func (c *Client) ReportJobs(ctx context.Context) ([]ReportJob, error) {
	return list[ReportJob](ctx, c, "report jobs", pathReportJobs, "jobs")
}

// ReportJobStatuses returns the message rows of one job.
func (c *Client) ReportJobStatuses(ctx context.Context, jobID string) ([]ReportMessage, error) {
	if jobID == "" {
		return nil, wrap("report job statuses", sms.Errorf(sms.KindInvalid, "empty job id"))
	}
	path := fmt.Sprintf(pathReportJobStatuses, url.PathEscape(jobID))
	return list[ReportMessage](ctx, c, "report job statuses", path, "messages")
}

// ReportStatuses returns the message rows sent from from to to, both taken
// to the minute in São Paulo time. It asks in windows of at most 7 days, and
// never past the present; a window that comes back with exactly the limit of
// rows (ClientOptions.ReportLimit) is split in half and asked again, so no
// row is lost to the limit. If a single minute holds the limit, its rows are
// kept and the error wraps ErrReportTruncated; on any other error the rows
// read so far are returned with it.
func (c *Client) ReportStatuses(ctx context.Context, from, to time.Time) ([]ReportMessage, error) {
	now := c.now().Truncate(time.Minute)
	from, to = from.Truncate(time.Minute), to.Truncate(time.Minute)
	if to.After(now) {
		to = now
	}
	var out []ReportMessage
	var truncated error
	for s := from; !s.After(to); {
		e := min2(s.Add(MaxReportWindow-time.Minute), to)
		rows, err := c.reportWindow(ctx, s, e)
		out = append(out, rows...)
		switch {
		case errors.Is(err, ErrReportTruncated):
			truncated = err
		case err != nil:
			return out, wrap("report statuses", err)
		}
		s = e.Add(time.Minute)
	}
	return out, wrap("report statuses", truncated)
}

// reportWindow asks for one window, splitting it while it comes back full.
func (c *Client) reportWindow(ctx context.Context, s, e time.Time) ([]ReportMessage, error) {
	body := map[string]any{"start_at": formatRequestTime(s), "end_at": formatRequestTime(e), "limit": c.rlimit}
	var rows []ReportMessage
	decode := func(b []byte) error {
		var err error
		rows, err = decodeList[ReportMessage](b, "messages")
		return err
	}
	if err := c.call(ctx, pathReportStatuses, body, decode, idempotent); err != nil {
		return nil, err
	}
	if len(rows) < c.rlimit {
		return rows, nil
	}
	if !e.After(s) {
		return rows, fmt.Errorf("%w: %s", ErrReportTruncated, formatRequestTime(s))
	}
	mid := s.Add(e.Sub(s) / 2).Truncate(time.Minute)
	c.log.DebugContext(ctx, "kolmeya: report window full, splitting", "start", s, "end", e, "rows", len(rows))
	left, err := c.reportWindow(ctx, s, mid)
	if err != nil && !errors.Is(err, ErrReportTruncated) {
		return left, err
	}
	right, err2 := c.reportWindow(ctx, mid.Add(time.Minute), e)
	if err2 != nil {
		err = err2
	}
	return append(left, right...), err
}

func min2(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// QuantityJobs returns the per-job counts of a month, period written
// "2025-11". The items' fields are not known beyond "acessos", so each is a
// Record.
func (c *Client) QuantityJobs(ctx context.Context, period string) ([]Record, error) {
	if _, err := time.Parse("2006-01", period); err != nil {
		return nil, wrap("quantity jobs", sms.Errorf(sms.KindInvalid, "period %q: want yyyy-mm", period))
	}
	var out []Record
	decode := func(b []byte) error {
		var err error
		out, err = decodeList[Record](b, "jobs")
		return err
	}
	if err := c.call(ctx, pathQuantityJobs, map[string]string{"period": period}, decode, idempotent); err != nil {
		return nil, wrap("quantity jobs", err)
	}
	return out, nil
}

// Accesses returns the clicks on shortened links from from to to (to the
// minute, São Paulo time), at most limit of them (0 means 5000, the most
// Kolmeya gives), and how many there were in all.
func (c *Client) Accesses(ctx context.Context, from, to time.Time, limit int) (*AccessReport, error) {
	if limit == 0 {
		limit = MaxAccessesLimit
	}
	if limit < 0 || limit > MaxAccessesLimit {
		return nil, wrap("accesses", sms.Errorf(sms.KindInvalid, "limit %d: want 1 to %d", limit, MaxAccessesLimit))
	}
	body := map[string]any{"start_at": formatRequestTime(from), "end_at": formatRequestTime(to), "limit": limit}
	var out AccessReport
	if err := c.call(ctx, pathAccesses, body, &out, idempotent); err != nil {
		return nil, wrap("accesses", err)
	}
	return &out, nil
}
