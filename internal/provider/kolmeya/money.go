package kolmeya

import (
	"strconv"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

// ParseBalance reads a balance as Kolmeya writes it, "R$9.397,30", exactly:
// dots group thousands and a comma starts up to four decimals. It also takes
// "R$ 1.234.567,89", a sign before or after "R$" ("-R$ 5,00", "R$-5,00"), and
// a plain number ("9397.30") as a JSON number would read; a single dot with
// other than three digits after it is a decimal point. Anything else is an
// error of kind KindInvalid.
func ParseBalance(s string) (sms.Money, error) {
	bad := func() (sms.Money, error) {
		return 0, sms.Errorf(sms.KindInvalid, "kolmeya: unreadable balance %.40q", s)
	}
	t := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\u00a0' || r == '\t' {
			return -1
		}
		return r
	}, s)
	neg := false
	if rest, ok := strings.CutPrefix(t, "-"); ok {
		neg, t = true, rest
	}
	t = strings.TrimPrefix(t, "R$")
	if rest, ok := strings.CutPrefix(t, "-"); ok {
		if neg {
			return bad()
		}
		neg, t = true, rest
	}
	whole, frac := t, ""
	groups := false
	if i := strings.LastIndexByte(t, ','); i >= 0 {
		whole, frac = t[:i], t[i+1:]
		if frac == "" {
			return bad()
		}
		groups = true
	} else if strings.Count(t, ".") == 1 {
		i := strings.IndexByte(t, '.')
		if len(t)-i-1 != 3 {
			whole, frac = t[:i], t[i+1:]
			if frac == "" {
				return bad()
			}
		} else {
			groups = true
		}
	} else {
		groups = true
	}
	if groups && strings.Contains(whole, ".") {
		parts := strings.Split(whole, ".")
		if len(parts[0]) < 1 || len(parts[0]) > 3 {
			return bad()
		}
		for _, p := range parts[1:] {
			if len(p) != 3 {
				return bad()
			}
		}
		whole = strings.Join(parts, "")
	}
	if whole == "" || len(whole) > 14 || len(frac) > 4 || !allDigits(whole) || !allDigits(frac) {
		return bad()
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return bad()
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 4-len(frac)), 10, 64); err != nil {
			return bad()
		}
	}
	m := sms.Money(w*sms.MoneyScale + f)
	if neg {
		m = -m
	}
	return m, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
