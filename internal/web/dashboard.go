package web

import (
	"context"
	"net/http"
	"time"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// dashDays is how many days the dashboard looks back.
const dashDays = 30

// period sums the messages of a span of days.
type period struct {
	Sent      int64 // outbound messages created
	Delivered int64
	Failed    int64 // failed, rejected or expired
	InFlight  int64 // queued, sending or sent
	Replies   int64 // inbound
	Segments  int64
	Cost      sms.Money
}

// DeliveryRate is the share of finished outbound messages that were
// delivered; messages still on their way do not count yet.
func (p period) DeliveryRate() float64 {
	done := p.Delivered + p.Failed
	if done == 0 {
		return 0
	}
	return float64(p.Delivered) / float64(done)
}

func (p *period) add(h store.HourVolume) {
	if h.Direction == sms.Inbound {
		p.Replies += h.Count
		return
	}
	p.Sent += h.Count
	p.Segments += h.Segments
	p.Cost += h.Cost
	switch {
	case h.State == sms.StateDelivered:
		p.Delivered += h.Count
	case h.State == sms.StateFailed || h.State == sms.StateRejected || h.State == sms.StateExpired:
		p.Failed += h.Count
	case h.State == sms.StateQueued || h.State == sms.StateSending || h.State == sms.StateSent:
		p.InFlight += h.Count
	}
}

// dayStats are the dashboard's figures: totals for today, 7 and 30 days,
// and one period per day for the charts, oldest first.
type dayStats struct {
	Today, Week, Month period
	Days               []period
	Labels             []time.Time // the local midnight of each day
}

// dayStats folds the hourly counts of the last 30 days into local days.
func (s *Server) dayStats(ctx context.Context) (dayStats, error) {
	now := s.cfg.Now().In(s.cfg.Location)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.cfg.Location)
	from := today.AddDate(0, 0, -(dashDays - 1))
	hours, err := s.DB.VolumeByHour(ctx, from, now.Add(time.Hour))
	if err != nil {
		return dayStats{}, err
	}
	st := dayStats{Days: make([]period, dashDays), Labels: make([]time.Time, dashDays)}
	for i := range st.Labels {
		st.Labels[i] = from.AddDate(0, 0, i)
	}
	for _, h := range hours {
		local := h.Hour.In(s.cfg.Location)
		day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, s.cfg.Location)
		i := int(day.Sub(from).Hours()+12) / 24 // +12 h: robust to a 23 or 25 hour day
		if i < 0 || i >= dashDays {
			continue
		}
		st.Days[i].add(h)
		st.Month.add(h)
		if i >= dashDays-7 {
			st.Week.add(h)
		}
		if i == dashDays-1 {
			st.Today.add(h)
		}
	}
	return st, nil
}

type dashboardData struct {
	Stats     dayStats
	Reasons   []store.Reason
	Providers []providers.View
	ShowCost  bool
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	st, err := s.dayStats(ctx)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	reasons, err := s.DB.FailureReasons(ctx, store.ReportFilter{From: now.AddDate(0, 0, -dashDays), To: now.Add(time.Minute)})
	if err != nil {
		return err
	}
	reasons = reasons[:min(len(reasons), 8)]
	data := dashboardData{Stats: st, Reasons: reasons, ShowCost: p.Can(auth.ReportsRead)}
	if data.ShowCost {
		if data.Providers, err = s.Providers.List(ctx); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "dashboard", "layout", data)
	return nil
}
