package imports

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// fakeQueue records the jobs enqueued, in the caller's transaction.
type fakeQueue struct{ jobs []river.JobArgs }

func (q *fakeQueue) EnqueueTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	q.jobs = append(q.jobs, args)
	return nil
}

// TestStagedImport: a file staged for its column mapping shows its header
// (read as Windows-1252 when it is not UTF-8) with the targets guessed and
// its first rows; a bad mapping is refused and starts nothing; a good one
// makes it pending with its job; only a staged file can be discarded.
func TestStagedImport(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s, db := newService(t, dsn)
		q := &fakeQueue{}
		s.SetQueue(q)

		if _, err := s.Stage(ctx, "vazio.csv", strings.NewReader(""), nil); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("empty file: %v", err)
		}
		if ims, _ := db.ListImports(ctx, 10); len(ims) != 0 {
			t.Fatalf("an empty file was kept: %+v", ims)
		}
		// "Região" in Windows-1252, as spreadsheets save it.
		file := "Nome;Celular;Regi\xe3o;Nome;\nFulana Teste;11900000001;Sul;Apelido;x\nBeltrana Teste;11900000002;Norte;;\n"
		im, err := s.Stage(ctx, "clientes.csv", strings.NewReader(file), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !Staged(im) || im.SizeBytes != int64(len(file)) {
			t.Fatalf("staged %+v", im)
		}
		cols, err := s.Columns(ctx, im.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantGuess := []string{"name", "phone", "field:região", "field:nome", "ignore"}
		if cols.Delimiter != ";" || strings.Join(cols.Guess, "|") != strings.Join(wantGuess, "|") || cols.Header[2] != "Região" {
			t.Fatalf("columns %+v", cols)
		}
		if len(cols.Samples) != 2 || cols.Samples[1][0] != "Beltrana Teste" || len(cols.Samples[1]) != 5 {
			t.Fatalf("samples %q", cols.Samples)
		}

		for name, opts := range map[string]Options{
			"no phone":       {Map: map[string]string{"Celular": "ignore"}},
			"two phones":     {Map: map[string]string{"Nome": "phone", "Celular": "phone"}},
			"unknown column": {Map: map[string]string{"CPF": "name"}},
			"unknown target": {Map: map[string]string{"Região": "cidade"}},
			"list too long":  {List: strings.Repeat("l", 101)},
			"bad delimiter":  {Delimiter: "|"},
			"tag too long":   {Tags: []string{strings.Repeat("t", 65)}},
		} {
			if _, err := s.Begin(ctx, im.ID, opts, nil); sms.KindOf(err) != sms.KindInvalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		if got, _ := db.GetImport(ctx, im.ID); got.Status != store.ImportUploading || len(q.jobs) != 0 {
			t.Fatalf("a bad mapping started the import: %s, %d jobs", got.Status, len(q.jobs))
		}
		if ls, _ := db.Lists(ctx); len(ls) != 0 {
			t.Fatalf("a bad mapping made a list: %+v", ls)
		}

		got, err := s.Begin(ctx, im.ID, Options{Map: map[string]string{"Região": "field:regiao"}, List: "Clientes"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var opts Options
		json.Unmarshal(got.Options, &opts)
		if got.Status != store.ImportPending || got.ListID == nil || opts.Delimiter != ";" || opts.Map["Região"] != "field:regiao" || len(q.jobs) != 1 {
			t.Fatalf("began %+v with %+v, %d jobs", got, opts, len(q.jobs))
		}
		if _, err := s.Begin(ctx, im.ID, Options{}, nil); sms.KindOf(err) != sms.KindConflict {
			t.Fatalf("begun twice: %v", err)
		}
		if err := s.DiscardStaged(ctx, im.ID); sms.KindOf(err) != sms.KindConflict {
			t.Fatalf("a started import was discarded: %v", err)
		}

		other, err := s.Stage(ctx, "outro.csv", strings.NewReader("telefone\n11900000003\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DiscardStaged(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetImport(ctx, other.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("not discarded: %v", err)
		}
		if err := s.DiscardStaged(ctx, other.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("discarding a gone import: %v", err)
		}

		// Uploads left waiting go after a while; started imports stay.
		left, err := s.Stage(ctx, "esquecido.csv", strings.NewReader("telefone\n11900000004\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := db.DeleteStaleUploads(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("a fresh upload went: %d, %v", n, err)
		}
		if n, err := db.DeleteStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
			t.Fatalf("stale uploads removed: %d, %v", n, err)
		}
		if _, err := db.GetImport(ctx, left.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("the stale upload stayed: %v", err)
		}
		if _, err := db.GetImport(ctx, im.ID); err != nil {
			t.Fatalf("a started import went: %v", err)
		}
	})
}
