package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// sendScenario posts batches of 1000 messages to POST /api/v1/messages/batch
// from several clients at once and measures until every message is sent
// through the Kolmeya adapter to the fake Kolmeya; the fake must have
// accepted each exactly once.
func sendScenario() Scenario {
	return Scenario{
		Name:               "send",
		Doc:                "API batch sends (1000 per request) to sent, through the Kolmeya adapter to the fake",
		DefaultN:           100_000,
		DefaultConcurrency: 2,
		Unit:               "messages",
		Run:                runSend,
	}
}

func runSend(ctx context.Context, env *Env, m *Meter, n, concurrency int) ([]string, error) {
	prefix := "bs-" + env.RunID + "-"
	ref := func(i int) string { return prefix + fmt.Sprint(i) }
	bodies := make(chan []byte, concurrency*2)
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	go func() {
		defer close(bodies)
		type msg struct {
			To        string `json:"to"`
			Body      string `json:"body"`
			Provider  string `json:"provider"`
			Reference string `json:"reference"`
		}
		for done := 0; done < n; done += 1000 {
			msgs := make([]msg, min(1000, n-done))
			for i := range msgs {
				msgs[i] = msg{To: phone(done + i), Body: "Sua fatura vence amanhã. Pague pelo app.", Provider: Provider, Reference: ref(done + i)}
			}
			body, _ := json.Marshal(map[string]any{"messages": msgs})
			select {
			case bodies <- body:
			case <-genCtx.Done():
				return
			}
		}
	}()
	m.Start()
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range bodies {
				start := time.Now()
				status, out, err := env.Post(ctx, "/api/v1/messages/batch", body)
				m.Record(time.Since(start))
				if err == nil && status != 202 {
					err = fmt.Errorf("POST /messages/batch answered %d: %.300s", status, out)
				}
				if err != nil {
					errs <- err
					stopGen()
					return
				}
			}
		}()
	}
	wg.Wait()
	accepted := m.Elapsed()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := env.WaitSent(ctx); err != nil {
		return nil, err
	}
	m.Stop()
	m.Extra("accepted/s", float64(n)/accepted.Seconds())
	check, err := env.CheckAccepted(func(yield func(string) bool) {
		for i := range n {
			if !yield(ref(i)) {
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return []string{check}, nil
}
