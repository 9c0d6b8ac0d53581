package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// webhooksScenario posts a "delivered" status report for each of N
// messages to /webhooks/kolmeya/{provider}/{secret} from many callers at
// once, and measures until the last is answered: a 200 means the reports
// are stored. Each webhook carries one report in Kolmeya's flat shape, or
// Config.PerWebhook of them in its documented shape (a "messages" array,
// as Kolmeya sends for a request's messages). Every message must then be
// delivered. Its throughput counts reports applied; its latencies are the
// webhooks'.
func webhooksScenario() Scenario {
	return Scenario{
		Name:               "webhooks",
		Doc:                "Kolmeya status reports, in webhooks of --per-webhook each (1: the flat shape), to all applied",
		DefaultN:           1_000_000,
		DefaultConcurrency: 64,
		Unit:               "reports",
		Run:                runWebhooks,
	}
}

func runWebhooks(ctx context.Context, env *Env, m *Meter, n, concurrency int) ([]string, error) {
	prefix := "bw-" + env.RunID + "-"
	if err := prepareSent(ctx, env, prefix, n); err != nil {
		return nil, fmt.Errorf("prepare %d sent messages: %w", n, err)
	}
	before, err := env.App.DB.CountMessagesByState(ctx)
	if err != nil {
		return nil, err
	}
	url := env.URL + "/webhooks/kolmeya/" + Provider + "/" + env.HookSecret
	per := max(env.Config.PerWebhook, 1)
	calls := (n + per - 1) / per
	var next atomic.Int64
	errs := make(chan error, concurrency)
	m.Start()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			for {
				c := int(next.Add(1)) - 1
				if c >= calls || ctx.Err() != nil {
					return
				}
				body = statusWebhook(body[:0], prefix, c*per, min((c+1)*per, n))
				start := time.Now()
				status, err := postRaw(ctx, env.Client, url, body)
				m.Record(time.Since(start))
				if err == nil && status != 200 {
					err = fmt.Errorf("webhook answered %d", status)
				}
				if err != nil {
					errs <- err
					next.Store(int64(calls)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	m.Stop()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	after, err := env.App.DB.CountMessagesByState(ctx)
	if err != nil {
		return nil, err
	}
	if got := after[sms.StateDelivered] - before[sms.StateDelivered]; got != int64(n) {
		return nil, fmt.Errorf("%d webhooks answered 200, yet %d messages became delivered", n, got)
	}
	shape := "one report each, Kolmeya's flat shape"
	if per > 1 {
		shape = fmt.Sprintf("up to %d reports each, Kolmeya's documented shape", per)
	}
	return []string{fmt.Sprintf("all %d messages delivered once their webhook was answered (%d webhooks, %s)", n, calls, shape)}, nil
}

// statusWebhook appends to b the body of a webhook reporting messages
// prefix+from … prefix+(to-1) delivered: Kolmeya's flat shape for one, its
// documented shape (a request with a "messages" array) for more.
func statusWebhook(b []byte, prefix string, from, to int) []byte {
	report := func(b []byte, i int) []byte {
		ref := prefix + strconv.Itoa(i)
		b = append(b, `{"id":"km-`...)
		b = append(b, ref...)
		b = append(b, `","reference":"`...)
		b = append(b, ref...)
		return append(b, `","status_code":3,"status":"entregue"}`...)
	}
	if to-from == 1 {
		return report(b, from)
	}
	b = append(b, `{"id":"bench-req","reference":"bench-batch","messages":[`...)
	for i := from; i < to; i++ {
		if i > from {
			b = append(b, ',')
		}
		b = report(b, i)
	}
	return append(b, "]}"...)
}

func postRaw(ctx context.Context, c *http.Client, url string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// prepareSent stores n messages as sent by Kolmeya, with references
// prefix+i and Kolmeya ids "km-"+prefix+i, writing them straight through
// the store (as the send worker records an answer) rather than sending
// them: a million sends would take the fake's memory and most of the run.
// Their jobs are scheduled a day ahead, so no worker sends them meanwhile.
func prepareSent(ctx context.Context, env *Env, prefix string, n int) error {
	later := time.Now().Add(24 * time.Hour)
	db := env.App.DB
	for done := 0; done < n; done += 1000 {
		k := min(1000, n-done)
		reqs := make([]dispatch.Request, k)
		for i := range reqs {
			reqs[i] = dispatch.Request{To: phone(done + i), Body: "oi", Provider: Provider,
				Reference: prefix + strconv.Itoa(done+i), SendAt: &later}
		}
		ms, err := env.App.Dispatch.Submit(ctx, reqs)
		if err != nil {
			return err
		}
		results := make([]store.SentResult, k)
		for i, msg := range ms {
			results[i] = store.SentResult{Reference: msg.Reference, ProviderMessageID: "km-" + msg.Reference, ProviderJobID: "bench-req"}
		}
		err = db.InTx(ctx, func(tx *store.Tx) error {
			var batch int64
			if err := tx.QueryRowContext(ctx, `SELECT max(batch_id) FROM messages`).Scan(&batch); err != nil {
				return err
			}
			if _, err := tx.MarkBatchSending(ctx, batch, "bench"); err != nil {
				return err
			}
			_, err := tx.RecordSent(ctx, results, 700, sms.SourceProvider)
			return err
		})
		if err != nil {
			return err
		}
	}
	if db.Dialect() == store.Postgres {
		// Statistics as a running database has them (autovacuum keeps them);
		// a table grown from empty in seconds would be planned as tiny.
		if _, err := db.Writer().ExecContext(ctx, `ANALYZE`); err != nil {
			return err
		}
	}
	return nil
}
