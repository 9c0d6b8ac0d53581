package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyFile is the name of the key file LoadKey keeps in the data directory.
const KeyFile = "secret.key"

// EnvKey is the environment variable that holds the key when it is not kept
// in a file. Its value is passed to LoadKey; this package reads no
// environment itself.
const EnvKey = "RECADO_SECRET_KEY"

// LoadKey returns the key secrets are sealed under. When env, the value of
// RECADO_SECRET_KEY, is not empty it must be 32 bytes in base64 (standard or
// URL alphabet, padded or not) or in hex, and the key file is not consulted.
// Otherwise the key is read from <dataDir>/secret.key, which is created with
// 32 bytes from crypto/rand and mode 0600 on first start.
//
// A key file that group or others may read is refused: the error says to
// chmod 600 it. The key is never part of an error message.
func LoadKey(env, dataDir string) ([]byte, error) {
	return LoadKeyWith(env, dataDir, rand.Reader)
}

// LoadKeyWith is LoadKey drawing a new key from random.
func LoadKeyWith(env, dataDir string, random io.Reader) ([]byte, error) {
	if strings.TrimSpace(env) != "" {
		key, err := ParseKey(env)
		if err != nil {
			return nil, fmt.Errorf("secrets: %s: %w", EnvKey, err)
		}
		return key, nil
	}
	if dataDir == "" {
		return nil, fmt.Errorf("secrets: no %s and no data directory to keep %s in", EnvKey, KeyFile)
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = createKeyFile(path, random)
		if errors.Is(err, fs.ErrExist) { // another instance made it first
			key, err = readKeyFile(path)
		}
	}
	return key, err
}

// ParseKey decodes a key written as base64 (standard or URL alphabet, with or
// without padding) or hex. It must decode to KeySize bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil && len(key) == KeySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("key must be %d bytes written in base64 or hex (make one with: openssl rand -base64 %d)", KeySize, KeySize)
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // fs.ErrNotExist is handled by the caller
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	// Windows has no such mode bits; its ACLs are the user's business.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secrets: key file %s may be read by others (mode %04o): run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("secrets: read key file: %w", err)
	}
	key, err := ParseKey(string(bytes.TrimSpace(data)))
	if err != nil {
		return nil, fmt.Errorf("secrets: key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new random key to path, failing with fs.ErrExist
// when the file is there already, so that two instances starting together
// end up with one key.
func createKeyFile(path string, random io.Reader) ([]byte, error) {
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(random, key); err != nil {
		return nil, fmt.Errorf("secrets: generate key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("secrets: create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secrets: create key file: %w", err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // a half-written key would be refused at the next start
		return nil, fmt.Errorf("secrets: write key file: %w", err)
	}
	return key, nil
}
