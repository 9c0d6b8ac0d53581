// Package kolmeyatest is a fake Kolmeya, as net/http/httptest is a fake
// network: a stateful server implementing exactly the contract in
// shared/kolmeya/CONTRACT.md, for tests, demos and benchmarks.
//
// It checks the Bearer token, answers only POST, paces clients with
// X-RateLimit headers and 429s, validates phones (invalids, duplicates, a
// blacklist and a do-not-disturb list), moves each accepted message from
// status 1 to 2 to a final status on an injected clock, posts status, reply
// and rejection webhooks, keeps a balance that falls with each segment, and
// answers every catalogue, reply and report endpoint. Fault knobs (latency,
// 5xx, 429, a send that is accepted and then never answered, answers
// garbled after the work is done, dropped, repeated and reordered webhooks) are settable while it runs, and counters
// tell tests how often each message was accepted.
//
// Time moves only when the clock passed in Options.Now moves; call Tick
// after moving it to apply the changes that fell due and post their
// webhooks, or Run to tick on a real timer.
package kolmeyatest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// BasePath is where the API lives on the fake, as on Kolmeya: the base URL
// of a fake at http://host:port is http://host:port/api/v1.
const BasePath = "/api/v1"

// Options configure a fake. The zero value is a working fake with token
// "test-token" on the real clock.
type Options struct {
	// Token is the only Bearer token accepted; empty means "test-token".
	Token string
	// Now is the fake's clock; nil means time.Now.
	Now func() time.Time
	// RateLimit is how many requests a window takes (500 when 0); a
	// negative number means no limit.
	RateLimit int
	// RateWindow is the rate limit's window, on the fake's clock; a minute
	// when 0.
	RateWindow time.Duration
	// StartBalance is the balance the account starts with; R$ 10.000,00
	// when 0.
	StartBalance sms.Money
	// PricePerSegment is what each accepted segment takes off the balance;
	// R$ 0,07 when 0.
	PricePerSegment sms.Money
	// SentAfter is how long an accepted message stays at status 1 before
	// moving to 2; 2 seconds when 0.
	SentAfter time.Duration
	// FinalAfter is how long a message stays at status 2 before its final
	// status; 10 seconds when 0.
	FinalAfter time.Duration
	// Outcomes weighs the final statuses; the zero value delivers every
	// message.
	Outcomes Outcomes
	// Segments are the account's cost centres; {109 CORPORATIVO} when nil.
	Segments []Catalogued
	// APIs are the account's routes; {47 Kolmeya} when nil.
	APIs []Catalogued
	// PageSize is how many replies a page of /sms/replys holds; 15 when 0.
	PageSize int
	// NotDisturb and Blacklist are phones (any form) refused from the start.
	NotDisturb []string
	Blacklist  []string
	// HTTPClient posts the webhooks; nil means a client with a 10-second
	// timeout.
	HTTPClient *http.Client
	// Logger receives a line per webhook failure; nil discards.
	Logger *slog.Logger
}

// Outcomes are relative weights of the final statuses of accepted messages.
// A message's fate is chosen by hashing its reference, so the same
// reference always meets the same fate.
type Outcomes struct {
	Delivered int // status 3
	Failed    int // status 4
	Rejected  int // status 5
	Expired   int // status 6
}

// Catalogued is an item of /sms/segments or /sms/apis.
type Catalogued struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Faults make the fake misbehave. Set them with SetFaults or UpdateFaults at
// any time; counts go down as the faults fire.
type Faults struct {
	// Latency delays every answer, on the real clock.
	Latency time.Duration
	// FailEvery makes every FailEvery-th request (counted over all
	// endpoints) answer 500, with nothing done.
	FailEvery int
	// FailNext makes the next FailNext requests answer 503, with nothing
	// done.
	FailNext int
	// FailNextSends makes the next FailNextSends send requests
	// (/sms/store or /sms/store-token) answer 503, with nothing done,
	// whatever other requests (polls, balance) come in between.
	FailNextSends int
	// RateLimitNext makes the next RateLimitNext requests answer 429 with
	// Retry-After RetryAfter (rounded up to seconds; 60 when 0).
	RateLimitNext int
	RetryAfter    time.Duration
	// HangAfterAccept, when positive, makes the HangAfterAccept-th send
	// request from now (/sms/store or /sms/store-token; 1 is the next one)
	// accept and record its messages, then never answer until the client
	// gives up.
	HangAfterAccept int
	// GarbleNext makes the next GarbleNext requests that get past the
	// other faults be carried out (a send is accepted) and answered 200
	// with a body cut short, not JSON, as a proxy mangling answers would.
	GarbleNext int
	// DropWebhookEvery drops every n-th webhook; RepeatWebhookEvery posts
	// every n-th twice; ReorderWebhooks posts each Tick's webhooks last
	// first.
	DropWebhookEvery   int
	RepeatWebhookEvery int
	ReorderWebhooks    bool
}

// Handler is the fake Kolmeya as an http.Handler, usable behind any
// listener. It is safe for concurrent use.
type Handler struct {
	token     string
	now       func() time.Time
	rateLimit int
	window    time.Duration
	price     sms.Money
	sentAfter time.Duration
	final     time.Duration
	outcomes  Outcomes
	segments  []Catalogued
	apis      []Catalogued
	pageSize  int
	client    *http.Client
	log       *slog.Logger
	loc       *time.Location
	closed    chan struct{}
	closeOnce sync.Once
	inFlight  atomic.Int64

	mu            sync.Mutex
	faults        Faults
	seq           uint64 // ids
	jobSeq        int64
	reqCount      uint64 // every request, for FailEvery
	counts        map[string]int
	windowStart   time.Time
	windowCount   int
	balance       sms.Money
	requests      map[string]*request // by id
	byRef         map[string]*request // by top-level reference, the latest
	byJob         map[int64]*request
	jobs          []*request          // in order of creation
	messages      map[string]*message // by id
	byMsgRef      map[string]*message // by message reference, the latest
	byPhone       map[string]*message // by national phone, the latest
	order         []*message          // in order of acceptance
	accepted      map[string]int
	totalAccepted int
	blacklist     map[string]map[string]bool // national phone → documents ("" blocks every send)
	notDisturb    map[string]bool
	replies       []*reply
	webReplies    []*webReply
	accesses      []access
	events        eventHeap
	hooks         []webhook
	hookSeq       int
	hooksPosted   int
	hooksFailed   int
}

// NewHandler returns a fake with nothing sent yet.
func NewHandler(o Options) *Handler {
	h := &Handler{
		token: o.Token, now: o.Now, rateLimit: o.RateLimit, window: o.RateWindow,
		price: o.PricePerSegment, sentAfter: o.SentAfter, final: o.FinalAfter, outcomes: o.Outcomes,
		segments: o.Segments, apis: o.APIs, pageSize: o.PageSize, client: o.HTTPClient, log: o.Logger,
		loc: loadSaoPaulo(), closed: make(chan struct{}), balance: o.StartBalance, jobSeq: 1380000,
		counts: map[string]int{}, requests: map[string]*request{}, byRef: map[string]*request{},
		byJob: map[int64]*request{}, messages: map[string]*message{}, byMsgRef: map[string]*message{},
		byPhone: map[string]*message{}, accepted: map[string]int{},
		blacklist: map[string]map[string]bool{}, notDisturb: map[string]bool{},
	}
	if h.token == "" {
		h.token = "test-token"
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.rateLimit == 0 {
		h.rateLimit = 500
	}
	if h.window <= 0 {
		h.window = time.Minute
	}
	if h.price == 0 {
		h.price = 700
	}
	if h.balance == 0 {
		h.balance = 10000 * sms.MoneyScale
	}
	if h.sentAfter <= 0 {
		h.sentAfter = 2 * time.Second
	}
	if h.final <= 0 {
		h.final = 10 * time.Second
	}
	if h.outcomes.Delivered+h.outcomes.Failed+h.outcomes.Rejected+h.outcomes.Expired <= 0 {
		h.outcomes = Outcomes{Delivered: 1}
	}
	if h.segments == nil {
		h.segments = []Catalogued{{ID: 109, Name: "CORPORATIVO"}}
	}
	if h.apis == nil {
		h.apis = []Catalogued{{ID: 47, Name: "Kolmeya"}}
	}
	if h.pageSize <= 0 {
		h.pageSize = 15
	}
	if h.client == nil {
		h.client = &http.Client{Timeout: 10 * time.Second}
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range o.NotDisturb {
		h.notDisturb[national(p)] = true
	}
	for _, p := range o.Blacklist {
		h.blockLocked(national(p), "")
	}
	return h
}

// Close releases requests left hanging by HangAfterAccept or Latency. The
// handler still answers afterwards, without hanging.
func (h *Handler) Close() { h.closeOnce.Do(func() { close(h.closed) }) }

// Server is a fake Kolmeya listening on a loopback port.
type Server struct {
	*Handler
	ts *httptest.Server
}

// NewServer starts a fake on a loopback port. Close it when done.
func NewServer(o Options) *Server {
	h := NewHandler(o)
	return &Server{Handler: h, ts: httptest.NewServer(h)}
}

// URL returns the base URL to give a client: http://127.0.0.1:port/api/v1.
func (s *Server) URL() string { return s.ts.URL + BasePath }

// Close releases hanging requests and shuts the server down.
func (s *Server) Close() {
	s.Handler.Close()
	s.ts.Close()
}

// SetFaults replaces the fault knobs.
func (h *Handler) SetFaults(f Faults) {
	h.mu.Lock()
	h.faults = f
	h.mu.Unlock()
}

// UpdateFaults changes the fault knobs in place, atomically.
func (h *Handler) UpdateFaults(fn func(*Faults)) {
	h.mu.Lock()
	fn(&h.faults)
	h.mu.Unlock()
}

// Faults returns the fault knobs as they stand, counts included.
func (h *Handler) Faults() Faults {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.faults
}

// InFlight returns how many requests the fake is working on or holding
// (Latency, HangAfterAccept) right now: a request whose client gave up is
// still counted until the fake notices, as a real server's would be.
func (h *Handler) InFlight() int { return int(h.inFlight.Load()) }

// Requests returns how many requests reached endpoint, named as in the
// contract ("/sms/store", "/sms/reports/statuses/{jobId}",
// "/sms/jobs/{jobId}/pause"), whatever their answer.
func (h *Handler) Requests(endpoint string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[endpoint]
}

// Accepted returns how many times a message with reference ref was
// accepted.
func (h *Handler) Accepted(ref string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.accepted[ref]
}

// TotalAccepted returns how many messages were accepted in all.
func (h *Handler) TotalAccepted() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.totalAccepted
}

// Balance returns the account's balance.
func (h *Handler) Balance() sms.Money {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.balance
}

// reply is what an endpoint answers: a status and a body to encode (nil
// for none), or hang to answer nothing until the client leaves.
type answer struct {
	status int
	body   any
	hang   bool
}

func errorsBody(msgs ...string) map[string][]string { return map[string][]string{"errors": msgs} }

func fail(status int, msgs ...string) answer {
	return answer{status: status, body: errorsBody(msgs...)}
}

func ok(body any) answer { return answer{status: http.StatusOK, body: body} }

// route is an endpoint of the contract.
type route struct {
	name string // as counted by Requests
	fn   func(h *Handler, r *http.Request, body []byte, param string) answer
}

// lookupRoute finds the endpoint of path (already without BasePath) and the
// job id in it, if any.
func lookupRoute(path string) (route, string, bool) {
	switch path {
	case "/sms/store":
		return route{path, (*Handler).store}, "", true
	case "/sms/store-token":
		return route{path, (*Handler).storeToken}, "", true
	case "/sms/status/request":
		return route{path, (*Handler).statusRequest}, "", true
	case "/sms/status/message":
		return route{path, (*Handler).statusMessage}, "", true
	case "/sms/balance":
		return route{path, (*Handler).balanceAnswer}, "", true
	case "/sms/segments":
		return route{path, (*Handler).segmentsAnswer}, "", true
	case "/sms/apis":
		return route{path, (*Handler).apisAnswer}, "", true
	case "/sms/layouts":
		return route{path, (*Handler).layoutsAnswer}, "", true
	case "/sms/replys":
		return route{path, (*Handler).repliesAnswer}, "", true
	case "/sms/replys-web":
		return route{path, (*Handler).webRepliesAnswer}, "", true
	case "/sms/reports/jobs":
		return route{path, (*Handler).reportJobs}, "", true
	case "/sms/reports/statuses":
		return route{path, (*Handler).reportStatuses}, "", true
	case "/sms/reports/quantity-jobs":
		return route{path, (*Handler).quantityJobs}, "", true
	case "/sms/accesses":
		return route{path, (*Handler).accessesAnswer}, "", true
	case "/blacklist/store":
		return route{path, (*Handler).blacklistStore}, "", true
	case "/blacklist/destroy":
		return route{path, (*Handler).blacklistDestroy}, "", true
	}
	if id, ok := strings.CutPrefix(path, "/sms/reports/statuses/"); ok && id != "" && !strings.Contains(id, "/") {
		return route{"/sms/reports/statuses/{jobId}", (*Handler).reportJobStatuses}, id, true
	}
	if rest, ok := strings.CutPrefix(path, "/sms/jobs/"); ok {
		if id, ok := strings.CutSuffix(rest, "/pause"); ok && id != "" && !strings.Contains(id, "/") {
			return route{"/sms/jobs/{jobId}/pause", (*Handler).jobPause}, id, true
		}
		if id, ok := strings.CutSuffix(rest, "/play"); ok && id != "" && !strings.Contains(id, "/") {
			return route{"/sms/jobs/{jobId}/play", (*Handler).jobPlay}, id, true
		}
	}
	return route{}, "", false
}

// ServeHTTP answers one request of the contract.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	path, under := strings.CutPrefix(r.URL.Path, BasePath)
	rt, param, found := lookupRoute(path)
	if !under || !found || r.Method != http.MethodPost {
		writeJSON(w, http.StatusNotFound, errorsBody("Not found."))
		return
	}
	h.mu.Lock()
	h.counts[rt.name]++
	h.mu.Unlock()
	auth := r.Header.Get("Authorization")
	tok, bearer := strings.CutPrefix(auth, "Bearer ")
	if !bearer || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(h.token)) != 1 {
		writeJSON(w, http.StatusUnauthorized, errorsBody("Unauthenticated."))
		return
	}
	if !h.pause(r.Context(), h.Faults().Latency) {
		return
	}
	if a, stop := h.gate(w, rt.name == "/sms/store" || rt.name == "/sms/store-token"); stop {
		writeJSON(w, a.status, a.body)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorsBody("Corpo da requisição ilegível."))
		return
	}
	a := rt.fn(h, r, body, param)
	if a.status < 300 && h.garble() {
		data, _ := json.Marshal(a.body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
		return
	}
	if a.hang {
		select {
		case <-r.Context().Done():
		case <-h.closed:
		}
		return
	}
	writeJSON(w, a.status, a.body)
}

// gate applies the rate limit and the request-level faults, and sets the
// rate-limit headers. It returns the answer when the request stops here.
func (h *Handler) gate(w http.ResponseWriter, send bool) (answer, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	h.reqCount++
	if h.rateLimit > 0 {
		if h.windowStart.IsZero() || !now.Before(h.windowStart.Add(h.window)) {
			h.windowStart, h.windowCount = now, 0
		}
		h.windowCount++
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(h.rateLimit))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(0, h.rateLimit-h.windowCount)))
		if h.windowCount > h.rateLimit {
			w.Header().Set("Retry-After", seconds(h.windowStart.Add(h.window).Sub(now)))
			return fail(http.StatusTooManyRequests, "Too Many Attempts."), true
		}
	}
	f := &h.faults
	switch {
	case f.RateLimitNext > 0:
		f.RateLimitNext--
		d := f.RetryAfter
		if d <= 0 {
			d = time.Minute
		}
		w.Header().Set("Retry-After", seconds(d))
		return fail(http.StatusTooManyRequests, "Too Many Attempts."), true
	case f.FailNext > 0:
		f.FailNext--
		return fail(http.StatusServiceUnavailable, "Serviço indisponível."), true
	case send && f.FailNextSends > 0:
		f.FailNextSends--
		return fail(http.StatusServiceUnavailable, "Serviço indisponível."), true
	case f.FailEvery > 0 && h.reqCount%uint64(f.FailEvery) == 0:
		return fail(http.StatusInternalServerError, "Server Error"), true
	}
	return answer{}, false
}

// garble reports whether this answer is to be garbled (Faults.GarbleNext).
func (h *Handler) garble() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.faults.GarbleNext > 0 {
		h.faults.GarbleNext--
		return true
	}
	return false
}

// seconds renders d as whole seconds, rounded up, at least 1.
func seconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}

// pause waits d on the real clock; false means the client left.
func (h *Handler) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-h.closed:
		return true
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"errors":["Server Error"]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// decode reads a request body into v; an empty body reads as {}.
func decode(body []byte, v any) *answer {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		a := fail(http.StatusUnprocessableEntity, "JSON inválido: "+err.Error())
		return &a
	}
	return nil
}
