package campaign

import (
	"fmt"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// Window is when a campaign may send: hours per day of the week in São
// Paulo time, closed on Brazil's national holidays unless told otherwise,
// and on extra closed dates. A Window without hours is open all day, every
// day, holidays and closed dates aside: AlwaysOpen is open at any moment.
type Window struct {
	// Hours maps mon, tue, wed, thu, fri, sat, sun to "HH:MM-HH:MM", or to
	// "" for a closed day. A day absent from a non-empty map is closed.
	Hours map[string]string `json:"hours,omitempty" example:"{\"mon\":\"09:00-21:00\",\"sat\":\"10:00-16:00\"}"`
	// OpenOnHolidays lets the campaign send on national holidays.
	OpenOnHolidays bool `json:"open_on_holidays,omitempty"`
	// ClosedDates are more days without sending, as 2026-12-24.
	ClosedDates []string `json:"closed_dates,omitempty" maxItems:"366"`
}

// DefaultMarketingWindow is the sending window of marketing campaigns unless
// configured: weekdays 09:00–21:00, Saturdays 10:00–16:00, no Sundays, no
// national holidays.
func DefaultMarketingWindow() Window {
	return Window{Hours: map[string]string{
		"mon": "09:00-21:00", "tue": "09:00-21:00", "wed": "09:00-21:00", "thu": "09:00-21:00", "fri": "09:00-21:00",
		"sat": "10:00-16:00",
	}}
}

// AlwaysOpen is the window of transactional campaigns unless configured.
func AlwaysOpen() Window { return Window{OpenOnHolidays: true} }

var dayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// span is an interval of minutes since midnight, [from, to).
type span struct{ from, to int }

// compiled is a Window read once.
type compiled struct {
	always   bool
	days     [7]*span
	holidays bool
	closed   map[string]bool
}

// Validate checks w's hours and dates.
func (w Window) Validate() error {
	_, err := w.compile()
	return err
}

func (w Window) compile() (compiled, error) {
	c := compiled{holidays: !w.OpenOnHolidays, closed: map[string]bool{}}
	if len(w.Hours) == 0 {
		for i := range c.days {
			c.days[i] = &span{0, 24 * 60}
		}
		c.always = w.OpenOnHolidays && len(w.ClosedDates) == 0
	}
	var bad []sms.FieldError
	for k, v := range w.Hours {
		i := dayIndex(k)
		if i < 0 {
			bad = append(bad, sms.FieldError{Field: "window.hours." + k, Message: "days are mon, tue, wed, thu, fri, sat, sun"})
			continue
		}
		if strings.TrimSpace(v) == "" {
			continue
		}
		s, err := parseSpan(v)
		if err != nil {
			bad = append(bad, sms.FieldError{Field: "window.hours." + k, Message: err.Error(), Value: v})
			continue
		}
		c.days[i] = &s
	}
	for _, d := range w.ClosedDates {
		if _, err := time.Parse("2006-01-02", d); err != nil {
			bad = append(bad, sms.FieldError{Field: "window.closed_dates", Message: "dates as 2026-12-24", Value: d})
		}
		c.closed[d] = true
	}
	if len(bad) > 0 {
		return c, sms.Invalid("invalid sending window", bad...)
	}
	return c, nil
}

func dayIndex(k string) int {
	for i, d := range dayKeys {
		if d == strings.ToLower(k) {
			return i
		}
	}
	return -1
}

func parseSpan(v string) (span, error) {
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return span{}, fmt.Errorf("hours as 09:00-21:00")
	}
	from, err1 := parseClock(a)
	to, err2 := parseClock(b)
	if err1 != nil || err2 != nil || to <= from {
		return span{}, fmt.Errorf("hours as 09:00-21:00, the end after the start")
	}
	return span{from, to}, nil
}

func parseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		if strings.TrimSpace(s) == "24:00" {
			return 24 * 60, nil
		}
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Open reports whether w lets a campaign send at t.
func (w Window) Open(t time.Time) bool {
	c, err := w.compile()
	if err != nil {
		return false
	}
	return c.open(t.In(sms.SaoPaulo))
}

func (c compiled) open(t time.Time) bool {
	if c.always {
		return true
	}
	if !c.dayOpen(t) {
		return false
	}
	s := c.days[t.Weekday()]
	m := t.Hour()*60 + t.Minute()
	return s != nil && m >= s.from && m < s.to
}

func (c compiled) dayOpen(t time.Time) bool {
	date := t.Format("2006-01-02")
	if c.closed[date] {
		return false
	}
	return !(c.holidays && IsHoliday(t))
}

// Next returns when w next lets a campaign send at or after t: t itself
// when open, else the start of the next open span. It gives up a year ahead
// (a window closed every day) and returns the zero time.
func (w Window) Next(t time.Time) time.Time {
	c, err := w.compile()
	if err != nil {
		return time.Time{}
	}
	lt := t.In(sms.SaoPaulo)
	if c.open(lt) {
		return t
	}
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, sms.SaoPaulo)
	for i := 0; i < 370; i++ {
		d := day.AddDate(0, 0, i)
		s := c.days[d.Weekday()]
		if s == nil || !c.dayOpen(d) {
			continue
		}
		start := d.Add(time.Duration(s.from) * time.Minute)
		end := d.Add(time.Duration(s.to) * time.Minute)
		if i == 0 && !lt.Before(end) {
			continue
		}
		if start.Before(lt) {
			return t
		}
		return start
	}
	return time.Time{}
}

// Closes returns when the open span that holds t ends (the zero time for an
// always-open window, or when t is outside the window).
func (w Window) Closes(t time.Time) time.Time {
	c, err := w.compile()
	if err != nil || c.always {
		return time.Time{}
	}
	lt := t.In(sms.SaoPaulo)
	if !c.open(lt) {
		return time.Time{}
	}
	s := c.days[lt.Weekday()]
	day := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, sms.SaoPaulo)
	return day.Add(time.Duration(s.to) * time.Minute)
}
