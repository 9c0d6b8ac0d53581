package kolmeya

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

const testSecret = "s3cret-fake-0123456789"

// newProvider builds a provider through the registry type, pointed at
// baseURL, with settings extra merged in.
func newProvider(t *testing.T, baseURL string, clk *fakeClock, extra map[string]any) *Provider {
	t.Helper()
	settings := map[string]any{"base_url": baseURL, "token": testToken, "webhook_secret": testSecret,
		"cost_per_segment": "0.07", "timeout": "5s"}
	for k, v := range extra {
		if v == nil {
			delete(settings, k)
		} else {
			settings[k] = v
		}
	}
	raw, _ := json.Marshal(settings)
	reg := provider.NewRegistry(provider.Deps{Now: clk.Now, PublicURL: "https://recado.example/"})
	reg.Register(Type())
	p, err := reg.Build(provider.Config{Name: "k1", Type: TypeName, Settings: raw})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	kp := p.(*Provider)
	kp.client.sleep = clk.Sleep
	kp.client.backoff = time.Millisecond
	return kp
}

func outbound(ref, phone, body string, kind sms.MessageKind) provider.Outbound {
	return provider.Outbound{Reference: ref, Phone: "+" + phone, Body: body, Kind: kind}
}

func byRef(t *testing.T, res []provider.Result, n int) map[string]provider.Result {
	t.Helper()
	if len(res) != n {
		t.Errorf("%d results, want %d: %+v", len(res), n, res)
	}
	out := map[string]provider.Result{}
	for _, r := range res {
		if _, dup := out[r.Reference]; dup {
			t.Errorf("two results for %s", r.Reference)
		}
		out[r.Reference] = r
	}
	return out
}

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings(json.RawMessage(`{"token":"t"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.BaseURL != DefaultBaseURL || s.Timeout != 30*time.Second || s.SegmentID != 0 || s.CostPerSegment != 0 {
		t.Errorf("defaults: %+v", s)
	}
	s, err = ParseSettings(json.RawMessage(`{"token":"t","base_url":"http://127.0.0.1:9/api/v1/","segment_id":"109",
		"sms_api_id":47,"webhook_secret":"` + testSecret + `","cost_per_segment":"0.065","timeout":"2s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.BaseURL != "http://127.0.0.1:9/api/v1" || s.SegmentID != 109 || s.SMSAPIID != 47 || s.CostPerSegment != 650 || s.Timeout != 2*time.Second {
		t.Errorf("parsed: %+v", s)
	}
	bad := map[string]string{
		`{}`:                                                          "token",
		`{"token":"  "}`:                                              "token",
		`{"token":"t","base_url":"ftp://x"}`:                          "base_url",
		`{"token":"t","base_url":"kolmeya"}`:                          "base_url",
		`{"token":"t","segment_id":"abc"}`:                            "segment_id",
		`{"token":"t","segment_id":-1}`:                               "segment_id",
		`{"token":"t","sms_api_id":1.5}`:                              "sms_api_id",
		`{"token":"t","cost_per_segment":"abc"}`:                      "cost_per_segment",
		`{"token":"t","cost_per_segment":"-0.07"}`:                    "cost_per_segment",
		`{"token":"t","timeout":"soon"}`:                              "timeout",
		`{"token":"t","timeout":"-1s"}`:                               "timeout",
		`{"token":"t","webhook_secret":"short"}`:                      "webhook_secret",
		`{"token":"t","webhook_jwt_secret":"short-0123456789abcdef"}`: "webhook_jwt_secret",
		`{"token":"t","segment":109}`:                                 "segment",
		`[`:                                                           "JSON",
	}
	for in, field := range bad {
		_, err := ParseSettings(json.RawMessage(in))
		if sms.KindOf(err) != sms.KindInvalid || !strings.Contains(err.Error(), field) {
			t.Errorf("ParseSettings(%s) = %v, want KindInvalid naming %s", in, err, field)
		}
	}
	if _, err := ParseSettings(nil); sms.KindOf(err) != sms.KindInvalid || !strings.Contains(err.Error(), "token") {
		t.Errorf("empty settings: %v", err)
	}
}

func TestTypeAndIdentity(t *testing.T) {
	typ := Type()
	if typ.Name != "kolmeya" || strings.Join(typ.Secrets, ",") != "token,webhook_secret,webhook_jwt_secret" {
		t.Errorf("Type = %+v", typ)
	}
	p := newProvider(t, "http://127.0.0.1:9/api/v1", newClock(), nil)
	if p.Name() != "k1" || p.Limits().MaxBatch != 1000 {
		t.Errorf("identity: %s %+v", p.Name(), p.Limits())
	}
	if want := "https://recado.example/webhooks/kolmeya/k1/" + testSecret; p.WebhookURL() != want {
		t.Errorf("WebhookURL = %q, want %q", p.WebhookURL(), want)
	}
	if !p.VerifyWebhookSecret(testSecret) || p.VerifyWebhookSecret("nope") || p.VerifyWebhookSecret("") {
		t.Error("VerifyWebhookSecret")
	}
	if q := newProvider(t, "http://127.0.0.1:9/api/v1", newClock(), map[string]any{"webhook_secret": nil}); q.WebhookURL() != "" || q.VerifyWebhookSecret("") {
		t.Error("no secret should mean no webhook URL")
	}
}

func TestStoreRequestBody(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:9/api/v1", newClock(), nil)
	body, _ := json.Marshal(p.storeRequest("b-1", []provider.Outbound{outbound("r-1", "5548999990001", "oi", sms.Marketing)}))
	want := `{"messages":[{"phone":"5548999990001","message":"oi","reference":"r-1"}],"reference":"b-1",` +
		`"webhook_url":"https://recado.example/webhooks/kolmeya/k1/` + testSecret + `"}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	p = newProvider(t, "http://127.0.0.1:9/api/v1", newClock(), map[string]any{"segment_id": 109, "sms_api_id": 47})
	body, _ = json.Marshal(p.storeRequest("b-1", nil))
	if !strings.Contains(string(body), `"tenant_segment_id":109,"sms_api_id":47`) {
		t.Errorf("segment not sent: %s", body)
	}
}

func TestSendMapsEachRefusal(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	srv.AddBlacklist(phone(3))
	srv.AddNotDisturb(phone(4))
	p := newProvider(t, srv.URL(), clk, map[string]any{"segment_id": 109})
	b := provider.Batch{Reference: "batch-1", Messages: []provider.Outbound{
		outbound("ok", phone(1), "Olá", sms.Marketing),
		outbound("bad", "55119", "Olá", sms.Marketing),
		outbound("dup", phone(1), "Olá de novo", sms.Marketing),
		outbound("black", phone(3), "Olá", sms.Marketing),
		outbound("quiet", phone(4), "Olá", sms.Marketing),
	}}
	res, err := p.Send(t.Context(), b)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := byRef(t, res, 5)
	if r := got["ok"]; r.State != sms.StateSent || r.ProviderMessageID == "" || r.ProviderJobID == "" || r.Cost == nil || *r.Cost != 700 {
		t.Errorf("ok: %+v", r)
	}
	want := map[string]string{"bad": "invalid", "dup": "duplicate", "black": "blacklist", "quiet": "not_disturb"}
	for ref, code := range want {
		if r := got[ref]; r.State != sms.StateRejected || r.ErrorCode != code || r.ErrorText == "" {
			t.Errorf("%s: %+v, want rejected %q", ref, r, code)
		}
	}
	if !strings.Contains(got["bad"].ErrorText, "inválido") {
		t.Errorf("invalid should carry Kolmeya's text: %q", got["bad"].ErrorText)
	}
	if srv.Accepted("ok") != 1 || srv.TotalAccepted() != 1 {
		t.Errorf("accepted: %d of %d", srv.Accepted("ok"), srv.TotalAccepted())
	}

	// An unknown cost centre is refused by Kolmeya: the setting is sent.
	p = newProvider(t, srv.URL(), clk, map[string]any{"segment_id": 999})
	_, err = p.Send(t.Context(), provider.Batch{Reference: "b2", Messages: b.Messages[:1]})
	if sms.KindOf(err) != sms.KindProviderPermanent || codeOf(err) != CodeValidation {
		t.Errorf("unknown segment: %v", err)
	}
}

func TestMatchByPhoneEchoes(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:9/api/v1", newClock(), nil)
	msgs := []provider.Outbound{
		outbound("a", "5548999990001", "x", sms.Marketing),
		outbound("b", "5548999990002", "x", sms.Marketing),
		outbound("c", "5548999990002", "x", sms.Marketing),
		outbound("d", "5548999990004", "x", sms.Marketing),
		outbound("e", "5548999990005", "x", sms.Marketing),
	}
	var resp StoreResponse
	body := `{"id":"req","valids":[{"id":"m-a","phone":48999990001,"reference":"a"},{"id":"m-b","phone":"5548999990002"}],
		"duplicates":[{"phone":48999990002}],
		"blacklist":[{"phone":5548999990004}],
		"not_disturb":["48999990005", {"phone": 41999990009}]}`
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	got := byRef(t, p.match(msgs, &resp), 5)
	checks := map[string]struct {
		state sms.State
		code  string
		id    string
	}{
		"a": {sms.StateSent, "", "m-a"}, "b": {sms.StateSent, "", "m-b"}, "c": {sms.StateRejected, "duplicate", ""},
		"d": {sms.StateRejected, "blacklist", ""}, "e": {sms.StateRejected, "not_disturb", ""},
	}
	for ref, w := range checks {
		if r := got[ref]; r.State != w.state || r.ErrorCode != w.code || r.ProviderMessageID != w.id {
			t.Errorf("%s: %+v, want %v %q %q", ref, r, w.state, w.code, w.id)
		}
	}
}

func TestSendTransactionalThroughStoreToken(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	srv.AddNotDisturb(phone(3))
	p := newProvider(t, srv.URL(), clk, nil)
	b := provider.Batch{Reference: "mix", Messages: []provider.Outbound{
		outbound("m1", phone(1), "promo", sms.Marketing),
		outbound("t1", phone(2), "código 1234", sms.Transactional),
		outbound("m2", phone(5), "promo", sms.Marketing),
		outbound("t2", phone(3), "código 5678", sms.Transactional),
		outbound("t3", phone(4), "veja http://x.example", sms.Transactional),
	}}
	res, err := p.Send(t.Context(), b)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := byRef(t, res, 5)
	for _, ref := range []string{"m1", "m2", "t1", "t2"} {
		if got[ref].State != sms.StateSent {
			t.Errorf("%s: %+v", ref, got[ref])
		}
	}
	if r := got["t3"]; r.State != sms.StateRejected || r.ErrorCode != "invalid" {
		t.Errorf("link on the token route: %+v", r)
	}
	if s, tk := srv.Requests("/sms/store"), srv.Requests("/sms/store-token"); s != 1 || tk != 3 {
		t.Errorf("requests: store %d, store-token %d; want 1 and 3", s, tk)
	}
	found, err := p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{"mix"},
		MessageReferences: []string{"m1", "m2", "t1", "t2", "t3"}})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	fg := byRef(t, found, 4)
	for _, ref := range []string{"m1", "m2", "t1", "t2"} {
		if fg[ref].ProviderMessageID != got[ref].ProviderMessageID {
			t.Errorf("Lookup %s: %+v, Send said %+v", ref, fg[ref], got[ref])
		}
	}
}

// TestTokenValidationRefusal checks that a 422 on the token route rejects
// that message only and passes the batch reference to the next request.
func TestTokenValidationRefusal(t *testing.T) {
	var mu sync.Mutex
	var refs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in StoreRequest
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &in)
		mu.Lock()
		refs = append(refs, in.Reference)
		mu.Unlock()
		m := in.Messages[0]
		if strings.Contains(m.Message, "0800") {
			w.WriteHeader(422)
			_, _ = w.Write([]byte(`{"errors":["Números 0800 não são permitidos."]}`))
			return
		}
		fmt.Fprintf(w, `{"id":"req-%s","valids":[{"id":"msg-%s","phone":%s,"reference":%q}]}`, m.Reference, m.Reference, m.Phone[2:], m.Reference)
	}))
	defer srv.Close()
	p := newProvider(t, srv.URL, newClock(), nil)
	res, err := p.Send(t.Context(), provider.Batch{Reference: "B", Messages: []provider.Outbound{
		outbound("a", phone(1), "ligue 0800 123", sms.Transactional),
		outbound("b", phone(2), "código", sms.Transactional),
		outbound("c", phone(3), "código", sms.Transactional),
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := byRef(t, res, 3)
	if r := got["a"]; r.State != sms.StateRejected || r.ErrorCode != "invalid" || !strings.Contains(r.ErrorText, "0800") {
		t.Errorf("a: %+v", r)
	}
	if got["b"].State != sms.StateSent || got["c"].State != sms.StateSent || got["c"].ProviderJobID != "req-c" {
		t.Errorf("b, c: %+v %+v", got["b"], got["c"])
	}
	if want := "B,B,B:c"; strings.Join(refs, ",") != want {
		t.Errorf("request references %v, want %s", refs, want)
	}
}

func TestSendRefusedAfterPartialAcceptanceIsTemporary(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			_, _ = w.Write([]byte(`{"id":"r1","valids":[{"id":"m1","phone":11900000001,"reference":"a"}]}`))
			return
		}
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"errors":["Unauthenticated."]}`))
	}))
	defer srv.Close()
	p := newProvider(t, srv.URL, newClock(), nil)
	_, err := p.Send(t.Context(), provider.Batch{Reference: "B", Messages: []provider.Outbound{
		outbound("a", phone(1), "x", sms.Transactional), outbound("b", phone(2), "x", sms.Transactional)}})
	if sms.KindOf(err) != sms.KindProviderTemporary || codeOf(err) != CodeUnauthorized {
		t.Errorf("refusal after a part was taken: %v (kind %v)", err, sms.KindOf(err))
	}
	calls = 1
	_, err = p.Send(t.Context(), provider.Batch{Reference: "C", Messages: []provider.Outbound{outbound("c", phone(3), "x", sms.Marketing)}})
	if sms.KindOf(err) != sms.KindProviderPermanent || codeOf(err) != CodeUnauthorized {
		t.Errorf("refusal of the first request: %v (kind %v)", err, sms.KindOf(err))
	}
}

func TestSendTimeoutThenLookup(t *testing.T) {
	for _, kind := range []sms.MessageKind{sms.Marketing, sms.Transactional} {
		t.Run(string(kind), func(t *testing.T) {
			clk := newClock()
			srv := newFake(t, clk, kolmeyatest.Options{})
			p := newProvider(t, srv.URL(), clk, map[string]any{"timeout": "150ms"})
			b := provider.Batch{Reference: "slow-" + string(kind)}
			for i := range 3 {
				b.Messages = append(b.Messages, outbound(fmt.Sprintf("%s-%d", kind, i), phone(i+1), "x", kind))
			}
			hangAt := 1 // the one store request
			if kind == sms.Transactional {
				hangAt = 3 // the last of three store-token requests
			}
			srv.SetFaults(kolmeyatest.Faults{HangAfterAccept: hangAt})
			res, err := p.Send(t.Context(), b)
			if err == nil || sms.KindOf(err) != sms.KindProviderTemporary || codeOf(err) != CodeTimeout {
				t.Fatalf("Send = %d results, %v; want a temporary timeout", len(res), err)
			}
			found, err := p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{b.Reference},
				MessageReferences: []string{b.Messages[0].Reference, b.Messages[1].Reference, b.Messages[2].Reference}})
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			for ref, r := range byRef(t, found, 3) {
				if r.State != sms.StateSent || r.ProviderMessageID == "" || r.ProviderJobID == "" {
					t.Errorf("%s: %+v", ref, r)
				}
				if n := srv.Accepted(ref); n != 1 {
					t.Errorf("%s accepted %d times, want 1", ref, n)
				}
			}
		})
	}
}

func TestLookupStatesAndUnknown(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{Outcomes: kolmeyatest.Outcomes{Delivered: 1, Failed: 1, Rejected: 1, Expired: 1},
		SentAfter: time.Second, FinalAfter: time.Second})
	p := newProvider(t, srv.URL(), clk, nil)
	b := provider.Batch{Reference: "states"}
	var refs []string
	for i := range 40 {
		ref := fmt.Sprintf("st-%d", i)
		refs = append(refs, ref)
		b.Messages = append(b.Messages, outbound(ref, phone(i+1), "x", sms.Marketing))
	}
	if _, err := p.Send(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	found, err := p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{"states", "unknown-batch"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[sms.State]bool{}
	for _, r := range byRef(t, found, 40) {
		code, _ := srv.MessageCode(r.Reference)
		want, _ := StateForCode(code)
		if r.State != want {
			t.Errorf("%s: state %v, fake code %d", r.Reference, r.State, code)
		}
		if want.Failure() && (r.ErrorCode == "" || r.ErrorText == "") {
			t.Errorf("%s: failure without error code/text: %+v", r.Reference, r)
		}
		seen[r.State] = true
	}
	if len(seen) != 4 {
		t.Errorf("outcome mix produced only %v", seen)
	}
	// Only the asked message references come back.
	found, err = p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{"states"}, MessageReferences: refs[:2]})
	if err != nil || len(found) != 2 {
		t.Errorf("filtered Lookup = %d, %v", len(found), err)
	}
	found, err = p.Lookup(t.Context(), provider.LookupQuery{RequestReferences: []string{"nope"}, MessageReferences: []string{"x"}})
	if err != nil || len(found) != 0 {
		t.Errorf("unknown Lookup = %+v, %v", found, err)
	}
	if n := srv.Requests("/sms/status/request"); n != 4 {
		t.Errorf("%d status requests: an unknown batch reference must not be probed further", n)
	}
}

func TestStateForCode(t *testing.T) {
	want := map[int]sms.State{1: sms.StateSent, 2: sms.StateSent, 3: sms.StateDelivered, 4: sms.StateFailed,
		5: sms.StateRejected, 6: sms.StateExpired}
	for code := -1; code <= 8; code++ {
		got, ok := StateForCode(code)
		if w, known := want[code]; got != w || ok != known {
			t.Errorf("StateForCode(%d) = %q, %v", code, got, ok)
		}
	}
}

func TestSendCanceledAndBalance(t *testing.T) {
	clk := newClock()
	srv := newFake(t, clk, kolmeyatest.Options{})
	p := newProvider(t, srv.URL(), clk, nil)
	ctx, cancel := contextCanceled(t)
	defer cancel()
	_, err := p.Send(ctx, provider.Batch{Reference: "c", Messages: []provider.Outbound{outbound("c1", phone(1), "x", sms.Marketing)}})
	if err == nil || srv.TotalAccepted() != 0 {
		t.Errorf("canceled Send: %v, %d accepted", err, srv.TotalAccepted())
	}
	bal, err := p.Balance(t.Context())
	if err != nil || bal != 10000*sms.MoneyScale {
		t.Errorf("Balance = %v, %v", bal, err)
	}
	if _, err := p.Send(t.Context(), provider.Batch{Messages: make([]provider.Outbound, 1001)}); sms.KindOf(err) != sms.KindInvalid {
		t.Errorf("oversized batch: %v", err)
	}
}
