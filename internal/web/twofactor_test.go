package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/auth"
)

var (
	secretRe   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryRe = regexp.MustCompile(`<li><code>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code></li>`)
)

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// signInWithCode signs in with a password and then a code.
func signInWithCode(t *testing.T, s *apptest.Server, username, password, code string) (*browser, page) {
	t.Helper()
	b := newBrowser(t, s)
	b.get("/login")
	p := b.post("/login", url.Values{"username": {username}, "password": {password}})
	if p.Status != http.StatusSeeOther || p.Location != "/login/2fa" {
		t.Fatalf("password step: %d %q", p.Status, p.Location)
	}
	if p := b.get("/"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
		t.Fatalf("signed in before the second factor: %d", p.Status)
	}
	b.get("/login/2fa")
	return b, b.post("/login/2fa", url.Values{"code": {code}})
}

func TestTwoFactorSignIn(t *testing.T) {
	s := newServer(t)
	b := manager(t, s)
	// Enrol from the settings page.
	b.get("/settings")
	p := b.post("/settings/2fa/begin", nil)
	wantStatus(t, p, http.StatusOK)
	m := secretRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret shown: %.2000s", p.Body)
	}
	secret := m[1]
	wantContains(t, p, `src="data:image/png;base64,`)
	wantStatus(t, b.post("/settings/2fa/confirm", url.Values{"code": {"000000"}}), http.StatusUnprocessableEntity)
	p = b.post("/settings/2fa/confirm", url.Values{"code": {totpCode(t, secret, time.Now())}})
	wantStatus(t, p, http.StatusOK)
	codes := recoveryRe.FindAllStringSubmatch(p.Body, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}

	// Signing in now takes a code; a wrong one is refused, a spent one too.
	_, p = signInWithCode(t, s, "admin", apptest.ManagerPassword, "123456")
	wantStatus(t, p, http.StatusUnauthorized)
	next := totpCode(t, secret, time.Now().Add(30*time.Second))
	b2, p := signInWithCode(t, s, "admin", apptest.ManagerPassword, next)
	if p.Status != http.StatusSeeOther || p.Location != "/" {
		t.Fatalf("right code: %d %q", p.Status, p.Location)
	}
	wantStatus(t, b2.get("/"), http.StatusOK)
	_, p = signInWithCode(t, s, "admin", apptest.ManagerPassword, next)
	wantStatus(t, p, http.StatusUnauthorized)
	// A recovery code, once.
	_, p = signInWithCode(t, s, "admin", apptest.ManagerPassword, codes[0][1])
	wantStatus(t, p, http.StatusSeeOther)
	_, p = signInWithCode(t, s, "admin", apptest.ManagerPassword, codes[0][1])
	wantStatus(t, p, http.StatusUnauthorized)
	// Guessing codes is throttled like passwords: five wrong in a row lock
	// the account (one wrong code is already counted).
	for range 4 {
		signInWithCode(t, s, "admin", apptest.ManagerPassword, "654321")
	}
	_, p = signInWithCode(t, s, "admin", apptest.ManagerPassword, totpCode(t, secret, time.Now().Add(-30*time.Second)))
	wantStatus(t, p, http.StatusTooManyRequests)
}

func TestTwoFactorRequiredForManagers(t *testing.T) {
	s := newServer(t)
	s.CreateUser(t, "gerente", auth.RoleManager)
	s.CreateUser(t, "operadora", auth.RoleUser)
	admin := manager(t, s)
	admin.get("/users")
	wantStatus(t, admin.post("/users/2fa-policy", url.Values{"require": {"1"}}), http.StatusSeeOther)

	// An operator signs in as before.
	operator := newBrowser(t, s)
	operator.login("operadora", "password-of-operadora")

	// A manager without two-factor must enrol before getting in.
	b := newBrowser(t, s)
	b.get("/login")
	p := b.post("/login", url.Values{"username": {"gerente"}, "password": {"password-of-gerente"}})
	if p.Location != "/login/2fa/setup" {
		t.Fatalf("manager sent to %q", p.Location)
	}
	if p := b.get("/"); p.Status != http.StatusSeeOther {
		t.Fatal("signed in before enrolling")
	}
	p = b.get("/login/2fa/setup")
	m := secretRe.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no secret: %.1500s", p.Body)
	}
	wantStatus(t, b.post("/login/2fa/setup", url.Values{"code": {"000000"}}), http.StatusUnprocessableEntity)
	p = b.post("/login/2fa/setup", url.Values{"code": {totpCode(t, m[1], time.Now())}})
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `id="recovery-codes"`, `id="continue"`)
	wantStatus(t, b.get("/"), http.StatusOK)
	// It cannot be turned off while required.
	b.get("/settings")
	wantStatus(t, b.post("/settings/2fa/disable", url.Values{"code": {totpCode(t, m[1], time.Now().Add(30*time.Second))}}), http.StatusConflict)

	// The administrator resets it (a lost phone): the next sign-in enrols again.
	u, err := s.App.DB.UserByUsername(t.Context(), "gerente")
	if err != nil {
		t.Fatal(err)
	}
	admin.get("/users")
	wantStatus(t, admin.post("/users/"+itoa(u.ID)+"/2fa/reset", nil), http.StatusSeeOther)
	b = newBrowser(t, s)
	b.get("/login")
	if p := b.post("/login", url.Values{"username": {"gerente"}, "password": {"password-of-gerente"}}); p.Location != "/login/2fa/setup" {
		t.Fatalf("after reset: %q", p.Location)
	}
	// Operators cannot change the rule.
	op := newBrowser(t, s)
	op.login("operadora", "password-of-operadora")
	wantStatus(t, op.post("/users/2fa-policy", url.Values{"require": {"0"}}), http.StatusForbidden)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
