package sms

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in Brazilian reais kept exactly, in ten-thousandths of a
// real, so that per-segment prices such as R$ 0,065 add up without rounding.
// The zero value is R$ 0,00.
type Money int64

// MoneyScale is how many units of Money make one real.
const MoneyScale = 10000

// maxWholeReais is the most whole reais ParseMoney reads: with four decimals
// added, and negated, the amount still fits in a Money.
const maxWholeReais = math.MaxInt64/MoneyScale - 1

// ParseMoney reads an amount written with a dot or a comma as the decimal
// separator ("0.07", "0,07", "12"), with at most four decimals and an
// optional leading minus. Thousands separators are not accepted: "1.234,56"
// is ambiguous in an API field.
func ParseMoney(s string) (Money, error) {
	in := s
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	s = strings.Replace(s, ",", ".", 1)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || len(frac) > 4 || strings.ContainsAny(whole+frac, "+-. ") {
		return 0, Errorf(KindInvalid, "invalid amount %q: want digits with up to 4 decimals", in)
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, Errorf(KindInvalid, "invalid amount %q: want digits with up to 4 decimals", in)
	}
	if err != nil || w > maxWholeReais {
		return 0, Errorf(KindInvalid, "invalid amount %q: too large", in)
	}
	frac += strings.Repeat("0", 4-len(frac))
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, Errorf(KindInvalid, "invalid amount %q: want digits with up to 4 decimals", in)
	}
	m := Money(w*MoneyScale + f)
	if neg {
		m = -m
	}
	return m, nil
}

// abs returns |m| as an unsigned number, which holds even |math.MinInt64|.
func (m Money) abs() uint64 {
	if m < 0 {
		return uint64(-(m + 1)) + 1
	}
	return uint64(m)
}

// String renders m as a plain decimal with a dot and at least two decimals
// ("0.07", "0.065", "12.00", "-1.50"), the form the API uses and ParseMoney
// reads back.
func (m Money) String() string {
	a := m.abs()
	frac := strconv.FormatUint(a%MoneyScale+MoneyScale, 10)[1:] // four digits, leading zeros kept
	frac = strings.TrimRight(frac, "0")
	if len(frac) < 2 {
		frac += "00"[len(frac):]
	}
	s := strconv.FormatUint(a/MoneyScale, 10) + "." + frac
	if m < 0 {
		s = "-" + s
	}
	return s
}

// BRL renders m the Brazilian way, rounded half away from zero to centavos:
// "R$ 1.234,57", "-R$ 0,07". An amount that rounds to nothing has no sign.
func (m Money) BRL() string {
	a := m.abs()
	cents := a/100 + (a%100)/50 // half a centavo rounds up, without overflowing
	whole := strconv.FormatUint(cents/100, 10)
	var b strings.Builder
	if m < 0 && cents > 0 {
		b.WriteByte('-')
	}
	b.WriteString("R$ ")
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteByte(whole[i])
	}
	b.WriteByte(',')
	c := cents % 100
	b.WriteByte(byte('0' + c/10))
	b.WriteByte(byte('0' + c%10))
	return b.String()
}

// Times returns m multiplied by n, as for a price per segment times segments.
func (m Money) Times(n int) Money { return m * Money(n) }
