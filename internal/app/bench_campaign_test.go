package app_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/store"
)

// BenchmarkCampaign measures a campaign of b.N recipients to the fake
// Kolmeya over loopback: from start (recipients written, fed in chunks,
// sent in batches of 1000 by 4 workers) until the campaign completes with
// every message accepted, and the peak heap (the fake's own records of
// every message included). The contacts are imported first, untimed. It
// fails unless the fake accepted each recipient's message exactly once. One
// b.N is one recipient.
func BenchmarkCampaign(b *testing.B) { benchDialects(b, benchCampaign) }

func benchCampaign(b *testing.B, dsn string) {
	ctx := context.Background()
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "fake-token", RateLimit: -1, SentAfter: time.Hour, FinalAfter: time.Hour})
	defer fake.Close()
	a := newBenchApp(b, dsn)
	addKolmeya(b, a, fake)
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprintln(pw, "nome,telefone,vencimento")
		for i := range b.N {
			fmt.Fprintf(pw, "Fulana Teste %d,+5511%09d,%02d/12\n", i, 900000000+i, i%28+1)
		}
		pw.Close()
	}()
	importStart := time.Now()
	im, err := a.Imports.RunFile(ctx, "bench.csv", pr, 0, imports.Options{List: "bench"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	imported := time.Since(importStart)
	always := campaign.AlwaysOpen()
	name, body, provider := "bench", "Olá {{primeiro_nome}}, sua fatura vence em {{vencimento}}.", "kolmeya"
	c, err := a.Campaigns.Create(ctx, campaign.Input{Name: &name, Body: &body, Provider: &provider, Window: &always,
		Audience: &store.Audience{Lists: []int64{*im.ListID}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
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
	if _, err := a.Campaigns.Start(ctx, c.ID); err != nil {
		b.Fatal(err)
	}
	for {
		got, err := a.DB.GetCampaign(ctx, c.ID)
		if err != nil {
			b.Fatal(err)
		}
		if got.State == store.CampaignCompleted {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cpu.report(b, b.N)
	close(stop)
	if got := fake.TotalAccepted(); got != b.N {
		b.Fatalf("the fake accepted %d messages, want %d", got, b.N)
	}
	if n := fake.Accepted(fmt.Sprintf("cp%d.%d", c.ID, 1)); n != 1 {
		b.Fatalf("the first recipient's message was accepted %d times", n)
	}
	// The fake keeps every message it accepted in this process's heap; the
	// live heap after a collection, taken at the end, is mostly its (a heap
	// profile shows it): Recado's own share of the peak is the difference.
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/imported.Seconds(), "import-rows/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "end-live-heap-MB")
}
