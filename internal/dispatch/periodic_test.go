package dispatch

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/mock"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestPeriodicJobsRunOnceAcrossInstances starts two dispatchers, as two
// Recado instances, on one PostgreSQL database: the status poll must be
// enqueued once per period between them, not once per instance.
func TestPeriodicJobsRunOnceAcrossInstances(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const every = 200 * time.Millisecond
	cfg := Config{PollInterval: 20 * time.Millisecond, Background: BackgroundConfig{StatusPollEvery: every,
		ReplyPollEvery: time.Hour, BalanceEvery: time.Hour, BlacklistSyncEvery: time.Hour}}
	var ds []*Dispatcher
	var db *store.DB
	for range 2 {
		db = storetest.Open(t, dsn, store.Options{})
		reg := provider.NewRegistry(provider.Deps{Logger: log})
		reg.Register(mock.Type())
		box, _ := secrets.NewBox(make([]byte, 32), nil)
		d, err := New(ctx, db, providers.New(db, reg, box), nil, log, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d)
	}
	start := time.Now()
	for _, d := range ds {
		if err := d.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	polls := func() (n int) {
		t.Helper()
		if err := db.Reader().QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'poll_statuses'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for polls() < 8 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	var leaders int
	if err := db.Reader().QueryRow(`SELECT count(*) FROM river_leader`).Scan(&leaders); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	n := polls()
	for _, d := range ds {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := d.Stop(stopCtx); err != nil {
			t.Errorf("stop: %v", err)
		}
		cancel()
	}
	if leaders != 1 {
		t.Errorf("%d leaders, want 1", leaders)
	}
	// One enqueuer fires once per period (and once at its start); two would
	// fire about twice as often, and out of step.
	if most := int(elapsed/every) + 2; n < 8 || n > most {
		t.Fatalf("%d status polls enqueued in %v, want 8 to %d: one instance enqueues them", n, elapsed, most)
	}
	rows, err := db.Reader().Query(`SELECT created_at, attempted_at, finalized_at FROM river_job
WHERE kind = 'poll_statuses' AND state = 'completed' ORDER BY created_at`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prevCreated, prevEnd time.Time
	for i := 0; rows.Next(); i++ {
		var created, began, ended time.Time
		if err := rows.Scan(&created, &began, &ended); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			if gap := created.Sub(prevCreated); gap < every/2 {
				t.Errorf("poll %d enqueued %v after the one before: more than one per period", i, gap)
			}
			if began.Before(prevEnd) {
				t.Errorf("poll %d began at %v, before the one before ended at %v", i, began, prevEnd)
			}
		}
		prevCreated, prevEnd = created, ended
	}
}
