package kolmeya

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
)

// validJWT checks a token as RFC 7519 and the handler's rules say, by hand:
// three base64url parts, a header naming HS256, an HMAC-SHA256 signature by
// key, an exp not past and an iat not ahead (30 s of leeway, and a second
// for the library's rounding).
func validJWT(token, key string, now time.Time) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Exp *float64 `json:"exp"`
		Iat *float64 `json:"iat"`
	}
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	p, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &hdr) != nil || json.Unmarshal(p, &claims) != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	slack := jwtLeeway + time.Second
	return hdr.Alg == "HS256" && hmac.Equal(sig, mac.Sum(nil)) && claims.Exp != nil &&
		now.Before(time.Unix(int64(*claims.Exp), 0).Add(slack)) &&
		(claims.Iat == nil || !now.Add(slack).Before(time.Unix(int64(*claims.Iat), 0)))
}

func jwtSeeds(f *testing.F, now time.Time) []string {
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	return []string{
		sign(jwt.SigningMethodHS256, []byte(testJWTKey), jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}),
		sign(jwt.SigningMethodHS256, []byte(testJWTKey), jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()}),
		sign(jwt.SigningMethodHS256, []byte(testJWTKey), jwt.MapClaims{"iat": now.Unix()}),
		sign(jwt.SigningMethodHS512, []byte(testJWTKey), jwt.MapClaims{"exp": now.Add(time.Minute).Unix()}),
		sign(jwt.SigningMethodHS256, []byte("another-key-0123456789abcdef01234"), jwt.MapClaims{"exp": now.Add(time.Minute).Unix()}),
		sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"exp": now.Add(time.Minute).Unix()}),
		"", "a.b.c", "not a token", "eyJhbGciOiJIUzI1NiJ9..",
	}
}

// FuzzVerifyWebhookJWT: whatever the token, the provider accepts it only
// if it checks out by hand.
func FuzzVerifyWebhookJWT(f *testing.F) {
	now := time.Date(2025, 11, 16, 14, 30, 0, 0, time.UTC)
	for _, s := range jwtSeeds(f, now) {
		f.Add(s)
	}
	p := &Provider{settings: Settings{WebhookJWTSecret: testJWTKey}}
	f.Fuzz(func(t *testing.T, token string) {
		if p.VerifyWebhookJWT(token, now) && !validJWT(token, testJWTKey, now) {
			t.Fatalf("accepted a token that does not check out: %q", token)
		}
	})
}

// FuzzWebhookHandler sends arbitrary bodies with arbitrary URL secrets and
// Authorization headers to the webhook handler. The answer is always one
// of the handler's statuses; a refusal (401) changes nothing; a webhook
// let in without the URL's secret carried a JWT that checks out by hand;
// and what reaches the sink names a message and a known state.
func FuzzWebhookHandler(f *testing.F) {
	clk := newClock()
	now := clk.Now()
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: testToken, Now: clk.Now})
	f.Cleanup(fake.Close)
	p, err := New("k1", Settings{BaseURL: fake.URL(), Token: testToken, WebhookSecret: testSecret,
		WebhookJWTSecret: testJWTKey, Timeout: time.Second}, provider.Deps{Now: clk.Now}, nil)
	if err != nil {
		f.Fatal(err)
	}
	sink := &recordingSink{}
	h := NewWebhookHandler(WebhookOptions{Sink: sink, Replies: sink, Now: clk.Now, MaxBody: 64 << 10,
		Lookup: func(_ context.Context, name string) (*Provider, error) {
			if name == "k1" {
				return p, nil
			}
			return nil, sms.Errorf(sms.KindNotFound, "no provider %q", name)
		}})
	bodies := []string{nestedStatus, flatStatus, `{"id":"req","reference":"b","status":"rejected","status_message":"x"}`,
		`{"reply":{"id":"r1","reply":"SAIR","received_at":"16/11/2025 14:30:00","message":{"id":"m","reference":"r","phone":"5511900000001"}}}`,
		``, `{`, `[]`, `{"messages":[{"status_code":3}]}`}
	tokens := jwtSeeds(f, now)
	for i, b := range bodies {
		f.Add([]byte(b), testSecret, "")
		f.Add([]byte(b), "wrong", "Bearer "+tokens[i%len(tokens)])
	}
	f.Fuzz(func(t *testing.T, body []byte, secret, authorization string) {
		if !utf8.ValidString(secret) || !utf8.ValidString(authorization) || strings.ContainsAny(authorization, "\r\n") {
			return
		}
		sink.take()
		req := httptest.NewRequest(http.MethodPost, "/webhooks/kolmeya/k1/x", bytes.NewReader(body))
		req.SetPathValue("provider", "k1")
		req.SetPathValue("secret", secret)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		calls := sink.take()
		switch rec.Code {
		case 200, 202, 400, 413, 503:
		case 401:
			if len(calls) != 0 {
				t.Fatalf("refused, yet the sink got %+v", calls)
			}
			return
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if secret != testSecret {
			scheme, token, _ := strings.Cut(authorization, " ")
			if !strings.EqualFold(scheme, "Bearer") || !validJWT(strings.TrimSpace(token), testJWTKey, now) {
				t.Fatalf("let in (%d) with secret %q and Authorization %q", rec.Code, secret, authorization)
			}
		}
		for _, c := range calls {
			for _, u := range c.updates {
				if (u.Reference == "" && u.ProviderMessageID == "") || !u.State.Valid() {
					t.Fatalf("an update naming no message or no state: %+v", u)
				}
			}
		}
	})
}

// FuzzParseTime: a time Kolmeya's format parses is São Paulo's, and
// written back in that format it reads the same.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"16/11/2025 14:30:00", "16/11/2025 14:30", "31/02/2025 10:00", "2025-11-16 14:30", "", "16/11/2025 24:00:00", " 01/01/2026 00:00:00 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			return
		}
		if tm.Location().String() != SaoPaulo().String() {
			t.Fatalf("ParseTime(%q) in %s", s, tm.Location())
		}
		again, err := ParseTime(tm.Format("02/01/2006 15:04:05"))
		if err != nil || !again.Equal(tm) {
			t.Fatalf("ParseTime(%q) = %v, written back reads %v, %v", s, tm, again, err)
		}
	})
}

// FuzzDecodeAPIError: any error body, of any status, decodes to an error
// that says something in valid text.
func FuzzDecodeAPIError(f *testing.F) {
	for _, s := range []string{`{"errors":["a","b"]}`, `{"message":"m","errors":{"phone":["x"],"b":"y"}}`, `{"error":"e"}`, `<html>502</html>`, ``, `{"errors":[1,{"a":2},null]}`} {
		f.Add(422, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := DecodeAPIError(status, body)
		if e == nil || e.Error() == "" {
			t.Fatalf("DecodeAPIError(%d, %q) = %+v", status, body, e)
		}
		for _, m := range e.All() {
			if m == "" {
				t.Fatalf("an empty message from %q", body)
			}
		}
	})
}

// FuzzParseSettings: settings either parse into values in range or are
// refused as invalid input naming the field.
func FuzzParseSettings(f *testing.F) {
	for _, s := range []string{
		`{"token":"t"}`, `{"token":"t","segment_id":"109","sms_api_id":47,"cost_per_segment":0.07,"timeout":"30s"}`,
		`{"token":"t","base_url":"ftp://x"}`, `{"token":" ","webhook_secret":"short"}`, `{"token":"t","timeout":"-1s"}`,
		`{"token":"t","segment_id":-1}`, `{"token":"t","extra":1}`, `[]`, ``, `{"token":"t","cost_per_segment":"R$ 0,07"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseSettings(raw)
		if err != nil {
			if sms.KindOf(err) != sms.KindInvalid {
				t.Fatalf("ParseSettings(%q): error of kind %v: %v", raw, sms.KindOf(err), err)
			}
			return
		}
		if s.Token == "" || s.SegmentID < 0 || s.SMSAPIID < 0 || s.CostPerSegment < 0 || s.Timeout <= 0 ||
			!(strings.HasPrefix(s.BaseURL, "http://") || strings.HasPrefix(s.BaseURL, "https://")) ||
			(s.WebhookSecret != "" && len(s.WebhookSecret) < MinWebhookSecret) {
			t.Fatalf("ParseSettings(%q) accepted %+v", raw, s)
		}
	})
}
