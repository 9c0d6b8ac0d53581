package imports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestSweepResumesADeadImport: an import whose run died holding its lease
// (a kill -9 of its process) is handed to a new job once the lease runs out,
// once; the new run resumes after the last chunk written and ends with each
// row's contact inserted once. A lease still held, or given up by a live
// run that snoozes, is left alone.
func TestSweepResumesADeadImport(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		db := storetest.Open(t, dsn, store.Options{Now: clock})
		s := New(db, slog.New(slog.DiscardHandler))
		s.ChunkRows = 3
		q := &fakeQueue{}
		s.SetQueue(q)
		var file strings.Builder
		file.WriteString("nome,telefone\n")
		for i := range 10 {
			fmt.Fprintf(&file, "Fulana Teste %d,+55119000000%02d\n", i, i)
		}
		im, err := s.Upload(ctx, "contatos.csv", strings.NewReader(file.String()), Options{List: "Varredura"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sweep := func(want int, when string) {
			t.Helper()
			n, err := s.Sweep(ctx)
			if err != nil || n != want {
				t.Fatalf("%s: swept %d, %v; want %d", when, n, err, want)
			}
		}

		// A first slice writes a chunk and snoozes, giving up its lease.
		s.Slice = 0
		var snooze *river.JobSnoozeError
		if err := s.work(ctx, im.ID); !errors.As(err, &snooze) {
			t.Fatalf("a slice ended with %v, want a snooze", err)
		}
		if got, _ := db.GetImport(ctx, im.ID); got.Status != store.ImportRunning || got.RowsDone != 3 {
			t.Fatalf("after a slice: %+v", got)
		}
		sweep(0, "a snoozing import")

		// A run claims it and dies holding the lease.
		lease := now.Add(w2lease(time.Minute))
		if _, ok, err := db.ClaimImport(ctx, im.ID, lease); !ok || err != nil {
			t.Fatalf("claim: %v, %v", ok, err)
		}
		sweep(0, "a held lease")
		if err := s.work(ctx, im.ID); !errors.As(err, &snooze) {
			t.Fatalf("a run while the lease is held: %v, want a snooze", err)
		}
		mu.Lock()
		now = lease.Add(time.Second)
		mu.Unlock()
		jobs := len(q.jobs)
		sweep(1, "a lease run out")
		if len(q.jobs) != jobs+1 || q.jobs[jobs].(JobArgs).ImportID != im.ID {
			t.Fatalf("jobs %+v, want one more for import %d", q.jobs, im.ID)
		}
		sweep(0, "an import handed over")

		s.Slice = time.Minute
		if err := s.work(ctx, im.ID); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetImport(ctx, im.ID)
		if err != nil || got.Status != store.ImportDone || got.RowsDone != 10 || got.Inserted != 10 || got.Updated != 0 {
			t.Fatalf("after the resumed run: %+v, %v", got, err)
		}
		if l, err := db.ListByName(ctx, "Varredura"); err != nil || l.Members != 10 {
			t.Fatalf("list %+v, %v; want 10 members", l, err)
		}
		if n, err := db.CountContacts(ctx, store.ContactFilter{}); err != nil || n != 10 {
			t.Fatalf("%d contacts, %v; want 10", n, err)
		}
		sweep(0, "a finished import")
	})
}

// TestSweepRemovesStaleUploads: an upload left waiting (a staged file
// never mapped, or one cut short) is removed by the sweeper once older than
// StagedFor, with its file; a younger one is kept.
func TestSweepRemovesStaleUploads(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		var mu sync.Mutex
		now := time.Now()
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		db := storetest.Open(t, dsn, store.Options{Now: clock})
		s := New(db, slog.New(slog.DiscardHandler))
		s.SetQueue(&fakeQueue{})
		old, err := s.Stage(ctx, "antigo.csv", strings.NewReader("nome,telefone\nFulana,+5511900000001\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		now = now.Add(StagedFor - time.Hour)
		mu.Unlock()
		young, err := s.Stage(ctx, "novo.csv", strings.NewReader("nome,telefone\nFulana,+5511900000002\n"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetImport(ctx, old.ID); err != nil {
			t.Fatalf("an upload younger than StagedFor was removed: %v", err)
		}
		mu.Lock()
		now = now.Add(2 * time.Hour)
		mu.Unlock()
		if _, err := s.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetImport(ctx, old.ID); err == nil {
			t.Error("an upload older than StagedFor is still there")
		}
		if _, err := db.GetImport(ctx, young.ID); err != nil {
			t.Errorf("the younger upload was removed: %v", err)
		}
	})
}
