package sms

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFoldGSM(t *testing.T) {
	tests := []struct {
		name, in, want string
		gsm            bool // whether the result is GSM-7
	}{
		{"empty", "", "", true},
		{"already GSM", "Pagamento confirmado, até às 18h! {ok} €5", "Pagamento confirmado, até às 18h! {ok} €5", true},
		{"sentence", "Olá, você já pagou a fatura? Ação necessária até amanhã.", "Ola, voce ja pagou a fatura? Acao necessaria até amanha.", true},
		{"lowercase a", "á à â ã", "a à a a", true},
		{"uppercase A", "Á À Â Ã", "A A A A", true},
		{"e", "é ê É Ê È", "é e É E E", true},
		{"i", "í ì Í Ì", "i ì I I", true},
		{"o", "ó ò ô õ Ó Ò Ô Õ", "o ò o o O O O O", true},
		{"u", "ú ù ü Ú Ù Ü", "u ù ü U U Ü", true},
		{"cedilla", "ç Ç AÇÃO ação", "c Ç AÇAO acao", true},
		{"double quotes", "“Promoção” „x‟ «y» 5″", `"Promocao" "x" "y" 5"`, true},
		{"single quotes", "‘a’ d‛x‚ ‹b› 5′ ´`", "'a' d'x' 'b' 5' ''", true},
		{"dashes", "a‐b‑c‒d–e—f―g−h", "a-b-c-d-e-f-g-h", true},
		{"ellipsis", "Aguarde…", "Aguarde...", true},
		{"spaces", "R$\u00a05\u202f0\u2009x\ty\u3000z", "R$ 5 0 x y z", true},
		{"line separators", "a\u2028b\u2029c", "a\nb\nc", true},
		{"invisible", "\ufeffOi\u200b, tu\u00addo\u2060 bem", "Oi, tudo bem", true},
		{"ordinals", "1º lugar, 2ª via, Nº 3", "1o lugar, 2a via, No 3", true},
		{"ligatures and strokes", "Œuvre œ Łódź Đ đ Ð ð", "OEuvre oe Lodz D d D d", true},
		{"other latin accents", "Ćevapi ş ő ž ř ÿ", "Cevapi s o z r y", true},
		{"decomposed GSM accent", "cafe\u0301", "café", true},
		{"decomposed non-GSM accent", "la\u0301 ac\u0327a\u0303o", "la acao", true},
		{"accent on nothing composable", "x\u0301", "x", true},
		{"ohm sign folds to omega", "10\u2126", "10Ω", true},
		{"emoji kept", "Oi 😀 você", "Oi 😀 voce", false},
		{"CJK kept", "谢谢 obrigado", "谢谢 obrigado", false},
		{"cyrillic kept", "Привет", "Привет", false},
		{"accented cyrillic kept", "Йога", "Йога", false},
		{"invalid UTF-8 becomes U+FFFD", "a\xffé", "a\ufffdé", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FoldGSM(tt.in)
			if got != tt.want {
				t.Errorf("FoldGSM(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if IsGSM(got) != tt.gsm {
				t.Errorf("IsGSM(%q) = %v, want %v", got, !tt.gsm, tt.gsm)
			}
		})
	}
}

func TestFoldGSMLatin(t *testing.T) {
	// Every Latin letter of Latin-1 and Latin Extended-A either is GSM, or
	// folds to GSM, or is kept as it was; nothing turns into something
	// else that is still not GSM.
	for r := rune(0xc0); r <= 0x17f; r++ {
		in := string(r)
		got := FoldGSM(in)
		if !IsGSM(got) && got != in {
			t.Errorf("FoldGSM(%q) = %q: neither GSM nor unchanged", in, got)
		}
		if IsGSM(in) && got != in {
			t.Errorf("FoldGSM(%q) = %q: changed a GSM character", in, got)
		}
	}
}

func TestFoldGSMDoesNotAllocateForGSM(t *testing.T) {
	body := strings.Repeat("Pagamento confirmado [ok] até às 18h. ", 5)
	if n := testing.AllocsPerRun(100, func() { FoldGSM(body) }); n != 0 {
		t.Errorf("FoldGSM of a GSM body allocates %v times", n)
	}
}

func FuzzFoldGSM(f *testing.F) {
	for _, s := range []string{"", "Olá", "ação", "“x”…", "a\u0301", "😀", "\xff", "Œ", "\u037e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := FoldGSM(in)
		if IsGSM(in) && got != in {
			t.Fatalf("FoldGSM(%q) = %q: changed a GSM body", in, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("FoldGSM(%q) = %q: invalid UTF-8", in, got)
		}
		if again := FoldGSM(got); again != got {
			t.Fatalf("FoldGSM is not idempotent: %q → %q → %q", in, got, again)
		}
	})
}

func BenchmarkFoldGSM(b *testing.B) {
	bodies := []struct{ name, body string }{
		{"gsm_unchanged", "Sua fatura de R$ 120,00 vence amanha. Pague pelo app ou responda SAIR."},
		{"portuguese", "Olá! Sua fatura de R$ 120,00 vence amanhã. Evite juros: pague já pelo aplicativo ou responda SAIR para não receber."},
		{"decomposed", "Ola\u0301! Voce\u0302 ja\u0301 pagou? Ac\u0327a\u0303o necessa\u0301ria."},
	}
	for _, bb := range bodies {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				FoldGSM(bb.body)
			}
		})
	}
}
