package kolmeya

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

func TestPollJob(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{SentAfter: time.Minute, FinalAfter: time.Hour,
		Outcomes: kolmeyatest.Outcomes{Delivered: 1, Failed: 1, Rejected: 1, Expired: 1}})
	p := newProvider(t, srv.URL(), clk, nil)
	refs := []string{"r-1", "r-2", "r-3", "r-4", "r-5", "r-6", "r-7", "r-8"}
	var msgs []provider.Outbound
	for i, ref := range refs {
		msgs = append(msgs, outbound(ref, "551190000000"+string(rune('1'+i)), "Oi", sms.Marketing))
	}
	res, err := p.Send(ctx, provider.Batch{Reference: "b-1", Messages: msgs})
	if err != nil || len(res) != len(refs) {
		t.Fatalf("send: %v, %v", res, err)
	}
	job := res[0].ProviderJobID
	check := func(t *testing.T, wantFinal bool) {
		t.Helper()
		ups, err := p.PollJob(ctx, job)
		if err != nil || len(ups) != len(refs) {
			t.Fatalf("poll: %v, %v", ups, err)
		}
		for _, u := range ups {
			code, _ := srv.MessageCode(u.Reference)
			want, _ := StateForCode(code)
			if u.State != want || u.ProviderMessageID == "" || !u.At.Equal(clk.Now()) || u.State.Final() != wantFinal {
				t.Errorf("%s: %+v, want %s", u.Reference, u, want)
			}
			if u.State.Failure() != (u.ErrorCode != "") || u.State.Failure() && !strings.HasPrefix(u.ErrorCode, "status_") {
				t.Errorf("%s: error code %q for %s", u.Reference, u.ErrorCode, u.State)
			}
		}
	}
	check(t, false)
	clk.Advance(2 * time.Hour)
	check(t, true)
	// A job Kolmeya does not know gives nothing, and no error.
	if ups, err := p.PollJob(ctx, "00000000-0000-4000-8000-000000000000"); err != nil || len(ups) != 0 {
		t.Fatalf("unknown job: %v, %v", ups, err)
	}
	srv.SetFaults(kolmeyatest.Faults{FailNext: 3})
	if _, err := p.PollJob(ctx, job); !sms.Retryable(err) {
		t.Fatalf("poll while Kolmeya fails: %v, want a temporary error", err)
	}
}

func TestPollReplies(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{PageSize: 2})
	p := newProvider(t, srv.URL(), clk, nil)
	if _, err := p.Send(ctx, provider.Batch{Reference: "b-1", Messages: []provider.Outbound{
		outbound("r-1", "5511900000001", "Oi", sms.Marketing), outbound("r-2", "5511900000002", "Oi", sms.Marketing)}}); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"SIM", "NÃO", "talvez"} {
		if _, err := srv.Reply("r-1", text); err != nil {
			t.Fatal(err)
		}
	}
	srv.AddWebReply(kolmeyatest.WebReply{Job: 7, Phone: "11900000003", Message: "campanha", Reply: "SAIR"})
	clk.Advance(3 * time.Hour)
	if _, err := srv.Reply("r-2", "depois"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		since time.Duration // before now
		want  int
	}{
		{time.Hour, 1},       // the last reply only
		{4 * time.Hour, 5},   // all, over pages, and the web reply
		{400 * time.Hour, 5}, // asks for at most 168 h
	}
	for _, tt := range tests {
		rs, err := p.PollReplies(ctx, clk.Now().Add(-tt.since))
		if err != nil || len(rs) != tt.want {
			t.Fatalf("since %v: %d replies, %v; want %d", tt.since, len(rs), err, tt.want)
		}
		for _, r := range rs {
			if r.ProviderReplyID == "" || r.Phone == "" || r.Body == "" || r.ReceivedAt.IsZero() {
				t.Errorf("reply %+v", r)
			}
			if r.Body == "SAIR" && (!strings.HasPrefix(r.ProviderReplyID, "web:") || r.InReplyToProviderMessageID != "") {
				t.Errorf("web reply %+v", r)
			}
			if r.Body == "SIM" && (r.InReplyToReference != "r-1" || r.InReplyToProviderMessageID == "") {
				t.Errorf("reply %+v does not name the message it answers", r)
			}
		}
	}
	if p.ReplyRetention() != 168*time.Hour {
		t.Errorf("retention %v", p.ReplyRetention())
	}
}

func TestBlacklistPush(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	p := newProvider(t, srv.URL(), clk, nil)
	phones := []string{"+5511900000001", "+5521900000002", "+351912345678", "+12025550123"}
	if err := p.BlacklistAdd(ctx, phones); err != nil {
		t.Fatal(err)
	}
	if !srv.Blacklisted("11900000001") || !srv.Blacklisted("21900000002") || srv.Requests("/blacklist/store") != 1 {
		t.Fatalf("Brazilian numbers not pushed in one request (%d)", srv.Requests("/blacklist/store"))
	}
	if err := p.BlacklistAdd(ctx, []string{"+351912345678"}); err != nil || srv.Requests("/blacklist/store") != 1 {
		t.Fatalf("only foreign numbers: %v, %d requests", err, srv.Requests("/blacklist/store"))
	}
	if err := p.BlacklistRemove(ctx, phones[:1]); err != nil || srv.Blacklisted("11900000001") || !srv.Blacklisted("21900000002") {
		t.Fatalf("remove: %v", err)
	}
	// 2500 numbers go in requests of at most 1000.
	many := make([]string, 2500)
	for i := range many {
		many[i] = fmt.Sprintf("+55119%08d", i)
	}
	before := srv.Requests("/blacklist/store")
	if err := p.BlacklistAdd(ctx, many); err != nil || srv.Requests("/blacklist/store")-before != 3 {
		t.Fatalf("2500 numbers: %v, %d requests", err, srv.Requests("/blacklist/store")-before)
	}
}

func TestRateLimitSeen(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{RateLimit: 50})
	p := newProvider(t, srv.URL(), clk, nil)
	if _, known := p.RateLimit(); known {
		t.Fatal("a rate limit known before any answer")
	}
	for range 3 {
		if _, err := p.Balance(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rl, known := p.RateLimit()
	if !known || rl.Limit != 50 || rl.Remaining != 47 || !rl.ResetAt.After(clk.Now()) || !rl.BlockedUntil.IsZero() {
		t.Fatalf("rate limit %+v (known %v), want 47 of 50 left", rl, known)
	}
	clk.Advance(2 * time.Minute) // the window is over: the whole limit is back
	if rl, _ := p.RateLimit(); rl.Remaining != 50 {
		t.Fatalf("after the window: %+v", rl)
	}
}
