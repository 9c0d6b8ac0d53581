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

// webhooksScenario posts one "delivered" status webhook per message, in
// Kolmeya's flat shape, to /webhooks/kolmeya/{provider}/{secret} from many
// callers at once, and measures until the last is answered: a 200 means the
// report is stored. Every message must then be delivered.
func webhooksScenario() Scenario {
	return Scenario{
		Name:               "webhooks",
		Doc:                "Kolmeya status webhooks (one message each) to all applied",
		DefaultN:           1_000_000,
		DefaultConcurrency: 64,
		Unit:               "webhooks",
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
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				ref := prefix + strconv.Itoa(i)
				body = append(body[:0], `{"id":"km-`...)
				body = append(body, ref...)
				body = append(body, `","reference":"`...)
				body = append(body, ref...)
				body = append(body, `","status_code":3,"status":"entregue"}`...)
				start := time.Now()
				status, err := postRaw(ctx, env.Client, url, body)
				m.Record(time.Since(start))
				if err == nil && status != 200 {
					err = fmt.Errorf("webhook answered %d", status)
				}
				if err != nil {
					errs <- err
					next.Store(int64(n)) // stop the others
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
	return []string{fmt.Sprintf("all %d messages delivered once their webhook was answered", n)}, nil
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
