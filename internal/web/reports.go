package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/reports"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// reportDimensions are what a report groups by, as the pickers offer them.
var reportDimensions = []string{store.ByDay, store.ByMonth, store.ByCampaign, store.ByProvider, store.ByOperator}

// reportForm is a report's query as the URL carries it: one or two
// dimensions, whole days in the UI's time zone ("to" included), and
// optional narrowing.
type reportForm struct {
	By, By2  string
	From, To string // 2026-11-25
	Provider string
	Campaign string
	Operator string
}

func readReportForm(q url.Values) reportForm {
	return reportForm{By: q.Get("by"), By2: q.Get("by2"), From: q.Get("from"), To: q.Get("to"), Provider: q.Get("provider"),
		Campaign: q.Get("campaign_id"), Operator: q.Get("operator")}
}

// Query is the form as a query string, for the CSV link.
func (f reportForm) Query() string {
	return queryString("by", f.By, "by2", f.By2, "from", f.From, "to", f.To, "provider", f.Provider, "campaign_id", f.Campaign, "operator", f.Operator)
}

// filter checks the form and turns it into a store.ReportFilter; an empty
// range is the last 30 days.
func (f *reportForm) filter(now time.Time, loc *time.Location) (store.ReportFilter, map[string]string) {
	errs := map[string]string{}
	today := now.In(loc)
	if f.By == "" {
		f.By = store.ByDay
	}
	if f.To == "" {
		f.To = today.Format("2006-01-02")
	}
	if f.From == "" {
		f.From = today.AddDate(0, 0, -29).Format("2006-01-02")
	}
	out := store.ReportFilter{By: []string{f.By}, Provider: strings.TrimSpace(f.Provider)}
	if !slices.Contains(reportDimensions, f.By) {
		errs["by"] = "campaign, provider, day, month or operator"
	}
	if f.By2 != "" {
		switch {
		case !slices.Contains(reportDimensions, f.By2):
			errs["by2"] = "campaign, provider, day, month or operator"
		case f.By2 == f.By:
			errs["by2"] = "another dimension than the first"
		default:
			out.By = append(out.By, f.By2)
		}
	}
	from, err := time.ParseInLocation("2006-01-02", f.From, loc)
	if err != nil {
		errs["from"] = "a date such as 2026-11-01"
	}
	to, err := time.ParseInLocation("2006-01-02", f.To, loc)
	if err != nil {
		errs["to"] = "a date such as 2026-11-30"
	}
	out.From, out.To = from, to.AddDate(0, 0, 1)
	if errs["from"] == "" && errs["to"] == "" {
		switch {
		case to.Before(from):
			errs["to"] = "not before the first day"
		case to.Sub(from) > 3*366*24*time.Hour:
			errs["to"] = "at most three years at once"
		}
	}
	if len(out.Provider) > 40 {
		errs["provider"] = "at most 40 characters"
	}
	for _, x := range []struct {
		name, v string
		dst     **int64
	}{{"campaign_id", f.Campaign, &out.CampaignID}, {"operator", f.Operator, &out.CreatedBy}} {
		if x.v == "" {
			continue
		}
		n, err := strconv.ParseInt(x.v, 10, 64)
		if err != nil || n < 1 {
			errs[x.name] = "not a valid id"
			continue
		}
		*x.dst = &n
	}
	return out, errs
}

// reportRow is a row of a report with its group's cells.
type reportRow struct {
	store.ReportRow
	Cells []reportCell
}

// reportCell is a group's value in one dimension, with its name (a
// campaign's or operator's).
type reportCell struct {
	Dim, Key, Label string
}

type reportData struct {
	Form       reportForm
	Dimensions []string
	Errors     map[string]string
	Rows       []reportRow
	Total      store.ReportRow
	Failures   []store.Reason
	Providers  []string
	Campaigns  []store.Campaign
	Users      []store.User
}

func (s *Server) reportPickers(ctx context.Context, d *reportData) error {
	provs, err := s.Providers.List(ctx)
	if err != nil {
		return err
	}
	for _, pv := range provs {
		d.Providers = append(d.Providers, pv.Name)
	}
	if d.Campaigns, err = s.DB.ListCampaigns(ctx, nil, 200); err != nil {
		return err
	}
	d.Users, err = s.DB.ListUsers(ctx)
	return err
}

// reportsPage is the report of outbound messages grouped by the chosen
// dimensions: volume, delivery, failures by reason, segments and cost.
func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	form := readReportForm(r.URL.Query())
	f, errs := form.filter(s.cfg.Now(), s.cfg.Location)
	d := reportData{Form: form, Dimensions: reportDimensions, Errors: errs}
	if err := s.reportPickers(ctx, &d); err != nil {
		return err
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		rows, err := s.DB.Report(ctx, f)
		if err != nil {
			return err
		}
		for _, row := range rows {
			rr := reportRow{ReportRow: row}
			for i, b := range f.By {
				rr.Cells = append(rr.Cells, reportCell{Dim: b, Key: row.Keys[i], Label: row.Labels[i]})
			}
			d.Rows = append(d.Rows, rr)
		}
		if d.Failures, err = s.DB.FailureReasons(ctx, f); err != nil {
			return err
		}
		d.Total = totalRow(rows)
	}
	s.render(w, r, status, "reports", "layout", d)
	return nil
}

// totalRow adds up a report's rows.
func totalRow(rows []store.ReportRow) store.ReportRow {
	var t store.ReportRow
	for _, r := range rows {
		t.Messages += r.Messages
		t.Sent += r.Sent
		t.Delivered += r.Delivered
		t.Failed += r.Failed
		t.Rejected += r.Rejected
		t.Expired += r.Expired
		t.Canceled += r.Canceled
		t.Pending += r.Pending
		t.Segments += r.Segments
		t.Cost += r.Cost
	}
	if final := t.Delivered + t.Failed + t.Rejected + t.Expired; final > 0 {
		t.DeliveryRate = float64(t.Delivered) / float64(final)
	}
	return t
}

// reportsExport is the same report as CSV.
func (s *Server) reportsExport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	form := readReportForm(r.URL.Query())
	f, errs := form.filter(s.cfg.Now(), s.cfg.Location)
	if len(errs) > 0 {
		var fe []sms.FieldError
		for k, v := range errs {
			fe = append(fe, sms.FieldError{Field: k, Message: v})
		}
		return sms.Invalid("invalid report", fe...)
	}
	rows, err := s.DB.Report(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="recado-report-%s-%s-%s.csv"`, strings.Join(f.By, "-"), form.From, form.To))
	return reports.WriteCSV(w, f.By, rows)
}

// costMonth is one month of the cost report.
type costMonth struct {
	Month     string // 2026-11
	Providers []store.ReportRow
	Total     store.ReportRow
}

type costsData struct {
	From, To string // 2026-01
	Errors   map[string]string
	Months   []costMonth
	Total    store.ReportRow
}

// costsPage is the cost per month and provider, twelve months unless told.
func (s *Server) costsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	now := s.cfg.Now().In(s.cfg.Location)
	this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, s.cfg.Location)
	d := costsData{From: q.Get("from"), To: q.Get("to"), Errors: map[string]string{}}
	if d.From == "" {
		d.From = this.AddDate(0, -11, 0).Format("2006-01")
	}
	if d.To == "" {
		d.To = this.Format("2006-01")
	}
	from, err := time.ParseInLocation("2006-01", d.From, s.cfg.Location)
	if err != nil {
		d.Errors["from"] = "a month such as 2026-01"
	}
	to, err := time.ParseInLocation("2006-01", d.To, s.cfg.Location)
	if err != nil {
		d.Errors["to"] = "a month such as 2026-12"
	}
	if len(d.Errors) == 0 {
		switch {
		case to.Before(from):
			d.Errors["to"] = "not before the first month"
		case to.Sub(from) > 10*366*24*time.Hour:
			d.Errors["to"] = "at most ten years at once"
		}
	}
	if len(d.Errors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "costs", "layout", d)
		return nil
	}
	rows, err := s.DB.Report(r.Context(), store.ReportFilter{By: []string{store.ByMonth, store.ByProvider}, From: from, To: to.AddDate(0, 1, 0)})
	if err != nil {
		return err
	}
	for _, row := range rows {
		if n := len(d.Months); n == 0 || d.Months[n-1].Month != row.Keys[0] {
			d.Months = append(d.Months, costMonth{Month: row.Keys[0]})
		}
		m := &d.Months[len(d.Months)-1]
		m.Providers = append(m.Providers, row)
	}
	for i := range d.Months {
		d.Months[i].Total = totalRow(d.Months[i].Providers)
	}
	d.Total = totalRow(rows)
	s.render(w, r, http.StatusOK, "costs", "layout", d)
	return nil
}

// reconcileForm asks for Kolmeya's report of a provider and period.
type reconcileForm struct {
	Provider string
	From, To string // datetime-local in the UI's time zone
}

type reconcileData struct {
	Form      reconcileForm
	Providers []string // of type kolmeya
	Errors    map[string]string
	Result    *reports.Reconciliation
	Shown     []reports.Difference // the first differences, for the page
}

// maxDifferencesShown is how many differences the page lists.
const maxDifferencesShown = 500

func (s *Server) reconcileData(ctx context.Context, f reconcileForm) (reconcileData, error) {
	d := reconcileData{Form: f}
	provs, err := s.Providers.List(ctx)
	if err != nil {
		return d, err
	}
	for _, pv := range provs {
		if pv.Type == "kolmeya" {
			d.Providers = append(d.Providers, pv.Name)
		}
	}
	return d, nil
}

func (s *Server) reconcilePage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	now := s.cfg.Now().In(s.cfg.Location)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.cfg.Location)
	d, err := s.reconcileData(r.Context(), reconcileForm{From: today.AddDate(0, 0, -1).Format("2006-01-02T15:04"), To: today.Format("2006-01-02T15:04")})
	if err != nil {
		return err
	}
	if len(d.Providers) > 0 {
		d.Form.Provider = d.Providers[0]
	}
	s.render(w, r, http.StatusOK, "reconcile", "layout", d)
	return nil
}

// reconcile asks Kolmeya for its report of the period and lists the
// messages whose state differs from Recado's.
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	f := reconcileForm{Provider: strings.TrimSpace(r.PostFormValue("provider")), From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	d, err := s.reconcileData(ctx, f)
	if err != nil {
		return err
	}
	errs := map[string]string{}
	if f.Provider == "" || len(f.Provider) > 40 {
		errs["provider"] = "choose a Kolmeya provider"
	}
	from, err := time.ParseInLocation("2006-01-02T15:04", f.From, s.cfg.Location)
	if err != nil {
		errs["from"] = "a date and time such as 2026-11-25T00:00"
	}
	to, err := time.ParseInLocation("2006-01-02T15:04", f.To, s.cfg.Location)
	if err != nil {
		errs["to"] = "a date and time such as 2026-11-26T00:00"
	}
	if errs["from"] == "" && errs["to"] == "" && (!to.After(from) || to.Sub(from) > 31*24*time.Hour) {
		errs["to"] = "after the start, at most 31 days later"
	}
	if len(errs) == 0 {
		res, err := s.Reports.Reconcile(ctx, f.Provider, from, to)
		if err == nil {
			d.Result = &res
			d.Shown = res.Differences[:min(len(res.Differences), maxDifferencesShown)]
			s.render(w, r, http.StatusOK, "reconcile", "layout", d)
			return nil
		}
		switch sms.KindOf(err) {
		case sms.KindNotFound, sms.KindConflict:
			errs["provider"] = errText(err)
		case sms.KindInvalid:
			if errs = fieldErrors(err); errs == nil {
				return err
			}
		default:
			return err
		}
	}
	d.Errors = errs
	s.render(w, r, http.StatusUnprocessableEntity, "reconcile", "layout", d)
	return nil
}
