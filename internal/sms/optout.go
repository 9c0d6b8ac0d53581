package sms

import (
	"strings"
	"unicode"
)

// DefaultOptOutWords are the replies that opt a contact out: the words
// Brazilian recipients use, and STOP.
var DefaultOptOutWords = []string{"SAIR", "SAI", "PARE", "PARAR", "STOP", "CANCELAR", "DESCADASTRAR", "REMOVER"}

// IsOptOut reports whether a reply asks to receive no more messages: its
// whole text, with case, accents, spaces and punctuation ignored, is one of
// words. A reply that merely contains such a word ("não quero sair do
// plano") is not an opt-out.
func IsOptOut(body string, words []string) bool {
	norm := normalizeWord(body)
	if norm == "" {
		return false
	}
	for _, w := range words {
		if norm == normalizeWord(w) {
			return true
		}
	}
	return false
}

func normalizeWord(s string) string {
	s = strings.ToUpper(FoldGSM(s))
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
}
