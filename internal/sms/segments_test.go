package sms

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// gsmBasicRef is the GSM 03.38 default alphabet in code order, 0x00 to 0x7F,
// copied from the standard's table independently of segments.go's lookup
// table. 0x1B is the escape to the extension table, not a character.
const gsmBasicRef = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ" +
	" !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§" +
	"¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtensionRef is the extension table: form feed ^ { } \ [ ~ ] | €.
const gsmExtensionRef = "\f^{}\\[~]|€"

// refCost returns the septets r takes according to the reference tables.
func refCost(r rune) int {
	if r == 0x1b {
		return 0
	}
	if strings.ContainsRune(gsmExtensionRef, r) {
		return 2
	}
	if strings.ContainsRune(gsmBasicRef, r) {
		return 1
	}
	return 0
}

// refSegments counts parts the way an encoder would cut them: it encodes the
// body to septets (or UTF-16 units), cuts every part at the part size, and
// moves an escape septet (or a high surrogate) that ends a part to the next.
func refSegments(body string) SegmentInfo {
	if body == "" {
		return SegmentInfo{Encoding: GSM7, Remaining: 160}
	}
	gsm := true
	var septets []bool // true marks an escape septet
	for _, r := range body {
		switch refCost(r) {
		case 0:
			gsm = false
		case 1:
			septets = append(septets, false)
		case 2:
			septets = append(septets, true, false)
		}
	}
	if gsm {
		return refCut(GSM7, septets, 160, 153)
	}
	u := utf16.Encode([]rune(body))
	highs := make([]bool, len(u))
	for i, c := range u {
		highs[i] = utf16.IsSurrogate(rune(c)) && c < 0xdc00
	}
	return refCut(UCS2, highs, 70, 67)
}

// refCut cuts units into parts; unsplittable[i] says unit i must stay with
// unit i+1.
func refCut(enc Encoding, unsplittable []bool, single, part int) SegmentInfo {
	n := len(unsplittable)
	if n <= single {
		return SegmentInfo{Encoding: enc, Segments: 1, Units: n, Remaining: single - n}
	}
	parts, last := 0, 0
	for start := 0; start < n; {
		end := min(start+part, n)
		if end < n && unsplittable[end-1] {
			end--
		}
		parts, last = parts+1, end-start
		start = end
	}
	return SegmentInfo{Encoding: enc, Segments: parts, Units: n, Remaining: part - last}
}

func TestGSMReferenceTables(t *testing.T) {
	// Spot checks of the reference against the standard's code points, so
	// that a typo in the literal cannot pass unnoticed.
	basic := []rune(gsmBasicRef)
	if len(basic) != 128 {
		t.Fatalf("reference basic set has %d characters, want 128", len(basic))
	}
	for code, want := range map[int]rune{
		0x00: '@', 0x01: '£', 0x02: '$', 0x03: '¥', 0x09: 'Ç', 0x0a: '\n', 0x0d: '\r',
		0x10: 'Δ', 0x11: '_', 0x1b: 0x1b, 0x1f: 'É', 0x20: ' ', 0x24: '¤', 0x30: '0',
		0x40: '¡', 0x41: 'A', 0x5b: 'Ä', 0x5f: '§', 0x60: '¿', 0x61: 'a', 0x7b: 'ä', 0x7f: 'à',
	} {
		if basic[code] != want {
			t.Errorf("reference basic[0x%02x] = %q, want %q", code, basic[code], want)
		}
	}
	if n := utf8.RuneCountInString(gsmExtensionRef); n != 10 {
		t.Errorf("reference extension table has %d characters, want 10", n)
	}
}

func TestGSMAlphabetEveryRune(t *testing.T) {
	// Every code point, against the reference: the lookup table must hold
	// exactly the standard's characters with exactly their cost.
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if got, want := gsmCostRune(r), refCost(r); got != want {
			t.Errorf("gsmCostRune(%U %q) = %d, want %d", r, r, got, want)
		}
	}
	for _, r := range gsmBasicRef + gsmExtensionRef + "`\táâãçêíóôõúÁÂÃÊÍÓÔÕÚÀ€😀" {
		s := string(r)
		if got, want := IsGSM(s), refCost(r) > 0; got != want {
			t.Errorf("IsGSM(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestGSMPortugueseLetters(t *testing.T) {
	// The brief's explicit list, as a reader checks it.
	in := "éÉñÑüÜöÖäÄàèùìòåÅæÆøØß¿¡§£¥Ç"
	out := "çáãâêíóõôúÁÃÂÊÍÓÕÔÚÀÈÌÒÙ"
	for _, r := range in {
		if !IsGSM(string(r)) {
			t.Errorf("%q should be in GSM-7", r)
		}
	}
	for _, r := range out {
		if IsGSM(string(r)) {
			t.Errorf("%q should not be in GSM-7", r)
		}
	}
}

func TestSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		body string
		want SegmentInfo
	}{
		{"empty", "", SegmentInfo{GSM7, 0, 0, 160}},
		{"one char", "a", SegmentInfo{GSM7, 1, 1, 159}},
		{"portuguese without accents", "Seu pagamento foi confirmado. Obrigado!", SegmentInfo{GSM7, 1, 39, 121}},
		{"portuguese with GSM accents", "É hoje: à vista, até às 18h.", SegmentInfo{GSM7, 1, 28, 132}},
		{"portuguese with accents GSM lacks", "Olá, sua fatura vence amanhã.", SegmentInfo{UCS2, 1, 29, 41}},
		{"cedilla lowercase", "Atenção", SegmentInfo{UCS2, 1, 7, 63}},
		{"cedilla uppercase is GSM", "AÇOES", SegmentInfo{GSM7, 1, 5, 155}},
		{"uppercase A tilde is not", "AÇÃO", SegmentInfo{UCS2, 1, 4, 66}},
		{"greek capitals", "ΔΦΓΛΩΠΨΣΘΞ", SegmentInfo{GSM7, 1, 10, 150}},
		{"greek small", "α", SegmentInfo{UCS2, 1, 1, 69}},
		{"ohm sign is not omega", "\u2126", SegmentInfo{UCS2, 1, 1, 69}},
		{"crlf", "a\r\nb", SegmentInfo{GSM7, 1, 4, 156}},
		{"tab is not GSM", "a\tb", SegmentInfo{UCS2, 1, 3, 67}},
		{"backtick is not GSM", "`", SegmentInfo{UCS2, 1, 1, 69}},
		{"escape char itself is not GSM", "\x1b", SegmentInfo{UCS2, 1, 1, 69}},
		{"invalid UTF-8", "a\xffb", SegmentInfo{UCS2, 1, 3, 67}},
		{"extension chars cost 2", "^{}\\[~]|€\f", SegmentInfo{GSM7, 1, 20, 140}},
		{"dollar and at are basic", "$@", SegmentInfo{GSM7, 1, 2, 158}},

		// GSM-7 boundaries.
		{"gsm 160", a(160), SegmentInfo{GSM7, 1, 160, 0}},
		{"gsm 161", a(161), SegmentInfo{GSM7, 2, 161, 145}},
		{"gsm 306", a(306), SegmentInfo{GSM7, 2, 306, 0}},
		{"gsm 307", a(307), SegmentInfo{GSM7, 3, 307, 152}},
		{"gsm 1530", a(1530), SegmentInfo{GSM7, 10, 1530, 0}},
		{"euro 80 fits one part", strings.Repeat("€", 80), SegmentInfo{GSM7, 1, 160, 0}},
		{"159 plus extension", a(159) + "€", SegmentInfo{GSM7, 2, 161, 145}},
		{"euro 80 plus one", strings.Repeat("€", 80) + "a", SegmentInfo{GSM7, 2, 161, 144}},
		// The escape pair of an extension character at septets 153-154 may
		// not straddle the parts: the part ends at 152.
		{"extension straddles 153", a(152) + "€" + a(10), SegmentInfo{GSM7, 2, 164, 141}},
		{"extension just fits 153", a(151) + "€" + a(11), SegmentInfo{GSM7, 2, 164, 142}},
		{"extension right after 153", a(153) + "€" + a(9), SegmentInfo{GSM7, 2, 164, 142}},
		{"extension straddles 306", a(305) + "[" + a(2), SegmentInfo{GSM7, 3, 309, 149}},

		// UCS-2 boundaries.
		{"ucs2 70", strings.Repeat("ã", 70), SegmentInfo{UCS2, 1, 70, 0}},
		{"ucs2 71", strings.Repeat("ã", 71), SegmentInfo{UCS2, 2, 71, 63}},
		{"ucs2 134", strings.Repeat("ã", 134), SegmentInfo{UCS2, 2, 134, 0}},
		{"ucs2 135", strings.Repeat("ã", 135), SegmentInfo{UCS2, 3, 135, 66}},
		{"non-GSM char at the end", a(200) + "ç", SegmentInfo{UCS2, 3, 201, 0}},
		{"emoji is two units", "😀", SegmentInfo{UCS2, 1, 2, 68}},
		{"emoji 35 fill one part", strings.Repeat("😀", 35), SegmentInfo{UCS2, 1, 70, 0}},
		{"emoji 35 plus one", strings.Repeat("😀", 35) + "a", SegmentInfo{UCS2, 2, 71, 62}},
		// A surrogate pair at units 67-68 may not straddle the parts.
		{"emoji straddles 67", "ç" + a(65) + "😀" + a(3), SegmentInfo{UCS2, 2, 71, 62}},
		{"emoji just fits 67", "ç" + a(64) + "😀" + a(4), SegmentInfo{UCS2, 2, 71, 63}},
		{"BMP symbol is one unit", strings.Repeat("★", 71), SegmentInfo{UCS2, 2, 71, 63}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Segments(tt.body)
			if got != tt.want {
				t.Errorf("Segments(%.40q…) = %+v, want %+v", tt.body, got, tt.want)
			}
			if ref := refSegments(tt.body); ref != tt.want {
				t.Errorf("reference disagrees with the table: %+v", ref)
			}
			if gsm := IsGSM(tt.body); gsm != (got.Encoding == GSM7) {
				t.Errorf("IsGSM = %v but encoding %s", gsm, got.Encoding)
			}
		})
	}
}

func TestSegmentsAgainstReference(t *testing.T) {
	// Random bodies around the part boundaries, mixing plain, extension,
	// accented and astral characters, with a fixed seed.
	alphabets := []string{
		"abc ",
		"ab€[",
		"ab^|çã",
		"a😀b",
		"ab😀€",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		alpha := []rune(alphabets[i%len(alphabets)])
		var b strings.Builder
		for range rng.IntN(330) {
			b.WriteRune(alpha[rng.IntN(len(alpha))])
		}
		body := b.String()
		if got, want := Segments(body), refSegments(body); got != want {
			t.Fatalf("Segments(%q) = %+v, reference says %+v", body, got, want)
		}
	}
}

func TestSegmentsDoesNotAllocate(t *testing.T) {
	bodies := []string{"", "Olá, tudo bem? 😀", strings.Repeat("Pagamento [ok] ", 40)}
	for _, body := range bodies {
		if n := testing.AllocsPerRun(100, func() { Segments(body); IsGSM(body) }); n != 0 {
			t.Errorf("Segments(%.20q…) allocates %v times", body, n)
		}
	}
}

func FuzzSegments(f *testing.F) {
	for _, s := range []string{
		"", "a", "Olá", "Atenção", "€", "^{}", "😀", "\x1b", "\xff", "a\u0301",
		strings.Repeat("a", 160), strings.Repeat("a", 152) + "€",
		strings.Repeat("ç", 66) + "😀",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := Segments(body)
		if got.Segments < 0 || got.Units < 0 || got.Remaining < 0 {
			t.Fatalf("negative count: %+v", got)
		}
		if (got.Encoding == GSM7) != IsGSM(body) {
			t.Fatalf("encoding %s but IsGSM = %v", got.Encoding, IsGSM(body))
		}
		if (got.Segments == 0) != (body == "") {
			t.Fatalf("%d segments for a body of %d bytes", got.Segments, len(body))
		}
		single, part := 160, 153
		if got.Encoding == UCS2 {
			single, part = 70, 67
			if want := len(utf16.Encode([]rune(body))); got.Units != want {
				t.Fatalf("units %d, want %d UTF-16 units", got.Units, want)
			}
		}
		switch {
		case got.Segments == 1 && got.Units+got.Remaining != single:
			t.Fatalf("single part: units %d + remaining %d != %d", got.Units, got.Remaining, single)
		case got.Segments > 1 && (got.Units+got.Remaining > got.Segments*part || got.Units+got.Remaining < got.Segments*(part-1)):
			// Each part wastes at most one unit to an unsplit pair.
			t.Fatalf("multipart: %+v does not fit %d-unit parts", got, part)
		}
		if ref := refSegments(body); got != ref {
			t.Fatalf("Segments = %+v, reference %+v", got, ref)
		}
	})
}

func BenchmarkSegments(b *testing.B) {
	bodies := []struct{ name, body string }{
		{"short_gsm", "Seu codigo e 123456. Nao compartilhe."},
		{"long_gsm", strings.Repeat("Sua fatura de R$ 120,00 vence amanha. Pague pelo app. ", 8)},
		{"accented_ucs2", "Olá! Sua fatura de R$ 120,00 vence amanhã. Evite juros: pague já pelo aplicativo ou responda SAIR para não receber."},
		{"emoji_ucs2", "Parabéns 🎉🎉 você ganhou um cupom! 😀"},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				Segments(bb.body)
			}
		})
	}
}

func BenchmarkIsGSM(b *testing.B) {
	body := strings.Repeat("Sua fatura de R$ 120,00 vence amanha. ", 4)
	b.ReportAllocs()
	for b.Loop() {
		IsGSM(body)
	}
}
