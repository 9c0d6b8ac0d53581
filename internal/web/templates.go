package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/templates"
)

type templatesData struct {
	Q         string
	Templates []sms.Template
}

func (s *Server) templatesPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 100 {
		return sms.Invalid("search too long", sms.FieldError{Field: "q", Message: "at most 100 characters"})
	}
	ts, err := s.DB.ListTemplates(r.Context(), store.TemplateFilter{Query: q, Limit: 500})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "templates", "layout", templatesData{Q: q, Templates: ts})
	return nil
}

// templateForm is a template as its form carries it, with what to preview
// it for.
type templateForm struct {
	ID          int64
	Name        string
	Body        string
	Kind        string
	Description string
	Sample      string // a contact's name or phone to preview with
}

func readTemplateForm(r *http.Request) templateForm {
	return templateForm{Name: r.PostFormValue("name"), Body: r.PostFormValue("body"), Kind: r.PostFormValue("kind"),
		Description: r.PostFormValue("description"), Sample: strings.TrimSpace(r.PostFormValue("sample"))}
}

func (f templateForm) input() templates.Input {
	kind := sms.MessageKind(f.Kind)
	return templates.Input{Name: &f.Name, Body: &f.Body, Kind: &kind, Description: &f.Description}
}

type templateData struct {
	Form     templateForm
	Preview  *templates.Preview
	Sample   *sms.Contact
	Errors   map[string]string
	Builtins []string
	New      bool
}

func (s *Server) templateNewPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s.render(w, r, http.StatusOK, "template", "layout", templateData{New: true, Form: templateForm{Kind: string(sms.Marketing)}, Builtins: sms.BuiltinVariables})
	return nil
}

func (s *Server) templateCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := readTemplateForm(r)
	t, err := s.Templates.Create(r.Context(), f.input(), &p.ID)
	if err == nil {
		s.flash(w, r, s.tr(r, "Template %s created.", t.Name))
		http.Redirect(w, r, fmt.Sprintf("/templates/%d", t.ID), http.StatusSeeOther)
		return nil
	}
	errs := fieldErrors(err)
	if errs == nil {
		return err
	}
	s.render(w, r, http.StatusUnprocessableEntity, "template", "layout", templateData{New: true, Form: f, Errors: errs, Builtins: sms.BuiltinVariables})
	return nil
}

func (s *Server) templatePage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := s.DB.GetTemplate(r.Context(), id)
	if err != nil {
		return err
	}
	f := templateForm{ID: t.ID, Name: t.Name, Body: t.Body, Kind: string(t.Kind), Description: t.Description}
	d := templateData{Form: f, Builtins: sms.BuiltinVariables}
	if err := s.templatePreview(r.Context(), &d); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "template", "layout", d)
	return nil
}

func (s *Server) templateUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := readTemplateForm(r)
	f.ID = id
	t, err := s.Templates.Update(r.Context(), id, f.input())
	if err == nil {
		s.flash(w, r, s.tr(r, "Template %s saved.", t.Name))
		http.Redirect(w, r, fmt.Sprintf("/templates/%d", t.ID), http.StatusSeeOther)
		return nil
	}
	errs := fieldErrors(err)
	if errs == nil {
		return err
	}
	s.render(w, r, http.StatusUnprocessableEntity, "template", "layout", templateData{Form: f, Errors: errs, Builtins: sms.BuiltinVariables})
	return nil
}

func (s *Server) templateDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.DB.DeleteTemplate(r.Context(), id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Template deleted."))
	http.Redirect(w, r, "/templates", http.StatusSeeOther)
	return nil
}

// templatePreviewFragment renders the preview of the form being edited
// (htmx), for the contact named in "sample" (by name or phone) or a made-up
// one.
func (s *Server) templatePreviewFragment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d := templateData{Form: readTemplateForm(r), Builtins: sms.BuiltinVariables}
	if err := s.templatePreview(r.Context(), &d); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "template", "template-preview", d)
	return nil
}

// templatePreview fills d.Preview, or d.Errors when the body does not parse.
func (s *Server) templatePreview(ctx context.Context, d *templateData) error {
	in := templates.PreviewInput{Body: d.Form.Body}
	if d.Form.Sample != "" {
		cs, err := s.DB.ListContacts(ctx, store.ContactFilter{Query: d.Form.Sample, Limit: 1})
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			d.Sample = &cs[0]
			in.ContactID = &cs[0].ID
		}
	}
	if in.ContactID == nil {
		in.Phone = "+5511900000000"
		in.Fields = map[string]string{"nome": "Fulana de Tal", "name": "Fulana de Tal", "primeiro_nome": "Fulana", "first_name": "Fulana"}
	}
	pv, err := s.Templates.Preview(ctx, in)
	if err != nil {
		if d.Errors = fieldErrors(err); d.Errors == nil {
			return err
		}
		return nil
	}
	d.Preview = &pv
	return nil
}

// templateByID reads the template a form names by its id.
func (s *Server) templateByID(ctx context.Context, id string) (sms.Template, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 {
		return sms.Template{}, sms.Invalid("invalid template", sms.FieldError{Field: "template_id", Message: "not a valid template", Value: id})
	}
	return s.DB.GetTemplate(ctx, n)
}
