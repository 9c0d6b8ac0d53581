package dispatch

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Problem says why one request cannot be sent. Submit refuses a whole call
// with any; Check lists them so that a composer can show which recipients
// it will skip and why, before sending to the others.
type Problem struct {
	Index   int    // the request's position in the call
	Field   string // "to", "contact_id", "body", "kind", "reference", "provider"
	Code    string // a short reason: one of the Code constants, or an sms phone code (sms.CodePhoneLandline…)
	Message string // what is wrong, fit to show a user
	Value   any    // the bad value, when there is one
}

// Codes of problems that are not about the phone number itself.
const (
	CodeBlacklisted        = "blacklisted"
	CodeNoContact          = "no_contact"
	CodeNoRecipient        = "no_recipient"
	CodeInvalidBody        = "invalid_body"
	CodeInvalidKind        = "invalid_kind"
	CodeInvalidReference   = "invalid_reference"
	CodeDuplicateReference = "duplicate_reference"
	CodeProvider           = "provider"
)

// liveProvider is a provider a call sends through, with its record.
type liveProvider struct {
	p   provider.Provider
	rec store.ProviderRecord
}

// checked is a validated call: the messages as Submit would store them, the
// providers they go through, and the problems found.
type checked struct {
	preps    []prepared
	provs    map[string]liveProvider
	problems []Problem
}

// Check validates requests exactly as Submit does, stores nothing, and
// returns every problem found, in the order of the requests. It takes at
// most MaxBatch requests, like Submit.
func (d *Dispatcher) Check(ctx context.Context, reqs []Request) ([]Problem, error) {
	if len(reqs) > MaxBatch {
		return nil, sms.Invalid("too many messages", sms.FieldError{Field: "messages",
			Message: fmt.Sprintf("at most %d messages per request, got %d", MaxBatch, len(reqs))})
	}
	c, err := d.check(ctx, reqs)
	return c.problems, err
}

// check validates every request: kind, body, phone (normalised, landlines
// refused), reference, provider, then the contacts (deceased, opted out) and
// the blacklist for the requests that passed the first checks.
func (d *Dispatcher) check(ctx context.Context, reqs []Request) (checked, error) {
	c := checked{preps: make([]prepared, len(reqs)), provs: map[string]liveProvider{}}
	failed := make([]bool, len(reqs))
	bad := func(i int, field, code, msg string, v any) {
		c.problems = append(c.problems, Problem{Index: i, Field: field, Code: code, Message: msg, Value: v})
		failed[i] = true
	}
	var contactIDs []int64
	var phones []string
	seenRef := map[string]int{}
	for i, r := range reqs {
		p := &c.preps[i]
		p.sendAt = r.SendAt
		p.ContactID, p.CampaignID, p.TemplateID, p.CreatedBy = r.ContactID, r.CampaignID, r.TemplateID, r.CreatedBy
		p.State = sms.StateQueued
		p.Kind = r.Kind
		if p.Kind == "" {
			p.Kind = sms.Marketing
		}
		if !p.Kind.Valid() {
			bad(i, "kind", CodeInvalidKind, "must be marketing or transactional", string(r.Kind))
		}
		if strings.TrimSpace(r.Body) == "" {
			bad(i, "body", CodeInvalidBody, "must not be empty", nil)
		} else if n := utf8.RuneCountInString(r.Body); n > d.cfg.MaxBody {
			bad(i, "body", CodeInvalidBody, fmt.Sprintf("at most %d characters, got %d", d.cfg.MaxBody, n), nil)
		} else if !utf8.ValidString(r.Body) {
			bad(i, "body", CodeInvalidBody, "must be valid UTF-8", nil)
		}
		p.Body = r.Body
		seg := sms.Segments(r.Body)
		p.Segments, p.Encoding = seg.Segments, seg.Encoding
		switch {
		case r.To != "":
			ph, err := sms.NormalizePhone(r.To, d.cfg.Region)
			if err != nil {
				bad(i, "to", errCode(err, sms.CodePhoneInvalid), errMessage(err), r.To)
			} else {
				p.Phone = ph.E164
				phones = append(phones, ph.E164)
			}
		case r.ContactID == nil:
			bad(i, "to", CodeNoRecipient, "a phone number or a contact_id is required", nil)
		}
		if r.ContactID != nil {
			contactIDs = append(contactIDs, *r.ContactID)
		}
		if r.Reference != "" {
			if !validReference.MatchString(r.Reference) {
				bad(i, "reference", CodeInvalidReference, "1 to 100 letters, digits, '.', '_', ':' or '-'", r.Reference)
			} else if j, dup := seenRef[r.Reference]; dup {
				bad(i, "reference", CodeDuplicateReference, fmt.Sprintf("same reference as message %d", j), r.Reference)
			}
			seenRef[r.Reference] = i
			p.Reference = r.Reference
		} else {
			p.Reference = d.refs.next("rc")
		}
		lp, ok := c.provs[r.Provider]
		if !ok {
			pv, rec, err := d.providers.Get(ctx, r.Provider)
			if err != nil && sms.KindOf(err) != sms.KindNotFound && sms.KindOf(err) != sms.KindConflict {
				return c, err
			}
			if err != nil {
				bad(i, "provider", CodeProvider, errMessage(err), r.Provider)
				continue
			}
			lp = liveProvider{pv, rec}
			c.provs[r.Provider] = lp
		}
		p.Provider = lp.rec.Name
		p.Cost = lp.rec.CostPerSegment.Times(p.Segments)
	}
	// Contacts: fill phones from contacts, refuse the deceased and opted out.
	if len(contactIDs) > 0 || len(phones) > 0 {
		cs, err := d.db.ContactsForSend(ctx, contactIDs, phones)
		if err != nil {
			return c, err
		}
		byID, byPhone := map[int64]*sms.Contact{}, map[string]*sms.Contact{}
		for i := range cs {
			byID[cs[i].ID], byPhone[cs[i].Phone] = &cs[i], &cs[i]
		}
		for i := range c.preps {
			p := &c.preps[i]
			if failed[i] {
				continue
			}
			var ct *sms.Contact
			if p.ContactID != nil {
				if ct = byID[*p.ContactID]; ct == nil {
					bad(i, "contact_id", CodeNoContact, "no such contact", *p.ContactID)
					continue
				}
				if p.Phone == "" {
					p.Phone = ct.Phone
				}
			} else {
				ct = byPhone[p.Phone]
			}
			if ct != nil {
				if err := ct.Sendable(p.Kind); err != nil {
					bad(i, "to", errCode(err, "not_sendable"), errMessage(err), p.Phone)
				}
			}
		}
	}
	// The blacklist: no marketing message to a number on it.
	var marketing []string
	for i, p := range c.preps {
		if !failed[i] && p.Kind == sms.Marketing {
			marketing = append(marketing, p.Phone)
		}
	}
	listed, err := d.db.Blacklisted(ctx, marketing)
	if err != nil {
		return c, err
	}
	for i, p := range c.preps {
		if !failed[i] && p.Kind == sms.Marketing && listed[p.Phone] {
			bad(i, "to", CodeBlacklisted, "the number is on the blacklist: only transactional messages may go to it", p.Phone)
		}
	}
	return c, nil
}
