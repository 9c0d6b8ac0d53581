package campaign

import (
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

func sp(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, sms.SaoPaulo)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEasterAndHolidays(t *testing.T) {
	for year, want := range map[int]string{2019: "2019-04-21", 2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28", 2038: "2038-04-25"} {
		if got := easter(year).Format("2006-01-02"); got != want {
			t.Errorf("Easter %d = %s, want %s", year, got, want)
		}
	}
	h := Holidays(2026)
	for _, d := range []string{"2026-01-01", "2026-02-16", "2026-02-17", "2026-04-03", "2026-04-21", "2026-05-01",
		"2026-06-04", "2026-09-07", "2026-10-12", "2026-11-02", "2026-11-15", "2026-11-20", "2026-12-25"} {
		if _, ok := h[d]; !ok {
			t.Errorf("%s is not a holiday of 2026: %v", d, h)
		}
	}
	if len(h) != 13 {
		t.Errorf("2026 has %d holidays, want 13", len(h))
	}
	if _, ok := Holidays(2023)["2023-11-20"]; ok {
		t.Error("Black Consciousness Day is national only from 2024")
	}
}

func TestDefaultWindowEdges(t *testing.T) {
	w := DefaultMarketingWindow()
	tests := []struct {
		at   string
		open bool
		next string // when closed, the next opening
	}{
		{"2026-11-25 08:59", false, "2026-11-25 09:00"}, // Wednesday
		{"2026-11-25 09:00", true, ""},
		{"2026-11-25 20:59", true, ""},
		{"2026-11-25 21:00", false, "2026-11-26 09:00"},
		{"2026-11-27 21:30", false, "2026-11-28 10:00"}, // Friday night → Saturday 10:00
		{"2026-11-28 09:59", false, "2026-11-28 10:00"},
		{"2026-11-28 15:59", true, ""},
		{"2026-11-28 16:00", false, "2026-11-30 09:00"}, // Saturday 16:00 → Monday
		{"2026-11-29 12:00", false, "2026-11-30 09:00"}, // Sunday
		{"2026-11-20 12:00", false, "2026-11-21 10:00"}, // Black Consciousness Day (Friday)
		{"2026-04-02 21:00", false, "2026-04-04 10:00"}, // Good Friday follows
		{"2026-02-13 22:00", false, "2026-02-14 10:00"}, // Carnival Saturday is an ordinary Saturday
		{"2026-02-14 16:00", false, "2026-02-18 09:00"}, // then Sunday, Carnival Monday and Tuesday
		{"2026-12-24 20:00", true, ""},
		{"2026-12-24 21:00", false, "2026-12-26 10:00"}, // Christmas, then Saturday
	}
	for _, tt := range tests {
		at := sp(tt.at)
		if got := w.Open(at); got != tt.open {
			t.Errorf("Open(%s) = %v, want %v", tt.at, got, tt.open)
		}
		next := w.Next(at)
		want := at
		if !tt.open {
			want = sp(tt.next)
		}
		if !next.Equal(want) {
			t.Errorf("Next(%s) = %s, want %s", tt.at, next.In(sms.SaoPaulo).Format("2006-01-02 15:04"), want.Format("2006-01-02 15:04"))
		}
	}
	// Across the edge in UTC: 12:00 UTC is 09:00 in São Paulo, all year
	// (no daylight saving time since 2019).
	for _, d := range []string{"2026-01-14", "2026-07-15", "2026-10-14"} {
		utc, _ := time.Parse("2006-01-02 15:04", d+" 12:00")
		if !w.Open(utc) || w.Open(utc.Add(-time.Minute)) {
			t.Errorf("%s: 12:00 UTC should open the window and 11:59 UTC not", d)
		}
	}
	if got := w.Closes(sp("2026-11-25 10:00")); !got.Equal(sp("2026-11-25 21:00")) {
		t.Errorf("Closes = %s", got)
	}
}

func TestCustomWindows(t *testing.T) {
	w := Window{Hours: map[string]string{"sun": "08:00-12:00"}, OpenOnHolidays: true, ClosedDates: []string{"2026-11-29"}}
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	if w.Open(sp("2026-11-29 09:00")) || !w.Open(sp("2026-12-06 09:00")) || w.Open(sp("2026-12-07 09:00")) {
		t.Error("closed date or Sunday-only hours not honoured")
	}
	if got := w.Next(sp("2026-11-29 09:00")); !got.Equal(sp("2026-12-06 08:00")) {
		t.Errorf("Next = %s", got)
	}
	if !AlwaysOpen().Open(sp("2026-12-25 03:00")) {
		t.Error("AlwaysOpen closed on Christmas night")
	}
	for _, bad := range []Window{
		{Hours: map[string]string{"mon": "21:00-09:00"}},
		{Hours: map[string]string{"monday": "09:00-10:00"}},
		{Hours: map[string]string{"mon": "9h-10h"}},
		{ClosedDates: []string{"24/12/2026"}},
	} {
		if sms.KindOf(bad.Validate()) != sms.KindInvalid {
			t.Errorf("%+v accepted", bad)
		}
	}
	closedAlways := Window{Hours: map[string]string{"mon": ""}}
	if !closedAlways.Next(sp("2026-11-25 10:00")).IsZero() {
		t.Error("a window closed every day should have no next opening")
	}
}
