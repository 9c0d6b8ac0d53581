package web

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestEveryMessageTranslated finds every message the templates and the code
// translate and fails for each one the Portuguese catalog lacks: the UI's
// default language must never show English by accident.
func TestEveryMessageTranslated(t *testing.T) {
	pt := map[string]string{}
	files, _ := fs.Glob(translations, "i18n/pt-BR/*.json")
	for _, f := range files {
		raw, _ := translations.ReadFile(f)
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range m {
			if _, dup := pt[k]; dup {
				t.Errorf("%q is translated twice (%s)", k, f)
			}
			pt[k] = v
		}
	}
	used := map[string]string{} // message → where
	inTemplates := regexp.MustCompile(`[({]\s*t\s+("(?:[^"\\]|\\.)*")`)
	inGo := regexp.MustCompile(`(?:s\.tr\(r,|printer\.Sprintf\()\s*("(?:[^"\\]|\\.)*")`)
	tmpls, _ := fs.Glob(templateFS, "templates/*.html")
	for _, f := range tmpls {
		raw, _ := templateFS.ReadFile(f)
		for _, m := range inTemplates.FindAllStringSubmatch(string(raw), -1) {
			if k, err := strconv.Unquote(m[1]); err == nil {
				used[k] = f
			}
		}
	}
	gos, _ := filepath.Glob("*.go")
	for _, f := range gos {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, _ := os.ReadFile(f)
		for _, m := range inGo.FindAllStringSubmatch(string(raw), -1) {
			if k, err := strconv.Unquote(m[1]); err == nil && !strings.HasSuffix(k, ":") {
				used[k] = f
			}
		}
	}
	if len(used) < 100 {
		t.Fatalf("found only %d messages: the patterns no longer match the code", len(used))
	}
	var missing []string
	for k, where := range used {
		if strings.Trim(k, "%d.1f%") == "" {
			continue // a bare number format
		}
		if _, ok := pt[k]; !ok {
			missing = append(missing, where+": "+strconv.Quote(k))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no Portuguese for %s", m)
	}
}
