package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/recado-sms/recado/internal/auth"
)

func TestNewToken(t *testing.T) {
	format := regexp.MustCompile(`^rcd_[A-Za-z0-9_-]{43}$`)
	r := seeded(3)
	seen := map[string]bool{}
	for range 50 {
		plain, hash := auth.NewToken(r)
		if !format.MatchString(plain) {
			t.Fatalf("token %q does not match %v", plain, format)
		}
		if seen[plain] {
			t.Fatalf("token %q repeated", plain)
		}
		seen[plain] = true
		sum := sha256.Sum256([]byte(plain))
		if want := hex.EncodeToString(sum[:]); hash != want || auth.HashToken(plain) != want {
			t.Errorf("hash of %q = %q, HashToken %q; want hex SHA-256 %q", plain, hash, auth.HashToken(plain), want)
		}
		if !auth.LooksLikeToken(plain) {
			t.Errorf("LooksLikeToken(%q) = false", plain)
		}
		if got := auth.TokenPrefix(plain); got != plain[4:12] {
			t.Errorf("TokenPrefix(%q) = %q, want %q", plain, got, plain[4:12])
		}
	}

	// The same random source gives the same token: the reader is the only
	// source of randomness.
	a, _ := auth.NewToken(seeded(9))
	b, _ := auth.NewToken(seeded(9))
	if a != b {
		t.Errorf("same random source gave %q and %q", a, b)
	}
	raw := make([]byte, 32)
	seeded(9).Read(raw)
	if want := "rcd_" + base64.RawURLEncoding.EncodeToString(raw); a != want {
		t.Errorf("NewToken = %q, want rcd_ and the base64url of the first 32 random bytes, %q", a, want)
	}
	if c, _ := auth.NewToken(nil); c == a || !format.MatchString(c) {
		t.Errorf("NewToken(nil) = %q", c)
	}
}

func TestTokenShape(t *testing.T) {
	good, _ := auth.NewToken(seeded(1))
	for _, s := range []string{
		"", "rcd_", "rcd_short", good[:len(good)-1], good + "A",
		"xyz_" + good[4:], "RCD_" + good[4:], good[:10] + "*" + good[11:],
		"Bearer " + good,
	} {
		if auth.LooksLikeToken(s) {
			t.Errorf("LooksLikeToken(%q) = true", s)
		}
		if p := auth.TokenPrefix(s); p != "" {
			t.Errorf("TokenPrefix(%q) = %q, want empty", s, p)
		}
	}
}
