// Package periodic runs a piece of background upkeep on a ticker (the
// sweepers that restart work whose process died, SQLite's checkpoints) until
// it is stopped.
package periodic

import (
	"context"
	"sync"
	"time"
)

// Start calls fn every interval, in a goroutine of its own, until the
// returned stop is called. fn gets ctx's values but not its cancellation:
// only stop ends the loop, cancelling the context fn was given and waiting
// for a call in progress to return. stop may be called more than once.
func Start(ctx context.Context, interval time.Duration, fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			fn(ctx)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); <-done }) }
}
