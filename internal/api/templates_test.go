package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/store/storetest"
	"github.com/recado-sms/recado/internal/templates"
)

type templateList struct {
	Templates []api.Template `json:"templates"`
}

func TestTemplates(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))
		_, op := s.Operator(t, "ana")
		contact := createContact(t, s, map[string]any{"phone": "+55 11 90000-0101", "name": "Fulana de Teste",
			"fields": map[string]string{"vencimento": "10/12"}})

		tm := apptest.JSON[api.Template](t, s, http.MethodPost, "/api/v1/templates", s.Token, map[string]any{
			"name": "Lembrete", "body": "Olá {{ Primeiro_Nome | cliente }}, sua fatura vence em {{vencimento}}. {{campanha|}}",
			"description": "vencimento"}, http.StatusCreated)
		if tm.Kind != "marketing" || strings.Join(tm.Placeholders, ",") != "primeiro_nome,vencimento,campanha" || tm.CreatedBy == nil {
			t.Fatalf("created %+v", tm)
		}

		t.Run("list and get", func(t *testing.T) {
			l := apptest.JSON[templateList](t, s, http.MethodGet, "/api/v1/templates?q=lemb", op, nil, http.StatusOK)
			if len(l.Templates) != 1 || l.Templates[0].ID != tm.ID {
				t.Fatalf("list = %+v", l)
			}
			if l := apptest.JSON[templateList](t, s, http.MethodGet, "/api/v1/templates?kind=transactional", op, nil, http.StatusOK); len(l.Templates) != 0 {
				t.Errorf("kind filter: %+v", l)
			}
			got := apptest.JSON[api.Template](t, s, http.MethodGet, fmt.Sprintf("/api/v1/templates/%d", tm.ID), op, nil, http.StatusOK)
			if got.Body != tm.Body {
				t.Errorf("get = %+v", got)
			}
		})

		t.Run("preview for a contact", func(t *testing.T) {
			p := apptest.JSON[templates.Preview](t, s, http.MethodPost, fmt.Sprintf("/api/v1/templates/%d/preview", tm.ID), op,
				map[string]any{"contact_id": contact.ID}, http.StatusOK)
			if p.Text != "Olá Fulana, sua fatura vence em 10/12. " || len(p.Missing) != 0 {
				t.Fatalf("preview %+v", p)
			}
			if p.Encoding != "ucs2" || p.Segments != 1 || p.CostText != "0.05" || p.Provider != "mock" {
				t.Errorf("preview pricing %+v", p)
			}
			if p.Folded == nil || p.Folded.Text != "Ola Fulana, sua fatura vence em 10/12. " || p.Folded.Encoding != "gsm7" {
				t.Errorf("folded %+v", p.Folded)
			}
		})

		t.Run("preview with sample fields and a missing one", func(t *testing.T) {
			p := apptest.JSON[templates.Preview](t, s, http.MethodPost, "/api/v1/templates/preview", op,
				map[string]any{"body": "{{nome}} {{saldo}} {{telefone}}", "phone": "11900000102", "fields": map[string]string{"Nome": "Beltrana"}}, http.StatusOK)
			if p.Text != "Beltrana  (11) 90000-0102" || strings.Join(p.Missing, ",") != "saldo" || p.Folded != nil {
				t.Fatalf("preview %+v", p)
			}
			long := apptest.JSON[templates.Preview](t, s, http.MethodPost, "/api/v1/templates/preview", op,
				map[string]any{"body": strings.Repeat("ação ", 30)}, http.StatusOK)
			if long.Segments != 3 || long.Folded == nil || long.Folded.Segments != 1 || long.Folded.SavedSegments != 2 || long.Folded.SavingText != "0.10" {
				t.Errorf("long preview %+v %+v", long, long.Folded)
			}
		})

		t.Run("send from a template keeps its id", func(t *testing.T) {
			m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", op,
				map[string]any{"contact_id": contact.ID, "template_id": tm.ID}, http.StatusAccepted)
			if m.Body != "Olá Fulana, sua fatura vence em 10/12. " || m.TemplateID == nil || *m.TemplateID != tm.ID {
				t.Fatalf("message %+v", m)
			}
			before := countMessages(t, s)
			res := s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/messages", Token: op,
				Body: map[string]any{"to": "+55 11 90000-0103", "template_id": tm.ID}})
			checkProblem(t, res, http.StatusUnprocessableEntity, "fields")
			res = s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/messages", Token: op,
				Body: map[string]any{"to": "+55 11 90000-0103", "template_id": 999999}})
			checkProblem(t, res, http.StatusUnprocessableEntity, "template_id")
			if after := countMessages(t, s); after != before {
				t.Errorf("refused sends stored messages: %d → %d", before, after)
			}
		})

		t.Run("bad input changes nothing", func(t *testing.T) {
			tests := []struct {
				name, method, path, token string
				body                      any
				status                    int
				field, words              string
			}{
				{"unclosed placeholder", "POST", "/api/v1/templates", s.Token, map[string]any{"name": "x1", "body": "Olá {{nome"}, 422, "body", "column 5"},
				{"empty placeholder", "POST", "/api/v1/templates", s.Token, map[string]any{"name": "x2", "body": "a\n{{ }}"}, 422, "body", "line 2"},
				{"no name", "POST", "/api/v1/templates", s.Token, map[string]any{"body": "oi"}, 422, "name", ""},
				{"blank body", "POST", "/api/v1/templates", s.Token, map[string]any{"name": "x3", "body": "  "}, 422, "body", ""},
				{"body too long", "POST", "/api/v1/templates", s.Token, map[string]any{"name": "x4", "body": strings.Repeat("a", 1601)}, 422, "body", ""},
				{"bad kind", "POST", "/api/v1/templates", s.Token, map[string]any{"name": "x5", "body": "oi", "kind": "bulk"}, 422, "body.kind", ""},
				{"name taken", "POST", "/api/v1/templates", s.Token, map[string]any{"name": "Lembrete", "body": "oi"}, 422, "name", ""},
				{"malformed", "POST", "/api/v1/templates", s.Token, `{"name": "x6",`, 400, "", ""},
				{"operator cannot create", "POST", "/api/v1/templates", op, map[string]any{"name": "x7", "body": "oi"}, 403, "", "templates:write"},
				{"operator cannot edit", "PATCH", fmt.Sprintf("/api/v1/templates/%d", tm.ID), op, map[string]any{"body": "mudou"}, 403, "", ""},
				{"operator cannot delete", "DELETE", fmt.Sprintf("/api/v1/templates/%d", tm.ID), op, nil, 403, "", ""},
				{"bad edit", "PATCH", fmt.Sprintf("/api/v1/templates/%d", tm.ID), s.Token, map[string]any{"body": "{{x"}, 422, "body", ""},
				{"unknown template", "GET", "/api/v1/templates/999999", s.Token, nil, 404, "", ""},
				{"preview unknown contact", "POST", fmt.Sprintf("/api/v1/templates/%d/preview", tm.ID), op, map[string]any{"contact_id": 999999}, 422, "contact_id", ""},
				{"preview bad phone", "POST", "/api/v1/templates/preview", op, map[string]any{"body": "oi", "phone": "(11) 3333-0001"}, 422, "phone", ""},
				{"preview unknown provider", "POST", "/api/v1/templates/preview", op, map[string]any{"body": "oi", "provider": "nope"}, 422, "provider", ""},
				{"preview bad syntax", "POST", "/api/v1/templates/preview", op, map[string]any{"body": "{{"}, 422, "body", ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					res := s.Send(t, apptest.Request{Method: tt.method, Path: tt.path, Token: tt.token, Body: tt.body})
					p := checkProblem(t, res, tt.status, tt.field)
					if tt.words != "" && !strings.Contains(p.text(), tt.words) {
						t.Errorf("problem does not say %q: %s", tt.words, p.text())
					}
				})
			}
			l := apptest.JSON[templateList](t, s, http.MethodGet, "/api/v1/templates", s.Token, nil, http.StatusOK)
			if len(l.Templates) != 1 || l.Templates[0].Body != tm.Body {
				t.Errorf("bad input changed the templates: %+v", l.Templates)
			}
		})

		t.Run("update and delete", func(t *testing.T) {
			u := apptest.JSON[api.Template](t, s, http.MethodPatch, fmt.Sprintf("/api/v1/templates/%d", tm.ID), s.Token,
				map[string]any{"body": "Código {{codigo}}", "kind": "transactional"}, http.StatusOK)
			if u.Kind != "transactional" || strings.Join(u.Placeholders, ",") != "codigo" || u.Name != "Lembrete" {
				t.Fatalf("updated %+v", u)
			}
			if st, body, _ := s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/templates/%d", tm.ID), s.Token, nil); st != http.StatusNoContent {
				t.Fatalf("delete: %d %s", st, body)
			}
			checkProblem(t, s.Send(t, apptest.Request{Method: "GET", Path: fmt.Sprintf("/api/v1/templates/%d", tm.ID), Token: s.Token}), 404, "")
		})
	})
}
