package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/sms"
)

// problem is an RFC 9457 problem document as the API writes it.
type problem struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

// checkProblem fails t unless res is a problem document with status and,
// when field is not empty, an error located at field. It returns the
// document.
func checkProblem(t testing.TB, res apptest.Response, status int, field string) problem {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %d, want %d; body: %s", res.Status, status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("Content-Type %q, want application/problem+json; body: %s", ct, res.Body)
	}
	var p problem
	if err := json.Unmarshal(res.Body, &p); err != nil {
		t.Fatalf("decode problem: %v; body: %s", err, res.Body)
	}
	if p.Status != status {
		t.Errorf("problem status %d, want %d", p.Status, status)
	}
	if p.Detail == "" {
		t.Errorf("problem without detail: %s", res.Body)
	}
	if field != "" && !p.hasField(field) {
		t.Errorf("no error located at %q: %s", field, res.Body)
	}
	return p
}

func (p problem) hasField(field string) bool {
	for _, e := range p.Errors {
		if e.Location == field {
			return true
		}
	}
	return false
}

// text is everything the problem says, for looking for a word in it.
func (p problem) text() string {
	var b strings.Builder
	b.WriteString(p.Detail)
	for _, e := range p.Errors {
		fmt.Fprintf(&b, "\n%s: %s (%v)", e.Location, e.Message, e.Value)
	}
	return b.String()
}

// messageList is the answer of GET /messages.
type messageList struct {
	Messages   []api.Message `json:"messages"`
	NextCursor string        `json:"next_cursor"`
}

// contactList is the answer of GET /contacts.
type contactList struct {
	Contacts   []sms.Contact `json:"contacts"`
	NextCursor string        `json:"next_cursor"`
}

// counter makes values unique within a test binary: phones, names.
var counter atomic.Int64

// uniquePhone returns a Brazilian mobile number no other call returned.
func uniquePhone() string { return fmt.Sprintf("+55119%08d", 10000+counter.Add(1)) }

// uniqueName returns prefix followed by a number no other call returned.
func uniqueName(prefix string) string { return fmt.Sprintf("%s%d", prefix, counter.Add(1)) }

// countMessages returns how many messages GET /messages lists.
func countMessages(t testing.TB, s *apptest.Server) int {
	t.Helper()
	return len(apptest.JSON[messageList](t, s, http.MethodGet, "/api/v1/messages?limit=1000", s.Token, nil, http.StatusOK).Messages)
}

// countContacts returns how many contacts GET /contacts lists.
func countContacts(t testing.TB, s *apptest.Server) int {
	t.Helper()
	return len(apptest.JSON[contactList](t, s, http.MethodGet, "/api/v1/contacts?limit=1000", s.Token, nil, http.StatusOK).Contacts)
}

// createContact makes a contact through the API from body, which must give
// at least a phone.
func createContact(t testing.TB, s *apptest.Server, body map[string]any) sms.Contact {
	t.Helper()
	return apptest.JSON[sms.Contact](t, s, http.MethodPost, "/api/v1/contacts", s.Token, body, http.StatusCreated)
}

func TestOperationalEndpoints(t *testing.T) {
	s := apptest.New(t)
	// A request first, so that the HTTP counters have a sample.
	s.Do(t, http.MethodGet, "/api/v1/me", s.Token, nil)

	tests := []struct {
		path        string
		contentType string
		check       func(t *testing.T, body []byte)
	}{
		{"/healthz", "text/plain", func(t *testing.T, body []byte) {
			if strings.TrimSpace(string(body)) != "ok" {
				t.Errorf("body %q, want ok", body)
			}
		}},
		{"/readyz", "application/json", func(t *testing.T, body []byte) {
			var checks map[string]string
			if err := json.Unmarshal(body, &checks); err != nil {
				t.Fatalf("decode: %v; body: %s", err, body)
			}
			if checks["database"] != "ok" || checks["queue"] != "ok" {
				t.Errorf("checks %v, want database and queue ok", checks)
			}
		}},
		{"/metrics", "text/plain", func(t *testing.T, body []byte) {
			for _, name := range []string{"recado_messages", "recado_http_requests_total", "recado_queue_depth"} {
				if !strings.Contains(string(body), "\n"+name) {
					t.Errorf("metrics lack %s", name)
				}
			}
		}},
		{"/api/openapi.json", "application/", func(t *testing.T, body []byte) {
			var doc struct {
				OpenAPI string                    `json:"openapi"`
				Paths   map[string]map[string]any `json:"paths"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if doc.OpenAPI != "3.1.0" {
				t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
			}
			if len(doc.Paths) == 0 {
				t.Error("no paths")
			}
		}},
		{"/api/docs", "text/html", func(t *testing.T, body []byte) {
			if !strings.Contains(strings.ToLower(string(body)), "<html") {
				t.Errorf("not an HTML page: %.200s", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			status, body, h := s.Do(t, http.MethodGet, tt.path, "", nil)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200; body: %.300s", status, body)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %s…", ct, tt.contentType)
			}
			tt.check(t, body)
		})
	}
}

func TestUnknownRouteIsNotFound(t *testing.T) {
	s := apptest.New(t)
	status, body, _ := s.Do(t, http.MethodGet, "/api/v1/nothing-here", s.Token, nil)
	if status != http.StatusNotFound {
		t.Errorf("status %d, want 404; body: %s", status, body)
	}
}
