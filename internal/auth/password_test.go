package auth_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
)

// cheap are parameters that keep the tests fast; production uses
// DefaultParams.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// seeded returns a deterministic random source, so that salts, tokens and
// passwords are reproducible.
func seeded(seed byte) *rand.ChaCha8 { return rand.NewChaCha8([32]byte{seed}) }

func hash(t *testing.T, pw string) string {
	t.Helper()
	h, err := cheap.Hash(pw, nil)
	if err != nil {
		t.Fatalf("Hash(%q): %v", pw, err)
	}
	return h
}

func TestPasswordRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct horse", "senha-FAKE-123", "ção ção ção", strings.Repeat("x", auth.MaxPasswordLen)} {
		h := hash(t, pw)
		if ok, err := auth.CheckPassword(h, pw); err != nil || !ok {
			t.Errorf("CheckPassword(hash of %q, same) = %v, %v; want true", pw, ok, err)
		}
		if ok, err := auth.CheckPassword(h, pw+"!"); err != nil || ok {
			t.Errorf("CheckPassword(hash of %q, other) = %v, %v; want false", pw, ok, err)
		}
	}
	a, b := hash(t, "same password"), hash(t, "same password")
	if a == b {
		t.Error("two hashes of the same password are equal: salts repeat")
	}
}

func TestHashFormat(t *testing.T) {
	h, err := cheap.Hash("senha-FAKE-123", seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(h) {
		t.Errorf("hash %q does not match %v", h, phc)
	}
	again, _ := cheap.Hash("senha-FAKE-123", seeded(1))
	if again != h {
		t.Errorf("same salt source gave %q and %q", h, again)
	}
	if strings.Contains(h, "senha") {
		t.Error("hash contains the password")
	}
}

func TestDefaultParams(t *testing.T) {
	p := auth.DefaultParams()
	if p.Memory != 64*1024 || p.Time != 1 || p.Threads != 2 {
		t.Errorf("DefaultParams = %+v, want m=65536 t=1 p=2", p)
	}
	if testing.Short() {
		t.Skip("hashes with 64 MiB")
	}
	h, err := auth.HashPassword("senha-FAKE-123", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=2$") {
		t.Errorf("HashPassword = %q, want default parameters", h)
	}
	if ok, err := auth.CheckPassword(h, "senha-FAKE-123"); !ok || err != nil {
		t.Errorf("CheckPassword = %v, %v", ok, err)
	}
	if p.NeedsRehash(h) || !cheap.NeedsRehash(h) {
		t.Error("NeedsRehash: want false for the same parameters, true for others")
	}
}

func TestPasswordPolicy(t *testing.T) {
	tests := []struct {
		pw   string
		want string // part of the error; "" means accepted
	}{
		{"1234567", "at least 8"},
		{"", "at least 8"},
		{"ççççççç", "at least 8"}, // 7 characters, 14 bytes
		{"12345678", ""},
		{"çççççççç", ""},
		{strings.Repeat("a", 256), ""},
		{strings.Repeat("a", 257), "at most 256"},
		{"abcdefg\xff", "UTF-8"},
	}
	for _, tt := range tests {
		err := auth.CheckPasswordPolicy(tt.pw)
		_, herr := cheap.Hash(tt.pw, nil)
		if tt.want == "" {
			if err != nil || herr != nil {
				t.Errorf("policy(%q) = %v, Hash: %v; want accepted", tt.pw, err, herr)
			}
			continue
		}
		if sms.KindOf(err) != sms.KindInvalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("policy(%q) = %v, want an invalid-input error saying %q", tt.pw, err, tt.want)
		}
		if sms.KindOf(herr) != sms.KindInvalid {
			t.Errorf("Hash(%q) = %v, want the policy error", tt.pw, herr)
		}
		if tt.pw != "" && strings.Contains(err.Error(), tt.pw) {
			t.Errorf("policy error %q shows the password", err)
		}
	}
}

func TestMalformedHash(t *testing.T) {
	good := hash(t, "senha-FAKE-123")
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := map[string]string{
		"empty":            "",
		"bcrypt":           "$2a$10$abcdefghijklmnopqrstuu5Jx6dJ3s6QvFqBz1eXnXkMcWnS8Ky6",
		"argon2i":          with(1, "argon2i"),
		"old version":      with(2, "v=16"),
		"no version":       with(2, "m=64,t=1,p=1"),
		"missing field":    strings.Join(parts[:5], "$"),
		"extra field":      good + "$x",
		"params reordered": with(3, "t=1,m=64,p=1"),
		"param not number": with(3, "m=lots,t=1,p=1"),
		"negative param":   with(3, "m=-64,t=1,p=1"),
		"huge memory":      with(3, "m=4294967295,t=1,p=1"),
		"zero time":        with(3, "m=64,t=0,p=1"),
		"too many lanes":   with(3, "m=65536,t=1,p=256"),
		"memory too small": with(3, "m=8,t=1,p=2"),
		"salt not base64":  with(4, "!!!"),
		"short salt":       with(4, "AAAA"),
		"hash not base64":  with(5, "***"),
		"short hash":       with(5, "AAAA"),
		"padded base64":    with(5, parts[5]+"="),
	}
	for name, h := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := auth.CheckPassword(h, "senha-FAKE-123")
			if ok || sms.KindOf(err) != sms.KindInternal || !strings.Contains(err.Error(), "malformed password hash") {
				t.Errorf("CheckPassword(%q) = %v, %v; want false and a malformed-hash error", h, ok, err)
			}
			if !cheap.NeedsRehash(h) {
				t.Errorf("NeedsRehash(%q) = false", h)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	u := &auth.User{ID: 1, Username: "gerente", Role: auth.RoleManager, Active: true}
	h := hash(t, "senha-FAKE-123")

	p, err := cheap.Authenticate(u, h, "senha-FAKE-123")
	if err != nil || p.ID != 1 || p.TokenID != nil {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	_, wrong := cheap.Authenticate(u, h, "senha-errada")
	_, unknown := cheap.Authenticate(nil, "", "senha-FAKE-123")
	for name, err := range map[string]error{"wrong password": wrong, "unknown user": unknown} {
		if sms.KindOf(err) != sms.KindUnauthorized {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
	if wrong.Error() != unknown.Error() {
		t.Errorf("wrong password says %q, unknown user %q: they must read the same", wrong, unknown)
	}
	if _, err := cheap.Authenticate(u, "garbage", "senha-FAKE-123"); sms.KindOf(err) != sms.KindInternal {
		t.Errorf("Authenticate with a broken stored hash: %v, want internal", err)
	}
	u.Active = false
	if _, err := cheap.Authenticate(u, h, "senha-FAKE-123"); sms.KindOf(err) != sms.KindUnauthorized {
		t.Errorf("Authenticate of a deactivated user: %v, want unauthorized", err)
	}
}

func TestGeneratePassword(t *testing.T) {
	format := regexp.MustCompile(`^[a-km-np-z2-9]{5}(-[a-km-np-z2-9]{5}){3}$`)
	a := auth.GeneratePassword(seeded(0))
	if !format.MatchString(a) {
		t.Errorf("GeneratePassword = %q, want four groups of five unambiguous characters", a)
	}
	if b := auth.GeneratePassword(seeded(0)); b != a {
		t.Errorf("same random source gave %q and %q", a, b)
	}
	if err := auth.CheckPasswordPolicy(a); err != nil {
		t.Errorf("generated password fails the policy: %v", err)
	}
	seen := map[string]bool{}
	for range 100 {
		pw := auth.GeneratePassword(nil)
		if !format.MatchString(pw) || seen[pw] {
			t.Fatalf("GeneratePassword = %q: bad format or repeated", pw)
		}
		seen[pw] = true
	}
}
