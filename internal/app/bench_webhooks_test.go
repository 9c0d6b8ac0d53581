package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

const benchHookSecret = "bench-webhook-secret-0123456789abcdef"

// BenchmarkStatusWebhooks measures Kolmeya status webhooks taken in per
// second: 64 concurrent callers POST one "delivered" report each (the flat
// shape) to /webhooks/kolmeya/... over loopback, and every 200 means the
// report is stored. One b.N is one webhook, for one message already sent.
func BenchmarkStatusWebhooks(b *testing.B) { benchDialects(b, benchStatusWebhooks) }

func benchStatusWebhooks(b *testing.B, dsn string) {
	ctx := context.Background()
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "fake-token", RateLimit: -1})
	defer fake.Close()
	a := newBenchApp(b, dsn)
	addKolmeya(b, a, fake)
	// b.N messages, sent, each with Kolmeya's id.
	type target struct{ pmid, ref string }
	targets := make([]target, 0, b.N)
	for done := 0; done < b.N; done += 1000 {
		n := min(1000, b.N-done)
		reqs := make([]dispatch.Request, n)
		for i := range reqs {
			reqs[i] = dispatch.Request{To: fmt.Sprintf("+5511%09d", 900000000+done+i), Body: "oi", Provider: "kolmeya"}
		}
		ms, err := a.Dispatch.Submit(ctx, reqs)
		if err != nil {
			b.Fatal(err)
		}
		var batch int64
		if err := a.DB.Reader().QueryRow(`SELECT max(batch_id) FROM messages`).Scan(&batch); err != nil {
			b.Fatal(err)
		}
		results := make([]store.SentResult, n)
		for i, m := range ms {
			results[i] = store.SentResult{Reference: m.Reference, ProviderMessageID: "km-" + m.Reference, ProviderJobID: "req-1"}
			targets = append(targets, target{results[i].ProviderMessageID, m.Reference})
		}
		err = a.DB.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.MarkBatchSending(ctx, batch, ""); err != nil {
				return err
			}
			_, err := tx.RecordSent(ctx, results, 700, sms.SourceProvider)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if a.DB.Dialect() == store.Postgres {
		// Statistics as a running database has them (autovacuum keeps them);
		// a table grown from empty in seconds would be planned as tiny.
		if _, err := a.DB.Writer().ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(a.Handler)
	defer srv.Close()
	url := srv.URL + "/webhooks/kolmeya/kolmeya/" + benchHookSecret
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	var next atomic.Int64
	var peak atomic.Uint64
	stop := make(chan struct{})
	go sampleHeap(&peak, stop)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(targets) {
					return
				}
				body, _ := json.Marshal(map[string]any{"id": targets[i].pmid, "reference": targets[i].ref, "status_code": 3, "status": "entregue"})
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("webhook answered %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	left, err := a.DB.ListMessages(ctx, store.MessageFilter{States: []sms.State{sms.StateSent}, Limit: 1})
	if err != nil || len(left) != 0 {
		b.Fatalf("messages still sent after their webhooks were acknowledged: %d, %v", len(left), err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "webhooks/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
