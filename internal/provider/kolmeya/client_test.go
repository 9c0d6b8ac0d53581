package kolmeya

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

func msgs(n int, prefix string) []OutMessage {
	out := make([]OutMessage, n)
	for i := range n {
		out[i] = OutMessage{Phone: phone(i + 1), Message: fmt.Sprintf("Olá %d", i+1), Reference: fmt.Sprintf("%s-%d", prefix, i+1)}
	}
	return out
}

func TestStoreAndStatusProgress(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{SentAfter: 2 * time.Second, FinalAfter: 10 * time.Second})
	c := newTestClient(t, srv, clk)
	ctx := t.Context()

	resp, err := c.Store(ctx, StoreRequest{Messages: msgs(3, "m"), Reference: "batch-1", TenantSegmentID: 109, SMSAPIID: 47})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if resp.ID == "" || resp.Reference != "batch-1" || len(resp.Valids) != 3 {
		t.Fatalf("Store answer: %+v", resp)
	}
	for i, v := range resp.Valids {
		if want := fmt.Sprintf("m-%d", i+1); string(v.Reference) != want {
			t.Errorf("valid %d reference %q, want %q", i, v.Reference, want)
		}
		if strings.HasPrefix(string(v.Phone), "55") || NationalDigits(string(v.Phone)) != NationalDigits(phone(i+1)) {
			t.Errorf("valid %d phone %q: want national digits of %s", i, v.Phone, phone(i+1))
		}
	}
	check := func(st *RequestStatus, code int) {
		t.Helper()
		if len(st.Messages) != 3 {
			t.Fatalf("status has %d messages, want 3", len(st.Messages))
		}
		for _, m := range st.Messages {
			if int(m.StatusCode) != code {
				t.Errorf("message %s: code %d, want %d", m.Reference, m.StatusCode, code)
			}
		}
	}
	st, err := c.StatusByRequestID(ctx, string(resp.ID))
	if err != nil {
		t.Fatalf("StatusByRequestID: %v", err)
	}
	check(st, 1)
	clk.Advance(2 * time.Second)
	st, err = c.StatusByReference(ctx, "batch-1")
	if err != nil {
		t.Fatalf("StatusByReference: %v", err)
	}
	if st.ID != resp.ID || st.StatusCode != 2 || st.Status != "Válido" {
		t.Errorf("request status %+v", st)
	}
	check(st, 2)
	clk.Advance(10 * time.Second)
	ms, err := c.MessageStatus(ctx, string(resp.Valids[0].ID))
	if err != nil {
		t.Fatalf("MessageStatus: %v", err)
	}
	if ms.StatusCode != StatusDelivered || ms.Reference != "m-1" {
		t.Errorf("message status %+v", ms)
	}

	_, err = c.StatusByReference(ctx, "no-such-batch")
	if sms.KindOf(err) != sms.KindProviderPermanent || codeOf(err) != CodeNotFound {
		t.Errorf("unknown reference: %v (kind %v code %q)", err, sms.KindOf(err), codeOf(err))
	}
	if !strings.HasPrefix(err.Error(), "kolmeya: status by reference: ") {
		t.Errorf("error not wrapped with its operation: %q", err)
	}
}

func TestStoreRefusals(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	srv.AddBlacklist(phone(3))
	srv.AddNotDisturb(phone(4))
	c := newTestClient(t, srv, clk)
	in := []OutMessage{
		{Phone: phone(1), Message: "a", Reference: "ok"},
		{Phone: "5511", Message: "b", Reference: "bad"},
		{Phone: phone(1), Message: "c", Reference: "dup"},
		{Phone: phone(3), Message: "d", Reference: "black"},
		{Phone: phone(4), Message: "e", Reference: "quiet"},
	}
	resp, err := c.Store(t.Context(), StoreRequest{Messages: in})
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if len(resp.Valids) != 1 || len(resp.Invalids) != 1 || len(resp.Duplicates) != 1 ||
		len(resp.Blacklist) != 1 || len(resp.NotDisturb) != 1 {
		t.Fatalf("answer lists: %+v", resp)
	}
	if resp.Invalids[0].Reference != "bad" || resp.Invalids[0].Error == "" {
		t.Errorf("invalid: %+v", resp.Invalids[0])
	}
	if resp.Blacklist[0].Reference != "" || NationalDigits(string(resp.Blacklist[0].Phone)) != NationalDigits(phone(3)) {
		t.Errorf("blacklist item should name only the phone: %+v", resp.Blacklist[0])
	}
	if resp.NotDisturb[0].Reference != "" || NationalDigits(string(resp.NotDisturb[0].Phone)) != NationalDigits(phone(4)) {
		t.Errorf("not_disturb item should name only the phone: %+v", resp.NotDisturb[0])
	}
	if srv.Accepted("ok") != 1 || srv.TotalAccepted() != 1 {
		t.Errorf("accepted: ok=%d total=%d", srv.Accepted("ok"), srv.TotalAccepted())
	}
}

func TestStoreLimits(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	for _, n := range []int{0, MaxStoreMessages + 1} {
		_, err := c.Store(t.Context(), StoreRequest{Messages: msgs(n, "x")})
		if sms.KindOf(err) != sms.KindInvalid {
			t.Errorf("Store of %d: %v, want KindInvalid", n, err)
		}
	}
	if _, err := c.Store(t.Context(), StoreRequest{Messages: msgs(MaxStoreMessages, "x")}); err != nil {
		t.Errorf("Store of 1000: %v", err)
	}
	_, err := c.StoreToken(t.Context(), StoreRequest{Messages: msgs(2, "y")})
	if sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("StoreToken of 2: %v, want KindInvalid", err)
	}
	if got := srv.Requests("/sms/store-token"); got != 0 {
		t.Errorf("refused calls reached the server %d times", got)
	}
}

func TestStoreToken(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	srv.AddNotDisturb(phone(1))
	c := newTestClient(t, srv, clk)
	resp, err := c.StoreToken(t.Context(), StoreRequest{Messages: msgs(1, "otp"), Reference: "otp-req"})
	if err != nil {
		t.Fatalf("StoreToken: %v", err)
	}
	if len(resp.Valids) != 1 {
		t.Errorf("token route must skip the do-not-disturb register: %+v", resp)
	}
	resp, err = c.StoreToken(t.Context(), StoreRequest{Messages: []OutMessage{{Phone: phone(2), Message: "veja https://x.example", Reference: "link"}}})
	if err != nil {
		t.Fatalf("StoreToken with link: %v", err)
	}
	if len(resp.Invalids) != 1 || resp.Invalids[0].Reference != "link" {
		t.Errorf("link should be refused: %+v", resp)
	}
	if srv.Requests("/sms/store-token") != 2 || srv.Requests("/sms/store") != 0 {
		t.Errorf("requests: token %d store %d", srv.Requests("/sms/store-token"), srv.Requests("/sms/store"))
	}
}

func TestBalanceFallsWithSegments(t *testing.T) {
	clk := newClock()
	start, _ := ParseBalance("R$9.397,30")
	srv := newFake(t, clk, kolmeyatest.Options{StartBalance: start, PricePerSegment: 700})
	c := newTestClient(t, srv, clk)
	got, err := c.Balance(t.Context())
	if err != nil || got != start {
		t.Fatalf("Balance = %v, %v; want %v", got, err, start)
	}
	if _, err := c.Store(t.Context(), StoreRequest{Messages: msgs(2, "b")}); err != nil {
		t.Fatal(err)
	}
	got, err = c.Balance(t.Context())
	if want := start - 2*700; err != nil || got != want {
		t.Errorf("Balance after 2 segments = %v (%s), %v; want %v", got, got.BRL(), err, want)
	}
}

func TestCatalogue(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	ctx := t.Context()
	segs, err := c.Segments(ctx)
	if err != nil || len(segs) != 1 || segs[0].ID != 109 || segs[0].Name != "CORPORATIVO" {
		t.Errorf("Segments = %+v, %v", segs, err)
	}
	apis, err := c.APIs(ctx)
	if err != nil || len(apis) != 1 || apis[0].ID != 47 {
		t.Errorf("APIs = %+v, %v", apis, err)
	}
	layouts, err := c.Layouts(ctx)
	if err != nil || len(layouts) == 0 || len(layouts[0].Items) == 0 || layouts[0].Items[0].Position != 1 {
		t.Errorf("Layouts = %+v, %v", layouts, err)
	}
}

func TestRepliesFollowPages(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{PageSize: 15})
	c := newTestClient(t, srv, clk)
	if _, err := c.Store(t.Context(), StoreRequest{Messages: msgs(40, "r"), Reference: "rb"}); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if _, err := srv.Reply(fmt.Sprintf("r-%d", i+1), "SIM"); err != nil {
			t.Fatal(err)
		}
	}
	replies, err := c.Replies(t.Context(), 24)
	if err != nil {
		t.Fatalf("Replies: %v", err)
	}
	if len(replies) != 40 {
		t.Fatalf("got %d replies, want 40", len(replies))
	}
	if got := srv.Requests("/sms/replys"); got != 3 {
		t.Errorf("%d page requests, want 3", got)
	}
	r := replies[0]
	if r.Text != "SIM" || r.Message.Reference != "r-1" || r.Request.Reference != "rb" || !r.ReceivedAt.Equal(clk.Now()) {
		t.Errorf("reply: %+v", r)
	}
	if _, err := c.Replies(t.Context(), 200); sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("period 200: %v, want KindInvalid", err)
	}
	// Replies older than the period are not listed.
	clk.Advance(2 * time.Hour)
	if replies, err := c.Replies(t.Context(), 1); err != nil || len(replies) != 0 {
		t.Errorf("Replies(1h) two hours later = %d, %v", len(replies), err)
	}
}

func TestWebReplies(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	srv.AddWebReply(kolmeyatest.WebReply{Job: 7, Phone: phone(1), Message: "oi", Reply: "NAO", SendAt: clk.Now()})
	srv.AddWebReply(kolmeyatest.WebReply{Job: 7, Phone: phone(2), Message: "oi", Reply: "SIM", Params: map[string]string{"nome": "Fulano"}})
	got, err := c.WebReplies(t.Context(), 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("WebReplies = %+v, %v", got, err)
	}
	if got[0].Parameters == nil || len(got[0].Parameters) != 0 || got[1].Parameters["nome"] != "Fulano" {
		t.Errorf("parameters: %v / %v", got[0].Parameters, got[1].Parameters)
	}
	if got[0].Job != "7" || got[0].Reply != "NAO" || !got[0].SendAt.Equal(clk.Now()) {
		t.Errorf("web reply: %+v", got[0])
	}
}

func TestReportJobs(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	if _, err := c.Store(t.Context(), StoreRequest{Messages: msgs(3, "j"), Reference: "lote-1"}); err != nil {
		t.Fatal(err)
	}
	jobs, err := c.ReportJobs(t.Context())
	if err != nil || len(jobs) != 1 {
		t.Fatalf("ReportJobs = %+v, %v", jobs, err)
	}
	if !jobs[0].Created.Equal(clk.Now()) {
		t.Errorf("job created %v, want %v", jobs[0].Created, clk.Now())
	}
	rows, err := c.ReportJobStatuses(t.Context(), string(jobs[0].ID))
	if err != nil || len(rows) != 3 {
		t.Fatalf("ReportJobStatuses = %d rows, %v", len(rows), err)
	}
	if rows[0].Batch != "lote-1" || rows[0].Job != jobs[0].ID || rows[0].Message != "Olá 1" || rows[0].SentAt.IsZero() {
		t.Errorf("row: %+v", rows[0])
	}
	if _, err := c.ReportJobStatuses(t.Context(), "999"); codeOf(err) != CodeNotFound {
		t.Errorf("unknown job: %v", err)
	}
}

func TestReportStatusesSplitsFullWindows(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{RateLimit: -1})
	c := newTestClient(t, srv, clk, func(o *ClientOptions) { o.ReportLimit = 10 })
	start := clk.Now()
	// 25 messages, one every 20 minutes, over 8 hours.
	for i := range 25 {
		m := OutMessage{Phone: phone(i + 1), Message: "x", Reference: fmt.Sprintf("s-%d", i)}
		if _, err := c.Store(t.Context(), StoreRequest{Messages: []OutMessage{m}}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(20 * time.Minute)
	}
	// Twenty days back: three 7-day windows, the last one split while full.
	rows, err := c.ReportStatuses(t.Context(), start.Add(-20*24*time.Hour), clk.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatalf("ReportStatuses: %v", err)
	}
	if len(rows) != 25 {
		t.Fatalf("%d rows, want 25", len(rows))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.Parameters["reference"]] {
			t.Errorf("row %s twice", r.Parameters["reference"])
		}
		seen[r.Parameters["reference"]] = true
	}
	if n := srv.Requests("/sms/reports/statuses"); n <= 3 {
		t.Errorf("%d report requests: the full window was not split", n)
	}
}

func TestReportStatusesTruncatedMinute(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{RateLimit: -1})
	c := newTestClient(t, srv, clk, func(o *ClientOptions) { o.ReportLimit = 5 })
	if _, err := c.Store(t.Context(), StoreRequest{Messages: msgs(7, "t")}); err != nil {
		t.Fatal(err)
	}
	rows, err := c.ReportStatuses(t.Context(), clk.Now().Add(-time.Hour), clk.Now())
	if !errors.Is(err, ErrReportTruncated) || len(rows) != 5 {
		t.Errorf("ReportStatuses = %d rows, %v; want 5 and ErrReportTruncated", len(rows), err)
	}
}

func TestQuantityJobsAndAccesses(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	if _, err := c.Store(t.Context(), StoreRequest{Messages: msgs(2, "q")}); err != nil {
		t.Fatal(err)
	}
	srv.AddAccess(phone(1), "https://kol.example/abc")
	jobs, err := c.QuantityJobs(t.Context(), "2025-11")
	if err != nil || len(jobs) != 1 {
		t.Fatalf("QuantityJobs = %+v, %v", jobs, err)
	}
	if n, ok := jobs[0].Int("acessos"); !ok || n != 1 {
		t.Errorf("acessos = %d, %v", n, ok)
	}
	if _, err := c.QuantityJobs(t.Context(), "11/2025"); sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("bad period: %v", err)
	}
	clk.Advance(time.Minute)
	acc, err := c.Accesses(t.Context(), clk.Now().Add(-time.Hour), clk.Now(), 0)
	if err != nil || acc.Total != 1 || len(acc.Accesses) != 1 || acc.Accesses[0]["url"] != "https://kol.example/abc" {
		t.Errorf("Accesses = %+v, %v", acc, err)
	}
	if _, err := c.Accesses(t.Context(), clk.Now(), clk.Now(), 5001); sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("limit 5001: %v", err)
	}
}

func TestBlacklistChunks(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	entries := make([]BlacklistEntry, 2500)
	for i := range entries {
		entries[i] = BlacklistEntry{Phone: "+" + phone(i+1)}
	}
	if err := c.BlacklistStore(t.Context(), entries); err != nil {
		t.Fatalf("BlacklistStore: %v", err)
	}
	if n := srv.Requests("/blacklist/store"); n != 3 {
		t.Errorf("%d requests for 2500 phones, want 3", n)
	}
	if !srv.Blacklisted(phone(2500)) {
		t.Error("last phone not blacklisted")
	}
	if err := c.BlacklistDestroy(t.Context(), entries[:10]); err != nil {
		t.Fatalf("BlacklistDestroy: %v", err)
	}
	if srv.Blacklisted(phone(1)) || !srv.Blacklisted(phone(11)) {
		t.Error("destroy removed the wrong phones")
	}
	if err := c.BlacklistStore(t.Context(), []BlacklistEntry{{Phone: "12"}}); sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("bad phone: %v", err)
	}
}

func TestJobPausePlay(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{SentAfter: time.Second, FinalAfter: time.Second})
	c := newTestClient(t, srv, clk)
	if _, err := c.Store(t.Context(), StoreRequest{Messages: msgs(1, "p")}); err != nil {
		t.Fatal(err)
	}
	jobs, err := c.ReportJobs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	job := string(jobs[0].ID)
	if err := c.JobPause(t.Context(), job); err != nil {
		t.Fatalf("JobPause: %v", err)
	}
	clk.Advance(time.Hour)
	if code, _ := srv.MessageCode("p-1"); code != 1 {
		t.Errorf("paused job moved on: code %d", code)
	}
	if err := c.JobPlay(t.Context(), job); err != nil {
		t.Fatalf("JobPlay: %v", err)
	}
	clk.Advance(2 * time.Second)
	if code, _ := srv.MessageCode("p-1"); code != 3 {
		t.Errorf("resumed job: code %d, want 3", code)
	}
	err = c.JobPause(t.Context(), job)
	if codeOf(err) != CodeValidation || !strings.Contains(err.Error(), "Job já finalizado") {
		t.Errorf("pause of a finished job: %v", err)
	}
}

func TestUnauthorized(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk, func(o *ClientOptions) { o.Token = "wrong" })
	_, err := c.Balance(t.Context())
	var ae *APIError
	if sms.KindOf(err) != sms.KindProviderPermanent || codeOf(err) != CodeUnauthorized || !errors.As(err, &ae) ||
		ae.Status != 401 || ae.Messages[0] != "Unauthenticated." {
		t.Errorf("bad token: %v", err)
	}
	if n := srv.Requests("/sms/balance"); n != 1 {
		t.Errorf("a permanent error was retried: %d requests", n)
	}
}

func TestRateLimitedAnswer(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	srv.SetFaults(kolmeyatest.Faults{RateLimitNext: 1, RetryAfter: 7 * time.Second})
	_, err := c.Balance(t.Context())
	if sms.KindOf(err) != sms.KindRateLimited || sms.RetryAfter(err) != 7*time.Second {
		t.Fatalf("429: %v (kind %v, retry after %v)", err, sms.KindOf(err), sms.RetryAfter(err))
	}
	before := clk.Now()
	if _, err := c.Balance(t.Context()); err != nil {
		t.Fatalf("Balance after the wait: %v", err)
	}
	if waited := clk.Now().Sub(before); waited < 7*time.Second {
		t.Errorf("the next request waited %v, want the 7s of Retry-After", waited)
	}
}

func TestReadsRetryButSendsDoNot(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	c := newTestClient(t, srv, clk)
	srv.SetFaults(kolmeyatest.Faults{FailNext: 2})
	if _, err := c.Balance(t.Context()); err != nil {
		t.Fatalf("Balance with two 503s before it: %v", err)
	}
	if n := srv.Requests("/sms/balance"); n != 3 {
		t.Errorf("balance requests = %d, want 3", n)
	}
	srv.SetFaults(kolmeyatest.Faults{FailNext: 1})
	_, err := c.Store(t.Context(), StoreRequest{Messages: msgs(1, "once")})
	if sms.KindOf(err) != sms.KindProviderTemporary || codeOf(err) != CodeServerError {
		t.Errorf("Store on a 503: %v", err)
	}
	if n := srv.Requests("/sms/store"); n != 1 {
		t.Errorf("store requests = %d: a send was retried", n)
	}
	srv.SetFaults(kolmeyatest.Faults{FailNext: 5})
	if _, err := c.Balance(t.Context()); sms.KindOf(err) != sms.KindProviderTemporary {
		t.Errorf("Balance after retries run out: %v", err)
	}
}

func TestPacingAvoids429(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{RateLimit: 5, RateWindow: time.Minute})
	c := newTestClient(t, srv, clk)
	for i := range 12 {
		if _, err := c.Balance(t.Context()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if got := clk.Now().Sub(newClock().Now()); got < 2*time.Minute {
		t.Errorf("12 calls at 5 a minute took %v of fake time, want at least 2m", got)
	}
	if n := srv.Requests("/sms/balance"); n != 12 {
		t.Errorf("%d requests for 12 calls: some were refused and retried", n)
	}
}
