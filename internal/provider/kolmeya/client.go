package kolmeya

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// ClientOptions configure a Client. Only Token is required.
type ClientOptions struct {
	// BaseURL is the API's root; empty means DefaultBaseURL. Tests point it
	// at a kolmeyatest server.
	BaseURL string
	// Token is the account's API token, sent as a Bearer token.
	Token string
	// HTTPClient sends the requests; nil means a new http.Client.
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt, from sending to the last byte of the
	// answer, not counting the wait for the rate limit; 0 means 30 seconds.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives debug lines about requests and retries, never the
	// token; nil discards them.
	Logger *slog.Logger
	// Limiter paces the requests; nil means a Limiter of the client's own.
	// Clients of one account should share one (see Limiters).
	Limiter *Limiter
	// Sleep waits between retries and, for a Limiter the client makes, for
	// the rate limit; nil means a real timer. See LimiterOptions.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// ReadRetries is how many times a read that failed temporarily is tried
	// again; 0 means 2, a negative number none. Sends are never retried.
	ReadRetries int
	// RetryBackoff is the wait before the first retry of a read, doubled for
	// each next one; 0 means 500 milliseconds.
	RetryBackoff time.Duration
	// ReportLimit is the "limit" asked of /sms/reports/statuses; 0 means
	// 30000.
	ReportLimit int
}

// Client calls Kolmeya's API. It is safe for concurrent use. Every method
// that fails returns an error wrapping an *sms.Error: KindProviderTemporary
// for timeouts, broken connections and 5xx answers (the request may have
// been carried out), KindRateLimited with RetryAfter for 429,
// KindProviderPermanent for other refusals with Code CodeUnauthorized,
// CodeValidation or CodeNotFound, and KindInvalid for arguments refused
// before any request. A refusal's *APIError is in the chain.
type Client struct {
	base    string
	token   string
	http    *http.Client
	timeout time.Duration
	now     func() time.Time
	log     *slog.Logger
	limiter *Limiter
	sleep   func(ctx context.Context, d time.Duration) error
	retries int
	backoff time.Duration
	rlimit  int
}

// maxAnswer bounds the size of an answer read into memory: a report of 30000
// rows is about 15 MB.
const maxAnswer = 256 << 20

// NewClient returns a client for the account of o.Token. It does no I/O.
func NewClient(o ClientOptions) *Client {
	c := &Client{
		base:    strings.TrimRight(o.BaseURL, "/"),
		token:   o.Token,
		http:    o.HTTPClient,
		timeout: o.Timeout,
		now:     o.Now,
		log:     o.Logger,
		limiter: o.Limiter,
		sleep:   o.Sleep,
		retries: o.ReadRetries,
		backoff: o.RetryBackoff,
		rlimit:  o.ReportLimit,
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.limiter == nil {
		c.limiter = NewLimiter(LimiterOptions{Now: c.now, Sleep: c.sleep})
	}
	switch {
	case c.retries == 0:
		c.retries = 2
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = 500 * time.Millisecond
	}
	if c.rlimit <= 0 {
		c.rlimit = 30000
	}
	return c
}

// BaseURL returns the API root the client calls.
func (c *Client) BaseURL() string { return c.base }

// Limiter returns the limiter pacing the client.
func (c *Client) Limiter() *Limiter { return c.limiter }

// retry says whether a call may be repeated after a temporary failure.
type retry bool

const (
	noRetry    retry = false // sends: never repeated, a timeout may hide an acceptance
	idempotent retry = true  // reads and idempotent writes
)

// call posts in (nil means {}) to path and decodes the answer into out (nil
// ignores it). Reads are retried a few times on temporary failures.
func (c *Client) call(ctx context.Context, path string, in, out any, r retry) error {
	payload := []byte("{}")
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return sms.Errorf(sms.KindInternal, "encode request: %w", err)
		}
	}
	attempts := 1
	if r == idempotent {
		attempts += c.retries
	}
	for i := 0; ; i++ {
		err := c.post(ctx, path, payload, out)
		if err == nil || i+1 >= attempts || sms.KindOf(err) != sms.KindProviderTemporary || ctx.Err() != nil {
			return err
		}
		wait := c.backoff << i
		c.log.DebugContext(ctx, "kolmeya: retrying", "path", path, "attempt", i+2, "wait", wait, "err", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// post makes one HTTP attempt.
func (c *Client) post(ctx context.Context, path string, payload []byte, out any) error {
	done, err := c.limiter.Reserve(ctx)
	if err != nil {
		return transportError(err)
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		done(0, nil)
		return sms.Errorf(sms.KindInternal, "build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		done(0, nil)
		c.log.DebugContext(ctx, "kolmeya: request failed", "path", path, "err", err)
		return transportError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	done(resp.StatusCode, resp.Header)
	c.log.DebugContext(ctx, "kolmeya: request", "path", path, "status", resp.StatusCode,
		"bytes", len(body), "took", time.Since(start), "remaining", resp.Header.Get("X-RateLimit-Remaining"))
	if err != nil {
		return transportError(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return classify(DecodeAPIError(resp.StatusCode, body), resp.Header, c.now())
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &sms.Error{Kind: sms.KindProviderTemporary, Code: CodeBadResponse, Message: "empty answer"}
	}
	if err := decodeInto(body, out); err != nil {
		return &sms.Error{Kind: sms.KindProviderTemporary, Code: CodeBadResponse, Message: "unreadable answer", Err: err}
	}
	return nil
}

// decodeInto decodes an answer into out; a func(data) error takes the raw
// body, for answers of more than one shape.
func decodeInto(body []byte, out any) error {
	if f, ok := out.(func([]byte) error); ok {
		return f(body)
	}
	return json.Unmarshal(body, out)
}
