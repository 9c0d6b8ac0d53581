package sms

import (
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in Brazilian reais kept exactly, in ten-thousandths of a
// real, so that per-segment prices such as R$ 0,065 add up without rounding.
// The zero value is R$ 0,00.
type Money int64

// MoneyScale is how many units of Money make one real.
const MoneyScale = 10000

// ParseMoney reads an amount written with a dot or a comma as the decimal
// separator ("0.07", "0,07", "12"), with at most four decimals. Thousands
// separators are not accepted: "1.234,56" is ambiguous in an API field.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	s = strings.Replace(s, ",", ".", 1)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 4 || strings.ContainsAny(whole+frac, "+-. ") {
		return 0, Errorf(KindInvalid, "invalid amount %q: want digits with up to 4 decimals", s)
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, Errorf(KindInvalid, "invalid amount %q", s)
	}
	frac += strings.Repeat("0", 4-len(frac))
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, Errorf(KindInvalid, "invalid amount %q", s)
	}
	m := Money(w*MoneyScale + f)
	if neg {
		m = -m
	}
	return m, nil
}

// String renders m as a plain decimal with a dot and at least two decimals
// ("0.07", "0.065", "12.00"), the form the API uses.
func (m Money) String() string {
	neg := m < 0
	if neg {
		m = -m
	}
	s := fmt.Sprintf("%d.%04d", int64(m)/MoneyScale, int64(m)%MoneyScale)
	s = strings.TrimRight(s, "0")
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += strings.Repeat("0", 2-(len(s)-i-1))
	}
	if neg {
		s = "-" + s
	}
	return s
}

// BRL renders m the Brazilian way, rounded to centavos: "R$ 1.234,57".
func (m Money) BRL() string {
	neg := m < 0
	if neg {
		m = -m
	}
	cents := (int64(m) + 50) / 100
	whole := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(r)
	}
	sign := ""
	if neg {
		sign = "-"
	}
	return fmt.Sprintf("%sR$ %s,%02d", sign, b.String(), cents%100)
}

// Times returns m multiplied by n, as for a price per segment times segments.
func (m Money) Times(n int) Money { return m * Money(n) }
