package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/store"
)

//go:embed templates
var templateFS embed.FS

// pages holds each page's templates, parsed once per language so that the
// translation and formatting functions are bound at parse time.
type pages struct {
	sets map[string]map[string]*template.Template // language code → page → templates
}

// parsePages parses every page of templates/ with the shared layout and
// partials, once per language, with the functions funcs gives for it.
func parsePages(langs []*lang, funcs func(*lang) template.FuncMap) (*pages, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	ps := &pages{sets: map[string]map[string]*template.Template{}}
	for _, l := range langs {
		ps.sets[l.Code] = map[string]*template.Template{}
		for _, f := range files {
			name := strings.TrimSuffix(path.Base(f), ".html")
			if name == "layout" || name == "partials" {
				continue
			}
			t, err := template.New(name).Funcs(funcs(l)).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", f)
			if err != nil {
				return nil, fmt.Errorf("web: parse %s: %w", f, err)
			}
			ps.sets[l.Code][name] = t
		}
	}
	return ps, nil
}

// view is what every template receives: the page's own Data and what the
// layout needs.
type view struct {
	Lang      *lang
	Langs     []*lang
	User      *store.User
	CSRF      string
	Flash     string
	Path      string
	Static    func(string) string
	Unread    int
	Data      any
	principal *auth.Principal
}

// Can reports whether the signed-in user holds a permission (by its name,
// "providers:write"), for templates to show only what a user may use. The
// handlers check again.
func (v view) Can(perm string) bool {
	return v.principal != nil && v.principal.Can(auth.Permission(perm))
}

// With returns the view with other Data, for blocks that render one item
// of a list: {{template "item" ($.With .)}}.
func (v view) With(data any) view {
	v.Data = data
	return v
}

// render executes template name of page into w with status. A full page is
// name "layout"; a fragment (for htmx) is any block the page defines. The
// output is buffered so that a template error becomes a 500, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, name string, data any) {
	var buf bytes.Buffer
	flash := ""
	if _, ok := userFrom(r.Context()); ok && name == "layout" {
		flash = s.popFlash(w, r)
	}
	if err := s.renderTo(&buf, r, page, name, data, flash); err != nil {
		s.Logger.Error("web: render", "page", page, "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderString is render into a string, for live updates.
func (s *Server) renderString(r *http.Request, page, name string, data any) (string, error) {
	var buf bytes.Buffer
	err := s.renderTo(&buf, r, page, name, data, "")
	return buf.String(), err
}

// renderTo executes template name of page into buf; a full page shows
// flash, the notice popFlash took.
func (s *Server) renderTo(buf *bytes.Buffer, r *http.Request, page, name string, data any, flash string) error {
	l := s.langFor(r)
	t := s.pages.sets[l.Code][page]
	if t == nil {
		return fmt.Errorf("web: no page %q", page)
	}
	v := view{Lang: l, Langs: s.langs.list, CSRF: s.csrfToken(r), Path: r.URL.Path, Static: s.static.url, Data: data}
	ctx := r.Context()
	if u, ok := userFrom(ctx); ok {
		v.User = &u
		if p, ok := principalFrom(ctx); ok {
			v.principal = &p
		}
		if name == "layout" {
			v.Flash = flash
			v.Unread = s.unreadCount(r, u)
		}
	}
	return t.ExecuteTemplate(buf, name, v)
}

// isHTMX reports whether the request came from htmx, which wants a fragment.
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
