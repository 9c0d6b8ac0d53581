package secrets

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// FuzzParseKey: whatever is written, a key is accepted only when it decodes
// to exactly KeySize bytes.
func FuzzParseKey(f *testing.F) {
	key := make([]byte, KeySize)
	for i := range key {
		key[i] = byte(i * 7)
	}
	for _, s := range []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
		" " + hex.EncodeToString(key) + "\n", strings.Repeat("z", 64), "", "short"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err == nil && len(k) != KeySize {
			t.Fatalf("ParseKey(%q) = %d bytes", s, len(k))
		}
		if err != nil && k != nil {
			t.Fatalf("ParseKey(%q) returned a key with its error", s)
		}
	})
}
