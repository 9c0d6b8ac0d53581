package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
)

// API tokens look like "rcd_" followed by 43 base64url characters (32 random
// bytes). The prefix lets secret scanners and people recognise them.
const (
	TokenPrefixText = "rcd_"
	tokenBytes      = 32
	tokenLen        = len(TokenPrefixText) + 43
	displayLen      = 8
)

// NewToken returns a new API token: plain is shown to its owner once, and
// hash is what is stored and looked up (see HashToken). random is
// crypto/rand.Reader when nil; a reader that fails is a programming error and
// panics (crypto/rand.Reader never fails).
func NewToken(random io.Reader) (plain, hash string) {
	if random == nil {
		random = rand.Reader
	}
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		panic("auth: generate token: " + err.Error())
	}
	plain = TokenPrefixText + base64.RawURLEncoding.EncodeToString(b)
	return plain, HashToken(plain)
}

// HashToken returns the stored form of a token: the hex SHA-256 of its plain
// text. A fast hash is enough, unlike for passwords, because tokens carry 256
// random bits; it lets a request's token be found by an indexed lookup.
func HashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// LooksLikeToken reports whether s has the form of an API token, so that a
// request with garbage in its Authorization header is refused without a
// database lookup.
func LooksLikeToken(s string) bool {
	if len(s) != tokenLen || !strings.HasPrefix(s, TokenPrefixText) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(TokenPrefixText):])
	return err == nil
}

// TokenPrefix returns the 8 characters after "rcd_", which identify a token
// in lists without revealing it, or "" when plain is not a token.
func TokenPrefix(plain string) string {
	if !LooksLikeToken(plain) {
		return ""
	}
	return plain[len(TokenPrefixText) : len(TokenPrefixText)+displayLen]
}
