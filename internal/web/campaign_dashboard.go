package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-analyze/charts"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// campaignData is a campaign's page: its settings, its live figures, and
// the actions its state allows.
type campaignData struct {
	Stats     campaign.Stats
	C         store.Campaign
	Template  *sms.Template
	Lists     []store.List
	Segments  []store.Segment
	Imports   []store.Import
	Window    windowForm
	WindowNow bool       // whether the sending window is open now
	NextOpen  *time.Time // when it opens next, if closed
	ToSend    int64      // recipients that were not skipped
	Percent   int        // of ToSend made into messages
	InFlight  int64      // messages queued, sending or sent (not yet final)
	Final     int64      // messages delivered, failed, rejected or expired
	Skipped   []reasonCount
	Failures  []reasonCount
	Live      bool
	Since     string // the fingerprint drawn, for the live stream
	ShowCost  bool
	DryRun    *campaign.DryRun
	DryRunErr string
}

func (s *Server) campaignData(ctx context.Context, id int64, p auth.Principal) (campaignData, error) {
	st, err := s.Campaigns.Stats(ctx, id)
	if err != nil {
		return campaignData{}, err
	}
	c := st.Campaign
	d := campaignData{Stats: st, C: c, ShowCost: p.Can(auth.ReportsRead), Window: windowFormOf(campaignWindow(c)),
		Skipped: sortedReasons(c.SkippedBy), Failures: sortedReasons(st.Messages.Failures)}
	if d.Since, err = s.DB.CampaignActivity(ctx, id); err != nil {
		return d, err
	}
	by := st.Messages.ByState
	d.InFlight = by[string(sms.StateQueued)] + by[string(sms.StateSending)] + by[string(sms.StateSent)]
	d.Final = by[string(sms.StateDelivered)] + by[string(sms.StateFailed)] + by[string(sms.StateRejected)] + by[string(sms.StateExpired)]
	if c.Materialized {
		d.ToSend = max(c.Recipients-c.Skipped, 0)
		if d.ToSend > 0 {
			d.Percent = int(min(100, c.Fed*100/d.ToSend))
		} else if c.State == store.CampaignCompleted {
			d.Percent = 100
		}
	}
	switch c.State {
	case store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused:
		d.Live = true
	case store.CampaignCompleted, store.CampaignCanceled:
		d.Live = d.InFlight > 0
	}
	w := campaignWindow(c)
	now := s.cfg.Now()
	d.WindowNow = w.Open(now)
	if !d.WindowNow {
		if next := w.Next(now); !next.IsZero() {
			d.NextOpen = &next
		}
	}
	if c.TemplateID != nil {
		if t, err := s.DB.GetTemplate(ctx, *c.TemplateID); err == nil {
			d.Template = &t
		}
	}
	for _, lid := range c.Audience.Lists {
		if l, err := s.DB.GetList(ctx, lid); err == nil {
			d.Lists = append(d.Lists, l)
		}
	}
	for _, gid := range c.Audience.Segments {
		if g, err := s.DB.GetSegment(ctx, gid); err == nil {
			d.Segments = append(d.Segments, g)
		}
	}
	for _, iid := range c.Audience.Imports {
		if im, err := s.DB.GetImport(ctx, iid); err == nil {
			d.Imports = append(d.Imports, im)
		}
	}
	return d, nil
}

func (s *Server) campaignPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.campaignData(r.Context(), id, p)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "campaign", "layout", d)
	return nil
}

// campaignDryRun shows what the campaign would do if it started now; it
// changes nothing.
func (s *Server) campaignDryRun(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.campaignData(r.Context(), id, p)
	if err != nil {
		return err
	}
	dr, err := s.Campaigns.DryRun(r.Context(), id)
	if err != nil {
		// A list, saved filter or provider gone since the draft was saved.
		k := sms.KindOf(err)
		if k != sms.KindNotFound && k != sms.KindConflict && k != sms.KindInvalid {
			return err
		}
		d.DryRunErr = errText(err)
	} else {
		d.DryRun = &dr
	}
	if isHTMX(r) {
		s.render(w, r, http.StatusOK, "campaign", "dry-run", d)
		return nil
	}
	s.render(w, r, http.StatusOK, "campaign", "layout", d)
	return nil
}

// campaignLive streams the campaign's figures while it runs and its
// messages travel; the last update replaces the stream's element, which
// ends it.
func (s *Server) campaignLive(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.DB.GetCampaign(r.Context(), id); err != nil {
		return err
	}
	return s.stream(w, r, liveSince(r, func() (string, error) {
		return s.DB.CampaignActivity(r.Context(), id)
	}), func() (string, bool, error) {
		d, err := s.campaignData(r.Context(), id, p)
		if err != nil {
			return "", true, err
		}
		if !d.Live {
			html, err := s.renderString(r, "campaign", "campaign-live-final", d)
			return html, true, err
		}
		html, err := s.renderString(r, "campaign", "campaign-live", d)
		return html, false, err
	})
}

// chartBuckets are the widths the delivery chart groups minutes into: the
// narrowest that draws the campaign in at most chartPoints points.
var chartBuckets = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

const chartPoints = 48

// campaignChart draws the campaign's delivery rate over time as SVG: the
// share of messages delivered among those that reached a final outcome in
// each interval since it started, and so far.
func (s *Server) campaignChart(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.DB.GetCampaign(r.Context(), id)
	if err != nil {
		return err
	}
	mins, err := s.DB.CampaignOutcomes(r.Context(), id)
	if err != nil {
		return err
	}
	loc := s.cfg.Location
	now := s.cfg.Now()
	from, to := now, now
	if c.StartedAt != nil {
		from = *c.StartedAt
	}
	if len(mins) > 0 {
		from = minTime(from, mins[0].Minute)
		if c.State == store.CampaignCompleted || c.State == store.CampaignCanceled {
			to = mins[len(mins)-1].Minute
		}
		to = maxTime(to, mins[len(mins)-1].Minute)
	}
	width := chartBuckets[len(chartBuckets)-1]
	for _, b := range chartBuckets {
		if to.Sub(from)/b < chartPoints {
			width = b
			break
		}
	}
	bucketOf := func(t time.Time) time.Time {
		lt := t.In(loc)
		if width >= 24*time.Hour {
			return time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
		}
		return lt.Truncate(width)
	}
	first, last := bucketOf(from), bucketOf(to)
	if !last.After(first) {
		last = first.Add(width) // a line needs two points
	}
	n := int(last.Sub(first)/width) + 1
	delivered, failed := make([]int64, n), make([]int64, n)
	for _, m := range mins {
		if i := int(bucketOf(m.Minute).Sub(first) / width); i >= 0 && i < n {
			delivered[i] += m.Delivered
			failed[i] += m.Failed
		}
	}
	l := s.langFor(r)
	labels := make([]string, n)
	rate, total := make([]float64, n), make([]float64, n)
	var sumD, sumF int64
	for i := range n {
		at := first.Add(time.Duration(i) * width)
		switch {
		case last.Sub(first) < 20*time.Hour:
			labels[i] = at.Format("15:04")
		case l.Code == "pt-BR":
			labels[i] = at.Format("02/01 15h")
		default:
			labels[i] = at.Format("Jan 2 15h")
		}
		rate[i], total[i] = charts.GetNullValue(), charts.GetNullValue()
		if k := delivered[i] + failed[i]; k > 0 {
			rate[i] = float64(delivered[i]) * 100 / float64(k)
		}
		sumD, sumF = sumD+delivered[i], sumF+failed[i]
		if sumD+sumF > 0 {
			total[i] = float64(sumD) * 100 / float64(sumD+sumF)
		}
	}
	painter := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: 720, Height: 280},
		charts.PainterThemeOption(charts.GetTheme(charts.ThemeLight)))
	opt := charts.NewLineChartOptionWithData([][]float64{rate, total})
	opt.XAxis.Labels = labels
	opt.XAxis.LabelCount = min(n, 8)
	opt.YAxis[0].Min, opt.YAxis[0].Max, opt.YAxis[0].LabelCount = charts.Ptr(0.0), charts.Ptr(100.0), 6
	opt.Legend.SeriesNames = []string{l.printer.Sprintf("Delivery rate in each interval"), l.printer.Sprintf("Delivery rate so far")}
	opt.Theme = charts.GetTheme(charts.ThemeLight).WithSeriesColors([]charts.Color{
		charts.ColorFromHex("#1565c0"), charts.ColorFromHex("#2e7d32")})
	if err := painter.LineChart(opt); err != nil {
		return err
	}
	svg, err := painter.Bytes()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(svg)
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// chartVersion changes whenever the chart would: it is in the chart's
// address, so that a live update fetches the new picture.
func (d campaignData) ChartVersion() string {
	return strconv.FormatInt(d.Final, 10) + "-" + fmt.Sprint(d.C.UpdatedAt.Unix())
}
