package mock

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/recado-sms/recado/internal/provider"
)

// TestJournalTornTail: a journal whose last line was torn by a crash loses
// only that line (never acknowledged), and the next entry is not glued to
// it.
func TestJournalTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	full := `{"b":"b1","r":{"Reference":"r1","State":"sent"}}` + "\n"
	if err := os.WriteFile(path, []byte(full+`{"b":"b1","r":{"Refer`), 0o600); err != nil {
		t.Fatal(err)
	}
	j, entries, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Result.Reference != "r1" {
		t.Fatalf("entries %+v", entries)
	}
	j.add("b2", provider.Result{Reference: "r2", State: "sent"})
	if err := j.sync(); err != nil {
		t.Fatal(err)
	}
	j.close()
	counts, err := JournalCounts(path)
	if err != nil || counts["r1"] != 1 || counts["r2"] != 1 || len(counts) != 2 {
		t.Fatalf("counts %v %v", counts, err)
	}
}
