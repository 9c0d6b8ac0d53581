package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// The UI's messages are written in English in the templates and the code;
// i18n/<lang>/*.json translate them (one file per area of the UI, so that
// people working on different pages do not edit the same file). A message
// without a translation shows in English.
//
//go:embed i18n
var translations embed.FS

// lang is one language the UI speaks.
type lang struct {
	Code    string // "pt-BR", "en": the html lang attribute and the stored choice
	Name    string // the language's own name, for the switcher
	tag     language.Tag
	printer *message.Printer
}

// languages are the UI's languages, the default first.
type languages struct {
	list    []*lang
	matcher language.Matcher
}

// loadLanguages builds the message catalog from the embedded translations.
func loadLanguages() (*languages, error) {
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	defs := []*lang{
		{Code: "pt-BR", Name: "Português", tag: language.BrazilianPortuguese},
		{Code: "en", Name: "English", tag: language.English},
	}
	for _, l := range defs {
		files, err := fs.Glob(translations, path.Join("i18n", l.Code, "*.json"))
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			raw, err := translations.ReadFile(f)
			if err != nil {
				return nil, err
			}
			var m map[string]string
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, fmt.Errorf("web: translations %s: %w", f, err)
			}
			for k, v := range m {
				if err := b.SetString(l.tag, k, v); err != nil {
					return nil, fmt.Errorf("web: translations %s: %q: %w", f, k, err)
				}
			}
		}
	}
	tags := make([]language.Tag, len(defs))
	for i, l := range defs {
		l.printer = message.NewPrinter(l.tag, message.Catalog(b))
		tags[i] = l.tag
	}
	return &languages{list: defs, matcher: language.NewMatcher(tags)}, nil
}

// byCode returns the language with code, or nil.
func (ls *languages) byCode(code string) *lang {
	for _, l := range ls.list {
		if l.Code == code {
			return l
		}
	}
	return nil
}

// match picks the language for a browser's Accept-Language, the default
// (Portuguese) when it names none of ours.
func (ls *languages) match(acceptLanguage string) *lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return ls.list[0]
	}
	_, i, conf := ls.matcher.Match(tags...)
	if conf == language.No {
		return ls.list[0]
	}
	return ls.list[i]
}

// langFor is the language of a request: the user's choice, else the one
// chosen in this session before signing in, else the browser's.
func (s *Server) langFor(r *http.Request) *lang {
	if u, ok := userFrom(r.Context()); ok && u.Locale != "" {
		if l := s.langs.byCode(u.Locale); l != nil {
			return l
		}
	}
	if l := s.langs.byCode(s.sessions.GetString(r.Context(), sessLang)); l != nil {
		return l
	}
	return s.langs.match(r.Header.Get("Accept-Language"))
}

// tr translates a message for the request's language.
func (s *Server) tr(r *http.Request, key string, args ...any) string {
	return s.langFor(r).printer.Sprintf(key, args...)
}
