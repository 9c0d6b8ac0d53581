package web

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/contacts"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

type contactsData struct {
	Q        string
	Contacts []sms.Contact
	Next     string
	Scope    contactScope // by tag, list or saved filter (contact_scope.go)
}

func (s *Server) contactsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		return sms.Invalid("search too long", sms.FieldError{Field: "q", Message: "at most 200 characters"})
	}
	var before int64
	if b := r.URL.Query().Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return sms.Invalid("invalid cursor", sms.FieldError{Field: "before", Message: "not a valid cursor"})
		}
		before = n
	}
	f := store.ContactFilter{Query: q, Before: before, Limit: 50}
	scope, err := s.readContactScope(r.Context(), r.URL.Query(), &f)
	if err != nil {
		return err
	}
	cs, err := s.DB.ListContacts(r.Context(), f)
	if err != nil {
		return err
	}
	data := contactsData{Q: q, Contacts: cs, Scope: scope}
	if len(cs) == f.Limit {
		data.Next = fmt.Sprintf("/contacts?%s", queryString("q", q, "tag", scope.Tag, "list_id", scope.List, "segment_id", scope.Segment,
			"before", strconv.FormatInt(cs[len(cs)-1].ID, 10)))
	}
	if isHTMX(r) && r.Header.Get("HX-Target") == "contact-list" {
		s.render(w, r, http.StatusOK, "contacts", "contact-list", data)
		return nil
	}
	s.render(w, r, http.StatusOK, "contacts", "layout", data)
	return nil
}

// contactForm is a contact as its form carries it.
type contactForm struct {
	ID       int64
	Name     string
	Phone    string
	OwnerID  string
	Tags     string // comma-separated
	Fields   string // one "key=value" per line
	OptedOut bool
	Deceased bool
}

func contactFormOf(c sms.Contact) contactForm {
	f := contactForm{ID: c.ID, Name: c.Name, Phone: c.Phone, Tags: strings.Join(c.Tags, ", "), OptedOut: c.OptedOut, Deceased: c.Deceased}
	if c.OwnerID != nil {
		f.OwnerID = strconv.FormatInt(*c.OwnerID, 10)
	}
	keys := make([]string, 0, len(c.Fields))
	for k := range c.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, c.Fields[k])
	}
	f.Fields = b.String()
	return f
}

func readContactForm(r *http.Request) contactForm {
	return contactForm{Name: strings.TrimSpace(r.PostFormValue("name")), Phone: strings.TrimSpace(r.PostFormValue("phone")),
		OwnerID: r.PostFormValue("owner_id"), Tags: r.PostFormValue("tags"), Fields: r.PostFormValue("fields"),
		OptedOut: r.PostFormValue("opted_out") != "", Deceased: r.PostFormValue("deceased") != ""}
}

// input turns the form into a contacts.Input, or field errors.
func (f contactForm) input() (contacts.Input, map[string]string) {
	errs := map[string]string{}
	in := contacts.Input{Name: &f.Name, Phone: &f.Phone, OptedOut: &f.OptedOut, Deceased: &f.Deceased,
		Tags: []string{}, Fields: map[string]string{}}
	var zero int64
	in.OwnerID = &zero // empty: no owner
	if f.OwnerID != "" {
		n, err := strconv.ParseInt(f.OwnerID, 10, 64)
		if err != nil || n < 1 {
			errs["owner_id"] = "not a valid user"
		}
		in.OwnerID = &n
	}
	for _, t := range strings.Split(f.Tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.Tags = append(in.Tags, t)
		}
	}
	for i, line := range strings.Split(f.Fields, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			errs["fields"] = fmt.Sprintf("line %d: write key=value", i+1)
			continue
		}
		in.Fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return in, errs
}

type contactEditData struct {
	Form   contactForm
	Users  []store.User
	Errors map[string]string
}

func (s *Server) contactNewPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	users, err := s.DB.ListUsers(r.Context())
	if err != nil {
		return err
	}
	f := contactForm{Phone: r.URL.Query().Get("phone"), OwnerID: strconv.FormatInt(p.ID, 10)}
	s.render(w, r, http.StatusOK, "contact-edit", "layout", contactEditData{Form: f, Users: users})
	return nil
}

func (s *Server) contactCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	form := readContactForm(r)
	in, errs := form.input()
	if len(errs) == 0 {
		c, err := s.Contacts.Create(r.Context(), in)
		if err == nil {
			s.flash(w, r, s.tr(r, "Contact created."))
			http.Redirect(w, r, fmt.Sprintf("/contacts/%d", c.ID), http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	return s.contactFormAgain(w, r, form, errs)
}

func (s *Server) contactFormAgain(w http.ResponseWriter, r *http.Request, form contactForm, errs map[string]string) error {
	users, err := s.DB.ListUsers(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusUnprocessableEntity, "contact-edit", "layout", contactEditData{Form: form, Users: users, Errors: errs})
	return nil
}

func (s *Server) contactEditPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.DB.GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	users, err := s.DB.ListUsers(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "contact-edit", "layout", contactEditData{Form: contactFormOf(c), Users: users})
	return nil
}

func (s *Server) contactUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	form := readContactForm(r)
	form.ID = id
	in, errs := form.input()
	if len(errs) == 0 {
		_, err := s.Contacts.Update(r.Context(), id, in)
		if err == nil {
			s.flash(w, r, s.tr(r, "Contact saved."))
			http.Redirect(w, r, fmt.Sprintf("/contacts/%d", id), http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	return s.contactFormAgain(w, r, form, errs)
}

func (s *Server) contactDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.DB.DeleteContact(r.Context(), id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Contact deleted; its messages are kept."))
	http.Redirect(w, r, "/contacts", http.StatusSeeOther)
	return nil
}

// timelineItem is a message with its events, for a contact's timeline.
type timelineItem struct {
	Message sms.Message
	Events  []sms.Event
}

type contactData struct {
	Contact   sms.Contact
	Owner     *store.User
	Timeline  []timelineItem
	Send      sendForm
	Errors    map[string]string
	Sendable  bool
	Reason    string
	Blacklist bool
	Lists     []store.List // the lists it is in
	OOB       bool         // drawn for a live update: the statistics are swapped out of band
}

// sendForm is the "send SMS" form of a contact's page.
type sendForm struct {
	Body string
	Kind string
}

// timelineLimit is how many of a contact's latest messages its page shows;
// the messages page has the rest.
const timelineLimit = 50

func (s *Server) timeline(ctx context.Context, contactID int64) ([]timelineItem, error) {
	ms, err := s.DB.ListMessages(ctx, store.MessageFilter{ContactID: &contactID, Limit: timelineLimit})
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	evs, err := s.DB.EventsFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]timelineItem, len(ms))
	for i, m := range ms {
		out[i] = timelineItem{Message: m, Events: evs[m.ID]}
	}
	return out, nil
}

func (s *Server) loadContact(ctx context.Context, r *http.Request) (contactData, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return contactData{}, err
	}
	c, err := s.DB.GetContact(ctx, id)
	if err != nil {
		return contactData{}, err
	}
	d := contactData{Contact: c, Send: sendForm{Kind: string(sms.Marketing)}, Sendable: true}
	if c.OwnerID != nil {
		if u, err := s.DB.GetUser(ctx, *c.OwnerID); err == nil {
			d.Owner = &u
		}
	}
	listed, err := s.DB.Blacklisted(ctx, []string{c.Phone})
	if err != nil {
		return d, err
	}
	d.Blacklist = listed[c.Phone]
	if d.Lists, err = s.DB.ListsOfContact(ctx, c.ID); err != nil {
		return d, err
	}
	if c.Deceased {
		d.Sendable, d.Reason = false, "deceased"
	}
	if d.Timeline, err = s.timeline(ctx, c.ID); err != nil {
		return d, err
	}
	return d, nil
}

func (s *Server) contactPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.loadContact(r.Context(), r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "contact", "layout", d)
	return nil
}

func (s *Server) contactTimeline(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.loadContact(r.Context(), r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "contact", "timeline", d)
	return nil
}

// contactLive redraws the timeline whenever one of the contact's messages
// is added or changes state.
func (s *Server) contactLive(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.stream(w, r, func() (string, error) {
		return s.DB.ContactActivity(r.Context(), id)
	}, func() (string, bool, error) {
		d, err := s.loadContact(r.Context(), r)
		if err != nil {
			return "", true, err
		}
		d.OOB = true
		html, err := s.renderString(r, "contact", "live-update", d)
		return html, false, err
	})
}

// contactSend sends an SMS to the contact from its page.
func (s *Server) contactSend(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	form := sendForm{Body: r.PostFormValue("body"), Kind: r.PostFormValue("kind")}
	uid := p.ID
	_, err = s.Dispatch.Submit(ctx, []dispatch.Request{{ContactID: &id, Body: form.Body, Kind: sms.MessageKind(form.Kind), CreatedBy: &uid}})
	if err == nil {
		if isHTMX(r) {
			d, err := s.loadContact(ctx, r)
			if err != nil {
				return err
			}
			s.render(w, r, http.StatusOK, "contact", "send-result", d)
			return nil
		}
		s.flash(w, r, s.tr(r, "Message queued."))
		http.Redirect(w, r, fmt.Sprintf("/contacts/%d", id), http.StatusSeeOther)
		return nil
	}
	errs := fieldErrors(err)
	if errs == nil {
		return err
	}
	d, lerr := s.loadContact(ctx, r)
	if lerr != nil {
		return lerr
	}
	d.Send, d.Errors = form, errs
	if isHTMX(r) {
		s.render(w, r, http.StatusUnprocessableEntity, "contact", "send-form", d)
		return nil
	}
	s.render(w, r, http.StatusUnprocessableEntity, "contact", "layout", d)
	return nil
}

// fieldErrors turns an invalid-input error into field → message for a
// form, or nil for any other error (which the caller shows as an error
// page). A conflict (a deceased or opted-out contact, a duplicate phone) is
// the form's own error too.
func fieldErrors(err error) map[string]string {
	kind := sms.KindOf(err)
	if kind != sms.KindInvalid && kind != sms.KindConflict {
		return nil
	}
	out := map[string]string{}
	var e *sms.Error
	if ok := asSMSError(err, &e); ok && len(e.Fields) > 0 {
		for _, f := range e.Fields {
			name := f.Field
			if i := strings.LastIndex(name, "."); i >= 0 {
				name = name[i+1:]
			}
			out[name] = f.Message
		}
		return out
	}
	out[""] = errText(err)
	return out
}

func queryString(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(urlQueryEscape(pairs[i]) + "=" + urlQueryEscape(pairs[i+1]))
	}
	return b.String()
}
