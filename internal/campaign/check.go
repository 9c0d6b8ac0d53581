package campaign

import (
	"context"
	"strings"

	"github.com/recado-sms/recado/internal/dispatch"
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
// and, if not, why, changing nothing. The rules are the send path's own
// (dispatch.Check: the phone, the contact, deceased, opted out, the
// blacklist); on top of them a marketing message skips numbers the
// provider refused as do-not-disturb, and the second target with a phone
// already seen is a duplicate, as in a campaign.
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
	reqs := make([]dispatch.Request, len(targets))
	var ids []int64
	var phones []string
	for i, t := range targets {
		out[i] = Checked{Index: i, ContactID: t.ContactID}
		// The body only has to pass the send path's checks; the
		// recipients are what is asked about.
		reqs[i] = dispatch.Request{To: t.To, ContactID: t.ContactID, Body: "-", Kind: kind}
		if t.ContactID != nil {
			ids = append(ids, *t.ContactID)
		}
		if ph, err := sms.NormalizePhone(t.To, "BR"); err == nil {
			out[i].Phone = ph.E164
			phones = append(phones, ph.E164)
		}
	}
	problems, err := s.d.Check(ctx, reqs)
	if err != nil {
		return nil, err
	}
	for _, p := range problems {
		if o := &out[p.Index]; o.Reason == "" {
			o.Reason, o.Detail = skipReason(p.Code), p.Message
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
		c := byPhone[o.Phone]
		if o.ContactID != nil {
			c = byID[*o.ContactID]
		}
		if c != nil {
			id := c.ID
			o.ContactID, o.Name = &id, c.Name
			if o.Phone == "" {
				o.Phone = c.Phone
				phones = append(phones, c.Phone)
			}
		}
	}
	if kind == sms.Marketing {
		refused, err := s.db.RefusedAsNotDisturb(ctx, phones)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if o := &out[i]; o.Reason == "" && refused[o.Phone] {
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

// skipReason names a send-path problem the way campaigns name skips.
func skipReason(code string) string {
	switch {
	case code == dispatch.CodeNoContact:
		return "no_such_contact"
	case code == sms.CodeDeceased:
		return store.SkipDeceased
	case code == sms.CodeOptedOut:
		return store.SkipOptedOut
	case code == dispatch.CodeBlacklisted:
		return store.SkipBlacklisted
	case code == dispatch.CodeNoRecipient, strings.HasPrefix(code, "phone_"):
		return store.SkipNoValidPhone
	}
	return code
}
