// Package secrets keeps provider secrets (API tokens, webhook secrets)
// encrypted at rest. A Box seals each value with AES-256-GCM under one key,
// loaded by LoadKey from RECADO_SECRET_KEY or from a key file beside the
// database. Losing the key loses the secrets, not the data: providers must
// then be given their tokens again.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// KeySize is the length of a key in bytes: AES-256.
const KeySize = 32

// prefix starts every sealed value and names the format: AES-256-GCM, a
// 12-byte nonce, then the ciphertext and its tag, all in standard base64. A
// later format gets a new prefix, so old values stay readable.
const prefix = "v1:"

// ErrOpen is wrapped by the errors of Open for a value that does not
// authenticate: sealed under another key, or altered since.
var ErrOpen = errors.New("wrong key or tampered data")

// Box seals and opens secrets under one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
	rand io.Reader
}

// NewBox returns a Box sealing under key, which must be KeySize bytes, and
// drawing nonces from random (crypto/rand.Reader when nil).
func NewBox(key []byte, random io.Reader) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secrets: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if random == nil {
		random = rand.Reader
	}
	return &Box{aead: aead, rand: random}, nil
}

// Seal encrypts plaintext under a fresh random nonce and returns it as text
// fit for a settings column: "v1:" followed by base64. Sealing the same value
// twice gives different results.
func (b *Box) Seal(plaintext []byte) (string, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := io.ReadFull(b.rand, nonce); err != nil {
		return "", fmt.Errorf("secrets: read nonce: %w", err)
	}
	sealed := b.aead.Seal(nonce, nonce, plaintext, nil)
	return prefix + base64.StdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value made by Seal. A value that is not in a known format
// gives an error saying so; one sealed under another key or altered gives an
// error wrapping ErrOpen.
func (b *Box) Open(sealed string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return nil, fmt.Errorf("secrets: not a sealed value (want prefix %q)", prefix)
	}
	data, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("secrets: cannot open sealed value: bad base64 (%v): %w", err, ErrOpen)
	}
	n := b.aead.NonceSize()
	if len(data) < n+b.aead.Overhead() {
		return nil, fmt.Errorf("secrets: cannot open sealed value: truncated to %d bytes: %w", len(data), ErrOpen)
	}
	plain, err := b.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("secrets: cannot open sealed value: %w", ErrOpen)
	}
	return plain, nil
}

// SealString is Seal for a string.
func (b *Box) SealString(plaintext string) (string, error) { return b.Seal([]byte(plaintext)) }

// OpenString is Open returning a string.
func (b *Box) OpenString(sealed string) (string, error) {
	p, err := b.Open(sealed)
	return string(p), err
}

// IsSealed reports whether s looks like a value made by Seal, so that code
// storing settings can tell a secret still in clear text from a sealed one.
func IsSealed(s string) bool { return strings.HasPrefix(s, prefix) }
