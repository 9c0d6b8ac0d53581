package web_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
)

// The browser tests drive Debian's headless Chromium through chromedp, as a
// person uses the UI. Without Chromium they are skipped, except under
// CI=true, where they fail: CI must run them (.ci/run installs chromium).
//
// RECADO_UPDATE_SCREENSHOTS=1 writes the screenshots they take into
// docs/screenshots, where the README shows them.

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed: CI must run the browser tests (apt-get install -y chromium)")
	}
	t.Skip("browser tests skipped: install chromium (apt-get install -y chromium) to run them")
	return ""
}

// chrome starts a fresh headless Chromium with its own empty profile and
// returns a tab on it, closed when the test ends.
func chrome(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	// Confirmation dialogs are accepted, as a person who meant to click would.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// htmxReady waits until htmx has wired up the element sel names: content it
// swaps in shows before it listens.
func htmxReady(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!(e && e["htmx-internal-data"] && e["htmx-internal-data"].initHash); })()`, sel))
}

// visit opens a page and waits for its main content.
func visit(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, "open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("main h1")),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`))
}

// arrive waits, after an action that loads a new page, for a condition on
// that page. A condition polled inside the page dies with the old page, so
// it is asked afresh from here until it holds, through the navigation.
func arrive(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	var last error
	for {
		ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
		where, err := chromedp.Run(ectx, chromedp.Evaluate[string](`(`+cond+`) ? "" : location.href + " " + document.body.innerText.slice(0, 600)`))
		cancel()
		if err == nil && where == "" {
			return
		}
		if err != nil {
			last = err
		} else {
			last = errors.New(where)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last seen: %v)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func signIn(t *testing.T, ctx context.Context, base, username, password string) {
	t.Helper()
	visit(t, ctx, base+"/login")
	do(t, ctx, "sign in as "+username,
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("logout")))
}

// screenshot keeps a picture of the page, and with RECADO_UPDATE_SCREENSHOTS=1
// puts it in docs/screenshots.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot %s: only %d bytes", name, len(png))
	}
	dir := t.TempDir()
	if os.Getenv("RECADO_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserSendAndWatch signs in, sends an SMS from a contact's page and
// watches it turn delivered on the timeline without the page reloading.
func TestBrowserSendAndWatch(t *testing.T) {
	s := newServer(t, apptest.WithWorkers())
	c := contact(t, s, "Fulana Teste", "+5511900000001")
	ctx := chrome(t)

	// A wrong password first.
	visit(t, ctx, s.URL+"/login")
	do(t, ctx, "wrong password",
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("login-error")))
	screenshot(t, ctx, "login")

	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	visit(t, ctx, fmt.Sprintf("%s/contacts/%d", s.URL, c.ID))
	// A mark on the window: it survives only if the page never reloads.
	eval[chromedp.Void](t, ctx, `window.__stayed = "yes"`)
	do(t, ctx, "send an SMS",
		chromedp.SendKeys(chromedp.ID("send-body"), "Olá, Fulana! Seu pedido saiu para entrega."),
		chromedp.Click(chromedp.ID("send-submit")),
		chromedp.WaitVisible(chromedp.ID("send-ok")))
	do(t, ctx, "see it on the timeline, then delivered",
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-state]`)),
		chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-state="delivered"]`)))
	if got := eval[string](t, ctx, `window.__stayed || "reloaded"`); got != "yes" {
		t.Fatalf("the page reloaded (%s)", got)
	}
	if got := text(t, ctx, "#timeline li[data-state=delivered] .tl-body"); !strings.Contains(got, "Seu pedido saiu") {
		t.Fatalf("timeline shows %q", got)
	}
	do(t, ctx, "statistics follow", chromedp.Poll[chromedp.Void](`document.querySelector("#contact-stats strong").textContent === "1"`))
	screenshot(t, ctx, "contact")

	// The message's own page shows its whole history.
	visit(t, ctx, s.URL+"/messages/1")
	if got := text(t, ctx, "#events"); !strings.Contains(got, "queued") || !strings.Contains(got, "delivered") {
		t.Fatalf("history: %q", got)
	}
	screenshot(t, ctx, "message")
	visit(t, ctx, s.URL+"/messages")
	screenshot(t, ctx, "messages")
	visit(t, ctx, s.URL+"/")
	do(t, ctx, "charts", chromedp.WaitVisible(chromedp.CSS(`img[src="/dashboard/chart/volume"]`)))
	if loaded := eval[bool](t, ctx, `document.querySelector('img[src="/dashboard/chart/volume"]').naturalWidth > 0`); !loaded {
		t.Fatal("the volume chart did not load")
	}
	screenshot(t, ctx, "dashboard")
}

// TestBrowserOperatorLimits: an operator sees no delete button nor provider
// form, and the server refuses the requests those would make.
func TestBrowserOperatorLimits(t *testing.T) {
	s := newServer(t)
	s.CreateUser(t, "operadora", auth.RoleUser)
	c := contact(t, s, "Fulana Teste", "+5511900000001")
	ms, err := s.App.Dispatch.Submit(context.Background(), []dispatch.Request{{ContactID: &c.ID, Body: "Oi"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Dispatch.Cancel(context.Background(), ms[0].ID, "test"); err != nil {
		t.Fatal(err)
	}
	ctx := chrome(t)
	signIn(t, ctx, s.URL, "operadora", "password-of-operadora")
	visit(t, ctx, fmt.Sprintf("%s/messages/%d", s.URL, ms[0].ID))
	if n := eval[int](t, ctx, `document.querySelectorAll("#delete").length`); n != 0 {
		t.Fatal("the operator sees a delete button")
	}
	status := eval[int](t, ctx, fmt.Sprintf(`(async () => {
		const token = document.querySelector('input[name=csrf_token]').value;
		const r = await fetch('/messages/%d/delete', {method: 'POST', headers: {'X-CSRF-Token': token}});
		return r.status; })()`, ms[0].ID))
	if status != 403 {
		t.Fatalf("deleting as an operator: status %d, want 403", status)
	}
	visit(t, ctx, s.URL+"/providers/mock")
	if n := eval[int](t, ctx, `document.querySelectorAll("#provider-form").length`); n != 0 {
		t.Fatal("the operator sees the provider form")
	}
	status = eval[int](t, ctx, `(async () => {
		const token = document.querySelector('input[name=csrf_token]').value;
		const r = await fetch('/providers/mock', {method: 'POST', headers: {'X-CSRF-Token': token,
			'Content-Type': 'application/x-www-form-urlencoded'}, body: 'cost_per_segment=9&active=1'});
		return r.status; })()`)
	if status != 403 {
		t.Fatalf("editing a provider as an operator: status %d, want 403", status)
	}
	if m, _ := s.App.DB.GetMessage(context.Background(), ms[0].ID); m.ID == 0 {
		t.Fatal("the message is gone")
	}
}

// TestBrowserLanguage: the browser's language first (English here), then
// the user's choice, kept across sessions.
func TestBrowserLanguage(t *testing.T) {
	s := newServer(t)
	ctx := chrome(t)
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	if h := text(t, ctx, "main h1"); h != "Dashboard" {
		t.Fatalf("heading %q, want English", h)
	}
	do(t, ctx, "switch to Portuguese",
		chromedp.SetValue(chromedp.ID("lang-select"), "pt-BR"),
		chromedp.Click(chromedp.ID("lang-apply")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="pt-BR"]`)))
	if h := text(t, ctx, "main h1"); h != "Painel" {
		t.Fatalf("heading %q, want Portuguese", h)
	}
	do(t, ctx, "sign out", chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("login-submit")))
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	if h := text(t, ctx, "main h1"); h != "Painel" {
		t.Fatalf("after signing in again: heading %q, want the chosen Portuguese", h)
	}
}

// TestBrowserComposer: the preview shows segments, encoding and cost as one
// types, warns about accents and folds them in one click (é is GSM-7 and
// stays).
func TestBrowserComposer(t *testing.T) {
	s := newServer(t)
	contact(t, s, "Beltrana Teste", "+5511900000005")
	ctx := chrome(t)
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	visit(t, ctx, s.URL+"/compose")
	do(t, ctx, "type recipients and a text",
		chromedp.SendKeys(chromedp.ID("numbers"), "11900000001\n11900000002\n1130000001"),
		chromedp.SendKeys(chromedp.ID("compose-body"), "Promoção de verão: até 50% de desconto!"),
		chromedp.WaitVisible(chromedp.ID("preview-segments")),
		chromedp.WaitVisible(chromedp.ID("ucs2-warning")))
	if got := text(t, ctx, "#preview-count"); got != "2" {
		t.Fatalf("recipients %q, want 2 (the landline skipped)", got)
	}
	if got := text(t, ctx, "#preview-encoding"); got != "UCS-2" {
		t.Fatalf("encoding %q", got)
	}
	if got := text(t, ctx, "#preview-cost"); !strings.Contains(got, "R$") {
		t.Fatalf("cost %q", got)
	}
	if got := text(t, ctx, "#skipped"); !strings.Contains(got, "landline") {
		t.Fatalf("skipped: %q", got)
	}
	do(t, ctx, "find a contact", chromedp.SendKeys(chromedp.ID("contact-search"), "Beltrana"),
		chromedp.WaitVisible(chromedp.CSS(`#contact-results button[data-contact]`)))
	// htmx wires new content up as it settles, a moment after it shows.
	do(t, ctx, "results wired", htmxReady(`#contact-results button[data-contact]`))
	// A click by script: the list has just grown, and a mouse click aimed
	// at where the button was a moment ago may miss.
	do(t, ctx, "pick it",
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#contact-results button[data-contact]").click()`),
		chromedp.WaitVisible(chromedp.CSS(`#picked input[name=contact_id]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("preview-count").textContent.trim() === "3"`))
	screenshot(t, ctx, "composer")
	do(t, ctx, "fold the accents", htmxReady("#fold"), chromedp.Evaluate[chromedp.Void](`document.getElementById("fold").click()`),
		chromedp.Poll[chromedp.Void](`document.getElementById("preview-encoding").textContent.trim() === "GSM-7"`))
	if body := eval[string](t, ctx, `document.getElementById("compose-body").value`); body != "Promocao de verao: até 50% de desconto!" {
		t.Fatalf("folded text %q", body)
	}
	// The click submits the form and the browser follows the redirect to a
	// new page: waiting on the old page's nodes would never end, so the
	// new page is awaited by script.
	do(t, ctx, "send", chromedp.Evaluate[chromedp.Void](`document.getElementById("compose-send").click()`))
	arrive(t, ctx, "the messages page with a notice", `location.pathname === "/messages" && document.querySelector(".flash") !== null`)
	if n := countMessages(t, s); n != 3 {
		t.Fatalf("%d messages, want 3", n)
	}
}

// TestBrowserInbox: a reply that came in shows in its owner's inbox, marked
// as an opt-out, and is answered inline.
func TestBrowserInbox(t *testing.T) {
	s := newServer(t)
	op, _ := s.CreateUser(t, "operadora", auth.RoleUser)
	c, err := s.App.DB.CreateContact(context.Background(), sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001", OwnerID: &op.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Dispatch.Submit(context.Background(), []dispatch.Request{{ContactID: &c.ID, Body: "Promoção!"}}); err != nil {
		t.Fatal(err)
	}
	err = s.App.Dispatch.ApplyReplies(context.Background(), "mock", sms.SourceWebhook, []provider.Reply{
		{ProviderReplyID: "reply-1", Phone: "11900000001", Body: "Quero saber mais"},
		{ProviderReplyID: "reply-2", Phone: "11900000001", Body: "SAIR"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := chrome(t)
	signIn(t, ctx, s.URL, "operadora", "password-of-operadora")
	if got := text(t, ctx, ".badge"); got != "2" {
		t.Fatalf("inbox badge %q, want 2", got)
	}
	visit(t, ctx, s.URL+"/inbox")
	if got := text(t, ctx, "#unread"); !strings.Contains(got, "Quero saber mais") || !strings.Contains(got, "opt-out") {
		t.Fatalf("unread replies: %q", got)
	}
	screenshot(t, ctx, "inbox")
	first := eval[string](t, ctx, `document.querySelector("#unread article.reply").id`)
	do(t, ctx, "answer inline",
		chromedp.SendKeys(chromedp.CSS("#"+first+" input[name=body]"), "Você foi descadastrada."),
		chromedp.Click(chromedp.CSS("#"+first+" form.answer button")),
		chromedp.WaitVisible(chromedp.CSS("#"+first+" .flash")))
	if n := countMessages(t, s); n != 4 {
		t.Fatalf("%d messages, want 4 (one sent, two replies, one answer)", n)
	}
}

// TestBrowserPages opens every other page as a manager and keeps their
// pictures.
func TestBrowserPages(t *testing.T) {
	s := newServer(t)
	contact(t, s, "Fulana Teste", "+5511900000001")
	if _, err := s.App.Dispatch.Blacklist(context.Background(), []string{"11900000009"}, "pediu para sair", nil); err != nil {
		t.Fatal(err)
	}
	s.CreateUser(t, "operadora", auth.RoleUser)
	ctx := chrome(t)
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	for _, p := range []struct{ path, name string }{
		{"/contacts", "contacts"}, {"/providers", "providers"}, {"/providers/mock", "provider"},
		{"/providers/new?type=kolmeya", "provider-new"}, {"/blacklist", "blacklist"}, {"/users", "users"}, {"/settings", "settings"},
	} {
		visit(t, ctx, s.URL+p.path)
		screenshot(t, ctx, p.name)
	}
}

// TestBrowserPhone opens the main pages on a phone-sized screen: nothing may
// overflow sideways, and the pictures are kept.
func TestBrowserPhone(t *testing.T) {
	s := newServer(t)
	c := contact(t, s, "Fulana Teste", "+5511900000001")
	if _, err := s.App.Dispatch.Submit(context.Background(), []dispatch.Request{{ContactID: &c.ID, Body: "Olá, Fulana! Seu pedido saiu para entrega."}}); err != nil {
		t.Fatal(err)
	}
	ctx := chrome(t)
	do(t, ctx, "phone screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	for _, p := range []struct{ path, name string }{
		{"/", "phone-dashboard"}, {fmt.Sprintf("/contacts/%d", c.ID), "phone-contact"}, {"/compose", "phone-composer"}, {"/messages", ""},
	} {
		visit(t, ctx, s.URL+p.path)
		if over := eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`); over {
			t.Errorf("%s overflows sideways: %d > %d", p.path, eval[int](t, ctx, `document.documentElement.scrollWidth`), eval[int](t, ctx, `window.innerWidth`))
		}
		if p.name != "" {
			screenshot(t, ctx, p.name)
		}
	}
}
