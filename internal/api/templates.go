package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/templates"
)

// Template is a template as the API shows it, with the placeholders its body
// uses.
type Template struct {
	sms.Template
	Placeholders []string `json:"placeholders" doc:"The names its body uses, lower case, in order of first use"`
}

func templateOut(t sms.Template) Template {
	out := Template{Template: t, Placeholders: []string{}}
	if tb, err := sms.ParseTemplate(t.Body); err == nil {
		out.Placeholders = tb.Placeholders()
	}
	return out
}

// TemplateBody creates a template or, in a PATCH, changes the fields given.
type TemplateBody struct {
	Name        *string `json:"name,omitempty" maxLength:"100" example:"Lembrete de vencimento"`
	Body        *string `json:"body,omitempty" maxLength:"8000" doc:"Text with placeholders: {{nome}}, {{primeiro_nome}}, {{telefone}}, any custom field {{vencimento}}, campaign variables {{campanha}}; {{name|default}} gives a default" example:"Olá {{primeiro_nome|cliente}}, sua fatura vence em {{vencimento}}."`
	Kind        *string `json:"kind,omitempty" enum:"marketing,transactional" doc:"marketing (default) or transactional"`
	Description *string `json:"description,omitempty" maxLength:"2000"`
}

func (b TemplateBody) input() templates.Input {
	in := templates.Input{Name: b.Name, Body: b.Body, Description: b.Description}
	if b.Kind != nil {
		k := sms.MessageKind(*b.Kind)
		in.Kind = &k
	}
	return in
}

// PreviewBody asks how a template renders.
type PreviewBody struct {
	ContactID *int64            `json:"contact_id,omitempty" doc:"Render for this contact"`
	Phone     string            `json:"phone,omitempty" maxLength:"40" doc:"A sample phone, when no contact is given"`
	Fields    map[string]string `json:"fields,omitempty" maxProperties:"100" doc:"Sample values (custom fields or built-ins such as nome), over the contact's"`
	Campaign  map[string]string `json:"campaign,omitempty" maxProperties:"50" doc:"Campaign variables, such as campanha"`
	Provider  string            `json:"provider,omitempty" maxLength:"40" doc:"Price at this provider; the default provider when omitted"`
}

func (b PreviewBody) input(body string) templates.PreviewInput {
	return templates.PreviewInput{Body: body, ContactID: b.ContactID, Phone: b.Phone, Fields: b.Fields,
		Campaign: b.Campaign, Provider: b.Provider}
}

type templateOutput struct{ Body Template }

type previewOutput struct{ Body templates.Preview }

func (s *Server) registerTemplates() {
	huma.Register(s.api, op("list-templates", http.MethodGet, "/templates", "List templates by name", auth.TemplatesRead, "Templates"),
		func(ctx context.Context, in *struct {
			Q     string `query:"q" maxLength:"100" doc:"Part of the name"`
			Kind  string `query:"kind" enum:"marketing,transactional,"`
			Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*struct {
			Body struct {
				Templates []Template `json:"templates"`
			}
		}, error) {
			ts, err := s.DB.ListTemplates(ctx, store.TemplateFilter{Query: in.Q, Kind: sms.MessageKind(in.Kind), Limit: in.Limit})
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Templates []Template `json:"templates"`
				}
			}{}
			out.Body.Templates = make([]Template, len(ts))
			for i, t := range ts {
				out.Body.Templates[i] = templateOut(t)
			}
			return out, nil
		})

	huma.Register(s.api, op("get-template", http.MethodGet, "/templates/{id}", "Get a template", auth.TemplatesRead, "Templates"),
		func(ctx context.Context, in *IDParam) (*templateOutput, error) {
			t, err := s.DB.GetTemplate(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &templateOutput{Body: templateOut(t)}, nil
		})

	create := op("create-template", http.MethodPost, "/templates", "Create a template", auth.TemplatesWrite, "Templates")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		IdemHeader
		Body TemplateBody
	}) (*templateOutput, error) {
		p, _ := PrincipalFrom(ctx)
		t, err := s.Templates.Create(ctx, in.Body.input(), &p.ID)
		if err != nil {
			return nil, s.problem(err)
		}
		return &templateOutput{Body: templateOut(t)}, nil
	})

	huma.Register(s.api, op("update-template", http.MethodPatch, "/templates/{id}", "Change a template", auth.TemplatesWrite, "Templates"),
		func(ctx context.Context, in *struct {
			IDParam
			Body TemplateBody
		}) (*templateOutput, error) {
			t, err := s.Templates.Update(ctx, in.ID, in.Body.input())
			if err != nil {
				return nil, s.problem(err)
			}
			return &templateOutput{Body: templateOut(t)}, nil
		})

	del := op("delete-template", http.MethodDelete, "/templates/{id}", "Delete a template (messages made from it keep its id)", auth.TemplatesWrite, "Templates")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		if err := s.DB.DeleteTemplate(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})

	huma.Register(s.api, op("preview-template", http.MethodPost, "/templates/{id}/preview",
		"Render a template for a contact or sample values: text, segments, encoding, cost, missing fields, and the GSM-7 folded alternative",
		auth.TemplatesRead, "Templates"),
		func(ctx context.Context, in *struct {
			IdemHeader
			IDParam
			Body PreviewBody
		}) (*previewOutput, error) {
			t, err := s.DB.GetTemplate(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			p, err := s.Templates.Preview(ctx, in.Body.input(t.Body))
			if err != nil {
				return nil, s.problem(err)
			}
			return &previewOutput{Body: p}, nil
		})

	huma.Register(s.api, op("preview-body", http.MethodPost, "/templates/preview",
		"Render a body that is not stored (the composer's live preview)", auth.TemplatesRead, "Templates"),
		func(ctx context.Context, in *struct {
			IdemHeader
			Body struct {
				PreviewBody
				Body string `json:"body" minLength:"1" maxLength:"8000" doc:"The text, with placeholders"`
			}
		}) (*previewOutput, error) {
			if n := len([]rune(in.Body.Body)); n > templates.MaxBody {
				return nil, s.problem(sms.Invalid("body too long", sms.FieldError{Field: "body", Message: "at most 1600 characters"}))
			}
			p, err := s.Templates.Preview(ctx, in.Body.input(in.Body.Body))
			if err != nil {
				return nil, s.problem(err)
			}
			return &previewOutput{Body: p}, nil
		})
}

// fromTemplates fills in the body of each request that names a template and
// has none: the template rendered for its recipient (the contact, or the
// contact with its phone) with the request's fields over the contact's. A
// template missing, or a placeholder without a value or default, refuses the
// whole request; the kind comes from the template when the request has none.
func (s *Server) fromTemplates(ctx context.Context, bodies []SendBody, reqs []dispatch.Request) error {
	var bad []sms.FieldError
	field := func(i int, name string) string {
		if len(reqs) == 1 {
			return name
		}
		return fmt.Sprintf("messages[%d].%s", i, name)
	}
	cache := map[int64]*sms.TemplateBody{}
	kinds := map[int64]sms.MessageKind{}
	for i, b := range bodies {
		if b.TemplateID == nil {
			continue
		}
		tb, ok := cache[*b.TemplateID]
		if !ok {
			t, err := s.DB.GetTemplate(ctx, *b.TemplateID)
			if err != nil {
				if sms.KindOf(err) != sms.KindNotFound {
					return err
				}
				bad = append(bad, sms.FieldError{Field: field(i, "template_id"), Message: "no such template", Value: *b.TemplateID})
				continue
			}
			if tb, err = sms.ParseTemplate(t.Body); err != nil {
				return err
			}
			cache[t.ID], kinds[t.ID] = tb, t.Kind
		}
		if reqs[i].Kind == "" {
			reqs[i].Kind = kinds[*b.TemplateID]
		}
		if b.Body != "" {
			continue // rendered by the caller (the composer); the id is kept
		}
		var c *sms.Contact
		phone := ""
		if b.ContactID != nil {
			got, err := s.DB.GetContact(ctx, *b.ContactID)
			if err == nil {
				c = &got
			} else if sms.KindOf(err) != sms.KindNotFound {
				return err
			}
		}
		if b.To != "" {
			if ph, err := sms.NormalizePhone(b.To, "BR"); err == nil {
				phone = ph.E164
				if c == nil {
					if got, err := s.DB.ContactByPhone(ctx, phone); err == nil {
						c = &got
					}
				}
			}
		}
		vars := sms.ContactVars(c, phone, nil)
		for k, v := range b.Fields {
			vars[strings.ToLower(k)] = v
		}
		text, missing := tb.Render(vars)
		if len(missing) > 0 {
			bad = append(bad, sms.FieldError{Field: field(i, "fields"),
				Message: "no value for the template's " + strings.Join(missing, ", ") + ": give it in fields or on the contact", Value: missing})
			continue
		}
		reqs[i].Body = text
	}
	if len(bad) > 0 {
		return sms.Invalid("the request has invalid messages", bad...)
	}
	return nil
}
