package web

import (
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/store"
)

// TestCampaignPagesTranslated checks that every message of the pages of
// campaigns, lists, saved filters, imports and reports has a Portuguese
// translation, that each value their codes can take has a name in both
// languages, and that their catalogs agree with the others where they
// share a message.
func TestCampaignPagesTranslated(t *testing.T) {
	catalog := func(lang string, skip string) (map[string]string, map[string]string) {
		all, mine := map[string]string{}, map[string]string{}
		files, _ := fs.Glob(translations, path.Join("i18n", lang, "*.json"))
		for _, f := range files {
			raw, _ := translations.ReadFile(f)
			var m map[string]string
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			own := !strings.HasSuffix(f, skip)
			for k, v := range m {
				if prev, ok := all[k]; ok && prev != v {
					t.Errorf("%s: %q is %q here and %q in another file", f, k, v, prev)
				}
				all[k] = v
				if own {
					mine[k] = v
				}
			}
		}
		return all, mine
	}
	pt, _ := catalog("pt-BR", "ui.json")
	en, _ := catalog("en", "ui.json")

	literal := regexp.MustCompile(`\{\{t "((?:[^"\\]|\\.)*)"`)
	inGo := regexp.MustCompile(`(?:s\.tr\(r, |printer\.Sprintf\(|s\.campaignAct\(w, r, s\.Campaigns\.[A-Za-z]+, )"((?:[^"\\]|\\.)*)"`)
	pages := []string{"lists", "list", "segments", "segment", "imports", "import", "campaigns", "campaign-edit", "campaign",
		"reports", "costs", "reconcile"}
	for _, p := range pages {
		raw, err := templateFS.ReadFile("templates/" + p + ".html")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(raw), -1) {
			if key := strings.ReplaceAll(m[1], `\"`, `"`); pt[key] == "" {
				t.Errorf("%s.html: no Portuguese for %q", p, key)
			}
		}
	}
	for _, f := range []string{"lists.go", "segments.go", "imports.go", "campaigns.go", "campaign_dashboard.go", "reports.go"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inGo.FindAllStringSubmatch(string(raw), -1) {
			if pt[m[1]] == "" {
				t.Errorf("%s: no Portuguese for %q", f, m[1])
			}
		}
	}

	families := map[string][]string{
		"cstate:":  campaignStates,
		"day:":     weekdays,
		"dim:":     reportDimensions,
		"target:":  importTargets,
		"import:":  {store.ImportUploading, store.ImportPending, store.ImportRunning, store.ImportDone, store.ImportFailed},
		"cskip:":   {store.SkipDeceased, store.SkipOptedOut, store.SkipBlacklisted, store.SkipNotDisturb, store.SkipAlreadySent, store.SkipFrequencyCap, store.SkipMissingField, store.SkipNoValidPhone, store.SkipDuplicate, store.SkipDeleted},
		"reject:":  {imports.ReasonUnknownOwner, imports.ReasonFieldTooLong, imports.ReasonMalformed, imports.ReasonPhoneConflict, "external_id_conflict", "phone_empty", "phone_characters", "phone_too_short", "phone_too_long", "phone_country", "phone_invalid", "phone_landline", "phone_no_sms"},
		"problem:": {"state_differs", "unknown_to_recado", "missing_at_kolmeya", "unknown_status"},
	}
	for _, f := range condFields {
		families["cfield:"] = append(families["cfield:"], f.Name)
		for _, op := range f.Ops {
			families["op:"] = append(families["op:"], op)
		}
	}
	for prefix, vals := range families {
		for _, v := range vals {
			if pt[prefix+v] == "" || en[prefix+v] == "" {
				t.Errorf("no name for %s%s in both languages", prefix, v)
			}
		}
	}
}
