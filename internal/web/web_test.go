package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

func TestLogin(t *testing.T) {
	s := newServer(t)
	t.Run("anonymous pages send to sign-in and back", func(t *testing.T) {
		b := newBrowser(t, s)
		p := b.get("/messages?state=sent")
		wantStatus(t, p, http.StatusSeeOther)
		if p.Location != "/login?next=%2Fmessages%3Fstate%3Dsent" {
			t.Fatalf("location %q", p.Location)
		}
		b.get("/login?next=%2Fmessages%3Fstate%3Dsent")
		p = b.post("/login", url.Values{"username": {"admin"}, "password": {apptest.ManagerPassword}, "next": {"/messages?state=sent"}})
		if p.Status != http.StatusSeeOther || p.Location != "/messages?state=sent" {
			t.Fatalf("after sign-in: %d %q", p.Status, p.Location)
		}
	})
	t.Run("next cannot leave the site", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"} {
			b := newBrowser(t, s)
			b.get("/login")
			p := b.post("/login", url.Values{"username": {"admin"}, "password": {apptest.ManagerPassword}, "next": {next}})
			if p.Location != "/" {
				t.Errorf("next %q: redirected to %q", next, p.Location)
			}
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		b := newBrowser(t, s)
		b.get("/login")
		p := b.post("/login", url.Values{"username": {"admin"}, "password": {"not-the-password"}})
		wantStatus(t, p, http.StatusUnauthorized)
		wantContains(t, p, `id="login-error"`)
		if b.get("/").Status != http.StatusSeeOther {
			t.Fatal("a failed sign-in gave a session")
		}
	})
	t.Run("empty form", func(t *testing.T) {
		b := newBrowser(t, s)
		b.get("/login")
		wantStatus(t, b.post("/login", url.Values{"username": {""}, "password": {""}}), http.StatusUnprocessableEntity)
	})
	t.Run("session renewed at sign-in, ended at sign-out", func(t *testing.T) {
		b := newBrowser(t, s)
		b.get("/login")
		u, _ := url.Parse(s.URL)
		before := sessionCookie(b, u)
		b.login("admin", apptest.ManagerPassword)
		after := sessionCookie(b, u)
		if before == "" || after == "" || before == after {
			t.Fatalf("session id not renewed at sign-in: before %q after %q", before, after)
		}
		wantStatus(t, b.post("/logout", nil), http.StatusSeeOther)
		// The old session id is worthless, even presented again.
		old := newBrowser(t, s)
		old.c.Jar.SetCookies(u, []*http.Cookie{{Name: "recado_session", Value: after}})
		if p := old.get("/"); p.Status != http.StatusSeeOther {
			t.Fatalf("old session still signed in: %d", p.Status)
		}
	})
}

func sessionCookie(b *browser, u *url.URL) string {
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "recado_session" {
			return c.Value
		}
	}
	return ""
}

func TestLoginThrottle(t *testing.T) {
	s := newServer(t)
	s.CreateUser(t, "fulana", "user")
	b := newBrowser(t, s)
	b.get("/login")
	for i := range 5 {
		p := b.post("/login", url.Values{"username": {"fulana"}, "password": {fmt.Sprintf("guess-%d", i)}})
		wantStatus(t, p, http.StatusUnauthorized)
	}
	// Locked now: even the right password is refused, without a hint.
	p := b.post("/login", url.Values{"username": {"fulana"}, "password": {"password-of-fulana"}})
	wantStatus(t, p, http.StatusTooManyRequests)
	// Other accounts are not locked by it.
	b2 := newBrowser(t, s)
	b2.login("admin", apptest.ManagerPassword)
}

func TestCSRF(t *testing.T) {
	s := newServer(t)
	b := manager(t, s)
	tests := []struct {
		name   string
		token  string
		header http.Header
	}{
		{"no token", "", nil},
		{"wrong token", "forged-token-forged-token-forged-token", nil},
		{"cross-site request", "", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"csrf_token": {tt.token}, "name": {"Fulana Teste"}, "phone": {"11900000001"}}
			if tt.header != nil {
				form.Set("csrf_token", b.csrf) // the right token does not save a cross-site request
			}
			req, _ := http.NewRequest(http.MethodPost, s.URL+"/contacts", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header[k] = v
			}
			p := b.do(req)
			wantStatus(t, p, http.StatusForbidden)
			cs, err := s.App.DB.ListContacts(context.Background(), store.ContactFilter{})
			if err != nil || len(cs) != 0 {
				t.Fatalf("a forged form changed something: %d contacts, %v", len(cs), err)
			}
		})
	}
	t.Run("htmx header", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/contacts", strings.NewReader(url.Values{"phone": {"11900000009"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", b.csrf)
		wantStatus(t, b.do(req), http.StatusSeeOther)
	})
}

// TestPermissions checks every UI route for the anonymous, an operator and
// a manager: the server refuses what a role may not do, whatever the page
// shows.
func TestPermissions(t *testing.T) {
	s := newServer(t)
	c := contact(t, s, "Fulana Teste", "+5511900000001")
	ms, err := s.App.Dispatch.Submit(context.Background(), []dispatch.Request{{ContactID: &c.ID, Body: "Oi"}})
	if err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("/messages/%d", ms[0].ID)
	// Issue 6's pages: a list, a saved filter and a draft campaign.
	ctx := context.Background()
	l, _ := s.App.DB.CreateList(ctx, "Clientes", "", nil)
	g, _ := s.App.DB.SaveSegment(ctx, store.Segment{Name: "VIP", Filter: sms.Filter{Conditions: []sms.Condition{{Field: "tag", Op: "has", Value: "vip"}}}})
	body := "Oi"
	camp, err := s.App.Campaigns.Create(ctx, campaign.Input{Name: &body, Body: &body, Audience: &store.Audience{Lists: []int64{l.ID}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, seg, cmp := fmt.Sprintf("/lists/%d", l.ID), fmt.Sprintf("/segments/%d", g.ID), fmt.Sprintf("/campaigns/%d", camp.ID)
	anon := newBrowser(t, s)
	anon.get("/login")
	op := operator(t, s, "operadora")
	mgr := manager(t, s)
	const (
		ok        = 0 // 2xx or a redirect that is not to sign in
		forbidden = http.StatusForbidden
		signIn    = 1 // GET: redirected to sign in; POST: 401
	)
	tests := []struct {
		method, path string
		form         url.Values
		anon, op     int
		mgr          int
	}{
		{"GET", "/", nil, signIn, ok, ok},
		{"GET", "/messages", nil, signIn, ok, ok},
		{"GET", msg, nil, signIn, ok, ok},
		{"GET", "/messages/export.csv", nil, signIn, ok, ok},
		{"GET", "/contacts", nil, signIn, ok, ok},
		{"GET", "/contacts/new", nil, signIn, ok, ok},
		{"GET", fmt.Sprintf("/contacts/%d", c.ID), nil, signIn, ok, ok},
		{"GET", "/compose", nil, signIn, ok, ok},
		{"GET", "/inbox", nil, signIn, ok, ok},
		{"GET", "/providers", nil, signIn, ok, ok},
		{"GET", "/providers/mock", nil, signIn, ok, ok},
		{"GET", "/providers/new", nil, signIn, forbidden, ok},
		{"GET", "/blacklist", nil, signIn, ok, ok},
		{"GET", "/users", nil, signIn, forbidden, ok},
		{"GET", "/settings", nil, signIn, ok, ok},
		{"GET", "/dashboard/chart/volume", nil, signIn, ok, ok},
		{"GET", "/dashboard/chart/cost", nil, signIn, forbidden, ok},
		{"POST", "/providers", url.Values{"name": {"x"}, "type": {"mock"}}, signIn, forbidden, ok},
		{"POST", "/providers/mock", url.Values{"cost_per_segment": {"0.05"}, "active": {"1"}, "default": {"1"}}, signIn, forbidden, ok},
		{"POST", "/providers/mock/rotate-secret", nil, signIn, forbidden, -1},
		{"POST", "/blacklist", url.Values{"phones": {"11900000077"}}, signIn, forbidden, ok},
		{"POST", "/users", url.Values{"username": {"novo"}, "role": {"user"}, "password": {"a-long-password-1"}}, signIn, forbidden, ok},
		{"POST", fmt.Sprintf("/contacts/%d/delete", c.ID+100), nil, signIn, forbidden, http.StatusNotFound},
		{"POST", msg + "/delete", nil, signIn, forbidden, http.StatusConflict},
		{"POST", msg + "/cancel", nil, signIn, ok, -1},

		// Campaigns at scale (issue 6).
		{"GET", "/lists", nil, signIn, ok, ok},
		{"GET", list, nil, signIn, ok, ok},
		{"GET", list + "/find?q=Fulana", nil, signIn, ok, ok},
		{"POST", "/lists", url.Values{"name": {"Da operadora"}}, signIn, ok, -1},
		{"POST", list + "/members", url.Values{"contact_id": {fmt.Sprint(c.ID)}}, signIn, ok, ok},
		{"POST", list + "/members/from", url.Values{"tag": {"vip"}}, signIn, ok, ok},
		{"POST", list + "/delete", nil, signIn, forbidden, -1},
		{"GET", "/segments", nil, signIn, ok, ok},
		{"GET", "/segments/new", nil, signIn, ok, ok},
		{"GET", seg, nil, signIn, ok, ok},
		{"POST", "/segments/count", url.Values{"field": {"tag"}, "op": {"has"}, "value": {"vip"}}, signIn, ok, ok},
		{"POST", seg + "/delete", nil, signIn, forbidden, -1},
		{"GET", "/imports", nil, signIn, ok, ok},
		{"GET", "/imports/999", nil, signIn, http.StatusNotFound, http.StatusNotFound},
		{"GET", "/campaigns", nil, signIn, ok, ok},
		{"GET", cmp, nil, signIn, ok, ok},
		{"GET", cmp + "/dry-run", nil, signIn, ok, ok},
		{"GET", cmp + "/chart", nil, signIn, ok, ok},
		{"GET", "/campaigns/new", nil, signIn, forbidden, ok},
		{"GET", cmp + "/edit", nil, signIn, forbidden, ok},
		{"POST", "/campaigns", url.Values{"name": {"x"}}, signIn, forbidden, http.StatusUnprocessableEntity},
		{"POST", cmp, url.Values{"name": {""}}, signIn, forbidden, http.StatusUnprocessableEntity},
		{"POST", cmp + "/pause", nil, signIn, forbidden, http.StatusConflict},
		{"POST", cmp + "/start", nil, signIn, forbidden, -1},
		{"POST", cmp + "/cancel", nil, signIn, forbidden, -1},
		{"GET", "/reports", nil, signIn, forbidden, ok},
		{"GET", "/reports/export.csv", nil, signIn, forbidden, ok},
		{"GET", "/reports/costs", nil, signIn, forbidden, ok},
		{"GET", "/reports/reconcile", nil, signIn, forbidden, ok},
		{"POST", "/reports/reconcile", url.Values{"provider": {"mock"}}, signIn, forbidden, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		for _, who := range []struct {
			name string
			b    *browser
			want int
		}{{"anonymous", anon, tt.anon}, {"operator", op, tt.op}, {"manager", mgr, tt.mgr}} {
			if who.want < 0 {
				continue
			}
			t.Run(who.name+" "+tt.method+" "+tt.path, func(t *testing.T) {
				var p page
				if tt.method == "GET" {
					p = who.b.get(tt.path)
				} else {
					form := url.Values{}
					for k, v := range tt.form {
						form[k] = v
					}
					p = who.b.post(tt.path, form)
				}
				switch who.want {
				case ok:
					if p.Status >= 400 || strings.HasPrefix(p.Location, "/login") {
						t.Fatalf("status %d location %q; body %.1500s", p.Status, p.Location, p.Body)
					}
				case signIn:
					if tt.method == "GET" && !(p.Status == http.StatusSeeOther && strings.HasPrefix(p.Location, "/login")) ||
						tt.method == "POST" && p.Status != http.StatusUnauthorized && p.Status != http.StatusForbidden {
						t.Fatalf("status %d location %q, want sign-in", p.Status, p.Location)
					}
				default:
					wantStatus(t, p, who.want)
				}
			})
		}
	}
	// The operator sees no delete button and no provider form either.
	p := op.get(msg)
	if strings.Contains(p.Body, `id="delete"`) {
		t.Error("operator is shown a delete button")
	}
	if p := op.get("/providers/mock"); strings.Contains(p.Body, `id="provider-form"`) {
		t.Error("operator is shown the provider form")
	}
}

func TestContactForm(t *testing.T) {
	s := newServer(t)
	b := manager(t, s)
	b.get("/contacts/new")
	long := strings.Repeat("x", 201)
	tests := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"empty phone", url.Values{"name": {"Fulana"}, "phone": {""}}, "phone"},
		{"bad phone", url.Values{"name": {"Fulana"}, "phone": {"12ab"}}, "phone"},
		{"landline", url.Values{"name": {"Fulana"}, "phone": {"(11) 3000-0001"}}, "phone"},
		{"name too long", url.Values{"name": {long}, "phone": {"11900000001"}}, "name"},
		{"bad custom fields", url.Values{"phone": {"11900000001"}, "fields": {"no equals sign"}}, "fields"},
		{"bad owner", url.Values{"phone": {"11900000001"}, "owner_id": {"abc"}}, "owner_id"},
		{"unknown owner", url.Values{"phone": {"11900000001"}, "owner_id": {"999"}}, "owner_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.post("/contacts", tt.form)
			wantStatus(t, p, http.StatusUnprocessableEntity)
			wantContains(t, p, `id="form-errors"`)
			if cs, _ := s.App.DB.ListContacts(context.Background(), store.ContactFilter{}); len(cs) != 0 {
				t.Fatalf("bad input stored a contact")
			}
		})
	}
	t.Run("good, then edited", func(t *testing.T) {
		p := b.post("/contacts", url.Values{"name": {"Fulana Teste"}, "phone": {"(11) 90000-0001"}, "tags": {"vip, sp"}, "fields": {"plano=ouro"}})
		wantStatus(t, p, http.StatusSeeOther)
		p = b.get(p.Location)
		wantContains(t, p, "Fulana Teste", "(11) 90000-0001", "vip", "plano", "ouro")
		c, err := s.App.DB.ContactByPhone(context.Background(), "+5511900000001")
		if err != nil {
			t.Fatal(err)
		}
		p = b.post(fmt.Sprintf("/contacts/%d", c.ID), url.Values{"name": {"Fulana Editada"}, "phone": {"11900000001"}, "opted_out": {"1"}})
		wantStatus(t, p, http.StatusSeeOther)
		c, _ = s.App.DB.GetContact(context.Background(), c.ID)
		if c.Name != "Fulana Editada" || !c.OptedOut || len(c.Tags) != 0 {
			t.Fatalf("edit not saved: %+v", c)
		}
	})
}

func TestXSSEscaped(t *testing.T) {
	s := newServer(t)
	evil := `<script>alert("x")</script><img src=x onerror=alert(1)>`
	c := contact(t, s, evil, "+5511900000001")
	if _, err := s.App.Dispatch.Submit(context.Background(), []dispatch.Request{{ContactID: &c.ID, Body: evil}}); err != nil {
		t.Fatal(err)
	}
	b := manager(t, s)
	for _, path := range []string{fmt.Sprintf("/contacts/%d", c.ID), "/contacts", "/messages", "/messages/1",
		"/messages?q=" + url.QueryEscape(evil)} {
		p := b.get(path)
		wantStatus(t, p, http.StatusOK)
		if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "<img src=x") {
			t.Errorf("%s: markup from data reached the page unescaped", path)
		}
	}
}

func TestSendFromContactPage(t *testing.T) {
	s := newServer(t)
	c := contact(t, s, "Fulana Teste", "+5511900000001")
	dead, _ := s.App.DB.CreateContact(context.Background(), sms.Contact{Name: "Falecido Teste", Phone: "+5511900000002", Deceased: true})
	b := manager(t, s)
	b.get(fmt.Sprintf("/contacts/%d", c.ID))
	tests := []struct {
		name    string
		contact int64
		form    url.Values
		want    int
	}{
		{"empty body", c.ID, url.Values{"body": {"  "}}, http.StatusUnprocessableEntity},
		{"body too long", c.ID, url.Values{"body": {strings.Repeat("a", 1601)}}, http.StatusUnprocessableEntity},
		{"bad kind", c.ID, url.Values{"body": {"Oi"}, "kind": {"spam"}}, http.StatusUnprocessableEntity},
		{"deceased contact", dead.ID, url.Values{"body": {"Oi"}}, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, b.post(fmt.Sprintf("/contacts/%d/send", tt.contact), tt.form), tt.want)
			if n := countMessages(t, s); n != 0 {
				t.Fatalf("bad input stored %d messages", n)
			}
		})
	}
	p := b.post(fmt.Sprintf("/contacts/%d/send", c.ID), url.Values{"body": {"Olá, Fulana!"}, "kind": {"marketing"}})
	wantStatus(t, p, http.StatusSeeOther)
	if n := countMessages(t, s); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
}

func TestComposer(t *testing.T) {
	s := newServer(t)
	out := contact(t, s, "Descadastrada Teste", "+5511900000003")
	if _, err := s.App.DB.UpdateContact(context.Background(), withOptOut(out)); err != nil {
		t.Fatal(err)
	}
	b := manager(t, s)
	b.get("/compose")
	if _, err := s.App.Dispatch.Blacklist(context.Background(), []string{"11900000004"}, "test", nil); err != nil {
		t.Fatal(err)
	}
	// A number the provider refused as do-not-disturb before.
	prior, err := s.App.Dispatch.Submit(context.Background(), []dispatch.Request{{To: "11900000006", Body: "Oi", SendAt: ptrTime(time.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	q := `UPDATE messages SET error_code = 'not_disturb' WHERE id = $1`
	if s.App.DB.Dialect() == store.SQLite {
		q = `UPDATE messages SET error_code = 'not_disturb' WHERE id = ?1`
	}
	if _, err := s.App.DB.Writer().Exec(q, prior[0].ID); err != nil {
		t.Fatal(err)
	}
	numbers := "11900000001\n(11) 90000-0001\n1130000001\n11900000003\n11900000004\nabc\n11900000002\n11900000006"
	t.Run("preview lists the skipped with their reasons", func(t *testing.T) {
		p := b.post("/compose/preview", url.Values{"numbers": {numbers}, "body": {"Promoção de verão"}})
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `id="preview-count">2<`, `data-code="duplicate"`, `data-code="phone_landline"`,
			`data-code="opted_out"`, `data-code="blacklisted"`, `data-code="phone_characters"`, `data-code="do_not_disturb"`,
			`id="ucs2-warning"`, `id="fold"`)
		if n := countMessages(t, s); n != 1 {
			t.Fatalf("the preview stored %d messages", n)
		}
	})
	t.Run("fold removes the accents", func(t *testing.T) {
		p := b.post("/compose/preview", url.Values{"numbers": {"11900000001"}, "body": {"Promoção de verão"}, "fold": {"1"}})
		wantContains(t, p, `id="preview-encoding">GSM-7<`, `hx-swap-oob="true">Promocao de verao</textarea>`)
	})
	t.Run("bad input", func(t *testing.T) {
		for _, form := range []url.Values{
			{"numbers": {""}, "body": {"Oi"}},
			{"numbers": {"11900000001"}, "body": {""}},
			{"numbers": {"11900000001"}, "body": {"Oi"}, "send_at": {"tomorrow"}},
			{"numbers": {"11900000001"}, "body": {"Oi"}, "provider": {"nope"}},
			{"numbers": {"abc"}, "body": {"Oi"}},
		} {
			wantStatus(t, b.post("/compose", form), http.StatusUnprocessableEntity)
		}
		if n := countMessages(t, s); n != 1 {
			t.Fatalf("bad input stored %d messages", n-1)
		}
	})
	t.Run("send skips what the preview said", func(t *testing.T) {
		p := b.post("/compose", url.Values{"numbers": {numbers}, "body": {"Promoção de verão"}, "kind": {"marketing"}})
		wantStatus(t, p, http.StatusSeeOther)
		if n := countMessages(t, s); n != 3 {
			t.Fatalf("%d messages stored, want 2", n)
		}
	})
}

func ptrTime(t time.Time) *time.Time { return &t }

func withOptOut(c sms.Contact) sms.Contact {
	c.OptedOut = true
	return c
}

func TestOtherForms(t *testing.T) {
	s := newServer(t)
	b := manager(t, s)
	b.get("/")
	tests := []struct {
		name string
		path string
		form url.Values
		want int
	}{
		{"blacklist: bad number", "/blacklist", url.Values{"phones": {"11900000001\nnot-a-number"}}, http.StatusUnprocessableEntity},
		{"blacklist: nothing", "/blacklist", url.Values{"phones": {""}}, http.StatusUnprocessableEntity},
		{"user: bad username", "/users", url.Values{"username": {"A B"}, "role": {"user"}, "password": {"a-long-password-1"}}, http.StatusUnprocessableEntity},
		{"user: bad role", "/users", url.Values{"username": {"novo"}, "role": {"king"}, "password": {"a-long-password-1"}}, http.StatusUnprocessableEntity},
		{"user: short password", "/users", url.Values{"username": {"novo"}, "role": {"user"}, "password": {"x"}}, http.StatusUnprocessableEntity},
		{"provider: bad name", "/providers", url.Values{"name": {"Bad Name"}, "type": {"mock"}}, http.StatusUnprocessableEntity},
		{"provider: bad cost", "/providers", url.Values{"name": {"k2"}, "type": {"kolmeya"}, "token": {"t"}, "cost_per_segment": {"abc"}}, http.StatusUnprocessableEntity},
		{"provider: kolmeya without token", "/providers", url.Values{"name": {"k2"}, "type": {"kolmeya"}}, http.StatusUnprocessableEntity},
		{"settings: wrong current password", "/settings/password", url.Values{"current": {"nope"}, "password": {"a-long-password-2"}, "confirm": {"a-long-password-2"}}, http.StatusUnprocessableEntity},
		{"settings: unknown language", "/settings/language", url.Values{"lang": {"xx"}}, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, b.post(tt.path, tt.form), tt.want)
		})
	}
	ctx := context.Background()
	if es, _ := s.App.DB.ListBlacklist(ctx, store.BlacklistFilter{}); len(es) != 0 {
		t.Errorf("blacklist changed: %v", es)
	}
	if us, _ := s.App.DB.ListUsers(ctx); len(us) != 1 {
		t.Errorf("%d users, want only admin", len(us))
	}
	if ps, _ := s.App.Providers.List(ctx); len(ps) != 1 {
		t.Errorf("%d providers, want only mock", len(ps))
	}
}

// TestDashboard shows the figures, failures by reason and both charts.
func TestDashboard(t *testing.T) {
	s := newServer(t, apptest.WithWorkers())
	ctx := context.Background()
	if _, err := s.App.Providers.Update(ctx, "mock", providersInput(`{"reject_prefixes": ["+5511900000009"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Dispatch.Submit(ctx, []dispatch.Request{{To: "11900000001", Body: "Oi"}, {To: "11900000009", Body: "Oi"}}); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "one delivered, one rejected", func() bool {
		by, _ := s.App.DB.CountMessagesByState(ctx)
		return by[sms.StateDelivered] == 1 && by[sms.StateRejected] == 1
	})
	b := manager(t, s)
	p := b.get("/")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `id="sent-today">2<`, `id="delivery-rate">50.0%<`, `id="failure-reasons"`, `data-state="rejected"`, `id="cost-month"`)
	for _, chart := range []string{"volume", "cost"} {
		p := b.get("/dashboard/chart/" + chart)
		wantStatus(t, p, http.StatusOK)
		if !strings.HasPrefix(p.Body, "<svg") {
			t.Fatalf("chart %s is not SVG: %.200s", chart, p.Body)
		}
	}
	// Operators see no costs.
	op := operator(t, s, "operadora")
	if p := op.get("/"); strings.Contains(p.Body, `id="cost-month"`) {
		t.Error("an operator sees the cost")
	}
}

func providersInput(settings string) providers.Input {
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(settings), &m)
	return providers.Input{Settings: m}
}

// TestFormTooLarge: a form over the size limit is refused before it is read
// whole, and changes nothing.
func TestFormTooLarge(t *testing.T) {
	s := newServer(t)
	b := manager(t, s)
	b.get("/contacts/new")
	big := strings.Repeat("x", 11<<20) // over the 10 MB a plain form may carry
	p := b.post("/contacts", url.Values{"name": {"Fulana"}, "phone": {"11900000001"}, "fields": {big}})
	wantStatus(t, p, http.StatusRequestEntityTooLarge)
	if cs, _ := s.App.DB.ListContacts(context.Background(), store.ContactFilter{}); len(cs) != 0 {
		t.Fatal("an oversized form stored a contact")
	}
}

// TestFlashSurvivesAStaleSessionSave: a notice set by one request shows on
// the next page even when another request of the same session, which read
// the session before the notice was set, saves it afterwards (the
// composer's live preview in flight as its form is sent: sessions are saved
// on every request); and it shows once.
func TestFlashSurvivesAStaleSessionSave(t *testing.T) {
	s := newServer(t)
	b := manager(t, s)
	b.get("/templates/new")
	db := s.App.DB.Writer()
	var token string
	var stale []byte
	if err := db.QueryRow(`SELECT token, data FROM sessions`).Scan(&token, &stale); err != nil {
		t.Fatal(err)
	}
	p := b.post("/templates", url.Values{"name": {"aviso"}, "body": {"Oi {{nome}}"}, "kind": {"marketing"}})
	wantStatus(t, p, http.StatusSeeOther)
	// The request in flight saves the session as it read it.
	if _, err := db.Exec(`UPDATE sessions SET data = $1 WHERE token = $2`, stale, token); err != nil {
		t.Fatal(err)
	}
	wantContains(t, b.get(p.Location), `class="flash"`, "Template aviso created.")
	if again := b.get(p.Location); strings.Contains(again.Body, "Template aviso created.") {
		t.Fatal("the notice shows a second time")
	}
}
