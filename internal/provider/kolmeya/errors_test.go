package kolmeya

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

func TestDecodeAPIError(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		msgs   []string
		fields map[string][]string
	}{
		{"array", `{"errors":["Unauthenticated."]}`, []string{"Unauthenticated."}, nil},
		{"array of two", `{"errors":["a","b"]}`, []string{"a", "b"}, nil},
		{"laravel", `{"message":"The given data was invalid.","errors":{"messages":["O campo messages é obrigatório."],"reference":"curta"}}`,
			[]string{"The given data was invalid."},
			map[string][]string{"messages": {"O campo messages é obrigatório."}, "reference": {"curta"}}},
		{"message only", `{"message":"Server Error"}`, []string{"Server Error"}, nil},
		{"error string", `{"error":"boom"}`, []string{"boom"}, nil},
		{"errors string", `{"errors":"boom"}`, []string{"boom"}, nil},
		{"message repeats error", `{"message":"x","errors":["x"]}`, []string{"x"}, nil},
		{"html", `<html>502 Bad Gateway</html>`, []string{"<html>502 Bad Gateway</html>"}, nil},
		{"empty", ``, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DecodeAPIError(422, []byte(tt.body))
			if !reflect.DeepEqual(e.Messages, tt.msgs) {
				t.Errorf("Messages = %q, want %q", e.Messages, tt.msgs)
			}
			if len(tt.fields) > 0 && !reflect.DeepEqual(e.Fields, tt.fields) {
				t.Errorf("Fields = %q, want %q", e.Fields, tt.fields)
			}
		})
	}
	e := DecodeAPIError(422, []byte(`{"message":"m","errors":{"b":["2"],"a":["1"]}}`))
	if got := e.Error(); got != "HTTP 422: m; a: 1; b: 2" {
		t.Errorf("Error() = %q", got)
	}
}

// TestErrorKinds checks the status → kind table over real HTTP.
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		status     int
		header     string
		body       string
		kind       sms.Kind
		code       string
		retryAfter time.Duration
	}{
		{401, "", `{"errors":["Unauthenticated."]}`, sms.KindProviderPermanent, CodeUnauthorized, 0},
		{403, "", `{"message":"IP não autorizado"}`, sms.KindProviderPermanent, CodeUnauthorized, 0},
		{422, "", `{"errors":["O campo messages é obrigatório."]}`, sms.KindProviderPermanent, CodeValidation, 0},
		{400, "", `{"message":"x","errors":{"phone":["inválido"]}}`, sms.KindProviderPermanent, CodeValidation, 0},
		{404, "", `{"errors":["Not found."]}`, sms.KindProviderPermanent, CodeNotFound, 0},
		{429, "12", `{"errors":["Too Many Attempts."]}`, sms.KindRateLimited, CodeRateLimited, 12 * time.Second},
		{429, "", `{}`, sms.KindRateLimited, CodeRateLimited, 60 * time.Second},
		{500, "", `{"message":"Server Error"}`, sms.KindProviderTemporary, CodeServerError, 0},
		{503, "", `<html>down</html>`, sms.KindProviderTemporary, CodeServerError, 0},
		{418, "", `{}`, sms.KindProviderPermanent, "http_418", 0},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			clk := newClock()
			c := NewClient(ClientOptions{BaseURL: srv.URL, Token: testToken, Now: clk.Now, Sleep: clk.Sleep, ReadRetries: -1})
			_, err := c.Segments(t.Context())
			var se *sms.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not an *sms.Error", err)
			}
			if se.Kind != tt.kind || se.Code != tt.code || se.RetryAfter != tt.retryAfter {
				t.Errorf("got kind %v code %q retry %v, want %v %q %v", se.Kind, se.Code, se.RetryAfter, tt.kind, tt.code, tt.retryAfter)
			}
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.status {
				t.Errorf("no *APIError with status %d in %v", tt.status, err)
			}
			if !strings.HasPrefix(err.Error(), "kolmeya: segments: ") {
				t.Errorf("error %q lacks its operation", err)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	clk := newClock()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	c := NewClient(ClientOptions{BaseURL: slow.URL, Token: testToken, Now: clk.Now, Sleep: clk.Sleep,
		Timeout: 50 * time.Millisecond, ReadRetries: -1})
	_, err := c.Balance(t.Context())
	if sms.KindOf(err) != sms.KindProviderTemporary || codeOf(err) != CodeTimeout {
		t.Errorf("timeout: %v (kind %v code %q)", err, sms.KindOf(err), codeOf(err))
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	c = NewClient(ClientOptions{BaseURL: url, Token: testToken, Now: clk.Now, Sleep: clk.Sleep, ReadRetries: -1})
	_, err = c.Balance(t.Context())
	if sms.KindOf(err) != sms.KindProviderTemporary || codeOf(err) != CodeNetwork {
		t.Errorf("connection refused: %v (kind %v code %q)", err, sms.KindOf(err), codeOf(err))
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Balance(ctx)
	if sms.KindOf(err) != sms.KindProviderTemporary || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}

	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"balance": [`))
	}))
	defer garbage.Close()
	c = NewClient(ClientOptions{BaseURL: garbage.URL, Token: testToken, Now: clk.Now, Sleep: clk.Sleep, ReadRetries: -1})
	_, err = c.Balance(t.Context())
	if sms.KindOf(err) != sms.KindProviderTemporary || codeOf(err) != CodeBadResponse {
		t.Errorf("garbage: %v", err)
	}
}

func TestRequestHeaders(t *testing.T) {
	var got http.Header
	var method, path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, method, path = r.Header.Clone(), r.Method, r.URL.Path
		_, _ = w.Write([]byte(`[]`))
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{BaseURL: srv.URL + "/api/v1/", Token: testToken})
	if _, err := c.APIs(t.Context()); err != nil {
		t.Fatal(err)
	}
	if method != http.MethodPost || path != "/api/v1/sms/apis" || got.Get("Authorization") != "Bearer "+testToken ||
		got.Get("Content-Type") != "application/json" || got.Get("Accept") != "application/json" {
		t.Errorf("request %s %s %v", method, path, got)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              60 * time.Second,
		"5":                             5 * time.Second,
		"0":                             time.Second,
		"1.5":                           1500 * time.Millisecond,
		"soon":                          60 * time.Second,
		"Sun, 16 Nov 2025 12:00:30 GMT": 30 * time.Second,
	}
	for v, want := range tests {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := retryAfter(h, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}
