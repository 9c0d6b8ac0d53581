package kolmeya

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

func bigRequest() StoreRequest {
	req := StoreRequest{Reference: "bench-batch", TenantSegmentID: 109, WebhookURL: "https://recado.example/webhooks/kolmeya/k1/" + testSecret}
	for i := range MaxStoreMessages {
		req.Messages = append(req.Messages, OutMessage{Phone: phone(i + 1),
			Message: fmt.Sprintf("Olá, cliente %d: sua fatura de novembro está disponível.", i), Reference: fmt.Sprintf("bench-%06d", i)})
	}
	return req
}

func bigResponse() []byte {
	var b strings.Builder
	b.WriteString(`{"id":"0000a001-0000-4000-8000-000000000001","reference":"bench-batch","valids":[`)
	for i := range MaxStoreMessages {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"0000b002-0000-4000-8000-%012x","phone":119000%05d,"reference":"bench-%06d"}`, i+2, i+1, i)
	}
	b.WriteString(`],"invalids":[],"duplicates":[],"blacklist":[],"not_disturb":[]}`)
	return []byte(b.String())
}

func BenchmarkStoreRequestEncode1000(b *testing.B) {
	req := bigRequest()
	b.ReportAllocs()
	for b.Loop() {
		data, err := json.Marshal(req)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}

func BenchmarkStoreResponseDecode1000(b *testing.B) {
	data := bigResponse()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r StoreResponse
		if err := json.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
		if len(r.Valids) != MaxStoreMessages {
			b.Fatal(len(r.Valids))
		}
	}
}

// BenchmarkSendBatch1000 is the whole path: the adapter builds a request of
// 1000 messages, posts it over loopback to the fake, which validates and
// records them, and matches the answer back to results.
func BenchmarkSendBatch1000(b *testing.B) {
	clk := newClock()
	srv := kolmeyatest.NewServer(kolmeyatest.Options{Token: testToken, Now: clk.Now, RateLimit: -1})
	defer srv.Close()
	p := newBenchProvider(b, srv.URL(), clk)
	req := bigRequest()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		batch := provider.Batch{Reference: fmt.Sprintf("bench-%d", n)}
		for _, m := range req.Messages {
			batch.Messages = append(batch.Messages, provider.Outbound{Reference: fmt.Sprintf("%d-%s", n, m.Reference),
				Phone: "+" + m.Phone, Body: m.Message, Kind: sms.Marketing})
		}
		res, err := p.Send(b.Context(), batch)
		if err != nil || len(res) != MaxStoreMessages {
			b.Fatalf("Send: %d results, %v", len(res), err)
		}
	}
}

func newBenchProvider(b *testing.B, url string, clk *fakeClock) *Provider {
	b.Helper()
	s, err := ParseSettings([]byte(`{"token":"` + testToken + `","base_url":"` + url + `","cost_per_segment":"0.07"}`))
	if err != nil {
		b.Fatal(err)
	}
	p, err := New("k1", s, provider.Deps{Now: clk.Now}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return p
}
