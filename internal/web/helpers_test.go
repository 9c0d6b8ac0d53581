package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
)

// newServer runs a whole Recado for UI tests, with live pages that look
// for changes every 50 ms.
func newServer(t *testing.T, opts ...apptest.Option) *apptest.Server {
	t.Helper()
	opts = append([]apptest.Option{apptest.WithConfig(func(c *app.Config) { c.LiveInterval = 50 * time.Millisecond })}, opts...)
	return apptest.New(t, opts...)
}

// browser is an HTTP client that signs in to the UI as a person would: it
// keeps cookies, does not follow redirects (tests look at them), and sends
// the CSRF token of the last page it read with every form.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, s *apptest.Server) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.URL, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// page is one answer.
type page struct {
	Status   int
	Body     string
	Location string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	if req.Header.Get("Accept-Language") == "" {
		req.Header.Set("Accept-Language", "en") // assertions read English; TestBrowserLanguage covers Portuguese
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := page{Status: resp.StatusCode, Body: string(raw), Location: resp.Header.Get("Location")}
	if m := csrfInput.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	return p
}

// get reads a page.
func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post submits a form with the CSRF token of the last page read (unless
// the form sets csrf_token itself).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login signs in and fails the test unless it worked.
func (b *browser) login(username, password string) {
	b.t.Helper()
	b.get("/login")
	p := b.post("/login", url.Values{"username": {username}, "password": {password}})
	if p.Status != http.StatusSeeOther || p.Location != "/" {
		b.t.Fatalf("sign in as %s: status %d, location %q; body: %s", username, p.Status, p.Location, p.Body)
	}
	b.get("/") // a page of the signed-in session, for its CSRF token
}

// manager returns a browser signed in as the bootstrap manager.
func manager(t *testing.T, s *apptest.Server) *browser {
	b := newBrowser(t, s)
	b.login("admin", apptest.ManagerPassword)
	return b
}

// operator makes an operator and returns a browser signed in as it.
func operator(t *testing.T, s *apptest.Server, name string) *browser {
	s.CreateUser(t, name, auth.RoleUser)
	b := newBrowser(t, s)
	b.login(name, "password-of-"+name)
	return b
}

// contact creates a contact through the service and returns it.
func contact(t *testing.T, s *apptest.Server, name, phone string) sms.Contact {
	t.Helper()
	c, err := s.App.DB.CreateContact(context.Background(), sms.Contact{Name: name, Phone: phone})
	if err != nil {
		t.Fatalf("create contact: %v", err)
	}
	return c
}

func countMessages(t *testing.T, s *apptest.Server) int64 {
	t.Helper()
	by, err := s.App.DB.CountMessagesByState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range by {
		n += c
	}
	return n
}

func wantStatus(t *testing.T, p page, want int) {
	t.Helper()
	if p.Status != want {
		t.Fatalf("status %d, want %d; body: %.2000s", p.Status, want, p.Body)
	}
}

func wantContains(t *testing.T, p page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page lacks %q; body: %.3000s", s, p.Body)
		}
	}
}
