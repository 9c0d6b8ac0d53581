package app_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// BenchmarkKolmeyaSend measures messages per second from Submit (batches of
// 1000, as the batch API stores them) until every message is "sent" through
// the Kolmeya adapter to the fake Kolmeya over loopback (1000 per request),
// and checks the fake accepted each exactly once. One b.N is one message.
func BenchmarkKolmeyaSend(b *testing.B) { benchDialects(b, benchKolmeyaSend) }

func benchKolmeyaSend(b *testing.B, dsn string) {
	ctx := context.Background()
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "fake-token", RateLimit: -1, SentAfter: time.Hour, FinalAfter: time.Hour})
	defer fake.Close()
	a := newBenchApp(b, dsn)
	addKolmeya(b, a, fake)
	if err := a.Dispatch.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer a.Dispatch.Stop(ctx)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go sampleHeap(&peak, stop)
	b.ResetTimer()
	cpu := startCPU(a)
	start := time.Now()
	for done := 0; done < b.N; done += 1000 {
		n := min(1000, b.N-done)
		reqs := make([]dispatch.Request, n)
		for i := range reqs {
			reqs[i] = dispatch.Request{To: fmt.Sprintf("+5511%09d", 900000000+(done+i)%100000000), Body: "Sua fatura vence amanhã.", Provider: "kolmeya"}
		}
		if _, err := a.Dispatch.Submit(ctx, reqs); err != nil {
			b.Fatal(err)
		}
	}
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
	elapsed := time.Since(start)
	b.StopTimer()
	cpu.report(b, b.N)
	close(stop)
	if got := fake.TotalAccepted(); got != b.N {
		b.Fatalf("the fake accepted %d messages, want %d (none lost, none twice)", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
