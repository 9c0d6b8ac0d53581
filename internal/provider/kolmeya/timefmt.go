package kolmeya

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// saoPaulo returns the zone of Kolmeya's timestamps. It is the package's one
// package-level value: an immutable cache, loaded once, because loading a zone
// costs tens of microseconds and reports hold tens of thousands of
// timestamps. The embedded tzdata makes a failure impossible in practice; the
// fixed UTC-3 fallback is what São Paulo has kept since 2019.
var saoPaulo = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		return time.FixedZone("-03", -3*60*60)
	}
	return loc
})

// SaoPaulo returns the America/Sao_Paulo time zone, in which Kolmeya writes
// and reads every timestamp.
func SaoPaulo() *time.Location { return saoPaulo() }

// The layouts of Kolmeya's timestamps: answers use the first two, requests the
// third. The others are accepted in answers for tolerance.
var answerLayouts = []string{
	"02/01/2006 15:04:05",
	"02/01/2006 15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02T15:04:05",
	"02/01/2006",
	"2006-01-02",
}

const requestLayout = "2006-01-02 15:04"

// ParseTime reads a timestamp from a Kolmeya answer, "dd/mm/yyyy HH:MM:SS" or
// "dd/mm/yyyy HH:MM" in São Paulo time (ISO forms and RFC 3339 are accepted
// too).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range answerLayouts {
		if t, err := time.ParseInLocation(layout, s, saoPaulo()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("kolmeya: unknown timestamp %.40q", s)
}

// formatRequestTime writes t the way Kolmeya's requests want it,
// "yyyy-mm-dd HH:MM" in São Paulo time.
func formatRequestTime(t time.Time) string { return t.In(saoPaulo()).Format(requestLayout) }

// Time is a timestamp from a Kolmeya answer. Raw keeps the text as sent; a
// text that is not a known timestamp leaves Time zero instead of failing the
// whole answer, so a caller tells "absent" (Raw empty) from "unreadable".
type Time struct {
	time.Time
	Raw string
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	var raw FlexString
	if err := raw.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = Time{Raw: string(raw)}
	if raw == "" {
		return nil
	}
	if parsed, err := ParseTime(string(raw)); err == nil {
		t.Time = parsed
	}
	return nil
}

// MarshalJSON writes the raw text back, so that a decoded answer re-encodes
// as it came.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.Raw == "" && !t.Time.IsZero() {
		return json.Marshal(t.Time.In(saoPaulo()).Format(answerLayouts[0]))
	}
	return json.Marshal(t.Raw)
}
