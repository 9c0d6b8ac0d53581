package web

import (
	"net/http"

	"github.com/go-analyze/charts"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
)

// dashboardChart draws one of the dashboard's charts as SVG: "volume"
// (outbound messages per day by outcome) or "cost" (spend per day, for those
// who may see costs). Charts are images (<img src>), so nothing in them can
// run as script in the page.
func (s *Server) dashboardChart(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	st, err := s.dayStats(r.Context())
	if err != nil {
		return err
	}
	l := s.langFor(r)
	pt := l.Code == "pt-BR"
	labels := make([]string, len(st.Labels))
	for i, d := range st.Labels {
		if pt {
			labels[i] = d.Format("02/01")
		} else {
			labels[i] = d.Format("Jan 2")
		}
	}
	painter := charts.NewPainter(charts.PainterOptions{OutputFormat: charts.ChartOutputSVG, Width: 720, Height: 300},
		charts.PainterThemeOption(charts.GetTheme(charts.ThemeLight)))
	switch r.PathValue("name") {
	case "volume":
		delivered, inflight, failed := make([]float64, len(st.Days)), make([]float64, len(st.Days)), make([]float64, len(st.Days))
		for i, d := range st.Days {
			delivered[i], inflight[i], failed[i] = float64(d.Delivered), float64(d.InFlight), float64(d.Failed)
		}
		opt := charts.NewBarChartOptionWithData([][]float64{delivered, inflight, failed})
		opt.StackSeries = charts.Ptr(true)
		opt.CategoryAxis.Labels = labels
		opt.CategoryAxis.LabelCount = 6
		opt.Legend.SeriesNames = []string{l.printer.Sprintf("Delivered messages"), l.printer.Sprintf("On the way"), l.printer.Sprintf("Failed")}
		opt.Theme = charts.GetTheme(charts.ThemeLight).WithSeriesColors([]charts.Color{
			charts.ColorFromHex("#2e7d32"), charts.ColorFromHex("#1565c0"), charts.ColorFromHex("#c62828")})
		if err := painter.BarChart(opt); err != nil {
			return err
		}
	case "cost":
		if err := p.Require(auth.ReportsRead); err != nil {
			return err
		}
		cost := make([]float64, len(st.Days))
		for i, d := range st.Days {
			cost[i] = float64(d.Cost) / sms.MoneyScale
		}
		opt := charts.NewLineChartOptionWithData([][]float64{cost})
		opt.XAxis.Labels = labels
		opt.XAxis.LabelCount = 6
		opt.Legend.SeriesNames = []string{l.printer.Sprintf("Cost (R$)")}
		if err := painter.LineChart(opt); err != nil {
			return err
		}
	default:
		return sms.Errorf(sms.KindNotFound, "no such chart")
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
