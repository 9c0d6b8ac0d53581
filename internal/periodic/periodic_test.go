package periodic

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

type key struct{}

// TestStart: fn runs again and again with ctx's values; once stop returns
// it has stopped for good, a call in progress having seen its context end;
// cancelling the caller's context does not stop it.
func TestStart(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	var calls atomic.Int64
	var badValue, sawCancel atomic.Bool
	running := make(chan struct{}, 1)
	stop := Start(parent, time.Millisecond, func(ctx context.Context) {
		if ctx.Value(key{}) != "v" {
			badValue.Store(true)
		}
		if calls.Add(1) == 3 {
			running <- struct{}{}
			<-ctx.Done() // held until stop
			sawCancel.Store(true)
		}
	})
	cancelParent()
	<-running // the third call began after the caller's context ended
	stop()
	stop() // a second stop is harmless
	n := calls.Load()
	time.Sleep(20 * time.Millisecond)
	switch {
	case badValue.Load():
		t.Error("fn did not get the context's values")
	case !sawCancel.Load():
		t.Error("stop returned before the call in progress saw its context end")
	case calls.Load() != n || n != 3:
		t.Errorf("%d calls at stop, %d after; want 3 and no more", n, calls.Load())
	}
}
