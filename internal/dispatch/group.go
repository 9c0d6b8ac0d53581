package dispatch

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Small Submit calls (single sends from the API, the web UI's actions) are
// group-committed, as ApplyStatuses does for status reports: while one
// transaction commits, the calls that arrive queue up, and the next
// transaction stores them all, their messages sharing batches and so send
// jobs. A thousand single sends a second then cost tens of transactions
// and jobs instead of a thousand of each, and a lone call waits for nothing.
// Under a steady load (calls closer together than busyGap) the loop also
// lingers up to groupLinger after the first call of a group for more to
// join it, as PostgreSQL's commit_delay does: at 500 single sends a second
// that halves the transactions and the queue's jobs (each job costs the one
// SQLite writer about 0.1 ms more when the queue marks it completed, in
// batches that hold the writer for milliseconds), which lowers the sends'
// tail latency more than the linger adds to their median (recado bench
// --scenario api). A call alone, or the first after a quiet spell, does
// not wait. Each call keeps its all-or-nothing answer: when a shared transaction
// fails (a reference already taken by one of them), each call is stored
// again in a transaction of its own, so that only the bad one fails.

const (
	// maxGroupedCall is the largest call that is grouped; larger ones fill
	// batches of their own.
	maxGroupedCall = 100
	// maxGroupedMessages bounds the messages one shared transaction stores.
	maxGroupedMessages = 2000
	// groupTimeout bounds one shared transaction: the callers' contexts do
	// not, as a commit must not be cut off for one of them.
	groupTimeout = 30 * time.Second
	// groupLinger is how long a group waits for more calls under load.
	groupLinger = 2 * time.Millisecond
	// busyGap is the gap between groups under which the load is steady
	// enough to linger.
	busyGap = 5 * time.Millisecond
)

// submitCall is one Submit waiting for its messages to be stored.
type submitCall struct {
	preps    []prepared
	maxBatch map[string]int // batch size by provider name
	done     chan submitResult
	// state is callWaiting until the loop takes the call (callTaken) or its
	// caller gives up first (callAbandoned); only one of the two happens,
	// so a caller that gave up never has its messages stored behind its
	// back, and one whose call was taken learns the outcome.
	state atomic.Int32
}

const (
	callWaiting int32 = iota
	callTaken
	callAbandoned
)

type submitResult struct {
	msgs []sms.Message
	err  error
}

// submitGrouped hands c to the group-commit loop and waits for its outcome.
func (d *Dispatcher) submitGrouped(ctx context.Context, c *submitCall) ([]sms.Message, error) {
	d.submitOnce.Do(func() {
		d.submitCh = make(chan *submitCall, 1024)
		// One loop: on SQLite there is one writer anyway, and a shared
		// transaction is what makes many small calls cheap on PostgreSQL.
		go d.submitLoop()
	})
	select {
	case d.submitCh <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-c.done:
		return r.msgs, r.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(callWaiting, callAbandoned) {
			return nil, ctx.Err()
		}
		// Taken: the transaction is under way and ends within
		// groupTimeout; its outcome is the answer.
		r := <-c.done
		return r.msgs, r.err
	}
}

// submitLoop stores queued calls, as many as are waiting, one transaction
// at a time. It runs for the life of the process.
func (d *Dispatcher) submitLoop() {
	var last time.Time // when the previous group started
	for first := range d.submitCh {
		start := time.Now()
		busy := start.Sub(last) < busyGap
		last = start
		var calls []*submitCall
		n := 0
		take := func(c *submitCall) {
			if c.state.CompareAndSwap(callWaiting, callTaken) {
				calls = append(calls, c)
				n += len(c.preps)
			}
		}
		take(first)
		// Take the calls waiting; under load, wait for more until the
		// linger ends, then take those waiting still.
		var linger *time.Timer
		if busy {
			linger = time.NewTimer(groupLinger)
		}
	collect:
		for n < maxGroupedMessages {
			select {
			case c := <-d.submitCh:
				take(c)
				continue
			default:
			}
			if linger == nil {
				break collect
			}
			select {
			case c := <-d.submitCh:
				take(c)
			case <-linger.C:
				linger = nil
			}
		}
		if linger != nil {
			linger.Stop()
		}
		if len(calls) > 0 {
			d.storeGroup(calls)
		}
	}
}

// storeGroup stores calls in one transaction, or each in its own when the
// shared one fails, and answers each call.
func (d *Dispatcher) storeGroup(calls []*submitCall) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	var out []sms.Message
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = d.storeCalls(ctx, tx, calls)
		return err
	})
	if err == nil {
		for _, c := range calls {
			c.done <- submitResult{msgs: out[:len(c.preps):len(c.preps)]}
			out = out[len(c.preps):]
		}
		return
	}
	if len(calls) == 1 {
		calls[0].done <- submitResult{err: err}
		return
	}
	// Each alone, so that only the bad one fails.
	for _, c := range calls {
		msgs, err := d.storeAlone(ctx, c)
		c.done <- submitResult{msgs: msgs, err: err}
	}
}

// storeAlone stores one call in a transaction of its own.
func (d *Dispatcher) storeAlone(ctx context.Context, c *submitCall) ([]sms.Message, error) {
	var out []sms.Message
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = d.storeCalls(ctx, tx, []*submitCall{c})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
