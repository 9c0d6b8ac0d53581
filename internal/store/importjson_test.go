package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzImportJSON: the import's own JSON encoder (fields and tags, written
// without encoding/json for speed) writes valid JSON that reads back,
// through encoding/json, as exactly what encoding/json's own encoding reads
// back as, for any strings (invalid UTF-8 included).
func FuzzImportJSON(f *testing.F) {
	for _, s := range []string{"", "a", `quote " and \ back`, "tab\tnl\ncr\r", "\x00\x01\x1f\x7f", "ção 😀", "\xff\xfe bad", "\u2028\u2029", "<&>"} {
		f.Add(s, s+"k")
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		for _, c := range []struct {
			ours []byte
			in   any
		}{
			{appendJSONObject(nil, map[string]string{k: v, "z" + v: k}), map[string]string{k: v, "z" + v: k}},
			{appendJSONArray(nil, []string{k, v}), []string{k, v}},
		} {
			if !json.Valid(c.ours) {
				t.Fatalf("not valid JSON: %q", c.ours)
			}
			std, err := json.Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			got := reflect.New(reflect.TypeOf(c.in))
			want := reflect.New(reflect.TypeOf(c.in))
			if err := json.Unmarshal(c.ours, got.Interface()); err != nil {
				t.Fatalf("%q: %v", c.ours, err)
			}
			if err := json.Unmarshal(std, want.Interface()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Interface(), want.Interface()) {
				t.Fatalf("ours %q reads as %v; encoding/json's %q as %v", c.ours, got.Elem(), std, want.Elem())
			}
		}
	})
}
