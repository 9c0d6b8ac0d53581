// Package contacts validates and changes contacts: phones normalised to
// E.164 (landlines refused), names, custom fields and tags within bounds.
package contacts

import (
	"context"
	"fmt"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Service is the one way to change contacts.
type Service struct {
	db     *store.DB
	region string
}

// New returns a Service parsing phones without a country code in region.
func New(db *store.DB, region string) *Service {
	if region == "" {
		region = "BR"
	}
	return &Service{db: db, region: region}
}

// Input creates a contact, or patches one: in a patch, nil fields stay.
type Input struct {
	Name     *string
	Phone    *string
	OwnerID  *int64
	Fields   map[string]string
	Tags     []string
	OptedOut *bool
	Deceased *bool
	// ExternalID is the contact's id in another system; "" clears it.
	ExternalID *string
}

// Create validates and stores a new contact.
func (s *Service) Create(ctx context.Context, in Input) (sms.Contact, error) {
	var c sms.Contact
	if in.Phone == nil {
		return c, sms.Invalid("invalid contact", sms.FieldError{Field: "phone", Message: "is required"})
	}
	if err := s.apply(&c, in); err != nil {
		return c, err
	}
	return s.db.CreateContact(ctx, c)
}

// Update applies a patch to contact id.
func (s *Service) Update(ctx context.Context, id int64, in Input) (sms.Contact, error) {
	c, err := s.db.GetContact(ctx, id)
	if err != nil {
		return c, err
	}
	if err := s.apply(&c, in); err != nil {
		return c, err
	}
	return s.db.UpdateContact(ctx, c)
}

func (s *Service) apply(c *sms.Contact, in Input) error {
	var bad []sms.FieldError
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if len(name) > 200 {
			bad = append(bad, sms.FieldError{Field: "name", Message: "at most 200 characters"})
		}
		c.Name = name
	}
	if in.Phone != nil {
		p, err := sms.NormalizePhone(*in.Phone, s.region)
		if err != nil {
			msg := err.Error()
			if e, ok := err.(*sms.Error); ok {
				msg = e.Message
			}
			bad = append(bad, sms.FieldError{Field: "phone", Message: msg, Value: *in.Phone})
		} else {
			c.Phone, c.LineType = p.E164, string(p.LineType)
		}
	}
	if in.OwnerID != nil {
		if *in.OwnerID == 0 {
			c.OwnerID = nil
		} else {
			c.OwnerID = in.OwnerID
		}
	}
	if in.Fields != nil {
		if len(in.Fields) > 100 {
			bad = append(bad, sms.FieldError{Field: "fields", Message: "at most 100 custom fields"})
		}
		for k, v := range in.Fields {
			if k == "" || len(k) > 64 || len(v) > 1000 {
				bad = append(bad, sms.FieldError{Field: "fields." + k, Message: "names of 1 to 64 characters, values up to 1000"})
			}
		}
		c.Fields = in.Fields
	}
	if in.Tags != nil {
		if len(in.Tags) > 100 {
			bad = append(bad, sms.FieldError{Field: "tags", Message: "at most 100 tags"})
		}
		seen := map[string]bool{}
		tags := []string{}
		for i, t := range in.Tags {
			t = strings.TrimSpace(t)
			if t == "" || len(t) > 64 {
				bad = append(bad, sms.FieldError{Field: fmt.Sprintf("tags[%d]", i), Message: "1 to 64 characters"})
			}
			if !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
		c.Tags = tags
	}
	if in.ExternalID != nil {
		c.ExternalID = strings.TrimSpace(*in.ExternalID)
		if len(c.ExternalID) > 100 {
			bad = append(bad, sms.FieldError{Field: "external_id", Message: "at most 100 characters"})
		}
	}
	if in.OptedOut != nil {
		c.OptedOut = *in.OptedOut
	}
	if in.Deceased != nil {
		c.Deceased = *in.Deceased
	}
	if len(bad) > 0 {
		return sms.Invalid("invalid contact", bad...)
	}
	return nil
}
