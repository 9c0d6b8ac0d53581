package campaign

import (
	"context"
	"errors"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Target is one recipient the composer is about to send to: a phone, a
// contact, or both.
type Target struct {
	To        string `json:"to,omitempty" maxLength:"40"`
	ContactID *int64 `json:"contact_id,omitempty"`
}

// Checked is what a send to one target would do.
type Checked struct {
	Index     int    `json:"index"`
	Phone     string `json:"phone,omitempty" doc:"E.164, when the number is valid"`
	ContactID *int64 `json:"contact_id,omitempty"`
	Name      string `json:"name,omitempty"`
	OK        bool   `json:"ok" doc:"Whether a message would go"`
	Reason    string `json:"reason,omitempty" doc:"Why not: no_valid_phone, no_such_contact, deceased, opted_out, blacklisted, do_not_disturb, duplicate_phone"`
	Detail    string `json:"detail,omitempty"`
}

// MaxCheck is the most targets one Check takes.
const MaxCheck = 1000

// Check says, for each target, whether a message of kind would go to it
// and, if not, why: the same rules as the send path and campaigns, read
// without changing anything. The second target with a phone already seen is
// a duplicate.
func (s *Service) Check(ctx context.Context, targets []Target, kind sms.MessageKind) ([]Checked, error) {
	if kind == "" {
		kind = sms.Marketing
	}
	if !kind.Valid() {
		return nil, sms.Invalid("invalid kind", sms.FieldError{Field: "kind", Message: "marketing or transactional", Value: string(kind)})
	}
	if len(targets) == 0 || len(targets) > MaxCheck {
		return nil, sms.Invalid("invalid recipients", sms.FieldError{Field: "recipients", Message: "1 to 1000 recipients"})
	}
	out := make([]Checked, len(targets))
	var ids []int64
	var phones []string
	for i, t := range targets {
		out[i] = Checked{Index: i, ContactID: t.ContactID}
		if t.ContactID != nil {
			ids = append(ids, *t.ContactID)
		}
		if t.To != "" {
			ph, err := sms.NormalizePhone(t.To, "BR")
			if err != nil {
				out[i].Reason, out[i].Detail = store.SkipNoValidPhone, errText(err)
				continue
			}
			out[i].Phone = ph.E164
			phones = append(phones, ph.E164)
		} else if t.ContactID == nil {
			out[i].Reason, out[i].Detail = store.SkipNoValidPhone, "a phone number or a contact is required"
		}
	}
	contacts, err := s.db.ContactsForSend(ctx, ids, phones)
	if err != nil {
		return nil, err
	}
	byID, byPhone := map[int64]*sms.Contact{}, map[string]*sms.Contact{}
	for i := range contacts {
		byID[contacts[i].ID], byPhone[contacts[i].Phone] = &contacts[i], &contacts[i]
	}
	for i := range out {
		o := &out[i]
		if o.Reason != "" {
			continue
		}
		var c *sms.Contact
		if o.ContactID != nil {
			if c = byID[*o.ContactID]; c == nil {
				o.Reason = "no_such_contact"
				continue
			}
			if o.Phone == "" {
				o.Phone = c.Phone
				phones = append(phones, c.Phone)
			}
		} else {
			c = byPhone[o.Phone]
		}
		if c != nil {
			id := c.ID
			o.ContactID, o.Name = &id, c.Name
			if r := lateReason(c, kind); r != "" {
				o.Reason = r
			}
		}
	}
	if kind == sms.Marketing {
		listed, err := s.db.Blacklisted(ctx, phones)
		if err != nil {
			return nil, err
		}
		refused, err := s.db.RefusedAsNotDisturb(ctx, phones)
		if err != nil {
			return nil, err
		}
		for i := range out {
			switch o := &out[i]; {
			case o.Reason != "":
			case listed[o.Phone]:
				o.Reason = store.SkipBlacklisted
			case refused[o.Phone]:
				o.Reason = store.SkipNotDisturb
			}
		}
	}
	seen := map[string]bool{}
	for i := range out {
		o := &out[i]
		if o.Reason == "" && seen[o.Phone] {
			o.Reason = store.SkipDuplicate
		}
		if o.Reason == "" {
			seen[o.Phone], o.OK = true, true
		}
	}
	return out, nil
}

func errText(err error) string {
	var e *sms.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}
