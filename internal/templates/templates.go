// Package templates keeps message templates valid and renders previews: the
// text a contact would get, its segments, encoding and cost at a provider's
// price, the placeholders it lacks, and what folding its accents to GSM-7
// would save.
package templates

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// MaxBody is the longest template body, in characters: the longest message
// body the send path takes.
const MaxBody = 1600

// Service validates, stores and previews templates.
type Service struct {
	db        *store.DB
	providers *providers.Service
	region    string
}

// New returns a Service; providers prices previews.
func New(db *store.DB, ps *providers.Service) *Service {
	return &Service{db: db, providers: ps, region: "BR"}
}

// Input creates a template or, in an update, changes the fields that are not
// nil.
type Input struct {
	Name        *string
	Body        *string
	Kind        *sms.MessageKind
	Description *string
}

// apply validates in and writes it into t.
func apply(t *sms.Template, in Input) error {
	var bad []sms.FieldError
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
		if t.Name == "" || utf8.RuneCountInString(t.Name) > 100 {
			bad = append(bad, sms.FieldError{Field: "name", Message: "1 to 100 characters", Value: *in.Name})
		}
	}
	if in.Body != nil {
		t.Body = *in.Body
		switch n := utf8.RuneCountInString(t.Body); {
		case strings.TrimSpace(t.Body) == "":
			bad = append(bad, sms.FieldError{Field: "body", Message: "must not be empty"})
		case n > MaxBody:
			bad = append(bad, sms.FieldError{Field: "body", Message: "at most 1600 characters"})
		case !utf8.ValidString(t.Body):
			bad = append(bad, sms.FieldError{Field: "body", Message: "must be valid UTF-8"})
		default:
			if _, err := sms.ParseTemplate(t.Body); err != nil {
				var e *sms.Error
				if se, ok := err.(*sms.Error); ok {
					e = se
				}
				if e != nil && len(e.Fields) > 0 {
					bad = append(bad, e.Fields...)
				} else {
					bad = append(bad, sms.FieldError{Field: "body", Message: err.Error()})
				}
			}
		}
	}
	if in.Kind != nil {
		t.Kind = *in.Kind
	}
	if t.Kind == "" {
		t.Kind = sms.Marketing
	}
	if !t.Kind.Valid() {
		bad = append(bad, sms.FieldError{Field: "kind", Message: "must be marketing or transactional", Value: string(t.Kind)})
	}
	if in.Description != nil {
		t.Description = strings.TrimSpace(*in.Description)
		if utf8.RuneCountInString(t.Description) > 500 {
			bad = append(bad, sms.FieldError{Field: "description", Message: "at most 500 characters"})
		}
	}
	if len(bad) > 0 {
		return sms.Invalid("invalid template", bad...)
	}
	return nil
}

// Create validates and stores a new template made by user by (nil: a
// command line).
func (s *Service) Create(ctx context.Context, in Input, by *int64) (sms.Template, error) {
	var t sms.Template
	var bad []sms.FieldError
	if in.Name == nil {
		bad = append(bad, sms.FieldError{Field: "name", Message: "is required"})
	}
	if in.Body == nil {
		bad = append(bad, sms.FieldError{Field: "body", Message: "is required"})
	}
	if len(bad) > 0 {
		return t, sms.Invalid("invalid template", bad...)
	}
	if err := apply(&t, in); err != nil {
		return t, err
	}
	t.CreatedBy = by
	return s.db.CreateTemplate(ctx, t)
}

// Update changes the fields of template id that in gives.
func (s *Service) Update(ctx context.Context, id int64, in Input) (sms.Template, error) {
	t, err := s.db.GetTemplate(ctx, id)
	if err != nil {
		return t, err
	}
	if err := apply(&t, in); err != nil {
		return t, err
	}
	return s.db.UpdateTemplate(ctx, t)
}

// PreviewInput asks how a body renders: for a stored contact, for sample
// field values, or both (Fields then override the contact's).
type PreviewInput struct {
	Body      string
	ContactID *int64
	Phone     string            // a sample number, when no contact is given
	Fields    map[string]string // sample values: custom fields or built-ins ("nome")
	Campaign  map[string]string // campaign variables ("campanha")
	Provider  string            // whose price; the default provider when empty
}

// Folded is the GSM-7 alternative of a rendering: the text with its accents
// folded (sms.FoldGSM), what it costs, and what it saves.
type Folded struct {
	Text          string       `json:"text"`
	Encoding      sms.Encoding `json:"encoding"`
	Segments      int          `json:"segments"`
	Cost          sms.Money    `json:"-"`
	CostText      string       `json:"cost" doc:"Cost in BRL at the provider's price per segment"`
	SavedSegments int          `json:"saved_segments" doc:"Segments fewer than the original, per message"`
	Saving        sms.Money    `json:"-"`
	SavingText    string       `json:"saving" doc:"What folding saves per message, in BRL"`
}

// Preview is a rendering with its price.
type Preview struct {
	Text         string       `json:"text"`
	Placeholders []string     `json:"placeholders"`
	Missing      []string     `json:"missing" doc:"Placeholders with no value and no default: a campaign skips such contacts"`
	Encoding     sms.Encoding `json:"encoding"`
	Segments     int          `json:"segments"`
	Units        int          `json:"units"`
	Remaining    int          `json:"remaining" doc:"Characters left in the last segment"`
	Provider     string       `json:"provider"`
	Cost         sms.Money    `json:"-"`
	CostText     string       `json:"cost" doc:"Estimated cost in BRL at the provider's price per segment"`
	Folded       *Folded      `json:"folded,omitempty" doc:"The GSM-7 alternative, when folding accents changes the text"`
}

// Preview renders in.Body and prices it.
func (s *Service) Preview(ctx context.Context, in PreviewInput) (Preview, error) {
	var p Preview
	tb, err := sms.ParseTemplate(in.Body)
	if err != nil {
		return p, err
	}
	var c *sms.Contact
	if in.ContactID != nil {
		got, err := s.db.GetContact(ctx, *in.ContactID)
		if err != nil {
			if sms.KindOf(err) == sms.KindNotFound {
				return p, sms.Invalid("no such contact", sms.FieldError{Field: "contact_id", Message: "no such contact", Value: *in.ContactID})
			}
			return p, err
		}
		c = &got
	}
	phone := ""
	if in.Phone != "" {
		ph, err := sms.NormalizePhone(in.Phone, s.region)
		if err != nil {
			return p, sms.Invalid("invalid phone", sms.FieldError{Field: "phone", Message: err.Error(), Value: in.Phone})
		}
		phone = ph.E164
	}
	vars := sms.ContactVars(c, phone, in.Campaign)
	for k, v := range in.Fields {
		vars[strings.ToLower(k)] = v
	}
	_, rec, err := s.providers.Get(ctx, in.Provider)
	if err != nil {
		if k := sms.KindOf(err); k == sms.KindNotFound || k == sms.KindConflict {
			return p, sms.Invalid("unknown provider", sms.FieldError{Field: "provider", Message: err.Error(), Value: in.Provider})
		}
		return p, err
	}
	return Render(tb, vars, rec.Name, rec.CostPerSegment), nil
}

// Render renders tb with vars and prices the text at perSegment.
func Render(tb *sms.TemplateBody, vars map[string]string, providerName string, perSegment sms.Money) Preview {
	text, missing := tb.Render(vars)
	est := sms.EstimateBody(text, perSegment)
	p := Preview{Text: text, Placeholders: tb.Placeholders(), Missing: missing, Encoding: est.Encoding,
		Segments: est.Segments, Units: est.Units, Remaining: est.Remaining, Provider: providerName, Cost: est.Cost, CostText: est.Cost.String()}
	if p.Placeholders == nil {
		p.Placeholders = []string{}
	}
	if p.Missing == nil {
		p.Missing = []string{}
	}
	if folded := sms.FoldGSM(text); folded != text {
		fe := sms.EstimateBody(folded, perSegment)
		p.Folded = &Folded{Text: folded, Encoding: fe.Encoding, Segments: fe.Segments, Cost: fe.Cost,
			CostText:      fe.Cost.String(),
			SavedSegments: est.Segments - fe.Segments, Saving: est.Cost - fe.Cost, SavingText: (est.Cost - fe.Cost).String()}
	}
	return p
}
