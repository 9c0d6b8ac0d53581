package kolmeya

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/recado-sms/recado/internal/sms"
)

// The codes this package puts in sms.Error.Code, so that callers decide
// without parsing text.
const (
	CodeUnauthorized = "unauthorized" // 401/403: bad token, or an IP not allowed
	CodeValidation   = "validation"   // 400/422: Kolmeya refused the body
	CodeNotFound     = "not_found"    // 404: no such request, message or job
	CodeRateLimited  = "rate_limited" // 429
	CodeServerError  = "server_error" // 5xx
	CodeTimeout      = "timeout"      // no answer in time
	CodeNetwork      = "network"      // no connection, or it broke
	CodeBadResponse  = "bad_response" // a 2xx whose body could not be read
)

// defaultRetryAfter is how long to wait after a 429 that does not say.
const defaultRetryAfter = 60 * time.Second

// APIError is an error answer from Kolmeya: the HTTP status and what the body
// said. Kolmeya writes {"errors": ["text", ...]}; the Laravel form
// {"message": "...", "errors": {"field": ["..."]}} is read too. The client
// returns it wrapped in an *sms.Error whose Kind says what to do about it.
type APIError struct {
	Status   int
	Messages []string            // general messages, in order
	Fields   map[string][]string // messages about named fields of the request
}

// Error says the status and every message.
func (e *APIError) Error() string {
	all := e.All()
	if len(all) == 0 {
		return "HTTP " + strconv.Itoa(e.Status)
	}
	return "HTTP " + strconv.Itoa(e.Status) + ": " + strings.Join(all, "; ")
}

// All returns every message: the general ones, then the field ones as
// "field: text", fields sorted by name.
func (e *APIError) All() []string {
	out := append([]string(nil), e.Messages...)
	fields := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		for _, m := range e.Fields[f] {
			out = append(out, f+": "+m)
		}
	}
	return out
}

// DecodeAPIError reads an error body of either shape. A body that is not
// JSON becomes one message of its first 200 characters, so that an HTML error
// page from a proxy still says something.
func DecodeAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var raw struct {
		Message json.RawMessage `json:"message"`
		Errors  json.RawMessage `json:"errors"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		if text := snippet(string(body), 200); text != "" {
			e.Messages = append(e.Messages, text)
		}
		return e
	}
	seen := map[string]bool{}
	add := func(m string) {
		if m = strings.TrimSpace(m); m != "" && !seen[m] {
			seen[m] = true
			e.Messages = append(e.Messages, m)
		}
	}
	switch errs := trimJSON(raw.Errors); {
	case len(errs) == 0:
	case errs[0] == '{':
		var fields map[string]json.RawMessage
		if json.Unmarshal(errs, &fields) == nil && len(fields) > 0 {
			e.Fields = make(map[string][]string, len(fields))
			for f, v := range fields {
				for _, m := range flexList(v) {
					seen[m] = true
					e.Fields[f] = append(e.Fields[f], m)
				}
			}
		}
	default:
		for _, m := range flexList(errs) {
			add(m)
		}
	}
	for _, r := range []json.RawMessage{raw.Message, raw.Error} {
		var m FlexString
		if len(r) > 0 && json.Unmarshal(r, &m) == nil {
			add(string(m))
		}
	}
	return e
}

// flexList reads a JSON value as a list of texts: an array's items, or the
// value itself; empty texts are dropped.
func flexList(v json.RawMessage) []string {
	var list []FlexString
	if json.Unmarshal(v, &list) != nil {
		var one FlexString
		if json.Unmarshal(v, &one) != nil {
			return nil
		}
		list = []FlexString{one}
	}
	out := make([]string, 0, len(list))
	for _, m := range list {
		if m = FlexString(strings.TrimSpace(string(m))); m != "" {
			out = append(out, string(m))
		}
	}
	return out
}

func trimJSON(b json.RawMessage) json.RawMessage {
	return json.RawMessage(strings.TrimSpace(string(b)))
}

// snippet returns s trimmed and cut to at most n runes.
func snippet(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// classify turns a non-2xx answer into an *sms.Error of the right kind.
func classify(apiErr *APIError, h http.Header, now time.Time) error {
	switch s := apiErr.Status; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return &sms.Error{Kind: sms.KindProviderPermanent, Code: CodeUnauthorized,
			Message: "bad token or IP not allowed", Err: apiErr}
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return &sms.Error{Kind: sms.KindProviderPermanent, Code: CodeValidation,
			Message: "request refused as invalid", Err: apiErr}
	case s == http.StatusNotFound:
		return &sms.Error{Kind: sms.KindProviderPermanent, Code: CodeNotFound, Message: "not found", Err: apiErr}
	case s == http.StatusTooManyRequests:
		d := retryAfter(h, now)
		return &sms.Error{Kind: sms.KindRateLimited, Code: CodeRateLimited, RetryAfter: d,
			Message: "rate limited, retry after " + d.String(), Err: apiErr}
	case s == http.StatusRequestTimeout:
		return &sms.Error{Kind: sms.KindProviderTemporary, Code: CodeTimeout, Message: "timed out", Err: apiErr}
	case s >= 500:
		return &sms.Error{Kind: sms.KindProviderTemporary, Code: CodeServerError, Message: "server error", Err: apiErr}
	default:
		return &sms.Error{Kind: sms.KindProviderPermanent, Code: "http_" + strconv.Itoa(s),
			Message: "unexpected answer", Err: apiErr}
	}
}

// transportError classifies a failure to get an answer at all. Every such
// failure is temporary: the request may or may not have reached Kolmeya.
func transportError(err error) error {
	var se *sms.Error
	if errors.As(err, &se) {
		return err
	}
	code, msg := CodeNetwork, "request failed"
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		code, msg = CodeTimeout, "no answer in time"
	} else if errors.Is(err, context.Canceled) {
		code, msg = "canceled", "canceled"
	}
	return &sms.Error{Kind: sms.KindProviderTemporary, Code: code, Message: msg, Err: err}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date, and
// answers defaultRetryAfter when there is none. It is at least one second.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return defaultRetryAfter
	}
	d := defaultRetryAfter
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && secs < 1e6 {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(d, time.Second)
}

// codeOf returns the Code of the first *sms.Error in err's chain.
func codeOf(err error) string {
	var se *sms.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

// wrap adds the operation to err: "kolmeya: store: ...".
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("kolmeya: %s: %w", op, err)
}
