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
// each interval, and so far.
func (s *Server) campaignChart(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.DB.GetCampaign(r.Context(), id); err != nil {
		return err
	}
	mins, err := s.DB.CampaignOutcomes(r.Context(), id)
	if err != nil {
		return err
	}
	l := s.langFor(r)
	if len(mins) == 0 {
		mins = []store.MinuteOutcome{{Minute: s.cfg.Now().Truncate(time.Minute)}}
	}
	span := mins[len(mins)-1].Minute.Sub(mins[0].Minute)
	width := chartBuckets[len(chartBuckets)-1]
	for _, b := range chartBuckets {
		if span/b < chartPoints {
			width = b
			break
		}
	}
	type bucket struct {
		at                time.Time
		delivered, failed int64
	}
	var bs []bucket
	for _, m := range mins {
		at := m.Minute.In(s.cfg.Location).Truncate(width)
		if width >= 24*time.Hour {
			lt := m.Minute.In(s.cfg.Location)
			at = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, s.cfg.Location)
		}
		if n := len(bs); n > 0 && bs[n-1].at.Equal(at) {
			bs[n-1].delivered += m.Delivered
			bs[n-1].failed += m.Failed
			continue
		}
		bs = append(bs, bucket{at, m.Delivered, m.Failed})
	}
	labels := make([]string, len(bs))
	rate, total := make([]float64, len(bs)), make([]float64, len(bs))
	var delivered, final int64
	pt := l.Code == "pt-BR"
	for i, b := range bs {
		switch {
		case span < 20*time.Hour:
			labels[i] = b.at.Format("15:04")
		case pt:
			labels[i] = b.at.Format("02/01 15h")
		default:
			labels[i] = b.at.Format("Jan 2 15h")
		}
		if n := b.delivered + b.failed; n > 0 {
			rate[i] = float64(b.delivered) * 100 / float64(n)
		}
		delivered, final = delivered+b.delivered, final+b.delivered+b.failed
		if final > 0 {
			total[i] = float64(delivered) * 100 / float64(final)
		}
	}
	painter := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: 720, Height: 280},
		charts.PainterThemeOption(charts.GetTheme(charts.ThemeLight)))
	opt := charts.NewLineChartOptionWithData([][]float64{rate, total})
	opt.XAxis.Labels = labels
	opt.XAxis.LabelCount = min(len(labels), 8)
	opt.YAxis[0].Min, opt.YAxis[0].Max = charts.Ptr(0.0), charts.Ptr(100.0)
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

// chartVersion changes whenever the chart would: it is in the chart's
// address, so that a live update fetches the new picture.
func (d campaignData) ChartVersion() string {
	return strconv.FormatInt(d.Final, 10) + "-" + fmt.Sprint(d.C.UpdatedAt.Unix())
}
