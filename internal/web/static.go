package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

// static holds our CSS and script and the vendored front-end packages.
//
//go:embed static
var staticFS embed.FS

// staticFiles serves the embedded files. Their URLs carry a hash of the
// whole set, so browsers may keep them for a year and still get a new
// version the moment the binary changes.
type staticFiles struct {
	fs      fs.FS
	version string
}

func newStaticFiles() (*staticFiles, error) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &staticFiles{fs: sub, version: hex.EncodeToString(h.Sum(nil))[:12]}, nil
}

// url is the address of a static file, with the version that busts caches.
func (s *staticFiles) url(name string) string {
	return "/static/" + strings.TrimPrefix(name, "/") + "?v=" + s.version
}

func (s *staticFiles) handler() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(s.fs))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, ".sh") {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == s.version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
