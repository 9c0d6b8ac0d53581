package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// eventually waits for cond, checking every few milliseconds, and fails t
// after 20 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestKolmeyaSafetyNet runs Recado with its workers against a fake Kolmeya
// that sends no webhooks (Recado has no public URL): statuses and replies
// come by polling, the blacklist goes out by sync jobs, and the balance is
// checked on demand and shown with its threshold and the rate-limit budget.
func TestKolmeyaSafetyNet(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		fake := kolmeyatest.NewServer(kolmeyatest.Options{SentAfter: 10 * time.Millisecond, FinalAfter: 20 * time.Millisecond})
		t.Cleanup(fake.Close)
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers(), apptest.WithDispatch(dispatch.Config{
			Background: dispatch.BackgroundConfig{
				StatusPollEvery: 50 * time.Millisecond, FirstStatusPoll: time.Millisecond,
				StatusSchedule: []dispatch.PollStep{{Until: time.Hour, Every: 50 * time.Millisecond}},
				ReplyPollEvery: 50 * time.Millisecond, BalanceEvery: time.Hour, BlacklistSyncEvery: time.Hour,
				BlacklistRetry: []time.Duration{50 * time.Millisecond},
			}}))
		_, opToken := s.Operator(t, "olga")

		// A threshold that is not an amount is refused, and nothing is made.
		checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/providers", Token: s.Token,
			Body: map[string]any{"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
				"base_url": fake.URL(), "token": "test-token", "low_balance_threshold": "muito"}}}),
			http.StatusUnprocessableEntity, "settings.low_balance_threshold")
		apptest.JSON[providers.View](t, s, http.MethodPost, "/api/v1/providers", s.Token, map[string]any{
			"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
				"base_url": fake.URL(), "token": "test-token", "low_balance_threshold": "9999.99"}}, http.StatusCreated)

		// A number blacklisted through the API reaches Kolmeya's list.
		apptest.JSON[map[string]any](t, s, http.MethodPost, "/api/v1/blacklist", s.Token,
			map[string]any{"phones": []string{"11900000077"}}, http.StatusOK)
		eventually(t, "the blacklisted number reaches Kolmeya", func() bool { return fake.Blacklisted("11900000077") })

		// A message's delivery comes by polling.
		m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", s.Token,
			map[string]any{"to": "11900000001", "body": "Oi", "provider": "kolmeya"}, http.StatusAccepted)
		var final api.Message
		eventually(t, "the message is delivered", func() bool {
			final = apptest.JSON[api.Message](t, s, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", m.ID), s.Token, nil, http.StatusOK)
			return final.State == sms.StateDelivered
		})
		if ev := final.Events[len(final.Events)-1]; ev.Source != sms.SourcePoll {
			t.Errorf("delivered by %s, want poll", ev.Source)
		}

		// A reply comes by polling; an opt-out word blacklists the number here
		// and at Kolmeya.
		if _, err := fake.Reply(m.Reference, "SAIR"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the opt-out reaches Kolmeya", func() bool { return fake.Blacklisted("11900000001") })
		in, err := s.App.DB.ListMessages(t.Context(), store.MessageFilter{Direction: sms.Inbound})
		if err != nil || len(in) != 1 || in[0].Body != "SAIR" {
			t.Fatalf("inbound = %+v, %v", in, err)
		}

		// Taking a number off the blacklist takes it off Kolmeya's.
		status, body, _ := s.Do(t, http.MethodDelete, "/api/v1/blacklist/"+url.PathEscape("+5511900000077"), s.Token, nil)
		if status != http.StatusNoContent {
			t.Fatalf("remove from the blacklist: %d %s", status, body)
		}
		eventually(t, "the removal reaches Kolmeya", func() bool { return !fake.Blacklisted("11900000077") })
		// The sync job records its cursor once Kolmeya has answered, a moment
		// after the fake changed its list.
		eventually(t, "the sync is recorded", func() bool {
			v := apptest.JSON[providers.View](t, s, http.MethodGet, "/api/v1/providers/kolmeya", s.Token, nil, http.StatusOK)
			return v.Sync != nil && v.Sync.Blacklist != nil && v.Sync.Blacklist.Pending == 0 && v.Sync.Blacklist.SyncedAt != nil
		})

		// The balance, on demand, by an operator: one message of R$ 0,07 took
		// it below the threshold.
		v := apptest.JSON[providers.View](t, s, http.MethodPost, "/api/v1/providers/kolmeya/balance", opToken, nil, http.StatusOK)
		if v.Balance == nil || *v.Balance != "9999.93" || !v.BalanceLow || v.LowBalanceThreshold == nil || *v.LowBalanceThreshold != "9999.99" {
			t.Errorf("after the balance check: balance %v low %v threshold %v", v.Balance, v.BalanceLow, v.LowBalanceThreshold)
		}
		if v.RateLimit == nil || v.RateLimit.Limit != 500 || v.RateLimit.Remaining <= 0 || v.RateLimit.Remaining >= 500 {
			t.Errorf("rate limit = %+v, want Kolmeya's 500 with some used", v.RateLimit)
		}
		if v.Sync == nil || v.Sync.RepliesPolledAt == nil || v.Sync.Blacklist == nil || v.Sync.Blacklist.Pending != 0 || v.Sync.Blacklist.SyncedAt == nil {
			t.Errorf("sync state = %+v", v.Sync)
		}
		status, body, _ = s.Do(t, http.MethodGet, "/metrics", "", nil)
		for _, want := range []string{`recado_provider_balance_brl{provider="kolmeya"} 9999.93`,
			`recado_provider_balance_low{provider="kolmeya"} 1`, `recado_provider_balance_threshold_brl{provider="kolmeya"} 9999.99`,
			`recado_provider_background_total{job="status_poll",provider="kolmeya",result="ok"}`} {
			if status != http.StatusOK || !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		list := apptest.JSON[struct {
			Providers []providers.View `json:"providers"`
		}](t, s, http.MethodGet, "/api/v1/providers", opToken, nil, http.StatusOK)
		for _, p := range list.Providers {
			if p.Name == "kolmeya" && (p.RateLimit == nil || p.Sync == nil || p.Sync.Blacklist == nil) {
				t.Errorf("the list shows kolmeya without its rate limit or sync state: %+v", p)
			}
			if p.Name == "mock" && (p.RateLimit != nil || p.Sync == nil || p.Sync.Blacklist != nil) {
				t.Errorf("the mock keeps no blacklist and learns no rate limit: %+v", p)
			}
		}

		// A whole-list sync on demand; a provider without a blacklist cannot.
		stores := fake.Requests("/blacklist/store")
		apptest.JSON[providers.View](t, s, http.MethodPost, "/api/v1/providers/kolmeya/sync-blacklist", s.Token, nil, http.StatusAccepted)
		eventually(t, "the whole list is pushed again", func() bool { return fake.Requests("/blacklist/store") > stores })
		checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/providers/mock/sync-blacklist", Token: s.Token}),
			http.StatusConflict, "")
		checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/providers/nobody/balance", Token: s.Token}),
			http.StatusNotFound, "")
	})
}
