package kolmeyatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

const token = "tok-fake-0000"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestServer(t *testing.T, o Options) (*Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2025, 11, 16, 14, 30, 0, 0, loadSaoPaulo())}
	o.Token = token
	o.Now = clk.Now
	s := NewServer(o)
	t.Cleanup(s.Close)
	return s, clk
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %s", r.status, r.body)
	}
	return m
}

func (r result) errors(t *testing.T) string {
	t.Helper()
	var e struct{ Errors []string }
	if err := json.Unmarshal(r.body, &e); err != nil || len(e.Errors) == 0 {
		t.Fatalf("answer %d is not {\"errors\":[...]}: %s", r.status, r.body)
	}
	return strings.Join(e.Errors, "; ")
}

func call(t *testing.T, method, url, tok, body string) result {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, data}
}

func post(t *testing.T, s *Server, path, body string) result {
	t.Helper()
	return call(t, http.MethodPost, s.URL()+path, token, body)
}

func storeBodyOf(ref string, phones ...string) string {
	var items []string
	for i, p := range phones {
		items = append(items, fmt.Sprintf(`{"phone":%q,"message":"Olá","reference":"%s-%d"}`, p, ref, i+1))
	}
	return fmt.Sprintf(`{"reference":%q,"messages":[%s]}`, ref, strings.Join(items, ","))
}

func TestTransportRules(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	tests := []struct {
		method, path, tok string
		status            int
		msg               string
	}{
		{http.MethodGet, "/sms/balance", token, 404, "Not found."},
		{http.MethodPut, "/sms/balance", token, 404, "Not found."},
		{http.MethodPost, "/sms/nothing", token, 404, "Not found."},
		{http.MethodPost, "/sms/balance", "", 401, "Unauthenticated."},
		{http.MethodPost, "/sms/balance", "wrong", 401, "Unauthenticated."},
		{http.MethodPost, "/sms/balance", token, 200, ""},
	}
	for _, tt := range tests {
		r := call(t, tt.method, s.URL()+tt.path, tt.tok, "{}")
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tt.method, tt.path, r.status, tt.status, r.body)
			continue
		}
		if tt.msg != "" && r.errors(t) != tt.msg {
			t.Errorf("%s %s: %s", tt.method, tt.path, r.body)
		}
	}
	if r := call(t, http.MethodPost, strings.TrimSuffix(s.URL(), BasePath)+"/sms/balance", token, "{}"); r.status != 404 {
		t.Errorf("outside the base path: %d", r.status)
	}
	if r := post(t, s, "/sms/balance", ""); r.status != 200 || r.json(t)["balance"] != "R$10.000,00" {
		t.Errorf("empty body: %d %s", r.status, r.body)
	}
	if r := post(t, s, "/sms/store", "{"); r.status != 422 {
		t.Errorf("bad JSON: %d", r.status)
	}
	if n := s.Requests("/sms/balance"); n != 4 { // POSTs only: a GET is no endpoint
		t.Errorf("Requests(/sms/balance) = %d, want 4", n)
	}
}

func TestRateLimitWindow(t *testing.T) {
	s, clk := newTestServer(t, Options{RateLimit: 3, RateWindow: time.Minute})
	for i := range 3 {
		r := post(t, s, "/sms/balance", "{}")
		if r.status != 200 || r.header.Get("X-RateLimit-Limit") != "3" || r.header.Get("X-RateLimit-Remaining") != fmt.Sprint(2-i) {
			t.Fatalf("call %d: %d %v", i, r.status, r.header)
		}
	}
	clk.Advance(20 * time.Second)
	r := post(t, s, "/sms/balance", "{}")
	if r.status != 429 || r.header.Get("Retry-After") != "40" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("over the limit: %d %v %s", r.status, r.header, r.body)
	}
	clk.Advance(40 * time.Second)
	if r := post(t, s, "/sms/balance", "{}"); r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "2" {
		t.Errorf("new window: %d %v", r.status, r.header)
	}
}

func TestStoreValidation(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	phones := make([]string, 1001)
	for i := range phones {
		phones[i] = fmt.Sprintf("55119000%05d", i)
	}
	for name, tc := range map[string]struct {
		path, body string
	}{
		"empty":       {"/sms/store", `{"messages":[]}`},
		"too many":    {"/sms/store", storeBodyOf("x", phones...)},
		"token two":   {"/sms/store-token", storeBodyOf("x", phones[:2]...)},
		"bad segment": {"/sms/store", `{"tenant_segment_id":1,"messages":[{"phone":"5511900000001","message":"x"}]}`},
		"bad api":     {"/sms/store", `{"sms_api_id":"x","messages":[{"phone":"5511900000001","message":"x"}]}`},
		"bad webhook": {"/sms/store", `{"webhook_url":"nope","messages":[{"phone":"5511900000001","message":"x"}]}`},
	} {
		if r := post(t, s, tc.path, tc.body); r.status != 422 {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		} else {
			r.errors(t)
		}
	}
	if r := post(t, s, "/sms/store", storeBodyOf("x", phones[:1000]...)); r.status != 200 {
		t.Errorf("1000 messages: %d", r.status)
	}
	if s.TotalAccepted() != 1000 {
		t.Errorf("TotalAccepted = %d", s.TotalAccepted())
	}
}

func TestStoreAnswer(t *testing.T) {
	s, _ := newTestServer(t, Options{NotDisturb: []string{"+5511900000004"}, Blacklist: []string{"11900000003"}})
	body := `{"reference":"b1","tenant_segment_id":"109","sms_api_id":47,"messages":[
		{"phone":5511900000001,"message":"a","reference":"r1"},
		{"phone":"5511800000002","message":"b","reference":"r2"},
		{"phone":"11900000001","message":"c","reference":"r3"},
		{"phone":"5511900000003","message":"d","reference":"r4"},
		{"phone":"5511900000004","message":"e","reference":"r5"},
		{"phone":12345,"message":"f","reference":"r6"},
		{"phone":"5511900000007","message":"  ","reference":"r7"}]}`
	r := post(t, s, "/sms/store", body)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	want := `{"id":"0000a001-0000-4000-8000-000000000001","reference":"b1",` +
		`"valids":[{"id":"0000b002-0000-4000-8000-000000000002","phone":11900000001,"reference":"r1"}],` +
		`"invalids":[{"phone":"5511800000002","message":"b","reference":"r2","error":"Número de telefone inválido."},` +
		`{"phone":12345,"message":"f","reference":"r6","error":"Número de telefone inválido."},` +
		`{"phone":"5511900000007","message":"  ","reference":"r7","error":"A mensagem não pode ser vazia."}],` +
		`"duplicates":[{"phone":11900000001,"reference":"r3"}],` +
		`"blacklist":[{"phone":11900000003}],"not_disturb":[{"phone":11900000004}]}`
	if string(r.body) != want {
		t.Errorf("answer\n got %s\nwant %s", r.body, want)
	}
	if s.Accepted("r1") != 1 || s.Accepted("r3") != 0 || s.TotalAccepted() != 1 {
		t.Errorf("counters: %d %d %d", s.Accepted("r1"), s.Accepted("r3"), s.TotalAccepted())
	}
	// The token route skips the do-not-disturb register, not the blacklist.
	r = post(t, s, "/sms/store-token", storeBodyOf("t", "5511900000004"))
	if m := r.json(t); len(m["valids"].([]any)) != 1 {
		t.Errorf("token route and not_disturb: %s", r.body)
	}
	r = post(t, s, "/sms/store-token", storeBodyOf("t", "5511900000003"))
	if m := r.json(t); len(m["blacklist"].([]any)) != 1 {
		t.Errorf("token route and blacklist: %s", r.body)
	}
}

func TestStatusProgressAndWebhooks(t *testing.T) {
	var mu sync.Mutex
	var hooks []map[string]any
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		hooks = append(hooks, m)
		mu.Unlock()
	}))
	defer rcv.Close()
	s, clk := newTestServer(t, Options{SentAfter: time.Second, FinalAfter: 5 * time.Second,
		Outcomes: Outcomes{Delivered: 1, Failed: 1, Rejected: 1, Expired: 1}})
	body := strings.Replace(storeBodyOf("p", "5511900000001", "5511900000002", "5511900000003", "5511900000004",
		"5511900000005", "5511900000006", "5511900000007", "5511900000008"),
		`{"reference"`, `{"webhook_url":"`+rcv.URL+`/hook","reference"`, 1)
	r := post(t, s, "/sms/store", body)
	id := r.json(t)["id"].(string)
	codes := func() map[string]float64 {
		out := map[string]float64{}
		st := post(t, s, "/sms/status/request", `{"id":"`+id+`"}`).json(t)
		for _, m := range st["messages"].([]any) {
			item := m.(map[string]any)
			out[item["reference"].(string)] = item["status_code"].(float64)
		}
		return out
	}
	for ref, c := range codes() {
		if c != 1 {
			t.Errorf("%s at start: %v", ref, c)
		}
	}
	clk.Advance(time.Second)
	for ref, c := range codes() {
		if c != 2 {
			t.Errorf("%s after 1s: %v", ref, c)
		}
	}
	if n := s.Tick(t.Context()); n != 0 {
		t.Errorf("webhooks before any final status: %d", n)
	}
	clk.Advance(5 * time.Second)
	finals := codes()
	outcomes := map[float64]bool{}
	for ref, c := range finals {
		if c < 3 || c > 6 {
			t.Errorf("%s final: %v", ref, c)
		}
		if got, _ := s.MessageCode(ref); float64(got) != c {
			t.Errorf("MessageCode(%s) = %d, status says %v", ref, got, c)
		}
		outcomes[c] = true
	}
	if len(outcomes) < 3 {
		t.Errorf("outcome mix too narrow: %v", outcomes)
	}
	// The same reference always meets the same fate.
	again, _ := newTestServer(t, Options{SentAfter: time.Second, FinalAfter: 5 * time.Second,
		Outcomes: Outcomes{Delivered: 1, Failed: 1, Rejected: 1, Expired: 1}})
	if again.outcomeFor("p-3") != s.outcomeFor("p-3") {
		t.Error("outcome not deterministic")
	}
	if n := s.Tick(t.Context()); n != 1 {
		t.Fatalf("Tick posted %d webhooks, want 1", n)
	}
	if len(hooks) != 1 || hooks[0]["id"] != id || hooks[0]["reference"] != "p" || len(hooks[0]["messages"].([]any)) != 8 {
		t.Errorf("status webhook: %v", hooks)
	}
	if ok, failed := s.WebhookStats(); ok != 1 || failed != 0 {
		t.Errorf("WebhookStats = %d, %d", ok, failed)
	}
	msgID := post(t, s, "/sms/status/request", `{"reference":"p"}`).json(t)["messages"].([]any)[0].(map[string]any)["id"].(string)
	if m := post(t, s, "/sms/status/message", `{"id":"`+msgID+`"}`).json(t); m["reference"] != "p-1" || m["status"] == "" {
		t.Errorf("status/message: %v", m)
	}
	if r := post(t, s, "/sms/status/message", `{"id":"nope"}`); r.status != 404 {
		t.Errorf("unknown message: %d", r.status)
	}
	if r := post(t, s, "/sms/status/request", `{"reference":"nope"}`); r.status != 404 {
		t.Errorf("unknown request: %d", r.status)
	}
	if r := post(t, s, "/sms/status/request", `{}`); r.status != 422 {
		t.Errorf("no id: %d", r.status)
	}
}

func TestWebhookFaults(t *testing.T) {
	var mu sync.Mutex
	var order []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Reference string }
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		order = append(order, m.Reference)
		mu.Unlock()
	}))
	defer rcv.Close()
	s, clk := newTestServer(t, Options{SentAfter: time.Second, FinalAfter: time.Second})
	send := func(ref string, phone int) {
		body := fmt.Sprintf(`{"webhook_url":%q,"reference":%q,"messages":[{"phone":"55119000%05d","message":"x","reference":"%s-1"}]}`,
			rcv.URL, ref, phone, ref)
		if r := post(t, s, "/sms/store", body); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	for i := range 6 {
		send(fmt.Sprintf("w%d", i), i+1)
		clk.Advance(time.Millisecond) // keep their order
	}
	s.SetFaults(Faults{DropWebhookEvery: 3, RepeatWebhookEvery: 2, ReorderWebhooks: true})
	clk.Advance(3 * time.Second)
	n := s.Tick(t.Context())
	// Webhooks 1..6: 3 and 6 dropped, 2 and 4 repeated: 1 2 2 4 4 5, reversed.
	want := "w4,w3,w3,w1,w1,w0"
	if got := strings.Join(order, ","); got != want || n != 6 {
		t.Errorf("posted %d: %s, want %s", n, got, want)
	}
}

func TestRequestFaults(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetFaults(Faults{FailEvery: 3})
	var statuses []int
	for range 6 {
		statuses = append(statuses, post(t, s, "/sms/balance", "{}").status)
	}
	if fmt.Sprint(statuses) != "[200 200 500 200 200 500]" {
		t.Errorf("FailEvery 3: %v", statuses)
	}
	s.SetFaults(Faults{FailNext: 1, RateLimitNext: 1, RetryAfter: 1500 * time.Millisecond})
	if r := post(t, s, "/sms/balance", "{}"); r.status != 429 || r.header.Get("Retry-After") != "2" {
		t.Errorf("RateLimitNext: %d %v", r.status, r.header)
	}
	if r := post(t, s, "/sms/balance", "{}"); r.status != 503 {
		t.Errorf("FailNext: %d", r.status)
	}
	if r := post(t, s, "/sms/balance", "{}"); r.status != 200 {
		t.Errorf("after the faults: %d", r.status)
	}
	s.SetFaults(Faults{FailNextSends: 1})
	if r := post(t, s, "/sms/balance", "{}"); r.status != 200 {
		t.Errorf("FailNextSends, a read: %d", r.status)
	}
	if r := post(t, s, "/sms/store", storeBodyOf("f1", "5511900000001")); r.status != 503 {
		t.Errorf("FailNextSends, a send: %d", r.status)
	}
	if r := post(t, s, "/sms/store", storeBodyOf("f1", "5511900000001")); r.status != 200 {
		t.Errorf("after FailNextSends: %d", r.status)
	}
	if n := s.Accepted("f1-1"); n != 1 {
		t.Errorf("the send refused with 503 was carried out: accepted %d", n)
	}
	s.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	post(t, s, "/sms/balance", "{}")
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Errorf("Latency 30ms: answered in %v", took)
	}
	if f := s.Faults(); f.FailNext != 0 || f.RateLimitNext != 0 || f.Latency != 30*time.Millisecond {
		t.Errorf("Faults() = %+v", f)
	}
}

func TestHangAfterAccept(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetFaults(Faults{HangAfterAccept: 2})
	if r := post(t, s, "/sms/store", storeBodyOf("h1", "5511900000001")); r.status != 200 {
		t.Fatalf("first send: %d", r.status)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/sms/store", strings.NewReader(storeBodyOf("h2", "5511900000002")))
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the second send was answered")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("hang did not end with the client: %v", took)
	}
	if s.Accepted("h2-1") != 1 {
		t.Errorf("hung send not recorded: %d", s.Accepted("h2-1"))
	}
	if r := post(t, s, "/sms/status/request", `{"reference":"h2"}`); r.status != 200 {
		t.Errorf("hung send not found by reference: %d", r.status)
	}
	if r := post(t, s, "/sms/store", storeBodyOf("h3", "5511900000003")); r.status != 200 {
		t.Errorf("the hang fired more than once: %d", r.status)
	}
}

func TestCatalogueAndBalance(t *testing.T) {
	s, _ := newTestServer(t, Options{StartBalance: 93973000, PricePerSegment: 700})
	if b := post(t, s, "/sms/balance", "{}").json(t)["balance"]; b != "R$9.397,30" {
		t.Errorf("balance %v", b)
	}
	post(t, s, "/sms/store", storeBodyOf("b", "5511900000001", "5511900000002"))
	if b := post(t, s, "/sms/balance", "{}").json(t)["balance"]; b != "R$9.397,16" {
		t.Errorf("balance after 2 segments %v", b)
	}
	if r := post(t, s, "/sms/segments", "{}"); !strings.Contains(string(r.body), `{"segments":[{"id":109,"name":"CORPORATIVO"}]}`) {
		t.Errorf("segments %s", r.body)
	}
	if r := post(t, s, "/sms/apis", "{}"); string(r.body) != `[{"id":47,"name":"Kolmeya"}]` {
		t.Errorf("apis %s", r.body)
	}
	if r := post(t, s, "/sms/layouts", "{}"); !strings.HasPrefix(string(r.body), `[{"id":1,`) {
		t.Errorf("layouts %s", r.body)
	}
	for m, want := range map[sms.Money]string{93973000: "R$9.397,30", 700: "R$0,07", -50000: "R$-5,00",
		12345678900: "R$1.234.567,89", 0: "R$0,00", 994999: "R$99,50"} {
		if got := formatBalance(m); got != want {
			t.Errorf("formatBalance(%d) = %q, want %q", m, got, want)
		}
	}
}

func TestRepliesEndpoint(t *testing.T) {
	s, clk := newTestServer(t, Options{PageSize: 2})
	post(t, s, "/sms/store", storeBodyOf("r", "5511900000001", "5511900000002", "5511900000003"))
	for _, target := range []string{"r-1", "+5511900000002", "11900000003"} {
		if _, err := s.Reply(target, "SIM"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Reply("nobody", "x"); err == nil {
		t.Error("reply to an unknown target")
	}
	p1 := post(t, s, "/sms/replys", `{}`).json(t)
	if p1["total"] != 3.0 || p1["last_page"] != 2.0 || p1["next_page_url"] == nil || p1["prev_page_url"] != nil || len(p1["data"].([]any)) != 2 {
		t.Errorf("page 1: %v", p1)
	}
	p2 := post(t, s, "/sms/replys", `{"page":2,"period":"24"}`).json(t)
	if p2["next_page_url"] != nil || len(p2["data"].([]any)) != 1 {
		t.Errorf("page 2: %v", p2)
	}
	item := p2["data"].([]any)[0].(map[string]any)
	if item["message"].(map[string]any)["reference"] != "r-3" || item["request"].(map[string]any)["reference"] != "r" {
		t.Errorf("reply item: %v", item)
	}
	if r := post(t, s, "/sms/replys", `{"period":169}`); r.status != 422 {
		t.Errorf("period 169: %d", r.status)
	}
	clk.Advance(25 * time.Hour)
	if p := post(t, s, "/sms/replys", `{}`).json(t); p["total"] != 0.0 {
		t.Errorf("default period is 24h: %v", p)
	}
	if p := post(t, s, "/sms/replys", `{"period":168}`).json(t); p["total"] != 3.0 {
		t.Errorf("168h: %v", p)
	}
	s.AddWebReply(WebReply{Job: 1, Phone: "11900000001", Message: "m", Reply: "ok"})
	w := post(t, s, "/sms/replys-web", `{}`).json(t)["data"].([]any)[0].(map[string]any)
	if p, isArray := w["parameters"].([]any); !isArray || len(p) != 0 || w["phone"] != 5511900000001.0 {
		t.Errorf("web reply: %v", w)
	}
}

func TestReportRules(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	post(t, s, "/sms/store", storeBodyOf("rep", "5511900000001", "5511900000002"))
	now := clk.Now().Format("2006-01-02 15:04")
	weekAgo := clk.Now().Add(-7 * 24 * time.Hour).Format("2006-01-02 15:04")
	tooLong := clk.Now().Add(-7*24*time.Hour - time.Minute).Format("2006-01-02 15:04")
	future := clk.Now().Add(time.Minute).Format("2006-01-02 15:04")
	for name, tc := range map[string]struct {
		body   string
		status int
		rows   int
	}{
		"week":        {fmt.Sprintf(`{"start_at":%q,"end_at":%q}`, weekAgo, now), 200, 2},
		"limit":       {fmt.Sprintf(`{"start_at":%q,"end_at":%q,"limit":1}`, weekAgo, now), 200, 1},
		"too long":    {fmt.Sprintf(`{"start_at":%q,"end_at":%q}`, tooLong, now), 422, 0},
		"future":      {fmt.Sprintf(`{"start_at":%q,"end_at":%q}`, weekAgo, future), 422, 0},
		"reversed":    {fmt.Sprintf(`{"start_at":%q,"end_at":%q}`, now, weekAgo), 422, 0},
		"format":      {`{"start_at":"16/11/2025","end_at":"17/11/2025"}`, 422, 0},
		"missing":     {`{}`, 422, 0},
		"limit large": {fmt.Sprintf(`{"start_at":%q,"end_at":%q,"limit":30001}`, weekAgo, now), 422, 0},
	} {
		r := post(t, s, "/sms/reports/statuses", tc.body)
		if r.status != tc.status {
			t.Errorf("%s: %d %s", name, r.status, r.body)
			continue
		}
		if tc.status == 200 {
			if rows := r.json(t)["messages"].([]any); len(rows) != tc.rows {
				t.Errorf("%s: %d rows", name, len(rows))
			}
		}
	}
	jobs := post(t, s, "/sms/reports/jobs", `{}`).json(t)["jobs"].([]any)
	job := fmt.Sprint(int64(jobs[0].(map[string]any)["id"].(float64)))
	rows := post(t, s, "/sms/reports/statuses/"+job, `{}`).json(t)["messages"].([]any)
	if len(rows) != 2 || rows[0].(map[string]any)["telefone"] != 5511900000001.0 {
		t.Errorf("job statuses: %v", rows)
	}
	if r := post(t, s, "/sms/reports/statuses/1", `{}`); r.status != 404 {
		t.Errorf("unknown job: %d", r.status)
	}
	if r := post(t, s, "/sms/reports/quantity-jobs", `{"period":"2025-11"}`).json(t); len(r["jobs"].([]any)) != 1 {
		t.Errorf("quantity-jobs: %v", r)
	}
	if r := post(t, s, "/sms/reports/quantity-jobs", `{"period":"2025-10"}`).json(t); len(r["jobs"].([]any)) != 0 {
		t.Errorf("quantity-jobs of another month: %v", r)
	}
	if r := post(t, s, "/sms/reports/quantity-jobs", `{"period":"nov"}`); r.status != 422 {
		t.Errorf("bad period: %d", r.status)
	}
	if r := post(t, s, "/sms/accesses", fmt.Sprintf(`{"start_at":%q,"end_at":%q,"limit":5001}`, weekAgo, now)); r.status != 422 {
		t.Errorf("accesses limit: %d", r.status)
	}
}

func TestBlacklistAndJobs(t *testing.T) {
	s, clk := newTestServer(t, Options{SentAfter: time.Second, FinalAfter: time.Second})
	if r := post(t, s, "/blacklist/store", `{"phones":[{"phone":5511900000001},{"phone":"5511900000002","document":"00000000000"}]}`); r.status != 201 || len(r.body) != 0 {
		t.Errorf("store: %d %q", r.status, r.body)
	}
	if !s.Blacklisted("11900000001") || s.Blacklisted("11900000002") {
		t.Error("a document-scoped block must not block every send")
	}
	if r := post(t, s, "/blacklist/destroy", `{"phones":[{"phone":5511900000001}]}`); r.status != 204 || len(r.body) != 0 {
		t.Errorf("destroy: %d %q", r.status, r.body)
	}
	if s.Blacklisted("11900000001") {
		t.Error("destroy did not unblock")
	}
	if r := post(t, s, "/blacklist/store", `{"phones":[]}`); r.status != 422 {
		t.Errorf("no phones: %d", r.status)
	}
	if r := post(t, s, "/blacklist/store", `{"phones":[{"phone":"abc"}]}`); r.status != 422 {
		t.Errorf("bad phone: %d", r.status)
	}
	id := post(t, s, "/sms/store", storeBodyOf("j", "5511900000005")).json(t)["id"].(string)
	if r := post(t, s, "/sms/jobs/"+id+"/pause", `{}`); r.status != 200 {
		t.Errorf("pause: %d %s", r.status, r.body)
	}
	clk.Advance(time.Minute)
	if c, _ := s.MessageCode("j-1"); c != 1 {
		t.Errorf("paused job moved to %d", c)
	}
	if r := post(t, s, "/sms/jobs/"+id+"/play", `{}`); r.status != 200 {
		t.Errorf("play: %d", r.status)
	}
	clk.Advance(time.Second)
	if c, _ := s.MessageCode("j-1"); c != 3 {
		t.Errorf("after play: %d", c)
	}
	if r := post(t, s, "/sms/jobs/"+id+"/pause", `{}`); r.status != 422 || r.errors(t) != "Job já finalizado" {
		t.Errorf("pause finished: %d %s", r.status, r.body)
	}
	if r := post(t, s, "/sms/jobs/999/play", `{}`); r.status != 404 {
		t.Errorf("unknown job: %d", r.status)
	}
	if err := s.RejectRequest("nope", "x"); err == nil {
		t.Error("RejectRequest of an unknown request")
	}
}

// TestHundredThousand sends 100,000 messages in 100 requests, moves them all
// to a final status and posts their webhooks, to keep the fake free of
// quadratic work.
func TestHundredThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("large")
	}
	var hooks int
	var mu sync.Mutex
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		hooks++
		mu.Unlock()
	}))
	defer rcv.Close()
	s, clk := newTestServer(t, Options{RateLimit: -1, SentAfter: time.Second, FinalAfter: time.Second})
	start := time.Now()
	for req := range 100 {
		var b bytes.Buffer
		fmt.Fprintf(&b, `{"reference":"big-%d","webhook_url":%q,"messages":[`, req, rcv.URL)
		for i := range 1000 {
			if i > 0 {
				b.WriteByte(',')
			}
			n := req*1000 + i
			fmt.Fprintf(&b, `{"phone":"55119%08d","message":"Olá","reference":"big-%d-%d"}`, n, req, i)
		}
		b.WriteString(`]}`)
		if r := post(t, s, "/sms/store", b.String()); r.status != 200 {
			t.Fatalf("request %d: %d %s", req, r.status, r.body[:min(200, len(r.body))])
		}
	}
	clk.Advance(3 * time.Second)
	if n := s.Tick(t.Context()); n != 100 {
		t.Errorf("%d webhooks, want one per request", n)
	}
	if s.TotalAccepted() != 100000 || s.Accepted("big-99-999") != 1 || hooks != 100 {
		t.Errorf("accepted %d, hooks %d", s.TotalAccepted(), hooks)
	}
	if c, _ := s.MessageCode("big-50-500"); c != 3 {
		t.Errorf("code %d", c)
	}
	t.Logf("100,000 messages accepted, progressed and reported in %v", time.Since(start))
}

func TestGarbleNext(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetFaults(Faults{GarbleNext: 1})
	r := post(t, s, "/sms/store", storeBodyOf("g1", "5511900000001"))
	var v any
	if r.status != 200 || json.Unmarshal(r.body, &v) == nil {
		t.Fatalf("garbled send: %d %s", r.status, r.body)
	}
	if s.Accepted("g1-1") != 1 {
		t.Errorf("the garbled send was not carried out: %d", s.Accepted("g1-1"))
	}
	r = post(t, s, "/sms/status/request", `{"reference":"g1"}`)
	if r.status != 200 || json.Unmarshal(r.body, &v) != nil {
		t.Errorf("after the fault: %d %s", r.status, r.body)
	}
}
