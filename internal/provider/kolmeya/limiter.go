package kolmeya

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// LimiterOptions configure a Limiter. The zero value is the production setup.
type LimiterOptions struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, whichever comes first, and returns
	// ctx's error in the second case. Nil means a real timer; tests pass one
	// that moves a fake clock.
	Sleep func(ctx context.Context, d time.Duration) error
	// Window is the assumed length of Kolmeya's rate-limit window; the
	// contract does not know it and assumes a minute.
	Window time.Duration
}

// Limiter paces the requests of one Kolmeya account, shared by every
// goroutine and every client using that account's token. It learns the limit
// and what is left of it from the X-RateLimit-Limit and X-RateLimit-Remaining
// headers of each answer. While more than a tenth of the limit remains,
// requests go at once; below that, the remaining ones are spread evenly over
// what is left of the assumed window, and with none left they wait for the
// window to end. After a 429 every request waits out its Retry-After. Waiting
// honours the caller's context and never spins.
type Limiter struct {
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	window time.Duration

	mu           sync.Mutex
	limit        int       // requests per window, 0 while unknown
	remaining    int       // lowest remaining seen in the current window, -1 while unknown
	resetAt      time.Time // when the current window is assumed to end
	next         time.Time // the earliest time for the next request
	blockedUntil time.Time // set by a 429
	inflight     int       // requests let through whose answer has not been seen
}

// NewLimiter returns a Limiter that knows nothing of the limit yet.
func NewLimiter(o LimiterOptions) *Limiter {
	l := &Limiter{now: o.Now, sleep: o.Sleep, window: o.Window, remaining: -1}
	if l.now == nil {
		l.now = time.Now
	}
	if l.sleep == nil {
		l.sleep = sleepCtx
	}
	if l.window <= 0 {
		l.window = time.Minute
	}
	return l
}

// sleepCtx waits d on a real timer, or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Reserve waits until a request may go and returns the function to call with
// the answer's status and headers (0 and nil when there was no answer);
// calling it more than once is harmless. When the wait would outlast ctx's
// deadline it returns at once an *sms.Error of kind KindRateLimited saying how
// long to wait; when ctx ends during the wait it returns ctx's error.
func (l *Limiter) Reserve(ctx context.Context) (done func(status int, h http.Header), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	now := l.now()
	wait := l.slotLocked(now).Sub(now)
	l.inflight++
	l.mu.Unlock()
	if wait > 0 {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			l.release()
			return nil, &sms.Error{Kind: sms.KindRateLimited, Code: CodeRateLimited, RetryAfter: wait,
				Message: "rate limit pacing: next request in " + wait.String()}
		}
		if err := l.sleep(ctx, wait); err != nil {
			l.release()
			return nil, err
		}
	}
	var once sync.Once
	return func(status int, h http.Header) { once.Do(func() { l.observe(status, h) }) }, nil
}

// slotLocked picks the time of the next request and moves the pacing state
// past it.
func (l *Limiter) slotLocked(now time.Time) time.Time {
	t := latest(now, l.blockedUntil, l.next)
	if l.limit <= 0 || l.remaining < 0 {
		return t
	}
	if !t.Before(l.resetAt) { // the window we knew is over: assume a fresh one
		l.remaining, l.resetAt = l.limit, t.Add(l.window)
	}
	est := l.remaining - l.inflight
	switch {
	case est <= 0:
		t = l.resetAt
		l.remaining, l.resetAt, l.next = l.limit, t.Add(l.window), t
	case est <= (l.limit+9)/10:
		l.next = t.Add(l.resetAt.Sub(t) / time.Duration(est))
	}
	return t
}

func (l *Limiter) release() {
	l.mu.Lock()
	if l.inflight > 0 {
		l.inflight--
	}
	l.mu.Unlock()
}

// observe records an answer's rate-limit headers.
func (l *Limiter) observe(status int, h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight > 0 {
		l.inflight--
	}
	now := l.now()
	if limit, ok := headerInt(h, "X-RateLimit-Limit"); ok && limit > 0 {
		l.limit = limit
	}
	if rem, ok := headerInt(h, "X-RateLimit-Remaining"); ok && l.limit > 0 {
		switch {
		case l.remaining < 0 || rem > l.remaining+l.inflight:
			// More left than reordered answers explain: a new window began.
			l.remaining, l.resetAt = rem, now.Add(l.window)
		case rem < l.remaining:
			l.remaining = rem
		}
	}
	if status == http.StatusTooManyRequests {
		until := now.Add(retryAfter(h, now))
		l.blockedUntil = latest(l.blockedUntil, until)
		if l.limit > 0 {
			// Kolmeya knows when its window ends better than we guess.
			l.remaining, l.resetAt = 0, until
		}
	}
}

// LimitState is what a Limiter last learned of the account's budget.
type LimitState struct {
	Limit        int       // requests a window allows
	Remaining    int       // requests left in the current window, as last seen
	ResetAt      time.Time // when the current window is assumed to end
	BlockedUntil time.Time // after a 429, when requests may go again; zero otherwise
}

// State returns the account's budget as the limiter knows it, and false
// while no answer has told it the limit yet. Once the assumed window is
// over, the whole limit is taken to be available again.
func (l *Limiter) State() (LimitState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit <= 0 || l.remaining < 0 {
		return LimitState{}, false
	}
	now := l.now()
	s := LimitState{Limit: l.limit, Remaining: l.remaining, ResetAt: l.resetAt}
	if !now.Before(l.resetAt) {
		s.Remaining, s.ResetAt = l.limit, now.Add(l.window)
	}
	if now.Before(l.blockedUntil) {
		s.BlockedUntil = l.blockedUntil
	}
	return s, true
}

func headerInt(h http.Header, key string) (int, bool) {
	if h == nil {
		return 0, false
	}
	v := strings.TrimSpace(h.Get(key))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n >= 0
}

func latest(t time.Time, others ...time.Time) time.Time {
	for _, o := range others {
		if o.After(t) {
			t = o
		}
	}
	return t
}

// Limiters hands out one Limiter per Kolmeya account, keyed by base URL and a
// hash of the token, so that every client of one account shares its pacing.
// The caller creates one and passes it to whatever builds clients (see
// TypeWith); it is safe for concurrent use.
type Limiters struct {
	mu sync.Mutex
	m  map[string]*Limiter
}

// NewLimiters returns an empty set of limiters.
func NewLimiters() *Limiters { return &Limiters{m: map[string]*Limiter{}} }

// For returns the account's limiter, making it with o the first time.
func (ls *Limiters) For(baseURL, token string, o LimiterOptions) *Limiter {
	sum := sha256.Sum256([]byte(token))
	key := strings.TrimRight(baseURL, "/") + "#" + hex.EncodeToString(sum[:])
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.m[key]
	if !ok {
		l = NewLimiter(o)
		ls.m[key] = l
	}
	return l
}
