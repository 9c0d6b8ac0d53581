package auth

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/recado-sms/recado/internal/sms"
)

// FuzzParseHash: a stored password hash either reads into parameters in
// range, which written back read the same, or is refused as Recado's own
// broken data; it never makes argon2 run with parameters out of range.
func FuzzParseHash(f *testing.F) {
	good, err := HashPassword("a long enough password", nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{good, "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=65536,t=0,p=0$$", "$argon2i$v=19$m=65536,t=1,p=2$x$y", "$bcrypt$", "", "$$$$$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			if sms.KindOf(err) != sms.KindInternal {
				t.Fatalf("parseHash(%q): error of kind %v", s, sms.KindOf(err))
			}
			return
		}
		if err := h.params.validate(); err != nil {
			t.Fatalf("parseHash(%q) accepted parameters out of range: %v", s, err)
		}
		again, err := parseHash(fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.Memory, h.params.Time,
			h.params.Threads, base64.RawStdEncoding.EncodeToString(h.salt), base64.RawStdEncoding.EncodeToString(h.key)))
		if err != nil || again.params != h.params || !bytes.Equal(again.salt, h.salt) || !bytes.Equal(again.key, h.key) {
			t.Fatalf("parseHash(%q) = %+v; written back it reads %+v, %v", s, h, again, err)
		}
	})
}
