package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/reports"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// ReportQuery selects a report's messages and how they are grouped.
type ReportQuery struct {
	By         string `query:"by" default:"day" doc:"One or two of campaign, provider, day, month, operator, comma-separated"`
	From       string `query:"from" doc:"Created at or after (RFC 3339, or a date in São Paulo); 30 days ago when omitted"`
	To         string `query:"to" doc:"Created before (RFC 3339, or a date, exclusive); now when omitted"`
	Provider   string `query:"provider" maxLength:"40"`
	CampaignID int64  `query:"campaign_id" minimum:"0"`
	Operator   int64  `query:"operator" minimum:"0" doc:"Only messages created by this user"`
}

func (q ReportQuery) filter(now time.Time) (store.ReportFilter, error) {
	f := store.ReportFilter{Provider: q.Provider, To: now, From: now.AddDate(0, 0, -30)}
	for _, b := range strings.Split(q.By, ",") {
		if b = strings.TrimSpace(b); b != "" {
			f.By = append(f.By, b)
		}
	}
	var bad []sms.FieldError
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"from", q.From, &f.From}, {"to", q.To, &f.To}} {
		if t.v == "" {
			continue
		}
		v, err := sms.ParseFilterTime(t.v)
		if err != nil {
			bad = append(bad, sms.FieldError{Field: t.name, Message: "an RFC 3339 time or a date such as 2026-11-25", Value: t.v})
			continue
		}
		*t.dst = v
	}
	if !f.To.After(f.From) {
		bad = append(bad, sms.FieldError{Field: "to", Message: "must be after from"})
	}
	if q.CampaignID != 0 {
		f.CampaignID = &q.CampaignID
	}
	if q.Operator != 0 {
		f.CreatedBy = &q.Operator
	}
	if len(bad) > 0 {
		return f, sms.Invalid("invalid report", bad...)
	}
	return f, nil
}

type reportOutput struct {
	Body struct {
		By       []string          `json:"by"`
		From     time.Time         `json:"from"`
		To       time.Time         `json:"to"`
		Rows     []store.ReportRow `json:"rows"`
		Failures []store.Reason    `json:"failures" doc:"Failed, rejected and expired messages by error code"`
	}
}

func (s *Server) registerReports() {
	huma.Register(s.api, op("report-messages", http.MethodGet, "/reports/messages",
		"Volume, delivery rate, segments and cost per campaign, provider, day, month or operator, with failure reasons", auth.ReportsRead, "Reports"),
		func(ctx context.Context, in *ReportQuery) (*reportOutput, error) {
			f, err := in.filter(time.Now())
			if err != nil {
				return nil, s.problem(err)
			}
			rows, err := s.DB.Report(ctx, f)
			if err != nil {
				return nil, s.problem(err)
			}
			fails, err := s.DB.FailureReasons(ctx, f)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &reportOutput{}
			out.Body.By, out.Body.From, out.Body.To, out.Body.Rows, out.Body.Failures = f.By, f.From, f.To, rows, fails
			return out, nil
		})

	huma.Register(s.api, op("report-messages-csv", http.MethodGet, "/reports/messages.csv", "The same report as CSV", auth.ReportsRead, "Reports"),
		func(ctx context.Context, in *ReportQuery) (*struct {
			ContentType        string `header:"Content-Type"`
			ContentDisposition string `header:"Content-Disposition"`
			Body               []byte
		}, error) {
			f, err := in.filter(time.Now())
			if err != nil {
				return nil, s.problem(err)
			}
			rows, err := s.DB.Report(ctx, f)
			if err != nil {
				return nil, s.problem(err)
			}
			var buf bytes.Buffer
			if err := reports.WriteCSV(&buf, f.By, rows); err != nil {
				return nil, s.problem(err)
			}
			return &struct {
				ContentType        string `header:"Content-Type"`
				ContentDisposition string `header:"Content-Disposition"`
				Body               []byte
			}{ContentType: "text/csv; charset=utf-8", ContentDisposition: `attachment; filename="report.csv"`, Body: buf.Bytes()}, nil
		})

	huma.Register(s.api, op("report-costs", http.MethodGet, "/reports/costs", "Cost per month and provider", auth.ReportsRead, "Reports"),
		func(ctx context.Context, in *struct {
			From string `query:"from" doc:"First month, yyyy-mm; twelve months ago when omitted"`
			To   string `query:"to" doc:"Last month, yyyy-mm; this month when omitted"`
		}) (*reportOutput, error) {
			now := time.Now().In(sms.SaoPaulo)
			this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, sms.SaoPaulo)
			from, to := this.AddDate(0, -11, 0), this
			var bad []sms.FieldError
			if in.From != "" {
				t, err := store.ParseMonth(in.From)
				if err != nil {
					bad = append(bad, sms.FieldError{Field: "from", Message: "yyyy-mm", Value: in.From})
				}
				from = t
			}
			if in.To != "" {
				t, err := store.ParseMonth(in.To)
				if err != nil {
					bad = append(bad, sms.FieldError{Field: "to", Message: "yyyy-mm", Value: in.To})
				}
				to = t
			}
			if len(bad) == 0 && to.Before(from) {
				bad = append(bad, sms.FieldError{Field: "to", Message: "not before from"})
			}
			if len(bad) > 0 {
				return nil, s.problem(sms.Invalid("invalid months", bad...))
			}
			f := store.ReportFilter{By: []string{store.ByMonth, store.ByProvider}, From: from, To: to.AddDate(0, 1, 0)}
			rows, err := s.DB.Report(ctx, f)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &reportOutput{}
			out.Body.By, out.Body.From, out.Body.To, out.Body.Rows, out.Body.Failures = f.By, f.From, f.To, rows, []store.Reason{}
			return out, nil
		})

	huma.Register(s.api, op("reconcile-kolmeya", http.MethodPost, "/reports/reconcile",
		"Compare Recado's messages with Kolmeya's own report of a period and list those whose state differs", auth.ReportsRead, "Reports"),
		func(ctx context.Context, in *struct {
			IdemHeader
			Body struct {
				Provider string    `json:"provider" minLength:"1" maxLength:"40" doc:"A provider of type kolmeya"`
				From     time.Time `json:"from"`
				To       time.Time `json:"to"`
			}
		}) (*struct{ Body reports.Reconciliation }, error) {
			b := in.Body
			if !b.To.After(b.From) || b.To.Sub(b.From) > 31*24*time.Hour {
				return nil, s.problem(sms.Invalid("invalid period", sms.FieldError{Field: "to", Message: "after from, at most 31 days later"}))
			}
			r, err := s.Reports.Reconcile(ctx, b.Provider, b.From, b.To)
			if err != nil {
				if sms.KindOf(err) == sms.KindNotFound {
					err = notFoundAsInvalid(err, "provider", b.Provider)
				}
				return nil, s.problem(err)
			}
			return &struct{ Body reports.Reconciliation }{Body: r}, nil
		})
}
