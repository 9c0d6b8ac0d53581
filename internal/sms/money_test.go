package sms

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want Money
	}{
		{"0", 0},
		{"12", 120000},
		{"0.07", 700},
		{"0,07", 700},
		{"0.065", 650},
		{"0,0651", 651},
		{"1.5", 15000},
		{"-1,5", -15000},
		{"-0.0001", -1},
		{".5", 5000},
		{"1.", 10000},
		{" 3 ", 30000},
		{"007", 70000},
		{"922337203685476.9999", 9223372036854769999},
		{"-922337203685476.9999", -9223372036854769999},
	}
	for _, tt := range tests {
		got, err := ParseMoney(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseMoneyRejects(t *testing.T) {
	for _, in := range []string{
		"", " ", "-", ".", ",", "1.23456", "1,234.56", "1.234,56", "1.234.567",
		"+1", "--1", "1-", "1 000", "abc", "1e3", "0x10", "1_000", "R$ 1,00",
		"922337203685477", "99999999999999999999", "-922337203685477",
		"1.-5", "1.+5", "1.5a",
	} {
		got, err := ParseMoney(in)
		if err == nil {
			t.Errorf("ParseMoney(%q) = %d, want an error", in, got)
			continue
		}
		if KindOf(err) != KindInvalid {
			t.Errorf("ParseMoney(%q): error %v is not invalid-input", in, err)
		}
	}
	// The message quotes what the caller wrote, not a rewritten form.
	if _, err := ParseMoney("1.234,56"); err == nil || err.Error() != `invalid amount "1.234,56": want digits with up to 4 decimals` {
		t.Errorf("message %v", err)
	}
}

func TestMoneyString(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{0, "0.00"},
		{700, "0.07"},
		{650, "0.065"},
		{651, "0.0651"},
		{1, "0.0001"},
		{5000, "0.50"},
		{120000, "12.00"},
		{123456789, "12345.6789"},
		{-15000, "-1.50"},
		{-1, "-0.0001"},
		{math.MaxInt64, "922337203685477.5807"},
		{math.MinInt64, "-922337203685477.5808"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("Money(%d).String() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestMoneyBRL(t *testing.T) {
	tests := []struct {
		m    Money
		want string
	}{
		{0, "R$ 0,00"},
		{700, "R$ 0,07"},
		{650, "R$ 0,07"}, // half a centavo rounds up
		{649, "R$ 0,06"},
		{12345678, "R$ 1.234,57"},
		{10000000, "R$ 1.000,00"},
		{1000000, "R$ 100,00"},
		{12345678900000, "R$ 1.234.567.890,00"},
		{-700, "-R$ 0,07"},
		{-650, "-R$ 0,07"},
		{-49, "R$ 0,00"}, // rounds to nothing: no sign
		{-12345678, "-R$ 1.234,57"},
		{math.MaxInt64, "R$ 922.337.203.685.477,58"},
		{math.MinInt64, "-R$ 922.337.203.685.477,58"},
	}
	for _, tt := range tests {
		if got := tt.m.BRL(); got != tt.want {
			t.Errorf("Money(%d).BRL() = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestMoneyRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	limit := int64(maxWholeReais*MoneyScale + MoneyScale - 1)
	for range 10000 {
		m := Money(rng.Int64N(limit + 1))
		if rng.IntN(2) == 0 {
			m %= 1000000 // small amounts too
		}
		if rng.IntN(2) == 0 {
			m = -m
		}
		got, err := ParseMoney(m.String())
		if err != nil || got != m {
			t.Fatalf("ParseMoney(%q) = %d, %v; want %d", m.String(), got, err, m)
		}
	}
}

func TestMoneyTimes(t *testing.T) {
	price, _ := ParseMoney("0.065")
	if got := price.Times(3); got.String() != "0.195" {
		t.Errorf("0.065 × 3 = %s", got)
	}
	if got := price.Times(0); got != 0 {
		t.Errorf("0.065 × 0 = %s", got)
	}
}
