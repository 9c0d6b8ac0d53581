package web

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// funcs are the template functions for language l: translation, and dates,
// numbers and money written the way its readers write them.
func (s *Server) funcs(l *lang) template.FuncMap {
	loc := s.cfg.Location
	pt := l.Code == "pt-BR"
	return template.FuncMap{
		// t translates an English message, formatting args into it.
		"t": func(key string, args ...any) string { return l.printer.Sprintf(key, args...) },
		// date writes a time in the UI's time zone.
		"date": func(t any) string {
			tm, ok := asTime(t)
			if !ok {
				return "—"
			}
			tm = tm.In(loc)
			if pt {
				return tm.Format("02/01/2006 15:04")
			}
			return tm.Format("Jan 2, 2006 15:04")
		},
		// datetime is date with seconds, for event timelines.
		"datetime": func(t any) string {
			tm, ok := asTime(t)
			if !ok {
				return "—"
			}
			tm = tm.In(loc)
			if pt {
				return tm.Format("02/01/2006 15:04:05")
			}
			return tm.Format("Jan 2, 2006 15:04:05")
		},
		// isoTime is a time for datetime attributes and inputs.
		"isoTime": func(t any) string {
			tm, ok := asTime(t)
			if !ok {
				return ""
			}
			return tm.In(loc).Format(time.RFC3339)
		},
		"money": func(m sms.Money) string { return formatMoney(m, pt) },
		// moneys formats an amount the API gives as a string ("0.07").
		"moneys": func(v string) string {
			m, err := sms.ParseMoney(v)
			if err != nil {
				return v
			}
			return formatMoney(m, pt)
		},
		"deref0": func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		},
		"isOptOut": func(m sms.Message) bool {
			return m.Direction == sms.Inbound && sms.IsOptOut(m.Body, s.cfg.OptOutWords)
		},
		"num":     func(n any) string { return l.printer.Sprintf("%d", n) },
		"percent": func(f float64) string { return l.printer.Sprintf("%.1f%%", f*100) },
		"phone":   sms.NationalFormat,
		// state is a message state in the reader's language.
		"state":     func(st any) string { return l.printer.Sprintf("state:" + fmt.Sprint(st)) },
		"stateIcon": func(st any) string { return stateIcon(sms.State(fmt.Sprint(st))) },
		"deref": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"query": func(pairs ...string) template.URL {
			v := url.Values{}
			for i := 0; i+1 < len(pairs); i += 2 {
				if pairs[i+1] != "" {
					v.Set(pairs[i], pairs[i+1])
				}
			}
			return template.URL(v.Encode())
		},
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
	}
}

func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return *t, !t.IsZero()
	}
	return time.Time{}, false
}

// formatMoney writes an amount in reais: "R$ 1.234,56" in Portuguese,
// "R$1,234.56" in English, with the third and fourth decimals only when
// they are not zero (a price per segment of R$ 0,065).
func formatMoney(m sms.Money, pt bool) string {
	s := m.String() // "-1234.5600"-like, at least two decimals
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	thousands, dec := ",", "."
	if pt {
		thousands, dec = ".", ","
	}
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(thousands)
		}
		b.WriteRune(c)
	}
	out := b.String() + dec + frac
	sign := ""
	if neg {
		sign = "-"
	}
	if pt {
		return sign + "R$ " + out
	}
	return sign + "R$" + out
}

// stateIcon is a symbol for a state, shown beside its colour and name so
// that the state reads without colour too.
func stateIcon(st sms.State) string {
	switch st {
	case sms.StateDraft:
		return "✎"
	case sms.StateQueued:
		return "…"
	case sms.StateSending:
		return "➚"
	case sms.StateSent:
		return "✓"
	case sms.StateDelivered:
		return "✓✓"
	case sms.StateFailed, sms.StateRejected:
		return "✕"
	case sms.StateExpired:
		return "⊗"
	case sms.StateCanceled:
		return "⊘"
	case sms.StateReceived:
		return "↩"
	}
	return "•"
}

func itoa(n int) string { return strconv.Itoa(n) }
