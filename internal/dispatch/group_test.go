package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// holdSubmitLoop prepares the group-commit queue of f's dispatcher without
// its loop, so that calls pile up in it; the returned function starts the
// loop.
func holdSubmitLoop(f *fixture) (start func()) {
	f.d.submitOnce.Do(func() { f.d.submitCh = make(chan *submitCall, 1024) })
	return func() { go f.d.submitLoop() }
}

// awaitQueued waits until n calls wait in the group-commit queue.
func awaitQueued(t *testing.T, f *fixture, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.d.submitCh) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", len(f.d.submitCh), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSmallSubmitsShareATransaction: single sends that arrive while the
// store is busy are stored together, their messages sharing one batch (one
// send job); a call whose reference is taken fails alone, and the others
// are stored all the same.
func TestSmallSubmitsShareATransaction(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		start := holdSubmitLoop(f)
		// A message stored earlier takes the reference "taken" (stored
		// directly: the loop is held).
		c, err := f.d.check(ctx, []Request{{To: "+5511900099999", Body: "antes", Reference: "taken"}})
		if err != nil || len(c.problems) > 0 {
			t.Fatal(err, c.problems)
		}
		if err := f.db.InTx(ctx, func(tx *store.Tx) error {
			_, err := f.d.storeCalls(ctx, tx, []*submitCall{{preps: c.preps, maxBatch: map[string]int{"mock": 1000}}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		const calls = 20
		type answer struct {
			msgs []sms.Message
			err  error
		}
		answers := make([]answer, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				r := Request{To: fmt.Sprintf("+55119000%05d", i+1), Body: fmt.Sprintf("Oi %d", i), Reference: fmt.Sprintf("g-%d", i)}
				if i == 7 {
					r.Reference = "taken"
				}
				ms, err := f.d.Submit(ctx, []Request{r})
				answers[i] = answer{ms, err}
			})
		}
		awaitQueued(t, f, calls)
		start()
		wg.Wait()

		batches := map[int64]int{}
		for i, a := range answers {
			if i == 7 {
				if sms.KindOf(a.err) != sms.KindConflict {
					t.Errorf("call 7 (a reference taken): err = %v, want a conflict", a.err)
				}
				continue
			}
			if a.err != nil || len(a.msgs) != 1 {
				t.Fatalf("call %d: %v %v", i, a.msgs, a.err)
			}
			m, err := f.db.GetMessage(ctx, a.msgs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Reference != fmt.Sprintf("g-%d", i) || m.Body != fmt.Sprintf("Oi %d", i) || m.State != sms.StateQueued {
				t.Errorf("call %d stored %+v", i, m)
			}
			var batch int64
			if err := f.db.Reader().QueryRow(`SELECT batch_id FROM messages WHERE id = $1`, m.ID).Scan(&batch); err != nil {
				t.Fatal(err)
			}
			batches[batch]++
		}
		// The shared transaction failed on the bad call, and each call was
		// then stored alone.
		if len(batches) != calls-1 {
			t.Errorf("the 19 good calls are in %d batches, want one each: %v", len(batches), batches)
		}
		var n int
		if err := f.db.Reader().QueryRow(`SELECT count(*) FROM messages`).Scan(&n); err != nil || n != calls {
			t.Fatalf("%d messages stored (%v), want %d: the first and the 19 good calls", n, err, calls)
		}
	})
}

// TestSubmitGroupsQueuedCalls: calls that wait while a transaction runs are
// stored in the next one, their messages in one batch.
func TestSubmitGroupsQueuedCalls(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		ctx := context.Background()
		start := holdSubmitLoop(f)
		const calls = 30
		ids := make([]int64, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				ms, err := f.d.Submit(ctx, []Request{{To: fmt.Sprintf("+55119000%05d", i+1), Body: "Oi"}})
				if err != nil || len(ms) != 1 {
					t.Errorf("call %d: %v %v", i, ms, err)
					return
				}
				ids[i] = ms[0].ID
			})
		}
		awaitQueued(t, f, calls)
		start()
		wg.Wait()
		var batches, jobs int
		if err := f.db.Reader().QueryRow(`SELECT count(DISTINCT batch_id) FROM messages`).Scan(&batches); err != nil {
			t.Fatal(err)
		}
		if err := f.db.Reader().QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'send_batch'`).Scan(&jobs); err != nil {
			t.Fatal(err)
		}
		if batches != 1 || jobs != 1 {
			t.Errorf("%d calls made %d batches and %d send jobs, want 1 and 1", calls, batches, jobs)
		}
		seen := map[int64]bool{}
		for i, id := range ids {
			if id == 0 || seen[id] {
				t.Errorf("call %d got message %d", i, id)
			}
			seen[id] = true
		}
	})
}

// TestAbandonedSubmitIsNotStored: a caller that gives up while its call
// still waits gets its context's error, and its message is never stored.
func TestAbandonedSubmitIsNotStored(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		f := newFixture(t, dsn)
		start := holdSubmitLoop(f)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := f.d.Submit(ctx, []Request{{To: "+5511900000001", Body: "Oi", Reference: "gave-up"}})
			errc <- err
		}()
		awaitQueued(t, f, 1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		start()
		if _, err := f.d.Submit(context.Background(), []Request{{To: "+5511900000002", Body: "Oi", Reference: "stayed"}}); err != nil {
			t.Fatal(err)
		}
		var refs []string
		rows, err := f.db.Reader().Query(`SELECT reference FROM messages ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				t.Fatal(err)
			}
			refs = append(refs, r)
		}
		if fmt.Sprint(refs) != "[stayed]" {
			t.Errorf("stored %v, want only the call that stayed", refs)
		}
	})
}
