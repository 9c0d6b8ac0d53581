package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

const benchToken = "bench-token-00000000000000000000"

// BenchmarkBatchToSent measures messages per second from POST
// /api/v1/messages/batch (1000 per request, two clients at once) until every
// message is "sent" by the mock provider, over real HTTP on loopback, and the
// peak heap. One b.N is one message.
func BenchmarkBatchToSent(b *testing.B) { benchDialects(b, benchBatchToSent) }

// benchDialects runs fn as a sub-benchmark per database; PostgreSQL's is
// skipped without RECADO_TEST_POSTGRES_URL.
func benchDialects(b *testing.B, fn func(b *testing.B, dsn string)) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			dsn := ""
			if dialect == "postgres" {
				dsn = storetest.PostgresDSN(b)
			}
			fn(b, dsn)
		})
	}
}

// newBenchApp builds a Recado on dsn (SQLite in a temp folder when empty)
// with 4 send workers, closed when the benchmark ends.
func newBenchApp(b *testing.B, dsn string) *app.App {
	b.Helper()
	a, err := app.New(context.Background(), app.Config{DataDir: b.TempDir(), DatabaseURL: dsn, BootstrapToken: benchToken,
		AdminPassword: "bench-password-1", PasswordCost: &auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		Out: io.Discard, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Dispatch: dispatch.Config{Workers: 4, PollInterval: 20 * time.Millisecond}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	return a
}

// addKolmeya configures the provider "kolmeya" against a fake Kolmeya.
func addKolmeya(b *testing.B, a *app.App, fake *kolmeyatest.Server) {
	b.Helper()
	settings := map[string]json.RawMessage{}
	for k, v := range map[string]any{"base_url": fake.URL(), "token": "fake-token", "segment_id": 109,
		"webhook_secret": benchHookSecret, "cost_per_segment": "0.07"} {
		settings[k], _ = json.Marshal(v)
	}
	if _, err := a.Providers.Create(context.Background(), providers.Input{Name: "kolmeya", Type: "kolmeya", Settings: settings}); err != nil {
		b.Fatal(err)
	}
}

func benchBatchToSent(b *testing.B, dsn string) {
	ctx := context.Background()
	a := newBenchApp(b, dsn)
	// Reports an hour later: this measures the way to "sent".
	if _, err := a.Providers.Update(ctx, "mock", providers.Input{Settings: map[string]json.RawMessage{"delivery_delay": json.RawMessage(`"1h"`)}}); err != nil {
		b.Fatal(err)
	}
	if err := a.Dispatch.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer a.Dispatch.Stop(ctx)
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()

	bodies := make(chan []byte, 4)
	go func() {
		defer close(bodies)
		for sent := 0; sent < b.N; sent += 1000 {
			n := min(1000, b.N-sent)
			msgs := make([]map[string]string, n)
			for i := range msgs {
				msgs[i] = map[string]string{"to": fmt.Sprintf("+5511%09d", 900000000+(sent+i)%100000000), "body": "Sua fatura vence amanhã. Pague pelo app."}
			}
			body, _ := json.Marshal(map[string]any{"messages": msgs})
			bodies <- body
		}
	}()
	var peak atomic.Uint64
	stop := make(chan struct{})
	go sampleHeap(&peak, stop)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/messages/batch", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+benchToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	// Poll cheaply (one index probe) so that the measuring does not weigh on
	// what is measured.
	for {
		left, err := a.DB.ListMessages(ctx, store.MessageFilter{States: []sms.State{sms.StateQueued, sms.StateSending}, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	total := time.Since(start)
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(b.N)/total.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}

func sampleHeap(peak *atomic.Uint64, stop chan struct{}) {
	var ms runtime.MemStats
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
