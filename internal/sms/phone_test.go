package sms

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// The numbers below are fictitious: Brazilian ones end in 000N, foreign ones
// are libphonenumber's own example numbers.

func TestNormalizePhone(t *testing.T) {
	const e164 = "+5511987650001"
	tests := []struct {
		raw, region string
		want        Phone
	}{
		{"+55 (11) 98765-0001", "", Phone{e164, LineMobile}},
		{"5511987650001", "", Phone{e164, LineMobile}},
		{"11987650001", "", Phone{e164, LineMobile}},
		{"(11) 98765-0001", "", Phone{e164, LineMobile}},
		{"011 98765-0001", "", Phone{e164, LineMobile}},
		{"0 11 98765-0001", "", Phone{e164, LineMobile}},
		{"(011) 98765-0001", "", Phone{e164, LineMobile}},
		{"0 15 11 98765 0001", "", Phone{e164, LineMobile}}, // carrier code 15
		{"015 11 98765-0001", "", Phone{e164, LineMobile}},
		{"021 11 98765-0001", "", Phone{e164, LineMobile}}, // trunk 0 then carrier 21
		{"11\t98765\u00a00001\n", "", Phone{e164, LineMobile}},
		{"0015 55 11 98765 0001", "", Phone{e164, LineMobile}}, // international prefix with carrier 15
		{"55 011 98765 0001", "", Phone{e164, LineMobile}},
		{"+55 0 11 98765-0001", "", Phone{e164, LineMobile}},
		{"11.98765.0001", "", Phone{e164, LineMobile}},
		{"11 9 8765 0001", "", Phone{e164, LineMobile}},
		{"11/98765-0001", "", Phone{e164, LineMobile}},
		{"11–98765–0001", "", Phone{e164, LineMobile}}, // en dashes
		{"  +55 11 98765-0001\t", "", Phone{e164, LineMobile}},
		{"+5511987650001", "", Phone{e164, LineMobile}},
		{"++55 11 98765 0001", "", Phone{e164, LineMobile}},
		{"１１９８７６５０００１", "", Phone{e164, LineMobile}}, // full-width digits
		{"(11) 98765-0001", "BR", Phone{e164, LineMobile}},
		{"(11) 98765-0001", "br", Phone{e164, LineMobile}},
		{"+55 11 98765-0001", "US", Phone{e164, LineMobile}},
		{"+55 11 98765-0001", "ZZ", Phone{e164, LineMobile}},
		{"(21) 99999-0001", "", Phone{"+5521999990001", LineMobile}},
		{"+55 99 99999-0001", "", Phone{"+5599999990001", LineMobile}},
		{"55 98765 0001", "", Phone{"+5555987650001", LineMobile}},   // DDD 55, not the country code
		{"+55 11 7765-0001", "", Phone{"+551177650001", LineMobile}}, // libphonenumber's 10-digit mobile range

		// Foreign numbers (libphonenumber's examples).
		{"+1 201-555-0123", "", Phone{"+12015550123", LineFixedOrMobile}},
		{"201 555 0123", "US", Phone{"+12015550123", LineFixedOrMobile}},
		{"+351 912 345 678", "", Phone{"+351912345678", LineMobile}},
		{"912 345 678", "pt", Phone{"+351912345678", LineMobile}},
		{"+44 7400 123456", "", Phone{"+447400123456", LineMobile}},
		{"+800 1234 5678", "", Phone{"+80012345678", LineTollFree}},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("NormalizePhone(%q, %q): %v", tt.raw, tt.region, err)
			}
			if got != tt.want {
				t.Errorf("NormalizePhone(%q, %q) = %+v, want %+v", tt.raw, tt.region, got, tt.want)
			}
		})
	}
}

func TestNormalizePhoneRejects(t *testing.T) {
	tests := []struct {
		raw, region string
		code        string
		msg         string // a part of the message
	}{
		{"", "", CodePhoneEmpty, "empty"},
		{"   ", "", CodePhoneEmpty, "empty"},
		{"(11) 3333-0001", "", CodePhoneLandline, "landline"},
		{"+55 11 3333-0001", "US", CodePhoneLandline, "landline"},
		{"1133330001", "", CodePhoneLandline, "landline"},
		{"0800 123 0001", "", CodePhoneNoSMS, "toll-free"},
		{"0300 123 0001", "", CodePhoneNoSMS, "shared-cost"},
		{"4004-0001", "", CodePhoneNoSMS, "shared-cost"},
		{"0900 123 0001", "", CodePhoneNoSMS, "premium-rate"},
		{"12", "", CodePhoneTooShort, "too short"},
		{"123", "", CodePhoneTooShort, "too short"},
		{"+55 11", "", CodePhoneTooShort, "too short"},
		{"+551", "", CodePhoneTooShort, "too short"},
		{"0015 1", "", CodePhoneTooShort, "too short"},
		{"1", "", CodePhoneInvalid, "not a phone number"},
		{"+", "", CodePhoneInvalid, "not a phone number"},
		{"-", "", CodePhoneInvalid, "not a phone number"},
		{"()", "", CodePhoneInvalid, "not a phone number"},
		{"3333-0001", "", CodePhoneInvalid, "not a valid number"},
		{"98765-0001", "", CodePhoneInvalid, "not a valid number"},
		{"+55 10 98765-0001", "", CodePhoneInvalid, "not a valid number"}, // no DDD 10
		{"(20) 98765-0001", "", CodePhoneInvalid, "not a valid number"},   // no DDD 20
		{"11 8765-0001", "", CodePhoneInvalid, "9 digits after the area code"},
		{"(11) 98765-000", "", CodePhoneInvalid, "9 digits after the area code"},
		{"11 98765-00012", "", CodePhoneTooLong, "too long"},
		{"119876500011234567", "", CodePhoneTooLong, "too long"},
		{strings.Repeat("1", 65), "", CodePhoneTooLong, "too long"},
		{"11 98765-0001" + strings.Repeat(" ", 60), "", CodePhoneTooLong, "too long"},
		{"+999 123450001", "", CodePhoneCountry, "country code"},
		{"11 98765-0001", "XX", CodePhoneCountry, "region"},
		{"11 98765-0001", "ZZ", CodePhoneCountry, "country code"},
		{"abc", "", CodePhoneCharacters, "'a'"},
		{"11 9ABCD-0001", "", CodePhoneCharacters, "'A'"}, // libphonenumber would dial the letters
		{"0XX11 98765-0001", "", CodePhoneCharacters, "'X'"},
		{"11 98765-0001 ramal 2", "", CodePhoneCharacters, "'r'"},
		{"11 98765-0001 ext. 2", "", CodePhoneCharacters, "'e'"},
		{"11987650001#", "", CodePhoneCharacters, "'#'"},
		{"tel:+5511987650001", "", CodePhoneCharacters, "'t'"},
		{"11 98765-0001\x00", "", CodePhoneCharacters, `'\x00'`},
		{"11 98765-0001\xff", "", CodePhoneCharacters, `'�'`},
	}
	for _, tt := range tests {
		t.Run(tt.raw+"/"+tt.region, func(t *testing.T) {
			p, err := NormalizePhone(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("NormalizePhone(%q, %q) = %+v, want an error", tt.raw, tt.region, p)
			}
			if p != (Phone{}) {
				t.Errorf("NormalizePhone(%q) returned %+v with its error", tt.raw, p)
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid {
				t.Fatalf("error %v is not an *Error of kind invalid", err)
			}
			if e.Code != tt.code {
				t.Errorf("code %q, want %q (%v)", e.Code, tt.code, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not say %q", err.Error(), tt.msg)
			}
		})
	}
}

func TestPhoneParts(t *testing.T) {
	tests := []struct {
		e164     string
		cc       int
		national string
	}{
		{"+5511987650001", 55, "11987650001"},
		{"+12015550123", 1, "2015550123"},
		{"+351912345678", 351, "912345678"},
		{"+447400123456", 44, "7400123456"},
		{"+80012345678", 800, "12345678"},
		{"+79123456789", 7, "9123456789"},
		{"", 0, ""},
		{"+", 0, ""},
		{"+55", 0, ""},
		{"+1", 0, ""},
		{"5511987650001", 0, ""},
		{"+1-2015550123", 0, ""},
		{"+999123450001", 0, ""},
		{"+٥٥11987650001", 0, ""},
	}
	for _, tt := range tests {
		p := Phone{E164: tt.e164}
		if got := p.CountryCode(); got != tt.cc {
			t.Errorf("Phone{%q}.CountryCode() = %d, want %d", tt.e164, got, tt.cc)
		}
		if got := p.National(); got != tt.national {
			t.Errorf("Phone{%q}.National() = %q, want %q", tt.e164, got, tt.national)
		}
		if got := p.String(); got != tt.e164 {
			t.Errorf("Phone{%q}.String() = %q", tt.e164, got)
		}
	}
}

func TestLineTypeOf(t *testing.T) {
	want := map[phonenumbers.PhoneNumberType]LineType{
		phonenumbers.FIXED_LINE:           "fixed_line",
		phonenumbers.MOBILE:               "mobile",
		phonenumbers.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
		phonenumbers.TOLL_FREE:            "toll_free",
		phonenumbers.PREMIUM_RATE:         "premium_rate",
		phonenumbers.SHARED_COST:          "shared_cost",
		phonenumbers.VOIP:                 "voip",
		phonenumbers.PERSONAL_NUMBER:      "personal_number",
		phonenumbers.PAGER:                "pager",
		phonenumbers.UAN:                  "uan",
		phonenumbers.VOICEMAIL:            "voicemail",
		phonenumbers.UNKNOWN:              "unknown",
	}
	for typ := phonenumbers.FIXED_LINE; typ <= phonenumbers.UNKNOWN; typ++ {
		if got := lineTypeOf(typ); got != want[typ] {
			t.Errorf("lineTypeOf(%d) = %q, want %q", typ, got, want[typ])
		}
	}
}

func TestBrazilDDDsMatchMetadata(t *testing.T) {
	// The fast path's table of area codes must be libphonenumber's: a DDD
	// is real exactly when libphonenumber takes both a mobile and a
	// landline under it.
	for ddd := range 100 {
		dd := fmt.Sprintf("%02d", ddd)
		mobile := libType("+55" + dd + "987650001")
		fixed := libType("+55" + dd + "33330001")
		libKnows := mobile == phonenumbers.MOBILE && fixed == phonenumbers.FIXED_LINE
		if brazilDDDs[ddd] != libKnows {
			t.Errorf("DDD %s: table says %v, libphonenumber mobile=%v fixed=%v", dd, brazilDDDs[ddd], mobile, fixed)
		}
		if got := brazilDDD(dd[0], dd[1]); got != brazilDDDs[ddd] {
			t.Errorf("brazilDDD(%q) = %v", dd, got)
		}
	}
	for _, bad := range [][2]byte{{'/', '1'}, {'1', ':'}, {'a', '1'}} {
		if brazilDDD(bad[0], bad[1]) {
			t.Errorf("brazilDDD(%q, %q) = true", bad[0], bad[1])
		}
	}
}

// libType returns libphonenumber's type for e164, or -1 when it is not valid.
func libType(e164 string) phonenumbers.PhoneNumberType {
	n, err := phonenumbers.Parse(e164, "BR")
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return -1
	}
	return phonenumbers.GetNumberType(n)
}

// phoneForm writes a Brazilian number (a DDD and a subscriber number) one way
// people write it; fast says whether the fast path must take it when the DDD
// is real, the subscriber number has 9 digits starting with 9, and the
// default region is Brazil.
type phoneForm struct {
	name  string
	write func(dd, sub string) string
	fast  bool
}

var phoneForms = []phoneForm{
	{"national digits", func(dd, s string) string { return dd + s }, true},
	{"55 digits", func(dd, s string) string { return "55" + dd + s }, true},
	{"E.164", func(dd, s string) string { return "+55" + dd + s }, true},
	{"international", func(dd, s string) string { return "+55 (" + dd + ") " + split(s) }, true},
	{"national", func(dd, s string) string { return "(" + dd + ") " + split(s) }, true},
	{"trunk 0", func(dd, s string) string { return "0" + dd + " " + split(s) }, true},
	{"trunk 0 in parentheses", func(dd, s string) string { return "(0" + dd + ") " + split(s) }, true},
	{"dots", func(dd, s string) string { return dd + "." + strings.ReplaceAll(split(s), "-", ".") }, true},
	{"spaced 9", func(dd, s string) string { return dd + " " + s[:1] + " " + s[1:5] + " " + s[5:] }, true},
	{"padded", func(dd, s string) string { return "  +55 " + dd + " " + s + "  " }, true},
	{"plus in parentheses", func(dd, s string) string { return "(+55) " + dd + " " + s }, false},
	{"dashes", func(dd, s string) string { return "+55-" + dd + "-" + split(s) }, true},
	{"carrier code", func(dd, s string) string { return "0 15 " + dd + " " + split(s) }, false},
	{"55 then trunk 0", func(dd, s string) string { return "55 0" + dd + " " + s }, false},
	{"en dash", func(dd, s string) string { return dd + " " + s[:5] + "–" + s[5:] }, false},
	{"slash", func(dd, s string) string { return dd + "/" + s }, false},
	{"tab", func(dd, s string) string { return dd + "\t" + s }, false},
	{"one digit short", func(dd, s string) string { return dd + s[:len(s)-1] }, false},
	{"one digit long", func(dd, s string) string { return dd + s + "7" }, false},
	{"E.164 one digit short", func(dd, s string) string { return "+55" + dd + s[:len(s)-1] }, false},
	{"E.164 one digit long", func(dd, s string) string { return "+55" + dd + s + "7" }, false},
	{"plus without 55", func(dd, s string) string { return "+" + dd + s }, false},
	{"plus twice", func(dd, s string) string { return "+55+" + dd + s }, false},
}

// split writes a subscriber number as people do: 98765-0001.
func split(s string) string { return s[:len(s)-4] + "-" + s[len(s)-4:] }

func TestFastPathAgreesWithLibphonenumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 55))
	firsts := "9999012345678" // mostly mobiles, and every other first digit
	taken := 0
	for ddd := range 100 {
		dd := fmt.Sprintf("%02d", ddd)
		for i := range len(firsts) {
			// Random middle digits; the last four keep the fictitious
			// 00NN shape of the numbers in this file.
			sub := fmt.Sprintf("%c%04d00%02d", firsts[i], rng.IntN(10000), rng.IntN(100))
			regions := []string{"BR"}
			if i == 0 {
				regions = append(regions, "US", "PT", "ZZ")
			}
			for _, form := range phoneForms {
				raw := form.write(dd, sub)
				for _, region := range regions {
					mustFast := form.fast && region == "BR" && brazilDDDs[ddd] && sub[0] == '9'
					if checkFastPath(t, raw, region, mustFast) {
						taken++
					}
				}
			}
		}
	}
	t.Logf("fast path took %d inputs", taken)
}

// checkFastPath fails t unless the fast path answers as libphonenumber does,
// and takes raw when it must. It reports whether the fast path took raw.
func checkFastPath(t *testing.T, raw, region string, mustFast bool) bool {
	t.Helper()
	fast, ok := fastBrazilMobile(raw, region)
	lib, libErr := normalizeLib(raw, region)
	if ok && (libErr != nil || fast != lib) {
		t.Errorf("%q in %s: fast path says %+v, libphonenumber %+v, %v", raw, region, fast, lib, libErr)
	}
	if mustFast && !ok {
		t.Errorf("%q in %s: fast path did not take it (libphonenumber: %+v, %v)", raw, region, lib, libErr)
	}
	// The public function answers as libphonenumber does, errors included.
	got, err := NormalizePhone(raw, region)
	if got != lib || fmt.Sprint(err) != fmt.Sprint(libErr) {
		t.Errorf("NormalizePhone(%q, %q) = %+v, %v; libphonenumber %+v, %v", raw, region, got, err, lib, libErr)
	}
	return ok
}

func TestNormalizePhoneAllocations(t *testing.T) {
	tests := []struct {
		raw  string
		want float64
	}{
		{"+5511987650001", 0}, // returned as it came
		{"(11) 98765-0001", 1},
		{"5511987650001", 1},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, func() { _, _ = NormalizePhone(tt.raw, "") }); n != tt.want {
			t.Errorf("NormalizePhone(%q) allocates %v times, want %v", tt.raw, n, tt.want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+55 (11) 98765-0001", "5511987650001", "11987650001", "(11) 98765-0001",
		"011 98765-0001", "0 15 11 98765 0001", "(11) 3333-0001", "0800 123 0001",
		"+1 201-555-0123", "+351 912 345 678", "12", "abc", "", "+", "++55 11 98765 0001",
		"１１９８７６５０００１", "(+55) 11 98765-0001", "55 98765 0001",
	} {
		for region := range uint8(len(fuzzRegions)) {
			f.Add(s, region)
		}
	}
	f.Fuzz(func(t *testing.T, raw string, r uint8) {
		region := fuzzRegions[int(r)%len(fuzzRegions)]
		p, err := NormalizePhone(raw, region)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindInvalid || e.Code == "" {
				t.Fatalf("NormalizePhone(%q, %q): error %#v is not an invalid-input *Error with a code", raw, region, err)
			}
			if p != (Phone{}) {
				t.Fatalf("NormalizePhone(%q, %q) = %+v with error %v", raw, region, p, err)
			}
			return
		}
		if !strings.HasPrefix(p.E164, "+") || strings.Trim(p.E164[1:], "0123456789") != "" || len(p.E164) < 3 {
			t.Fatalf("NormalizePhone(%q, %q) = %+v: not E.164", raw, region, p)
		}
		if p.LineType == "" {
			t.Fatalf("NormalizePhone(%q, %q) = %+v: no line type", raw, region, p)
		}
		if cc := p.CountryCode(); cc == 0 || "+"+strconv.Itoa(cc)+p.National() != p.E164 {
			t.Fatalf("%+v splits into %d and %q", p, cc, p.National())
		}
		if p.CountryCode() == 55 && p.LineType != LineMobile {
			t.Fatalf("NormalizePhone(%q, %q) = %+v: a Brazilian number that is not a mobile", raw, region, p)
		}
		again, err := NormalizePhone(p.E164, region)
		if err != nil || again != p {
			t.Fatalf("re-normalising %+v gives %+v, %v", p, again, err)
		}
		if fast, ok := fastBrazilMobile(raw, region); ok {
			if lib, err := normalizeLib(raw, region); err != nil || lib != fast {
				t.Fatalf("%q in %s: fast path %+v, libphonenumber %+v, %v", raw, region, fast, lib, err)
			}
		}
	})
}

var fuzzRegions = []string{"", "BR", "US", "PT", "ZZ", "br"}

func BenchmarkNormalizePhone(b *testing.B) {
	inputs := []struct{ name, raw string }{
		{"fast/e164", "+5511987650001"},
		{"fast/formatted", "+55 (11) 98765-0001"},
		{"fast/national", "(11) 98765-0001"},
		{"fast/digits", "11987650001"},
		{"lib/carrier_code", "0 15 11 98765 0001"},
		{"lib/landline_refused", "(11) 3333-0001"},
		{"lib/foreign", "+351 912 345 678"},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = NormalizePhone(in.raw, "")
			}
		})
	}
}
