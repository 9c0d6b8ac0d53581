package kolmeya

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	sp := SaoPaulo()
	tests := map[string]time.Time{
		"16/11/2025 14:30:00":  time.Date(2025, 11, 16, 14, 30, 0, 0, sp),
		"12/11/2025 12:17":     time.Date(2025, 11, 12, 12, 17, 0, 0, sp),
		" 01/02/2019 00:00 ":   time.Date(2019, 2, 1, 0, 0, 0, 0, sp),
		"2025-11-01 00:00":     time.Date(2025, 11, 1, 0, 0, 0, 0, sp),
		"2025-11-16T17:30:00Z": time.Date(2025, 11, 16, 17, 30, 0, 0, time.UTC),
		"16/11/2025":           time.Date(2025, 11, 16, 0, 0, 0, 0, sp),
	}
	for in, want := range tests {
		got, err := ParseTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	// São Paulo is UTC-3 now, and was UTC-2 in its summer time of 2018.
	if got, _ := ParseTime("16/11/2025 14:30:00"); got.UTC().Hour() != 17 {
		t.Errorf("2025 offset wrong: %v", got.UTC())
	}
	if got, _ := ParseTime("16/11/2018 14:30:00"); got.UTC().Hour() != 16 {
		t.Errorf("2018 summer offset wrong: %v", got.UTC())
	}
	for _, in := range []string{"", "ontem", "32/11/2025 10:00", "16/11/2025 25:00"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q): want an error", in)
		}
	}
}

func TestTimeJSON(t *testing.T) {
	var v struct {
		A, B, C Time
	}
	if err := json.Unmarshal([]byte(`{"A":"16/11/2025 14:30:00","B":null,"C":"amanhã"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A.IsZero() || v.A.Raw != "16/11/2025 14:30:00" {
		t.Errorf("A = %+v", v.A)
	}
	if !v.B.IsZero() || v.B.Raw != "" {
		t.Errorf("B = %+v", v.B)
	}
	if !v.C.IsZero() || v.C.Raw != "amanhã" {
		t.Errorf("C (unreadable) = %+v", v.C)
	}
	out, _ := json.Marshal(v.A)
	if string(out) != `"16/11/2025 14:30:00"` {
		t.Errorf("re-encoded %s", out)
	}
}

func TestFormatRequestTime(t *testing.T) {
	utc := time.Date(2025, 11, 8, 2, 59, 0, 0, time.UTC)
	if got := formatRequestTime(utc); got != "2025-11-07 23:59" {
		t.Errorf("formatRequestTime = %q", got)
	}
}
