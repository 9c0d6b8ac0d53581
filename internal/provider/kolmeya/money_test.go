package kolmeya

import (
	"testing"

	"github.com/recado-sms/recado/internal/sms"
)

func TestParseBalance(t *testing.T) {
	good := map[string]sms.Money{
		"R$9.397,30":      93973000,
		"R$0,07":          700,
		"R$ 1.234.567,89": 12345678900,
		"R$-5,00":         -50000,
		"-R$ 5,00":        -50000,
		"R$\u00a012,5":    125000,
		"R$0,0650":        650,
		"9397.30":         93973000,
		"9397.3":          93973000,
		"1.234":           12340000,
		"1234":            12340000,
		"R$ 0":            0,
		" R$ 100.000,00 ": 1000000000,
	}
	for in, want := range good {
		got, err := ParseBalance(in)
		if err != nil || got != want {
			t.Errorf("ParseBalance(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "R$", "abc", "R$9.39,30", "R$1,2,3", "R$ 1,23456", "R$--5", "--5", "R$9.397,", "1.2.3",
		"R$ 12a,00", "R$ .5", "123456789012345,00", "R$+5,00"} {
		if got, err := ParseBalance(in); err == nil {
			t.Errorf("ParseBalance(%q) = %d, want an error", in, got)
		} else if sms.KindOf(err) != sms.KindInvalid {
			t.Errorf("ParseBalance(%q): kind %v, want invalid", in, sms.KindOf(err))
		}
	}
}
