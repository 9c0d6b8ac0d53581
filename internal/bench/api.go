package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
)

// apiScenario is an open-loop load: requests start at a fixed rate whatever
// the answers do (Config.Rate a second), single sends (POST
// /api/v1/messages through Kolmeya; Config.SendShare of them, half by
// default) and reads (a message with its events, a page of messages, a
// contact search, a contact, in turn). A request's
// latency counts from when it was due to start, so a server that falls
// behind shows it in the figures instead of slowing the load down.
func apiScenario() Scenario {
	return Scenario{
		Name:     "api",
		Doc:      "open-loop single sends and reads at a fixed rate: p50/p99 per kind",
		DefaultN: 10_000,
		Unit:     "requests",
		Run:      runAPI,
	}
}

const apiSeedMessages = 1000

func runAPI(ctx context.Context, env *Env, m *Meter, n, _ int) ([]string, error) {
	rate := env.Config.Rate
	m.SetRate(rate)
	prefix := "ba-" + env.RunID + "-"
	msgIDs, contactIDs, err := seedReads(ctx, env, prefix)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	type sendBody struct {
		To        string `json:"to"`
		Body      string `json:"body"`
		Provider  string `json:"provider"`
		Reference string `json:"reference"`
	}
	var sends, reads atomic.Int64
	var failures atomic.Int64
	var firstErr sync.Once
	var failure error
	share := max(env.Config.SendShare, 0)
	isSend := func(i int) bool { return int(float64(i+1)*share) > int(float64(i)*share) }
	do := func(i int) (string, error) {
		if isSend(i) {
			sends.Add(1)
			body, _ := json.Marshal(sendBody{To: phone(apiSeedMessages + i), Body: "Seu código é 123456.",
				Provider: Provider, Reference: prefix + "s" + strconv.Itoa(i)})
			st, out, err := env.Post(ctx, "/api/v1/messages", body)
			if err == nil && st != 202 {
				err = fmt.Errorf("POST /messages answered %d: %.300s", st, out)
			}
			return "send", err
		}
		r := int(reads.Add(1) - 1)
		var path string
		switch r % 4 {
		case 0:
			path = "/api/v1/messages/" + strconv.FormatInt(msgIDs[(r/4)%len(msgIDs)], 10)
		case 1:
			path = "/api/v1/messages?state=sent&limit=20"
		case 2:
			path = "/api/v1/contacts?q=Fulana&limit=20"
		default:
			path = "/api/v1/contacts/" + strconv.FormatInt(contactIDs[(r/4)%len(contactIDs)], 10)
		}
		st, out, err := env.Get(ctx, path)
		if err == nil && st != 200 {
			err = fmt.Errorf("GET %s answered %d: %.300s", path, st, out)
		}
		return "read", err
	}
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	m.Start()
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind, err := do(i)
			m.RecordAs(kind, time.Since(due))
			if err != nil {
				failures.Add(1)
				firstErr.Do(func() { failure = err })
			}
		}()
	}
	wg.Wait()
	m.Stop()
	if failure != nil {
		return nil, fmt.Errorf("%d of %d requests failed; the first: %w", failures.Load(), n, failure)
	}
	if err := env.WaitSent(ctx); err != nil {
		return nil, err
	}
	check, err := env.CheckAccepted(func(yield func(string) bool) {
		for i := range n {
			if isSend(i) && !yield(prefix+"s"+strconv.Itoa(i)) {
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}
	lag := m.Elapsed() - time.Duration(n-1)*interval
	return []string{fmt.Sprintf("%d requests started on schedule at %d/s; the last answered %s after the last start", n, rate, fmtDur(lag)),
		check}, nil
}

// seedReads gives the reads something to find: messages sent through
// Kolmeya, and contacts named "Fulana Teste n".
func seedReads(ctx context.Context, env *Env, prefix string) (msgIDs, contactIDs []int64, err error) {
	for done := 0; done < apiSeedMessages; done += 1000 {
		reqs := make([]dispatch.Request, 1000)
		for i := range reqs {
			reqs[i] = dispatch.Request{To: phone(done + i), Body: "Olá! Seu pedido saiu para entrega.", Provider: Provider,
				Reference: prefix + "r" + strconv.Itoa(done+i)}
		}
		ms, err := env.App.Dispatch.Submit(ctx, reqs)
		if err != nil {
			return nil, nil, err
		}
		for _, msg := range ms {
			msgIDs = append(msgIDs, msg.ID)
		}
	}
	for i := range 200 {
		c, err := env.App.DB.CreateContact(ctx, sms.Contact{Name: "Fulana Teste " + strconv.Itoa(i),
			Phone: phone(50_000_000 + i), LineType: string(sms.LineMobile)})
		if err != nil {
			return nil, nil, err
		}
		contactIDs = append(contactIDs, c.ID)
	}
	return msgIDs, contactIDs, env.WaitSent(ctx)
}
