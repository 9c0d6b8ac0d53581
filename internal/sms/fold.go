package sms

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// FoldGSM returns body with every character that GSM-7 cannot carry replaced
// by its closest GSM-7 equivalent, so that a message which differs from GSM-7
// only by its accents and typography travels in GSM-7: 160 characters a part
// instead of 70, often a third of the price.
//
// It is tuned for Portuguese. Characters GSM-7 has are never touched (é, à,
// Ç, ü stay); letters it lacks lose their accent (á â ã → a, ç → c, ê → e,
// í → i, ó ô õ → o, ú → u, and their capitals likewise); typographic quotes
// become " and ', dashes -, the ellipsis ..., unusual spaces a plain space,
// º and ª o and a; invisible characters (zero-width space, soft hyphen, byte
// order mark) are dropped. Accents written as combining marks are composed
// first, then folded like any other.
//
// Characters with no sensible equivalent (emoji, CJK, most non-Latin scripts)
// are kept. The result is then still UCS-2 and folding saved nothing: callers
// should check IsGSM on the result and may prefer to send the original body.
// A body that is already GSM-7 is returned as is, without allocating.
func FoldGSM(body string) string {
	if IsGSM(body) {
		return body
	}
	if hasCombiningMark(body) {
		// "e" + U+0301 is é, which GSM-7 has; composing first keeps it.
		body = norm.NFC.String(body)
	}
	var b strings.Builder
	b.Grow(len(body))
	for i, r := range body {
		if gsmCostRune(r) != 0 {
			b.WriteRune(r)
			continue
		}
		if s, ok := foldRune(r); ok {
			b.WriteString(s)
			continue
		}
		if base, ok := baseLetter(body[i:]); ok {
			b.WriteRune(base)
			continue
		}
		if isCombiningMark(r) {
			continue // an accent NFC could not compose: dropping it is the fold
		}
		b.WriteRune(r)
	}
	return b.String()
}

// foldRune returns the GSM-7 replacement for the characters that are not
// letters with accents, whose fold a table must give.
func foldRune(r rune) (string, bool) {
	switch r {
	case '“', '”', '„', '‟', '«', '»', '″':
		return `"`, true
	case '‘', '’', '‚', '‛', '‹', '›', '′', '´', '`':
		return "'", true
	case '‐', '‑', '‒', '–', '—', '―', '−':
		return "-", true
	case '…':
		return "...", true
	case '\t', '\u00a0', '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005',
		'\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u202f', '\u205f', '\u3000':
		return " ", true
	case '\u2028', '\u2029': // line and paragraph separators
		return "\n", true
	case '\u00ad', '\u200b', '\u2060', '\ufeff': // soft hyphen, zero-width space, word joiner, BOM
		return "", true
	case 'º':
		return "o", true
	case 'ª':
		return "a", true
	case 'Œ':
		return "OE", true
	case 'œ':
		return "oe", true
	case 'Ł':
		return "L", true
	case 'ł':
		return "l", true
	case 'Đ', 'Ð':
		return "D", true
	case 'đ', 'ð':
		return "d", true
	}
	return "", false
}

// baseLetter returns the letter the first character of s is built on when
// that character is a letter with diacritics whose base letter GSM-7 has:
// 'a' for á, 'C' for Ć, 'c' for ç.
func baseLetter(s string) (rune, bool) {
	d := norm.NFD.PropertiesString(s).Decomposition()
	if len(d) == 0 {
		return 0, false
	}
	base, _ := utf8.DecodeRune(d)
	if gsmCostRune(base) != 1 || !unicode.IsLetter(base) {
		return 0, false
	}
	return base, true
}

// isCombiningMark reports whether r is in the Combining Diacritical Marks
// block, the accents that decomposed text carries separately.
func isCombiningMark(r rune) bool { return r >= 0x300 && r <= 0x36f }

// hasCombiningMark reports whether s may hold a combining diacritical mark:
// U+0300–U+036F are the only runes whose UTF-8 lead byte is 0xCC or 0xCD
// besides a few Greek ones, for which the check is merely cautious.
func hasCombiningMark(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0xcc || s[i] == 0xcd {
			return true
		}
	}
	return false
}
