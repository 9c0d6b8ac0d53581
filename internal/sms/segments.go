package sms

import "unicode/utf8"

// Encoding is how a message body is coded on the air: GSM 03.38's 7-bit
// alphabet or UCS-2.
type Encoding string

// The encodings of a message body.
const (
	GSM7 Encoding = "gsm7"
	UCS2 Encoding = "ucs2"
)

// SegmentInfo describes how a body travels: its encoding, how many parts it
// takes, how many units (septets for GSM-7, UTF-16 code units for UCS-2) it
// uses, and how many more units fit in its last part.
//
// Units counts the body itself. In a multipart message a part may end a unit
// short of full, because an extension character's escape pair or a surrogate
// pair is never split; those wasted units are in neither Units nor Remaining.
// An empty body has no parts and a whole single part (160 septets) free.
type SegmentInfo struct {
	Encoding  Encoding `json:"encoding"`
	Segments  int      `json:"segments"`
	Units     int      `json:"units"`
	Remaining int      `json:"remaining"`
}

// The sizes of a part. A multipart message gives 7 septets (GSM-7) or 3 code
// units (UCS-2) of every part to the user data header that says how to
// reassemble it, hence 153 and 67 rather than 160 and 70.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmCost says how many septets a rune below 256 takes in GSM-7: 1 for the
// basic set, 2 for the extension table (escape + code), 0 when GSM-7 cannot
// carry it. Runes from 256 up are few enough in GSM-7 (ten Greek capitals and
// the euro sign) to be answered by gsmCostRune's switch.
var gsmCost = [256]uint8{
	// The basic set in 0x00–0x7F, where it differs from ASCII only in what
	// it leaves out: the backtick, the control characters but LF and CR, and
	// the characters GSM moved to its extension table.
	'\n': 1, '\r': 1,
	' ': 1, '!': 1, '"': 1, '#': 1, '$': 1, '%': 1, '&': 1, '\'': 1,
	'(': 1, ')': 1, '*': 1, '+': 1, ',': 1, '-': 1, '.': 1, '/': 1,
	'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1, '7': 1, '8': 1, '9': 1,
	':': 1, ';': 1, '<': 1, '=': 1, '>': 1, '?': 1, '@': 1,
	'A': 1, 'B': 1, 'C': 1, 'D': 1, 'E': 1, 'F': 1, 'G': 1, 'H': 1, 'I': 1,
	'J': 1, 'K': 1, 'L': 1, 'M': 1, 'N': 1, 'O': 1, 'P': 1, 'Q': 1, 'R': 1,
	'S': 1, 'T': 1, 'U': 1, 'V': 1, 'W': 1, 'X': 1, 'Y': 1, 'Z': 1, '_': 1,
	'a': 1, 'b': 1, 'c': 1, 'd': 1, 'e': 1, 'f': 1, 'g': 1, 'h': 1, 'i': 1,
	'j': 1, 'k': 1, 'l': 1, 'm': 1, 'n': 1, 'o': 1, 'p': 1, 'q': 1, 'r': 1,
	's': 1, 't': 1, 'u': 1, 'v': 1, 'w': 1, 'x': 1, 'y': 1, 'z': 1,

	// The extension table: form feed ^ { } \ [ ~ ] | (and € below).
	'\f': 2, '^': 2, '{': 2, '}': 2, '\\': 2, '[': 2, '~': 2, ']': 2, '|': 2,

	// The basic set's Latin-1 letters and signs. Only these accented letters
	// exist: é and É but not ê, à but not á or À, Ç but not ç.
	'¡': 1, '£': 1, '¤': 1, '¥': 1, '§': 1, '¿': 1,
	'Ä': 1, 'Å': 1, 'Æ': 1, 'Ç': 1, 'É': 1, 'Ñ': 1, 'Ö': 1, 'Ø': 1, 'Ü': 1, 'ß': 1,
	'à': 1, 'ä': 1, 'å': 1, 'æ': 1, 'è': 1, 'é': 1, 'ì': 1, 'ñ': 1, 'ò': 1,
	'ö': 1, 'ø': 1, 'ù': 1, 'ü': 1,
}

// gsmCostRune returns how many septets r takes in GSM-7, or 0 if GSM-7
// cannot carry it.
func gsmCostRune(r rune) int {
	if r < 256 {
		return int(gsmCost[r])
	}
	switch r {
	case 'Δ', 'Φ', 'Γ', 'Λ', 'Ω', 'Π', 'Ψ', 'Σ', 'Θ', 'Ξ':
		return 1
	case '€':
		return 2
	}
	return 0
}

// IsGSM reports whether every character of body is in the GSM 03.38 default
// alphabet or its extension table, so that body can travel as GSM-7.
// Invalid UTF-8 is not GSM: it would travel as U+FFFD in UCS-2.
func IsGSM(body string) bool {
	for i := 0; i < len(body); i++ {
		// Most bodies are ASCII: look bytes up without decoding runes.
		if c := body[i]; c < 0x80 {
			if gsmCost[c] == 0 {
				return false
			}
			continue
		}
		for _, r := range body[i:] {
			if gsmCostRune(r) == 0 {
				return false
			}
		}
		return true
	}
	return true
}

// Segments says how body travels: GSM-7 when every character is in the GSM
// 03.38 alphabet, UCS-2 otherwise, and in how many parts.
//
// GSM-7 carries 160 septets in a single part and 153 in each part of a
// multipart message; an extension character takes two septets (escape and
// code) that are never split across parts. UCS-2 carries 70 UTF-16 code
// units in a single part and 67 in each part of a multipart message; a
// character outside the Basic Multilingual Plane (most emoji) takes two
// units, a surrogate pair that is never split either. Segments does not
// allocate.
func Segments(body string) SegmentInfo {
	if body == "" {
		return SegmentInfo{Encoding: GSM7, Remaining: gsmSingle}
	}
	// The first pass counts septets and extension characters, and stops at
	// the first character that is not GSM. Only a multipart body with an
	// extension character needs the second, part by part.
	units, ext := 0, 0
	for i := 0; i < len(body); {
		var c int
		if b := body[i]; b < utf8.RuneSelf {
			c = int(gsmCost[b]) // ASCII, most bodies: no decoding
			i++
		} else {
			r, size := utf8.DecodeRuneInString(body[i:])
			c = gsmCostRune(r)
			i += size
		}
		switch c {
		case 0:
			return segmentsUCS2(body)
		case 2:
			ext++
		}
		units += c
	}
	switch {
	case units <= gsmSingle:
		return SegmentInfo{Encoding: GSM7, Segments: 1, Units: units, Remaining: gsmSingle - units}
	case ext == 0:
		parts := (units + gsmPart - 1) / gsmPart
		return SegmentInfo{Encoding: GSM7, Segments: parts, Units: units, Remaining: parts*gsmPart - units}
	}
	parts, fill := 1, 0
	for _, r := range body {
		c := gsmCostRune(r)
		if fill+c > gsmPart {
			parts, fill = parts+1, 0 // the escape pair moves whole to the next part
		}
		fill += c
	}
	return SegmentInfo{Encoding: GSM7, Segments: parts, Units: units, Remaining: gsmPart - fill}
}

// segmentsUCS2 counts body's parts in UCS-2, the way Segments counts them in
// GSM-7: only a multipart body with a surrogate pair is cut part by part.
func segmentsUCS2(body string) SegmentInfo {
	units, astral := 0, 0
	for _, r := range body {
		units++
		if r >= 0x10000 {
			units++ // a surrogate pair
			astral++
		}
	}
	switch {
	case units <= ucs2Single:
		return SegmentInfo{Encoding: UCS2, Segments: 1, Units: units, Remaining: ucs2Single - units}
	case astral == 0:
		parts := (units + ucs2Part - 1) / ucs2Part
		return SegmentInfo{Encoding: UCS2, Segments: parts, Units: units, Remaining: parts*ucs2Part - units}
	}
	parts, fill := 1, 0
	for _, r := range body {
		c := 1
		if r >= 0x10000 {
			c = 2
		}
		if fill+c > ucs2Part {
			parts, fill = parts+1, 0 // the surrogate pair moves whole to the next part
		}
		fill += c
	}
	return SegmentInfo{Encoding: UCS2, Segments: parts, Units: units, Remaining: ucs2Part - fill}
}
