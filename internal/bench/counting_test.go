package bench

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/recado-sms/recado/internal/provider/kolmeya"
)

// TestCountingKolmeya checks the campaign scenario's Kolmeya: it takes
// every message of /sms/store as Kolmeya answers it, hands every other
// request to the fake behind it, and its check finds a recipient missed, a
// recipient sent to twice and a message to anyone else.
func TestCountingKolmeya(t *testing.T) {
	cases := []struct {
		name     string
		sends    [][]string // the references of each request
		contacts []int64    // campaign 7's recipients
		wantErr  string     // "" for a passing check
	}{
		{"each once", [][]string{{"cp7.1", "cp7.2"}, {"cp7.3"}}, []int64{1, 2, 3}, ""},
		{"one twice", [][]string{{"cp7.1", "cp7.2"}, {"cp7.2"}}, []int64{1, 2}, "never accepted 0 and accepted 1 more than once"},
		{"one missed", [][]string{{"cp7.1"}}, []int64{1, 2}, "never accepted 1 and accepted 0"},
		{"another campaign's", [][]string{{"cp7.1", "cp8.2"}}, []int64{1, 2}, "never accepted 1"},
		{"a stray reference", [][]string{{"cp7.1", "bs-1"}}, []int64{1}, "accepted 2 messages in all"},
		{"a recipient beyond any sent", [][]string{{"cp7.1"}}, []int64{1, 1 << 20}, "never accepted 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var delegated, counted calls
			k := newCountingKolmeya(&delegated, "tok", func(n int) { counted.add(strconv.Itoa(n)) })
			defer k.Close()
			for i, refs := range tc.sends {
				var req kolmeya.StoreRequest
				for j, ref := range refs {
					req.Messages = append(req.Messages, kolmeya.OutMessage{Phone: phone(i*10 + j)[1:], Message: "oi", Reference: ref})
				}
				resp := post(t, k.URL()+"/sms/store", "tok", req)
				var out kolmeya.StoreResponse
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
					t.Fatalf("/sms/store answered %d, %v", resp.StatusCode, err)
				}
				resp.Body.Close()
				if len(out.Valids) != len(refs) || out.ID == "" {
					t.Fatalf("answer %+v", out)
				}
				for j, v := range out.Valids {
					if string(v.Reference) != refs[j] || string(v.Phone) != kolmeya.NationalDigits(req.Messages[j].Phone) {
						t.Errorf("valid %d: %+v for %+v", j, v, req.Messages[j])
					}
				}
			}
			check, err := k.CheckCampaign(7, slices.Values(tc.contacts))
			switch {
			case tc.wantErr == "" && (err != nil || !strings.Contains(check, "exactly once")):
				t.Errorf("check = %q, %v", check, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("check = %q, %v; want an error with %q", check, err, tc.wantErr)
			}
			if len(counted.all()) != len(tc.sends) || len(delegated.all()) != 0 {
				t.Errorf("onAccept got %v, the fake behind %v", counted.all(), delegated.all())
			}
		})
	}

	t.Run("others", func(t *testing.T) {
		var delegated calls
		k := newCountingKolmeya(&delegated, "tok", nil)
		defer k.Close()
		req := kolmeya.StoreRequest{Messages: []kolmeya.OutMessage{{Phone: "5511999990000", Message: "oi", Reference: "cp1.1"}}}
		if resp := post(t, k.URL()+"/sms/store", "wrong", req); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a wrong token: %d", resp.StatusCode)
		}
		if resp := post(t, k.URL()+"/sms/store", "tok", kolmeya.StoreRequest{}); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("no messages: %d", resp.StatusCode)
		}
		post(t, k.URL()+"/sms/balance", "tok", struct{}{})
		if n, _, _, _ := k.Total(); n != 0 || !slices.Equal(delegated.all(), []string{"/api/v1/sms/balance"}) {
			t.Errorf("took %d messages; the fake behind got %v", n, delegated.all())
		}
	})
}

func post(t *testing.T, url, token string, body any) *http.Response {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// calls records what it is given, safely across goroutines; as an
// http.Handler, each request's path.
type calls struct {
	mu   sync.Mutex
	seen []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	c.seen = append(c.seen, s)
	c.mu.Unlock()
}

func (c *calls) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

func (c *calls) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.add(r.URL.Path) }
