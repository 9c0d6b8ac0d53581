package bench

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkHTTPCeiling is the webhooks scenario with nothing behind the
// webhook: 64 callers post the flat shape's body to a handler that reads it
// and answers 200, server and callers in one process on loopback, with the
// scenario's client. Its requests/s is the most any one-report-per-call
// webhook load can reach on the machine, whatever Recado does with them
// (docs/BENCHMARKS.md). One b.N is one request.
func BenchmarkHTTPCeiling(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}}
	url := "http://" + ln.Addr().String() + "/webhooks/kolmeya/kolmeya/secret"
	body := statusWebhook(nil, "bw-ceiling-", 0, 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if status, err := postRaw(context.Background(), client, url, body); err != nil || status != 200 {
					b.Errorf("post: %d, %v", status, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}
