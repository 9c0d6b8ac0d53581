package sms

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Template is a named message body with placeholders, kept for reuse by the
// composer and campaigns. Its Body is checked by ParseTemplate before it is
// stored.
type Template struct {
	ID          int64       `json:"id"`
	Name        string      `json:"name"`
	Body        string      `json:"body"`
	Kind        MessageKind `json:"kind"`
	Description string      `json:"description"`
	CreatedBy   *int64      `json:"created_by,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

// TemplateBody is a parsed template body: literal text and placeholders.
//
// A placeholder is {{name}} or {{name|default text}}; spaces around the name
// and around the default are ignored. Names are letters, digits and '_', and
// case does not matter ({{Nome}} is {{nome}}). A "{{" that does not open a
// placeholder is an error; a lone "}}" is plain text.
type TemplateBody struct {
	parts []templatePart
	names []string
}

type templatePart struct {
	text       string // literal text, when name is empty
	name       string // lower case
	def        string
	hasDefault bool
}

// TemplateSyntaxError says what is wrong with a template body and where:
// Offset counts characters (runes) from 0; Line and Column count from 1.
type TemplateSyntaxError struct {
	Offset, Line, Column int
	Problem              string
}

// Error says the problem and its line and column.
func (e *TemplateSyntaxError) Error() string {
	return fmt.Sprintf("%s at line %d, column %d", e.Problem, e.Line, e.Column)
}

// ParseTemplate reads a template body. A syntax error is an *Error of kind
// KindInvalid on the field "body", wrapping a *TemplateSyntaxError with the
// position.
func ParseTemplate(body string) (*TemplateBody, error) {
	t := &TemplateBody{}
	seen := map[string]bool{}
	rest := body
	pos := 0 // byte offset of rest in body
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, templatePart{text: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{text: rest[:i]})
		}
		open := pos + i
		inner := rest[i+2:]
		j := strings.Index(inner, "}}")
		if k := strings.Index(inner, "{{"); j < 0 || (k >= 0 && k < j) {
			return nil, syntaxError(body, open, "unclosed {{")
		}
		raw := inner[:j]
		namePart, def, hasDef := strings.Cut(raw, "|")
		name := strings.ToLower(strings.TrimSpace(namePart))
		if name == "" {
			return nil, syntaxError(body, open, "empty placeholder name")
		}
		for _, r := range name {
			if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
				return nil, syntaxError(body, open, fmt.Sprintf("placeholder name %q may hold only letters, digits and _", strings.TrimSpace(namePart)))
			}
		}
		if len(name) > 64 {
			return nil, syntaxError(body, open, "placeholder name longer than 64 characters")
		}
		t.parts = append(t.parts, templatePart{name: name, def: strings.TrimSpace(def), hasDefault: hasDef})
		if !seen[name] {
			seen[name] = true
			t.names = append(t.names, name)
		}
		consumed := i + 2 + j + 2
		rest = rest[consumed:]
		pos += consumed
	}
}

// syntaxError builds the error for a problem at byte offset off of body.
func syntaxError(body string, off int, problem string) error {
	before := body[:off]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	se := &TemplateSyntaxError{Offset: utf8.RuneCountInString(before), Line: line, Column: col, Problem: problem}
	return &Error{Kind: KindInvalid, Message: "invalid template: " + se.Error(), Code: "template_syntax",
		Fields: []FieldError{{Field: "body", Message: se.Error()}}, Err: se}
}

// Placeholders lists the names the body uses, in lower case, each once, in
// the order they first appear.
func (t *TemplateBody) Placeholders() []string { return append([]string(nil), t.names...) }

// Required lists the placeholders that have no default anywhere they appear:
// a recipient without a value for one of them cannot be rendered fully.
func (t *TemplateBody) Required() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if p.name != "" && !p.hasDefault && !seen[p.name] {
			seen[p.name] = true
			out = append(out, p.name)
		}
	}
	return out
}

// Render fills the placeholders from vars, whose keys must be lower case (as
// ContactVars builds them). A placeholder whose value is missing or blank
// takes its default; one without a default renders as nothing and its name
// is listed in missing, each once.
func (t *TemplateBody) Render(vars map[string]string) (text string, missing []string) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.name == "" {
			b.WriteString(p.text)
			continue
		}
		v := vars[p.name]
		if strings.TrimSpace(v) != "" {
			b.WriteString(v)
			continue
		}
		if p.hasDefault {
			b.WriteString(p.def)
			continue
		}
		if !containsString(missing, p.name) {
			missing = append(missing, p.name)
		}
	}
	return b.String(), missing
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// BuiltinVariables are the contact's own variables every template may use,
// in Portuguese and English.
var BuiltinVariables = []string{"nome", "name", "primeiro_nome", "first_name", "telefone", "phone"}

// ContactVars returns the variables a template is rendered with for contact
// c: the campaign's (such as "campanha"), then c's custom fields by their
// keys, then the built-in ones, each later source winning over an earlier
// one. Keys are lower case. c may be nil (a bare phone number); phone is
// then the E.164 number to use.
func ContactVars(c *Contact, phone string, campaign map[string]string) map[string]string {
	n := len(campaign) + 6
	if c != nil {
		n += len(c.Fields)
	}
	vars := make(map[string]string, n)
	for k, v := range campaign {
		vars[strings.ToLower(k)] = v
	}
	name := ""
	if c != nil {
		for k, v := range c.Fields {
			vars[strings.ToLower(k)] = v
		}
		name = strings.TrimSpace(c.Name)
		if phone == "" {
			phone = c.Phone
		}
	}
	first, _, _ := strings.Cut(name, " ")
	national := NationalFormat(phone)
	vars["nome"], vars["name"] = name, name
	vars["primeiro_nome"], vars["first_name"] = first, first
	vars["telefone"], vars["phone"] = national, national
	return vars
}

// NationalFormat writes an E.164 number the way people read it at home: a
// Brazilian mobile as "(11) 98765-4321"; any other number stays in E.164.
func NationalFormat(e164 string) string {
	if len(e164) == brazilE164Len && strings.HasPrefix(e164, "+55") {
		n := e164[3:]
		return "(" + n[:2] + ") " + n[2:7] + "-" + n[7:]
	}
	return e164
}

// Estimate is what a body costs to send: its segments and encoding, and the
// price at a provider's cost per segment.
type Estimate struct {
	SegmentInfo
	Cost Money `json:"-"`
}

// EstimateBody counts body's segments and prices them.
func EstimateBody(body string, perSegment Money) Estimate {
	s := Segments(body)
	return Estimate{SegmentInfo: s, Cost: perSegment.Times(s.Segments)}
}
