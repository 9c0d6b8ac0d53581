package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

func TestTemplatePages(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	b := manager(t, s)
	b.get("/templates/new")
	for _, tt := range []struct {
		name string
		form url.Values
	}{
		{"no name", url.Values{"name": {""}, "body": {"Oi"}}},
		{"no body", url.Values{"name": {"Boas-vindas"}, "body": {""}}},
		{"unclosed placeholder", url.Values{"name": {"Boas-vindas"}, "body": {"Olá {{nome"}}},
		{"body too long", url.Values{"name": {"Boas-vindas"}, "body": {strings.Repeat("a", 1601)}}},
		{"bad kind", url.Values{"name": {"Boas-vindas"}, "body": {"Oi"}, "kind": {"spam"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantStatus(t, b.post("/templates", tt.form), http.StatusUnprocessableEntity)
			if ts, _ := s.App.DB.ListTemplates(ctx, store.TemplateFilter{}); len(ts) != 0 {
				t.Fatal("a bad template was stored")
			}
		})
	}
	p := b.post("/templates", url.Values{"name": {"Boas-vindas"}, "body": {"Olá, {{primeiro_nome|cliente}}! Seu plano: {{plano}}."}, "kind": {"marketing"}})
	wantStatus(t, p, http.StatusSeeOther)
	ts, _ := s.App.DB.ListTemplates(ctx, store.TemplateFilter{})
	if len(ts) != 1 {
		t.Fatalf("%d templates", len(ts))
	}
	id := ts[0].ID
	s.App.DB.CreateContact(ctx, sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001", Fields: map[string]string{"plano": "ouro"}})

	// The preview renders for a contact found by name, and lists what is missing otherwise.
	p = b.post("/templates/preview", url.Values{"body": {ts[0].Body}, "sample": {"Fulana"}})
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "Olá, Fulana! Seu plano: ouro.", `id="template-placeholders"`)
	p = b.post("/templates/preview", url.Values{"body": {ts[0].Body}})
	wantContains(t, p, `id="template-missing"`, "plano")
	p = b.post("/templates/preview", url.Values{"body": {"Olá {{nome"}})
	wantContains(t, p, `id="template-errors"`)

	// Operators read and preview templates, but do not change them.
	op := operator(t, s, "operadora")
	wantStatus(t, op.get(fmt.Sprintf("/templates/%d", id)), http.StatusOK)
	wantStatus(t, op.post("/templates/preview", url.Values{"body": {"Oi {{nome}}"}}), http.StatusOK)
	wantStatus(t, op.post(fmt.Sprintf("/templates/%d", id), url.Values{"name": {"x"}, "body": {"y"}}), http.StatusForbidden)
	wantStatus(t, op.post(fmt.Sprintf("/templates/%d/delete", id), nil), http.StatusForbidden)
	wantStatus(t, op.get("/templates/new"), http.StatusForbidden)

	wantStatus(t, b.post(fmt.Sprintf("/templates/%d", id), url.Values{"name": {"Boas-vindas 2"}, "body": {"Oi {{nome}}"}, "kind": {"transactional"}}), http.StatusSeeOther)
	if tm, _ := s.App.DB.GetTemplate(ctx, id); tm.Name != "Boas-vindas 2" || tm.Kind != sms.Transactional {
		t.Fatalf("not saved: %+v", tm)
	}
	wantStatus(t, b.post(fmt.Sprintf("/templates/%d/delete", id), nil), http.StatusSeeOther)
	if _, err := s.App.DB.GetTemplate(ctx, id); sms.KindOf(err) != sms.KindNotFound {
		t.Fatalf("not deleted: %v", err)
	}
}

// TestComposerTemplate fills placeholders per recipient and skips those
// missing a value.
func TestComposerTemplate(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001", Fields: map[string]string{"plano": "ouro"}})
	s.App.DB.CreateContact(ctx, sms.Contact{Name: "Beltrana Teste", Phone: "+5511900000002"})
	tm, err := s.App.DB.CreateTemplate(ctx, sms.Template{Name: "Plano", Body: "Olá {{primeiro_nome}}, seu plano é {{plano}}.", Kind: sms.Marketing})
	if err != nil {
		t.Fatal(err)
	}
	b := manager(t, s)
	p := b.get(fmt.Sprintf("/compose?template_id=%d", tm.ID))
	wantContains(t, p, "seu plano é {{plano}}")
	form := url.Values{"contact_id": {fmt.Sprint(c.ID)}, "numbers": {"11900000002\n11900000003"}, "body": {tm.Body},
		"template_id": {fmt.Sprint(tm.ID)}, "kind": {"marketing"}}
	p = b.post("/compose/preview", form)
	wantContains(t, p, `id="preview-count">1<`, "Olá Fulana, seu plano é ouro.", `data-code="missing_field"`)
	wantStatus(t, b.post("/compose", form), http.StatusSeeOther)
	ms, err := s.App.DB.ListMessages(ctx, store.MessageFilter{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("%d messages, %v", len(ms), err)
	}
	if ms[0].Body != "Olá Fulana, seu plano é ouro." || ms[0].TemplateID == nil || *ms[0].TemplateID != tm.ID {
		t.Fatalf("message %q template %v", ms[0].Body, ms[0].TemplateID)
	}
}

// TestComposerList sends to every contact of a list.
func TestComposerList(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	a, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001"})
	b2, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Beltrana Teste", Phone: "+5511900000002"})
	s.App.DB.CreateContact(ctx, sms.Contact{Name: "Fora da Lista", Phone: "+5511900000003"})
	l, err := s.App.DB.CreateList(ctx, "vip", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.DB.ChangeMembers(ctx, l.ID, []int64{a.ID, b2.ID}, nil); err != nil {
		t.Fatal(err)
	}
	b := manager(t, s)
	p := b.get(fmt.Sprintf("/compose?list_id=%d", l.ID))
	wantContains(t, p, `id="list-pick"`)
	form := url.Values{"list_id": {fmt.Sprint(l.ID)}, "body": {"Olá {{primeiro_nome}}"}, "kind": {"marketing"}}
	wantContains(t, b.post("/compose/preview", form), `id="preview-count">2<`)
	wantStatus(t, b.post("/compose/preview", url.Values{"list_id": {"x"}, "body": {"Oi"}}), http.StatusOK)
	wantStatus(t, b.post("/compose", url.Values{"list_id": {"x"}, "body": {"Oi"}}), http.StatusUnprocessableEntity)
	wantStatus(t, b.post("/compose", form), http.StatusSeeOther)
	if n := countMessages(t, s); n != 2 {
		t.Fatalf("%d messages, want 2", n)
	}
}
