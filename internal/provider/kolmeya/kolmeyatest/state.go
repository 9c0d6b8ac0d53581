package kolmeyatest

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"
)

// request is one accepted send request: a job, in Kolmeya's reports.
type request struct {
	id        string
	job       int64
	reference string
	token     bool
	webhook   string
	segment   string
	created   time.Time
	messages  []*message
	paused    bool
	held      []event // progression steps that fell due while paused
	rejected  bool
}

// finished reports whether no message of r can change any more.
func (r *request) finished() bool {
	if r.rejected {
		return true
	}
	for _, m := range r.messages {
		if m.code < 3 {
			return false
		}
	}
	return true
}

// message is one accepted message.
type message struct {
	id        string
	req       *request
	reference string
	phone     string // national digits
	body      string
	segments  int
	code      int
	outcome   int // the final code it is bound for
	created   time.Time
	changed   time.Time
}

// Status words by code; only codes are stable on Kolmeya.
var statusWords = map[int]string{1: "tentando enviar", 2: "enviado", 3: "entregue", 4: "não entregue", 5: "rejeitado", 6: "expirado"}

// newID returns a uuid-like id from the counter: deterministic, unique, and
// different for each kind of thing.
func (h *Handler) newIDLocked(kind uint32) string {
	h.seq++
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, h.seq)
}

// The kinds of id.
const (
	kindRequest uint32 = 0x0000a001
	kindMessage uint32 = 0x0000b002
	kindReply   uint32 = 0x0000c003
)

// outcomeFor picks a message's final code by hashing its reference.
func (h *Handler) outcomeFor(ref string) int {
	o := h.outcomes
	total := o.Delivered + o.Failed + o.Rejected + o.Expired
	f := fnv.New64a()
	_, _ = f.Write([]byte(ref))
	n := int(f.Sum64() % uint64(total))
	for _, c := range []struct{ w, code int }{{o.Delivered, 3}, {o.Failed, 4}, {o.Rejected, 5}, {o.Expired, 6}} {
		if n < c.w {
			return c.code
		}
		n -= c.w
	}
	return 3
}

// event is a progression step of a request's messages: step 1 moves them from
// 1 to 2, step 2 from 2 to their final code.
type event struct {
	due  time.Time
	seq  uint64
	req  *request
	step int
}

// eventHeap orders events by due time, then by scheduling order; its
// methods implement heap.Interface.
type eventHeap []event

func (e eventHeap) Len() int { return len(e) }
func (e eventHeap) Less(i, j int) bool {
	if !e[i].due.Equal(e[j].due) {
		return e[i].due.Before(e[j].due)
	}
	return e[i].seq < e[j].seq
}
func (e eventHeap) Swap(i, j int) { e[i], e[j] = e[j], e[i] }
func (e *eventHeap) Push(x any)   { *e = append(*e, x.(event)) }
func (e *eventHeap) Pop() any {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

func (h *Handler) scheduleLocked(r *request, step int, due time.Time) {
	h.seq++
	heap.Push(&h.events, event{due: due, seq: h.seq, req: r, step: step})
}

// advanceLocked applies every progression step due by now and queues the
// webhooks of the messages that reached a final status.
func (h *Handler) advanceLocked(now time.Time) {
	for len(h.events) > 0 && !h.events[0].due.After(now) {
		ev := heap.Pop(&h.events).(event)
		r := ev.req
		switch {
		case r.rejected:
			continue
		case r.paused:
			r.held = append(r.held, ev)
			continue
		}
		var finals []*message
		for _, m := range r.messages {
			switch {
			case ev.step == 1 && m.code == 1:
				m.code, m.changed = 2, ev.due
			case ev.step == 2 && m.code < 3:
				m.code, m.changed = m.outcome, ev.due
				finals = append(finals, m)
			}
		}
		if ev.step == 1 {
			h.scheduleLocked(r, 2, ev.due.Add(h.final))
		}
		if len(finals) > 0 {
			h.queueStatusLocked(r, finals)
		}
	}
}

// webhook is a POST waiting for the next Tick.
type webhook struct {
	url  string
	body []byte
}

func (h *Handler) queueLocked(url string, body any) {
	if url == "" {
		return
	}
	data, err := json.Marshal(body)
	if err != nil {
		return
	}
	h.hooks = append(h.hooks, webhook{url: url, body: data})
}

type statusItem struct {
	ID         string  `json:"id"`
	Reference  *string `json:"reference"`
	Phone      int64   `json:"phone,omitempty"`
	Status     string  `json:"status"`
	StatusCode int     `json:"status_code"`
}

func itemOf(m *message, withPhone bool) statusItem {
	it := statusItem{ID: m.id, Reference: nullable(m.reference), Status: statusWords[m.code], StatusCode: m.code}
	if withPhone {
		it.Phone = phoneInt(m.phone)
	}
	return it
}

func (h *Handler) queueStatusLocked(r *request, msgs []*message) {
	items := make([]statusItem, len(msgs))
	for i, m := range msgs {
		items[i] = itemOf(m, false)
	}
	h.queueLocked(r.webhook, map[string]any{"id": r.id, "reference": nullable(r.reference), "messages": items})
}

// nullable returns nil for "", so that it encodes as null as Kolmeya does.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Tick applies the status changes that fell due on the fake's clock and
// posts the webhooks waiting, in order (faults permitting), before it
// returns. It returns how many POSTs it made.
func (h *Handler) Tick(ctx context.Context) int {
	h.mu.Lock()
	h.advanceLocked(h.now())
	queued := h.hooks
	h.hooks = nil
	f := h.faults
	plan := make([]webhook, 0, len(queued))
	for _, w := range queued {
		h.hookSeq++
		if f.DropWebhookEvery > 0 && h.hookSeq%f.DropWebhookEvery == 0 {
			continue
		}
		plan = append(plan, w)
		if f.RepeatWebhookEvery > 0 && h.hookSeq%f.RepeatWebhookEvery == 0 {
			plan = append(plan, w)
		}
	}
	h.mu.Unlock()
	if f.ReorderWebhooks {
		for i, j := 0, len(plan)-1; i < j; i, j = i+1, j-1 {
			plan[i], plan[j] = plan[j], plan[i]
		}
	}
	posted, failed := 0, 0
	for _, w := range plan {
		if ctx.Err() != nil {
			break
		}
		posted++
		if err := h.post(ctx, w); err != nil {
			failed++
			h.log.Warn("kolmeyatest: webhook failed", "url", w.url, "err", err)
		}
	}
	h.mu.Lock()
	h.hooksPosted += posted - failed
	h.hooksFailed += failed
	h.mu.Unlock()
	return posted
}

func (h *Handler) post(ctx context.Context, w webhook) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(w.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// WebhookStats returns how many webhook POSTs got a 2xx and how many failed.
func (h *Handler) WebhookStats() (ok, failed int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hooksPosted, h.hooksFailed
}

// Run calls Tick every interval on the real clock until ctx ends, for a fake
// serving demos on time.Now.
func (h *Handler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Tick(ctx)
		}
	}
}

// MessageCode returns the status code of the latest message sent with
// reference ref, as of the fake's clock, and whether there is one.
func (h *Handler) MessageCode(ref string) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advanceLocked(h.now())
	m, ok := h.byMsgRef[ref]
	if !ok {
		return 0, false
	}
	return m.code, true
}

// reply is a contact's answer to an accepted message.
type reply struct {
	id       string
	text     string
	received time.Time
	msg      *message
}

// Reply makes the contact of a message answer with text: target is the
// message's reference or, failing that, a phone in any form (the latest
// message to it). The reply is kept for /sms/replys and posted as a reply
// webhook at the next Tick. It returns the reply's id.
func (h *Handler) Reply(target, text string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.byMsgRef[target]
	if !ok {
		m, ok = h.byPhone[national(target)]
	}
	if !ok {
		return "", fmt.Errorf("kolmeyatest: reply: no message with reference or phone %q", target)
	}
	now := h.now()
	rp := &reply{id: h.newIDLocked(kindReply), text: text, received: now, msg: m}
	h.replies = append(h.replies, rp)
	h.queueLocked(m.req.webhook, map[string]any{"reply": map[string]any{
		"id": rp.id, "reply": text, "received_at": h.stamp(now),
		"message": map[string]any{"id": m.id, "reference": nullable(m.reference), "phone": "55" + m.phone, "content": m.body},
	}})
	return rp.id, nil
}

// RejectRequest rejects, as Kolmeya's review would, every message of the
// request with Kolmeya id requestID that has not reached a final status, and
// posts the rejection webhook at the next Tick.
func (h *Handler) RejectRequest(requestID, reason string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.requests[requestID]
	if !ok {
		return fmt.Errorf("kolmeyatest: reject: no request %q", requestID)
	}
	now := h.now()
	r.rejected = true
	for _, m := range r.messages {
		if m.code < 3 {
			m.code, m.changed = 5, now
		}
	}
	h.queueLocked(r.webhook, map[string]any{"id": r.id, "reference": nullable(r.reference),
		"status": "rejected", "status_message": reason})
	return nil
}

// WebReply is a reply to a web-panel campaign, for /sms/replys-web.
type WebReply struct {
	Job     int64
	Phone   string // any form
	Message string
	Params  map[string]string // nil is sent as [], as Kolmeya does
	SendAt  time.Time
	Reply   string
}

type webReply struct {
	WebReply
	id       string
	received time.Time
}

// AddWebReply records a reply to a web-panel campaign, received now.
func (h *Handler) AddWebReply(r WebReply) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	wr := &webReply{WebReply: r, id: h.newIDLocked(kindReply), received: h.now()}
	h.webReplies = append(h.webReplies, wr)
	return wr.id
}

type access struct {
	id    int64
	phone string
	url   string
	at    time.Time
}

// AddAccess records a click on a shortened link, now.
func (h *Handler) AddAccess(phone, url string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.accesses = append(h.accesses, access{id: int64(len(h.accesses) + 1), phone: national(phone), url: url, at: h.now()})
}

// AddNotDisturb puts phones (any form) on the "Não Me Perturbe" register.
func (h *Handler) AddNotDisturb(phones ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range phones {
		h.notDisturb[national(p)] = true
	}
}

// AddBlacklist puts phones (any form) on the account's blacklist, as
// /blacklist/store without a document does.
func (h *Handler) AddBlacklist(phones ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range phones {
		h.blockLocked(national(p), "")
	}
}

func (h *Handler) blockLocked(phone, document string) {
	if h.blacklist[phone] == nil {
		h.blacklist[phone] = map[string]bool{}
	}
	h.blacklist[phone][document] = true
}

// Blacklisted reports whether phone (any form) is blocked for every send.
func (h *Handler) Blacklisted(phone string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.blacklist[national(phone)][""]
}

// national returns a phone's digits without a leading 55 when what remains
// is a national number.
func national(phone string) string {
	var b strings.Builder
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "55") && (len(d) == 12 || len(d) == 13) {
		d = d[2:]
	}
	return d
}
