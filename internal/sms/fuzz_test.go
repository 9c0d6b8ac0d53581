package sms

import "testing"

// FuzzParseMoney: an amount that parses is written back by String in a
// form that parses to the same amount.
func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"0.07", "0,07", "12", "-5.5", ".5", "5.", "1.234,56", "+1", "1e3", " 3 ", "9223372036854775807", "0.00001", "-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			if KindOf(err) != KindInvalid {
				t.Fatalf("ParseMoney(%q): error of kind %v", s, KindOf(err))
			}
			return
		}
		again, err := ParseMoney(m.String())
		if err != nil || again != m {
			t.Fatalf("ParseMoney(%q) = %d, written %q, reads back %d, %v", s, m, m.String(), again, err)
		}
	})
}

// FuzzParseState: only the states there are parse, to themselves.
func FuzzParseState(f *testing.F) {
	for _, s := range States {
		f.Add(string(s))
	}
	f.Add("Delivered")
	f.Add(" sent")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := ParseState(s)
		if err != nil {
			return
		}
		if string(st) != s || !st.Valid() {
			t.Fatalf("ParseState(%q) = %q", s, st)
		}
	})
}
