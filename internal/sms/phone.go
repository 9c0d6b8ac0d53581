package sms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// LineType is the kind of line a phone number belongs to, as libphonenumber's
// metadata tells it from the number alone.
type LineType string

// The kinds of line. In some countries (the United States among them) the
// number alone cannot tell a mobile from a fixed line: those numbers are
// LineFixedOrMobile.
const (
	LineMobile        LineType = "mobile"
	LineFixed         LineType = "fixed_line"
	LineFixedOrMobile LineType = "fixed_line_or_mobile"
	LineTollFree      LineType = "toll_free"
	LinePremiumRate   LineType = "premium_rate"
	LineSharedCost    LineType = "shared_cost"
	LineVoIP          LineType = "voip"
	LinePersonal      LineType = "personal_number"
	LinePager         LineType = "pager"
	LineUAN           LineType = "uan"
	LineVoicemail     LineType = "voicemail"
	LineUnknown       LineType = "unknown"
)

// The codes NormalizePhone puts in Error.Code, so that a caller which skips
// contacts (an import, a campaign) can count them by reason.
const (
	CodePhoneEmpty      = "phone_empty"      // nothing but blanks
	CodePhoneCharacters = "phone_characters" // letters or symbols no phone number has
	CodePhoneTooShort   = "phone_too_short"  // too few digits
	CodePhoneTooLong    = "phone_too_long"   // too many digits or characters
	CodePhoneCountry    = "phone_country"    // unknown country code or region
	CodePhoneInvalid    = "phone_invalid"    // digits that form no valid number
	CodePhoneLandline   = "phone_landline"   // a Brazilian fixed line, which SMS cannot reach
	CodePhoneNoSMS      = "phone_no_sms"     // a Brazilian toll-free, premium-rate or shared-cost number
)

const (
	maxPhoneInput      = 64   // bytes; generous for any way of writing a number
	defaultPhoneRegion = "BR" // Recado's home
	brazilMobileNSN    = 11   // DDD (2 digits) + 9 + 8 digits
	brazilE164Len      = len("+55") + brazilMobileNSN
)

// Phone is a normalised phone number: E.164 with its leading '+', and the
// kind of line it belongs to.
type Phone struct {
	E164     string   `json:"e164"`
	LineType LineType `json:"line_type"`
}

// String returns p in E.164.
func (p Phone) String() string { return p.E164 }

// CountryCode returns p's country calling code (55 for Brazil), or 0 if p's
// E.164 is malformed or its code unknown.
func (p Phone) CountryCode() int {
	cc, _ := splitE164(p.E164)
	return cc
}

// National returns p's national significant number, the digits after the
// country code ("11987654321" for +5511987654321), or "" if p's E.164 is
// malformed or its code unknown.
func (p Phone) National() string {
	_, nsn := splitE164(p.E164)
	return nsn
}

// splitE164 splits e into country code and national significant number.
// Country calling codes are prefix-free (no code is the start of another),
// so the first of the one-, two- and three-digit prefixes that is a known
// code is the code.
func splitE164(e string) (int, string) {
	if len(e) < 3 || e[0] != '+' || strings.Trim(e[1:], "0123456789") != "" {
		return 0, ""
	}
	if len(e) > 3 && strings.HasPrefix(e, "+55") {
		return 55, e[3:] // Brazil, the usual case, without a map lookup
	}
	for n := 1; n <= 3 && n < len(e)-1; n++ {
		cc, _ := strconv.Atoi(e[1 : 1+n])
		if phonenumbers.GetRegionCodeForCountryCode(cc) != phonenumbers.UNKNOWN_REGION {
			return cc, e[1+n:]
		}
	}
	return 0, ""
}

// NormalizePhone reads a phone number written any of the ways people write
// them and returns it in E.164 with its line type. A number without a country
// code is read as a number of region (an ISO 3166 code such as "BR" or "PT";
// "BR" when empty; "ZZ" to accept only numbers that start with +). Brazilian numbers are accepted with or without +55, with
// or without the trunk prefix 0 and a carrier code ("0 15 11 98765-4321"),
// with spaces, dots, dashes and parentheses anywhere.
//
// Numbers that cannot receive SMS are refused: a Brazilian number must be a
// mobile, so Brazilian landlines and toll-free, premium-rate and shared-cost
// numbers are errors. Foreign numbers of every valid kind are accepted; their
// LineType tells the caller what they are.
//
// Every error is an *Error of kind KindInvalid with a message fit to show the
// user and one of the CodePhone codes. The common Brazilian mobile forms are
// read without libphonenumber, which costs some 13 µs a number: tests hold
// the two ways to the same answers.
func NormalizePhone(raw, region string) (Phone, error) {
	switch {
	case region == "":
		region = defaultPhoneRegion
	case region != defaultPhoneRegion:
		region = strings.ToUpper(region)
		if region != phonenumbers.UNKNOWN_REGION && phonenumbers.GetCountryCodeForRegion(region) == 0 {
			return Phone{}, phoneError(CodePhoneCountry, "unknown region %q for phone numbers: want an ISO 3166 code such as BR", region)
		}
	}
	if len(raw) > maxPhoneInput {
		return Phone{}, phoneError(CodePhoneTooLong, "phone number is too long (more than %d characters)", maxPhoneInput)
	}
	if p, ok := fastBrazilMobile(raw, region); ok {
		return p, nil
	}
	if strings.TrimSpace(raw) == "" {
		return Phone{}, phoneError(CodePhoneEmpty, "phone number is empty")
	}
	for _, r := range raw {
		if !phoneRune(r) {
			return Phone{}, phoneError(CodePhoneCharacters, "phone number %q contains %q, which has no place in a phone number", raw, r)
		}
	}
	return normalizeLib(raw, region)
}

// phoneRune reports whether r may appear in a written phone number: digits of
// any script (libphonenumber reads them), spaces, dashes, and the + . / ( )
// people write. Letters are refused although libphonenumber would read them
// as a keypad's (1-800-FLOWERS): in an SMS contact list they are mistakes.
func phoneRune(r rune) bool {
	switch r {
	case '+', '.', '/', '(', ')', '-':
		return true
	}
	return unicode.IsDigit(r) || unicode.IsSpace(r) || unicode.Is(unicode.Pd, r)
}

// normalizeLib is NormalizePhone's way through libphonenumber, for every
// form the fast path does not know.
func normalizeLib(raw, region string) (Phone, error) {
	// libphonenumber takes spaces and no-break spaces for separators but
	// not tabs or line breaks, which pasted and imported numbers carry.
	num, err := phonenumbers.Parse(strings.Map(plainSpace, raw), region)
	switch {
	case err == nil:
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return Phone{}, phoneError(CodePhoneCountry, "phone number %q has an unknown country code", raw)
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return Phone{}, phoneError(CodePhoneTooShort, "phone number %q is too short", raw)
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return Phone{}, phoneError(CodePhoneTooLong, "phone number %q is too long", raw)
	default: // ErrNotANumber, or whatever a newer libphonenumber adds
		return Phone{}, phoneError(CodePhoneInvalid, "%q is not a phone number", raw)
	}

	switch phonenumbers.IsPossibleNumberWithReason(num) {
	case phonenumbers.TOO_SHORT:
		return Phone{}, phoneError(CodePhoneTooShort, "phone number %q is too short", raw)
	case phonenumbers.TOO_LONG:
		return Phone{}, phoneError(CodePhoneTooLong, "phone number %q is too long", raw)
	case phonenumbers.INVALID_COUNTRY_CODE:
		return Phone{}, phoneError(CodePhoneCountry, "phone number %q has an unknown country code", raw)
	case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return Phone{}, phoneError(CodePhoneTooShort, "phone number %q lacks its area code", raw)
	case phonenumbers.INVALID_LENGTH:
		return Phone{}, phoneError(CodePhoneInvalid, "phone number %q has the wrong number of digits", raw)
	}

	nsn := phonenumbers.GetNationalSignificantNumber(num)
	brazil := num.GetCountryCode() == 55
	if !phonenumbers.IsValidNumber(num) {
		if brazil && looksLikeOldBrazilMobile(nsn) {
			return Phone{}, phoneError(CodePhoneInvalid, "phone number %q is not valid: Brazilian mobile numbers have 9 digits after the area code, starting with 9", raw)
		}
		return Phone{}, phoneError(CodePhoneInvalid, "phone number %q is not a valid number", raw)
	}

	lt := lineTypeOf(phonenumbers.GetNumberType(num))
	if brazil && lt != LineMobile {
		if lt == LineFixed {
			return Phone{}, phoneError(CodePhoneLandline, "phone number %q is a Brazilian landline, which cannot receive SMS", raw)
		}
		return Phone{}, phoneError(CodePhoneNoSMS, "phone number %q is a Brazilian %s number, which cannot receive SMS", raw, strings.ReplaceAll(string(lt), "_", "-"))
	}
	return Phone{E164: phonenumbers.Format(num, phonenumbers.E164), LineType: lt}, nil
}

// plainSpace maps every kind of white space to a plain space.
func plainSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return ' '
	}
	return r
}

// looksLikeOldBrazilMobile reports whether nsn is an area code and eight
// digits starting as mobiles did before the ninth digit was added, so that
// the error can say what is missing.
func looksLikeOldBrazilMobile(nsn string) bool {
	return len(nsn) == 10 && brazilDDD(nsn[0], nsn[1]) && nsn[2] >= '6' && nsn[2] <= '9'
}

// fastBrazilMobile reads the common ways a Brazilian mobile is written —
// "+55 (11) 98765-4321", "5511987654321", "(11) 98765-4321", "011 98765-4321"
// — without libphonenumber. It answers ok only when libphonenumber would give
// the same Phone; anything else (a carrier code, a foreign number, a
// landline, a stray character) is left to libphonenumber.
func fastBrazilMobile(raw, region string) (Phone, bool) {
	var d [13]byte
	n, plus := 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			if n == len(d) {
				return Phone{}, false
			}
			d[n] = c
			n++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+' && n == 0 && !plus:
			plus = true
		default:
			return Phone{}, false
		}
	}
	// Without a '+', only a Brazilian default region makes the digits
	// Brazilian; with one, "55" must follow.
	var nsn []byte
	switch {
	case n == 13 && d[0] == '5' && d[1] == '5' && (plus || region == defaultPhoneRegion):
		nsn = d[2:13]
	case plus || region != defaultPhoneRegion:
		return Phone{}, false
	case n == 11:
		nsn = d[:11]
	case n == 12 && d[0] == '0': // the trunk prefix
		nsn = d[1:12]
	default:
		return Phone{}, false
	}
	if !brazilDDD(nsn[0], nsn[1]) || nsn[2] != '9' {
		return Phone{}, false
	}
	if plus && len(raw) == brazilE164Len {
		return Phone{E164: raw, LineType: LineMobile}, true // already E.164: no copy
	}
	var e [brazilE164Len]byte
	e[0], e[1], e[2] = '+', '5', '5'
	copy(e[3:], nsn)
	return Phone{E164: string(e[:]), LineType: LineMobile}, true
}

// brazilDDDs holds Brazil's area codes (DDD), indexed by their two digits.
// Tests check it against libphonenumber's metadata.
var brazilDDDs = func() (t [100]bool) {
	for _, ddd := range []int{
		11, 12, 13, 14, 15, 16, 17, 18, 19,
		21, 22, 24, 27, 28,
		31, 32, 33, 34, 35, 37, 38,
		41, 42, 43, 44, 45, 46, 47, 48, 49,
		51, 53, 54, 55,
		61, 62, 63, 64, 65, 66, 67, 68, 69,
		71, 73, 74, 75, 77, 79,
		81, 82, 83, 84, 85, 86, 87, 88, 89,
		91, 92, 93, 94, 95, 96, 97, 98, 99,
	} {
		t[ddd] = true
	}
	return t
}()

// brazilDDD reports whether the digits a and b form a Brazilian area code.
func brazilDDD(a, b byte) bool {
	if a < '0' || a > '9' || b < '0' || b > '9' {
		return false
	}
	return brazilDDDs[int(a-'0')*10+int(b-'0')]
}

// lineTypeOf translates libphonenumber's number type.
func lineTypeOf(t phonenumbers.PhoneNumberType) LineType {
	switch t {
	case phonenumbers.MOBILE:
		return LineMobile
	case phonenumbers.FIXED_LINE:
		return LineFixed
	case phonenumbers.FIXED_LINE_OR_MOBILE:
		return LineFixedOrMobile
	case phonenumbers.TOLL_FREE:
		return LineTollFree
	case phonenumbers.PREMIUM_RATE:
		return LinePremiumRate
	case phonenumbers.SHARED_COST:
		return LineSharedCost
	case phonenumbers.VOIP:
		return LineVoIP
	case phonenumbers.PERSONAL_NUMBER:
		return LinePersonal
	case phonenumbers.PAGER:
		return LinePager
	case phonenumbers.UAN:
		return LineUAN
	case phonenumbers.VOICEMAIL:
		return LineVoicemail
	}
	return LineUnknown
}

// phoneError returns an invalid-input error with a phone code.
func phoneError(code, format string, args ...any) error {
	return &Error{Kind: KindInvalid, Code: code, Message: fmt.Sprintf(format, args...)}
}
