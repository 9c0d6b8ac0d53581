package kolmeya

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
)

// testToken is an obviously fake token.
const testToken = "tok-fake-0000"

// fakeClock is a clock that moves only when told, or when something sleeps
// on it; it records the sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 11, 16, 14, 30, 0, 0, SaoPaulo())}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Sleep moves the clock instead of waiting.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	c.mu.Unlock()
	return nil
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newFake starts a fake Kolmeya on clk, closed with the test.
func newFake(t *testing.T, clk *fakeClock, o kolmeyatest.Options) *kolmeyatest.Server {
	t.Helper()
	o.Token = testToken
	if o.Now == nil {
		o.Now = clk.Now
	}
	srv := kolmeyatest.NewServer(o)
	t.Cleanup(srv.Close)
	return srv
}

// newTestClient returns a client of srv on clk, with fast retries.
func newTestClient(t *testing.T, srv *kolmeyatest.Server, clk *fakeClock, mod ...func(*ClientOptions)) *Client {
	t.Helper()
	o := ClientOptions{BaseURL: srv.URL(), Token: testToken, Now: clk.Now, Sleep: clk.Sleep,
		Timeout: 5 * time.Second, RetryBackoff: time.Millisecond}
	for _, m := range mod {
		m(&o)
	}
	return NewClient(o)
}

// phone returns the i-th of a range of obviously fake mobiles, with 55.
func phone(i int) string { return "55119000" + pad5(i) }

func pad5(i int) string {
	s := []byte("00000")
	for j := 4; j >= 0 && i > 0; j-- {
		s[j] = byte('0' + i%10)
		i /= 10
	}
	return string(s)
}

// contextCanceled returns a context already canceled.
func contextCanceled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
