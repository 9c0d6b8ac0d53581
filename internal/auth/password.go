package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/recado-sms/recado/internal/sms"
)

// The password policy: lengths in characters (Unicode code points).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

// Bounds on the parameters of a stored hash, so that a corrupted or hostile
// row cannot make a sign-in allocate gigabytes or spin for minutes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	minSaltLen = 8
	minKeyLen  = 16
	maxKeyLen  = 128
)

// Params are the cost of argon2id password hashing. Every hash records the
// parameters it was made with, so they can change without breaking existing
// passwords; see NeedsRehash.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes of derived hash
}

// DefaultParams returns the parameters Recado hashes with: 64 MiB, one pass,
// two lanes, as RFC 9106 suggests for memory-constrained servers, with a
// 16-byte salt and a 32-byte hash.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}
}

func (p Params) validate() error {
	switch {
	case p.Threads < 1, p.Time < 1 || p.Time > maxTime,
		p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory,
		p.SaltLen < minSaltLen, p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return sms.Errorf(sms.KindInternal, "auth: argon2id parameters out of range: m=%d t=%d p=%d salt=%d key=%d",
			p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen)
	}
	return nil
}

// CheckPasswordPolicy returns nil when pw may be chosen as a password, or an
// error of kind KindInvalid on the field "password" saying what is wrong. The
// password itself is never part of the error.
func CheckPasswordPolicy(pw string) error {
	field := func(msg string) error {
		return sms.Invalid("password "+msg, sms.FieldError{Field: "password", Message: msg})
	}
	switch n := utf8.RuneCountInString(pw); {
	case !utf8.ValidString(pw):
		return field("must be valid UTF-8 text")
	case n < MinPasswordLen:
		return field(fmt.Sprintf("must be at least %d characters long", MinPasswordLen))
	case n > MaxPasswordLen:
		return field(fmt.Sprintf("must be at most %d characters long", MaxPasswordLen))
	}
	return nil
}

// HashPassword checks pw against the password policy and hashes it with
// DefaultParams and a salt from random (crypto/rand.Reader when nil). The
// result is a PHC string:
//
//	$argon2id$v=19$m=65536,t=1,p=2$<salt>$<hash>
func HashPassword(pw string, random io.Reader) (string, error) {
	return DefaultParams().Hash(pw, random)
}

// Hash is HashPassword with parameters p.
func (p Params) Hash(pw string, random io.Reader) (string, error) {
	if err := CheckPasswordPolicy(pw); err != nil {
		return "", err
	}
	if err := p.validate(); err != nil {
		return "", err
	}
	if random == nil {
		random = rand.Reader
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(random, salt); err != nil {
		return "", sms.Errorf(sms.KindInternal, "auth: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash, a PHC string made by
// HashPassword, comparing in constant time. A wrong password is (false, nil);
// a hash that cannot be read is an error of kind KindInternal, since it is
// Recado's own data that is broken.
func CheckPassword(hash, pw string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if len(pw) > 4*MaxPasswordLen { // longer than any password the policy lets in
		return false, nil
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters other than p (or
// cannot be read), so that the password should be hashed again at the next
// successful sign-in.
func (p Params) NeedsRehash(hash string) bool {
	h, err := parseHash(hash)
	if err != nil {
		return true
	}
	q := h.params
	return q.Memory != p.Memory || q.Time != p.Time || q.Threads != p.Threads ||
		q.SaltLen != p.SaltLen || q.KeyLen != p.KeyLen
}

// burn spends as long as checking a password hashed with p, for sign-ins by
// unknown users.
func (p Params) burn(pw string) {
	if p.validate() != nil {
		p = DefaultParams()
	}
	argon2.IDKey([]byte(pw), make([]byte, p.SaltLen), p.Time, p.Memory, p.Threads, p.KeyLen)
}

type parsedHash struct {
	params Params
	salt   []byte
	key    []byte
}

// parseHash reads "$argon2id$v=19$m=65536,t=1,p=2$<salt>$<hash>".
func parseHash(s string) (parsedHash, error) {
	bad := func(why string) (parsedHash, error) {
		return parsedHash{}, sms.Errorf(sms.KindInternal, "auth: malformed password hash: %s", why)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return bad(fmt.Sprintf("algorithm %q, want argon2id", parts[1]))
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad(fmt.Sprintf("version %q, want v=%d", parts[2], argon2.Version))
	}
	var h parsedHash
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("want parameters m=…,t=…,p=…")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(kv[i], name+"=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return bad(fmt.Sprintf("parameter %q, want %s=<number>", kv[i], name))
		}
		switch name {
		case "m":
			h.params.Memory = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("more than 255 lanes")
			}
			h.params.Threads = uint8(n)
		}
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return bad("salt is not base64")
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil {
		return bad("hash is not base64")
	}
	h.params.SaltLen, h.params.KeyLen = uint32(len(h.salt)), uint32(len(h.key))
	if err := h.params.validate(); err != nil {
		return bad("parameters out of range")
	}
	return h, nil
}

// passwordAlphabet has no letters or digits that are easily confused (0 O
// 1 l I) and no upper case, so that a password can be read aloud and typed.
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// GeneratePassword returns a random password that is easy to read and type,
// such as "k7mq2-x9trv-h4ncz-p3wje": four groups of five characters from a
// 32-character alphabet, 100 bits in all. It serves the bootstrap manager's
// first password. random is crypto/rand.Reader when nil; a reader that fails
// is a programming error and panics (crypto/rand.Reader never fails).
func GeneratePassword(random io.Reader) string {
	if random == nil {
		random = rand.Reader
	}
	const groups, size = 4, 5
	buf := make([]byte, groups*size)
	if _, err := io.ReadFull(random, buf); err != nil {
		panic("auth: generate password: " + err.Error())
	}
	var b strings.Builder
	for i, c := range buf {
		if i > 0 && i%size == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(passwordAlphabet[int(c)%len(passwordAlphabet)]) // 256 is a multiple of 32: no bias
	}
	return b.String()
}
