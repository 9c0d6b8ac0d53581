package kolmeya

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// simAccount counts requests in fixed windows as Kolmeya's rate limit is
// assumed to, and answers with its headers.
type simAccount struct {
	limit   int
	window  time.Duration
	start   time.Time
	count   int
	refused int
}

func (s *simAccount) hit(now time.Time) (int, http.Header) {
	if s.start.IsZero() || !now.Before(s.start.Add(s.window)) {
		s.start, s.count = now, 0
	}
	s.count++
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, s.limit-s.count)))
	if s.count > s.limit {
		s.refused++
		h.Set("Retry-After", strconv.Itoa(int(s.start.Add(s.window).Sub(now).Seconds())+1))
		return http.StatusTooManyRequests, h
	}
	return http.StatusOK, h
}

func TestLimiterPacesBeforeTheLimit(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterOptions{Now: clk.Now, Sleep: clk.Sleep})
	acct := &simAccount{limit: 100, window: time.Minute}
	start := clk.Now()
	var waits []time.Duration
	for range 350 {
		before := clk.Now()
		done, err := l.Reserve(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, clk.Now().Sub(before))
		done(acct.hit(clk.Now()))
	}
	if acct.refused != 0 {
		t.Errorf("%d requests refused with 429: the limiter did not pace", acct.refused)
	}
	if took := clk.Now().Sub(start); took < 3*time.Minute || took > 4*time.Minute {
		t.Errorf("350 requests at 100 a minute took %v, want between 3 and 4 minutes", took)
	}
	// The first 90 of the first window go at once; the last ten are spread.
	for i, w := range waits[:90] {
		if w != 0 {
			t.Fatalf("request %d waited %v with plenty left", i, w)
		}
	}
	spread := 0
	for _, w := range waits[90:100] {
		if w > 0 && w < time.Minute {
			spread++
		}
	}
	if spread < 8 {
		t.Errorf("the last tenth of the window was not spread: waits %v", waits[88:101])
	}
	for i, w := range waits {
		if w > time.Minute {
			t.Errorf("request %d waited %v, more than a window", i, w)
		}
	}
}

func TestLimiterWaitsOutRetryAfter(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterOptions{Now: clk.Now, Sleep: clk.Sleep})
	done, err := l.Reserve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Retry-After", "30")
	done(http.StatusTooManyRequests, h)
	done(http.StatusTooManyRequests, h) // a second call changes nothing
	before := clk.Now()
	if _, err := l.Reserve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if waited := clk.Now().Sub(before); waited != 30*time.Second {
		t.Errorf("waited %v after a 429 with Retry-After 30, want 30s", waited)
	}
	// Without Retry-After the wait is a minute.
	done, _ = l.Reserve(t.Context())
	done(http.StatusTooManyRequests, http.Header{})
	before = clk.Now()
	_, _ = l.Reserve(t.Context())
	if waited := clk.Now().Sub(before); waited != time.Minute {
		t.Errorf("waited %v after a bare 429, want 1m", waited)
	}
}

func TestLimiterRespectsDeadline(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterOptions{Now: clk.Now, Sleep: clk.Sleep})
	done, _ := l.Reserve(t.Context())
	h := http.Header{}
	h.Set("Retry-After", "120")
	done(http.StatusTooManyRequests, h)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	_, err := l.Reserve(ctx)
	if sms.KindOf(err) != sms.KindRateLimited || sms.RetryAfter(err) != 120*time.Second {
		t.Errorf("wait past the deadline: %v, want KindRateLimited after 2m", err)
	}
	if len(clk.Slept()) != 0 {
		t.Errorf("slept %v though the wait could not finish", clk.Slept())
	}
}

func TestLimiterWaitHonoursCancel(t *testing.T) {
	l := NewLimiter(LimiterOptions{}) // real clock and timers
	done, _ := l.Reserve(t.Context())
	h := http.Header{}
	h.Set("Retry-After", "3600")
	done(http.StatusTooManyRequests, h)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(5*time.Millisecond, cancel)
	start := time.Now()
	_, err := l.Reserve(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Reserve = %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("cancel took %v to end the wait", took)
	}
	if l.inflight != 0 {
		t.Errorf("a canceled wait left %d in flight", l.inflight)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterOptions{Now: clk.Now, Sleep: clk.Sleep})
	acct := &simAccount{limit: 50, window: time.Minute}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 40 {
				done, err := l.Reserve(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				status, h := acct.hit(clk.Now())
				mu.Unlock()
				done(status, h)
			}
		})
	}
	wg.Wait()
	if l.inflight != 0 {
		t.Errorf("%d left in flight", l.inflight)
	}
	// Goroutines sharing one fake clock may overlap in ways a real clock
	// would not; pacing must still keep refusals rare.
	if acct.refused > 10 {
		t.Errorf("%d of 320 concurrent requests refused", acct.refused)
	}
}

func TestLimitersShareByAccount(t *testing.T) {
	ls := NewLimiters()
	a := ls.For("https://k.example/api/v1/", "t1", LimiterOptions{})
	if b := ls.For("https://k.example/api/v1", "t1", LimiterOptions{}); a != b {
		t.Error("same account, different limiters")
	}
	if c := ls.For("https://k.example/api/v1", "t2", LimiterOptions{}); a == c {
		t.Error("different tokens share a limiter")
	}
	if d := ls.For("https://other.example/api/v1", "t1", LimiterOptions{}); a == d {
		t.Error("different hosts share a limiter")
	}
}
