package secrets_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/secrets"
)

// seeded returns a reader of the bytes 0, 1, 2… so that keys and nonces are
// reproducible.
func seeded(start byte) *bytes.Reader {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = start + byte(i)
	}
	return bytes.NewReader(b)
}

func testKey(first byte) []byte {
	k := make([]byte, secrets.KeySize)
	for i := range k {
		k[i] = first + byte(i)
	}
	return k
}

func newBox(t *testing.T, key []byte) *secrets.Box {
	t.Helper()
	b, err := secrets.NewBox(key, nil)
	if err != nil {
		t.Fatalf("NewBox: %v", err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	box := newBox(t, testKey(1))
	for _, plain := range []string{"", "kolmeya-token-FAKE-0000", strings.Repeat("segredo ç ", 500)} {
		sealed, err := box.SealString(plain)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if !strings.HasPrefix(sealed, "v1:") || !secrets.IsSealed(sealed) {
			t.Errorf("sealed value %q lacks the v1: prefix", sealed)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Errorf("sealed value contains the plaintext")
		}
		got, err := box.OpenString(sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got != plain {
			t.Errorf("Open = %q, want %q", got, plain)
		}
	}
	a, _ := box.SealString("same")
	b, _ := box.SealString("same")
	if a == b {
		t.Error("sealing the same value twice gave the same result: nonces repeat")
	}
	if secrets.IsSealed("kolmeya-token-FAKE") {
		t.Error("IsSealed of clear text = true")
	}
}

func TestSealedWithInjectedRandom(t *testing.T) {
	b1, _ := secrets.NewBox(testKey(1), seeded(0))
	b2, _ := secrets.NewBox(testKey(1), seeded(0))
	s1, _ := b1.SealString("token")
	s2, _ := b2.SealString("token")
	if s1 != s2 {
		t.Errorf("same key and random source sealed %q and %q", s1, s2)
	}
}

func TestOpenRefuses(t *testing.T) {
	box := newBox(t, testKey(1))
	sealed, err := box.SealString("kolmeya-token-FAKE-0000")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	flip := func(i int) string {
		c := bytes.Clone(raw)
		c[i] ^= 0x01
		return "v1:" + base64.StdEncoding.EncodeToString(c)
	}
	tests := []struct {
		name    string
		box     *secrets.Box
		in      string
		errOpen bool // the error must wrap ErrOpen
	}{
		{"wrong key", newBox(t, testKey(2)), sealed, true},
		{"tampered nonce", box, flip(0), true},
		{"tampered ciphertext", box, flip(len(raw) / 2), true},
		{"tampered tag", box, flip(len(raw) - 1), true},
		{"truncated", box, "v1:" + base64.StdEncoding.EncodeToString(raw[:20]), true},
		{"bad base64", box, "v1:***", true},
		{"no prefix", box, strings.TrimPrefix(sealed, "v1:"), false},
		{"unknown version", box, "v2:" + strings.TrimPrefix(sealed, "v1:"), false},
		{"clear text", box, "kolmeya-token-FAKE-0000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.Open(tt.in)
			if err == nil {
				t.Fatalf("Open = %q, want an error", got)
			}
			if errors.Is(err, secrets.ErrOpen) != tt.errOpen {
				t.Errorf("Open error %q: wraps ErrOpen = %v, want %v", err, !tt.errOpen, tt.errOpen)
			}
			if strings.Contains(err.Error(), "FAKE") {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

func TestNewBoxKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := secrets.NewBox(make([]byte, n), nil); err == nil {
			t.Errorf("NewBox with a %d-byte key: no error", n)
		}
	}
}

func TestLoadKeyFromEnv(t *testing.T) {
	key := testKey(200) // bytes ≥ 0xc8 give base64 with + and /
	tests := []struct {
		name string
		env  string
		ok   bool
	}{
		{"base64 std", base64.StdEncoding.EncodeToString(key), true},
		{"base64 std unpadded", base64.RawStdEncoding.EncodeToString(key), true},
		{"base64 url", base64.URLEncoding.EncodeToString(key), true},
		{"base64 url unpadded", base64.RawURLEncoding.EncodeToString(key), true},
		{"hex", hex.EncodeToString(key), true},
		{"hex upper case", strings.ToUpper(hex.EncodeToString(key)), true},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(key) + "\n", true},
		{"too short", base64.StdEncoding.EncodeToString(key[:16]), false},
		{"too long", base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 0)), false},
		{"short hex", hex.EncodeToString(key[:31]), false},
		{"a passphrase", "correct horse battery staple", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := secrets.LoadKeyWith(tt.env, dir, seeded(0))
			if !tt.ok {
				if err == nil {
					t.Fatalf("LoadKey(%q): no error", tt.env)
				}
				if !strings.Contains(err.Error(), "RECADO_SECRET_KEY") {
					t.Errorf("error %q does not name RECADO_SECRET_KEY", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadKey(%q): %v", tt.env, err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("LoadKey(%q) = %x, want %x", tt.env, got, key)
			}
			if _, err := os.Stat(filepath.Join(dir, secrets.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a key file was made although the key came from the environment (stat: %v)", err)
			}
		})
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // not there yet
	key, err := secrets.LoadKeyWith("", dir, seeded(7))
	if err != nil {
		t.Fatalf("LoadKey on first start: %v", err)
	}
	if !bytes.Equal(key, testKey(7)) {
		t.Errorf("new key = %x, want the random source's %x", key, testKey(7))
	}
	path := filepath.Join(dir, secrets.KeyFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", info.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data))); err != nil || !bytes.Equal(got, key) {
		t.Errorf("key file holds %q, want the key in base64", data)
	}

	again, err := secrets.LoadKeyWith("", dir, seeded(99))
	if err != nil {
		t.Fatalf("LoadKey on second start: %v", err)
	}
	if !bytes.Equal(again, key) {
		t.Error("second start made a new key instead of reading the file")
	}

	// The environment wins over the file.
	env := testKey(50)
	if got, err := secrets.LoadKeyWith(hex.EncodeToString(env), dir, nil); err != nil || !bytes.Equal(got, env) {
		t.Errorf("LoadKey with env and file = %x, %v; want the env key", got, err)
	}
}

func TestLoadKeyFileRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	t.Run("readable by others", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, secrets.KeyFile)
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(testKey(1))), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, 0o644) // whatever the umask
		_, err := secrets.LoadKeyWith("", dir, nil)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("LoadKey of a 0644 key file: %v, want an error saying to chmod 600", err)
		}
		os.Chmod(path, 0o600)
		if _, err := secrets.LoadKeyWith("", dir, nil); err != nil {
			t.Errorf("LoadKey after chmod 600: %v", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, secrets.KeyFile), []byte("not a key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := secrets.LoadKeyWith("", dir, nil); err == nil || !strings.Contains(err.Error(), secrets.KeyFile) {
			t.Errorf("LoadKey of a bad key file: %v, want an error naming the file", err)
		}
	})
	t.Run("no random", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := secrets.LoadKeyWith("", dir, bytes.NewReader(make([]byte, 5))); err == nil {
			t.Error("LoadKey with a short random source: no error")
		}
		if _, err := os.Stat(filepath.Join(dir, secrets.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a key file was left behind: %v", err)
		}
	})
	t.Run("no data dir", func(t *testing.T) {
		if _, err := secrets.LoadKeyWith("", "", nil); err == nil {
			t.Error("LoadKey without env or data dir: no error")
		}
	})
}
