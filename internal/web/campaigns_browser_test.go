package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// longChrome is chrome for the longer walks through the campaign pages:
// the same fresh headless Chromium, given 90 seconds instead of 30, which
// they need under the race detector on a busy machine.
func longChrome(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
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
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// TestBrowserCampaign imports a CSV into a list, builds a campaign to it,
// does the dry run, starts it with the mock provider and watches its
// dashboard reach "completed" with every message delivered without the
// page reloading; then pauses, resumes and cancels another.
func TestBrowserCampaign(t *testing.T) {
	s := newServer(t, apptest.WithWorkers())
	bg := context.Background()
	// Deliveries a few seconds after sending, so that the dashboard shows
	// them arrive.
	if _, err := s.App.Providers.Update(bg, "mock", providers.Input{Settings: map[string]json.RawMessage{"delivery_delay": json.RawMessage(`"3s"`)}}); err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(t.TempDir(), "clientes-natal.csv")
	rows := "nome;celular;cidade;plano\n" +
		"Fulana Teste;(11) 90000-0001;Campinas;ouro\n" +
		"Beltrana Teste;(11) 90000-0002;Santos;prata\n" +
		"Ciclana Teste;11 90000-0003;Campinas;ouro\n" +
		"Fixo Teste;(11) 3000-0004;Santos;prata\n" +
		"Deltrana Teste;11900000005;Sorocaba;bronze\n"
	if err := os.WriteFile(csv, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := longChrome(t)
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)

	// Upload, with the upload's progress, then map the columns.
	visit(t, ctx, s.URL+"/imports")
	eval[chromedp.Void](t, ctx, `document.addEventListener("htmx:xhr:progress", () =>
		sessionStorage.setItem("upload-progress", document.getElementById("upload-progress").value))`)
	do(t, ctx, "upload the CSV",
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{csv}),
		chromedp.Click(chromedp.ID("upload-submit")),
		chromedp.WaitVisible(chromedp.ID("mapping-form")))
	if got := eval[string](t, ctx, `sessionStorage.getItem("upload-progress") || "none"`); got != "100" {
		t.Errorf("upload progress %s, want 100", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('select[data-column="celular"]').value`); got != "phone" {
		t.Fatalf("the phone column was guessed as %q", got)
	}
	screenshot(t, ctx, "import-mapping")
	do(t, ctx, "import into a new list",
		chromedp.SetValue(chromedp.ID("new-list"), "Clientes Natal"),
		chromedp.Click(chromedp.ID("start-import")),
		chromedp.WaitVisible(chromedp.CSS(`#import-progress[data-status="done"]`)))
	if got := text(t, ctx, "#import-inserted"); got != "4" {
		t.Fatalf("%s contacts imported, want 4", got)
	}
	if got := text(t, ctx, "#reject-reasons"); !strings.Contains(got, "landline") {
		t.Fatalf("rejected: %q", got)
	}
	screenshot(t, ctx, "import")

	// A campaign to the list, open at any hour so that the test does not
	// depend on when it runs.
	do(t, ctx, "new campaign to the list", chromedp.Click(chromedp.ID("campaign-from-import")), chromedp.WaitVisible(chromedp.ID("campaign-form")))
	do(t, ctx, "fill it in",
		chromedp.SendKeys(chromedp.ID("campaign-name"), "Natal 2026"),
		chromedp.SendKeys(chromedp.ID("campaign-body"), "Olá {{primeiro_nome}}! Seu plano {{plano}} ganhou um presente de Natal."),
		chromedp.Poll[chromedp.Void](`(document.getElementById("template-rendered") || {}).textContent === "Olá Fulana! Seu plano {{plano}} ganhou um presente de Natal." || !!document.getElementById("template-missing")`),
		htmxReady("#window-always"))
	if got := text(t, ctx, "#template-missing"); !strings.Contains(got, "plano") {
		t.Fatalf("the preview's sample contact lacks plano, yet: %q", got)
	}
	do(t, ctx, "preview for an imported contact",
		chromedp.SendKeys(chromedp.ID("campaign-sample"), "Beltrana"),
		chromedp.Poll[chromedp.Void](`(document.getElementById("template-rendered") || {}).textContent === "Olá Beltrana! Seu plano prata ganhou um presente de Natal."`))
	do(t, ctx, "the kind's default sending hours",
		chromedp.Click(chromedp.ID("kind-transactional")),
		chromedp.Poll[chromedp.Void](`document.getElementById("open-sun").checked`),
		chromedp.Click(chromedp.ID("kind-marketing")),
		chromedp.Poll[chromedp.Void](`!document.getElementById("open-sun").checked && document.getElementById("open-sat").checked`),
		htmxReady("#window-always"))
	do(t, ctx, "send at any hour",
		chromedp.Click(chromedp.ID("window-always")),
		chromedp.Poll[chromedp.Void](`document.getElementById("open-sun").checked && document.getElementById("open-on-holidays").checked`))
	screenshot(t, ctx, "campaign-new")
	do(t, ctx, "save the draft", chromedp.Click(chromedp.ID("campaign-save")), chromedp.WaitVisible(chromedp.ID("dry-run-button")))
	if got := text(t, ctx, "#campaign-live .state"); got != "draft" {
		t.Fatalf("state %q", got)
	}

	do(t, ctx, "dry run", chromedp.Click(chromedp.ID("dry-run-button")), chromedp.WaitVisible(chromedp.ID("dr-recipients")))
	if got := text(t, ctx, "#dr-recipients strong"); got != "4" {
		t.Fatalf("dry run: %s recipients, want 4", got)
	}
	if got := text(t, ctx, "#dr-window"); !strings.Contains(got, "open now") {
		t.Fatalf("dry run window: %q", got)
	}

	do(t, ctx, "start", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`), chromedp.Click(chromedp.ID("start-campaign")), chromedp.WaitVisible(chromedp.CSS(`#campaign-live[data-cstate="running"], #campaign-live[data-cstate="completed"]`)))
	eval[chromedp.Void](t, ctx, `window.__stayed = "yes"`)
	do(t, ctx, "watch it complete, every message delivered",
		chromedp.WaitVisible(chromedp.CSS(`#campaign-live[data-cstate="completed"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("c-delivered").textContent.trim() === "4"`, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.WaitVisible(chromedp.ID("campaign-chart")))
	if got := eval[string](t, ctx, `window.__stayed || "reloaded"`); got != "yes" {
		t.Fatalf("the dashboard reloaded (%s)", got)
	}
	if got := text(t, ctx, "#c-rate"); got != "100.0%" {
		t.Fatalf("delivery rate %q", got)
	}
	if loaded := eval[bool](t, ctx, `new Promise(r => { const i = document.getElementById("campaign-chart"); if (i.complete) r(i.naturalWidth > 0); else i.onload = () => r(i.naturalWidth > 0); })`); !loaded {
		t.Fatal("the delivery chart did not load")
	}
	// The stream ended with the campaign: its element no longer streams.
	do(t, ctx, "stream closed", chromedp.Poll[chromedp.Void](`!document.querySelector("[sse-connect]")`))
	screenshot(t, ctx, "campaign")
	c := campaigns(t, s)[0]
	st, err := s.App.Campaigns.Stats(bg, c.ID)
	if err != nil || st.Messages.ByState["delivered"] != 4 || len(st.Messages.ByState) != 1 {
		t.Fatalf("stats %+v %v", st.Messages, err)
	}

	// Another campaign, slow (one message a minute): pause, resume, cancel.
	name, body, rate, always := "Lembrete", "Lembrete para {{primeiro_nome}}", 1, campaign.AlwaysOpen()
	slow, err := s.App.Campaigns.Create(bg, campaign.Input{Name: &name, Body: &body, Audience: &store.Audience{Lists: c.Audience.Lists},
		RatePerMinute: &rate, Window: &always}, nil)
	if err != nil {
		t.Fatal(err)
	}
	visit(t, ctx, fmt.Sprintf("%s/campaigns/%d", s.URL, slow.ID))
	for _, step := range []struct{ button, state string }{
		{"start-campaign", "running"}, {"pause-campaign", "paused"}, {"resume-campaign", "running"}, {"cancel-campaign", "canceled"},
	} {
		// The live dashboard redraws its buttons as the campaign moves: click
		// by script, whichever copy is there.
		do(t, ctx, step.button, chromedp.WaitVisible(chromedp.ID(step.button)),
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.confirm = () => true; document.getElementById(%q).click()`, step.button)),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#campaign-live[data-cstate=%q]`, step.state))))
		if got, _ := s.App.DB.GetCampaign(bg, slow.ID); got.State != step.state {
			t.Fatalf("after %s the campaign is %s", step.button, got.State)
		}
		if step.state == "paused" {
			screenshot(t, ctx, "campaign-paused")
		}
	}
	if n := countMessages(t, s); n > 6 {
		t.Fatalf("%d messages: the slow campaign sent more than its speed allows", n)
	}

	visit(t, ctx, s.URL+"/campaigns")
	screenshot(t, ctx, "campaigns")
	visit(t, ctx, s.URL+"/reports?by=campaign&by2=provider")
	if got := text(t, ctx, "#report"); !strings.Contains(got, "Natal 2026") {
		t.Fatalf("report: %q", got)
	}
	screenshot(t, ctx, "reports")
	visit(t, ctx, s.URL+"/")
	visit(t, ctx, fmt.Sprintf("%s/lists/%d", s.URL, c.Audience.Lists[0]))
	screenshot(t, ctx, "list")
}

// TestBrowserSegment builds a saved filter: a field's change redraws its
// row with its own operations, and the count follows as one types.
func TestBrowserSegment(t *testing.T) {
	s := newServer(t)
	bg := context.Background()
	for i, tags := range [][]string{{"vip"}, {"vip"}, nil} {
		if _, err := s.App.DB.CreateContact(bg, sms.Contact{Name: fmt.Sprintf("Contato %d", i), Phone: fmt.Sprintf("+55119000000%02d", i+1),
			Tags: tags, Fields: map[string]string{"cidade": "Campinas"}}); err != nil {
			t.Fatal(err)
		}
	}
	ctx := longChrome(t)
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	visit(t, ctx, s.URL+"/segments/new")
	do(t, ctx, "name it, pick the tag field",
		chromedp.SendKeys(chromedp.ID("segment-name"), "VIP de Campinas"),
		chromedp.SetValue(chromedp.CSS(`#cond-0 select[name=field]`), "tag"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#cond-0 select[name=field]").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`#cond-0 input[list=known-tags]`)),
		htmxReady(`#cond-0 select[name=op]`))
	if got := eval[string](t, ctx, `document.querySelector("#cond-0 select[name=op]").value`); got != "has" {
		t.Fatalf("operation %q after choosing the tag field", got)
	}
	do(t, ctx, "type the tag", chromedp.SendKeys(chromedp.CSS(`#cond-0 input[name=value]`), "vip"),
		chromedp.Poll[chromedp.Void](`(document.getElementById("segment-matches") || {}).dataset?.count === "2"`))
	do(t, ctx, "add a condition", chromedp.Click(chromedp.ID("add-condition")), chromedp.WaitVisible(chromedp.ID("cond-1")), htmxReady(`#cond-1 select[name=field]`))
	do(t, ctx, "custom field",
		chromedp.SetValue(chromedp.CSS(`#cond-1 select[name=field]`), "custom"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#cond-1 select[name=field]").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.Poll[chromedp.Void](`!document.querySelector("#cond-1 input[name=key]").hidden && document.querySelector(".htmx-request") === null`),
		htmxReady(`#cond-1 select[name=op]`))
	// Filled in by script, in one go: typing key by key into nodes that a
	// late swap of the conditions replaces fails with "could not find node"
	// (seen in CI). The input events ask for the count as typing would.
	do(t, ctx, "key, operation and value",
		chromedp.Evaluate[chromedp.Void](`(() => {
			const row = document.getElementById("cond-1");
			const set = (sel, v) => { const e = row.querySelector(sel); e.value = v; e.dispatchEvent(new Event("input", {bubbles: true})); };
			set("input[name=key]", "cidade");
			row.querySelector("select[name=op]").value = "eq";
			set("input[name=value]", "Santos");
		})()`),
		chromedp.Poll[chromedp.Void](`(document.getElementById("segment-matches") || {}).dataset?.count === "0"`))
	screenshot(t, ctx, "segment")
	do(t, ctx, "save", chromedp.Click(chromedp.ID("segment-save")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if gs, _ := s.App.DB.Segments(bg); len(gs) != 1 || len(gs[0].Filter.Conditions) != 2 {
		t.Fatalf("saved %+v", gs)
	}
}

// TestBrowserCampaignPagesPhone: the pages of campaigns, lists, saved
// filters, imports and reports fit a phone's screen without scrolling
// sideways (wide tables scroll inside their own box).
func TestBrowserCampaignPagesPhone(t *testing.T) {
	s := newServer(t)
	bg := context.Background()
	l, _ := s.App.DB.CreateList(bg, "Clientes de São Paulo", "Quem comprou em 2026", nil)
	c := contact(t, s, "Fulana Teste", "+5511900000001")
	if err := s.App.DB.ChangeMembers(bg, l.ID, []int64{c.ID}, nil); err != nil {
		t.Fatal(err)
	}
	name, body := "Natal 2026", "Olá {{primeiro_nome}}! Feliz Natal."
	camp, err := s.App.Campaigns.Create(bg, campaign.Input{Name: &name, Body: &body, Audience: &store.Audience{Lists: []int64{l.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := longChrome(t)
	do(t, ctx, "phone screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	signIn(t, ctx, s.URL, "admin", apptest.ManagerPassword)
	for _, p := range []string{"/campaigns", "/campaigns/new", fmt.Sprintf("/campaigns/%d", camp.ID), "/lists", fmt.Sprintf("/lists/%d", l.ID),
		"/segments/new", "/imports", "/reports", "/reports/costs", "/reports/reconcile"} {
		visit(t, ctx, s.URL+p)
		if over := eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`); over {
			t.Errorf("%s overflows sideways: %d > %d", p, eval[int](t, ctx, `document.documentElement.scrollWidth`), eval[int](t, ctx, `window.innerWidth`))
		}
	}
}
