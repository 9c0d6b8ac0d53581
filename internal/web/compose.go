package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// composeForm is the composer's form.
type composeForm struct {
	Numbers    string   // pasted numbers, one per line (or separated by , or ;)
	ContactIDs []string // picked contacts
	Tag        string   // every contact with this tag
	ListID     string   // every contact in this list
	Body       string
	Kind       string
	Provider   string
	SendAt     string // datetime-local, in the UI's time zone; empty: now
	TemplateID string // the template the text came from, if any
}

func readComposeForm(r *http.Request) composeForm {
	r.ParseForm()
	return composeForm{Numbers: r.PostFormValue("numbers"), ContactIDs: r.PostForm["contact_id"], Tag: strings.TrimSpace(r.PostFormValue("tag")), ListID: r.PostFormValue("list_id"),
		Body: r.PostFormValue("body"), Kind: r.PostFormValue("kind"), Provider: r.PostFormValue("provider"), SendAt: r.PostFormValue("send_at"),
		TemplateID: r.PostFormValue("template_id")}
}

// recipient is one address the composer will send to, before checks.
type recipient struct {
	Label     string // what the user wrote, or the contact's name
	To        string
	ContactID *int64
}

// skipped is a recipient the composer will not send to, and why.
type skipped struct {
	Label   string
	Code    string
	Message string
}

// plan is what the composer will do with its form: the requests it will
// submit, the recipients it skips and why, and what it will cost.
type plan struct {
	Requests  []dispatch.Request
	Labels    []string
	Skipped   []skipped
	Sample    string // the first recipient's text
	Segments  sms.SegmentInfo
	Chars     int
	UCS2      int       // messages whose text needs UCS-2
	Cost      sms.Money // for every message
	UnitCost  sms.Money
	Provider  string
	Foldable  bool // UCS-2 only because of accents that fold to GSM-7
	Folded    sms.SegmentInfo
	FoldSaves sms.Money
	SendAt    *time.Time
}

// maxComposeRecipients is as many messages as one Submit takes; larger
// audiences are campaigns.
const maxComposeRecipients = dispatch.MaxBatch

// plan resolves the form's recipients, checks them as Submit would, and
// works out segments and cost. Form errors (nothing to send to, too many,
// a bad time) come back as field → message.
func (s *Server) plan(ctx context.Context, f composeForm, p auth.Principal) (plan, map[string]string, error) {
	errs := map[string]string{}
	var pl plan
	var recips []recipient
	for _, line := range strings.FieldsFunc(f.Numbers, func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
		if line = strings.TrimSpace(line); line != "" {
			recips = append(recips, recipient{Label: line, To: line})
		}
	}
	ids := map[int64]bool{}
	for _, v := range f.ContactIDs {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id < 1 {
			errs["contact_id"] = "not a valid contact"
			continue
		}
		ids[id] = true
	}
	if f.Tag != "" {
		tagged, err := s.DB.ContactIDsWithTag(ctx, f.Tag, maxComposeRecipients+1)
		if err != nil {
			return pl, nil, err
		}
		for _, id := range tagged {
			ids[id] = true
		}
	}
	if f.ListID != "" {
		lid, err := strconv.ParseInt(f.ListID, 10, 64)
		if err != nil || lid < 1 {
			errs["list_id"] = "not a valid list"
		} else {
			members, err := s.DB.ListContacts(ctx, store.ContactFilter{ListID: lid, Limit: maxComposeRecipients + 1})
			if err != nil {
				return pl, nil, err
			}
			for _, c := range members {
				ids[c.ID] = true
			}
		}
	}
	var idList []int64
	for id := range ids {
		idList = append(idList, id)
	}
	cs, err := s.DB.ContactsForSend(ctx, idList, nil)
	if err != nil {
		return pl, nil, err
	}
	byID := map[int64]sms.Contact{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	for _, id := range idList {
		c, ok := byID[id]
		if !ok {
			pl.Skipped = append(pl.Skipped, skipped{Label: "#" + strconv.FormatInt(id, 10), Code: dispatch.CodeNoContact, Message: "no such contact"})
			continue
		}
		label := sms.NationalFormat(c.Phone)
		if c.Name != "" {
			label = c.Name + " · " + label
		}
		cid := c.ID
		recips = append(recips, recipient{Label: label, ContactID: &cid, To: c.Phone})
	}
	switch {
	case len(recips) == 0 && len(pl.Skipped) == 0:
		errs["numbers"] = "add at least one number, contact, tag or list"
	case len(recips) > maxComposeRecipients:
		errs["numbers"] = fmt.Sprintf("at most %d recipients at once: for more, create a campaign", maxComposeRecipients)
	}
	if strings.TrimSpace(f.Body) == "" {
		errs["body"] = "must not be empty"
	}
	if f.SendAt != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", f.SendAt, s.cfg.Location)
		if err != nil {
			errs["send_at"] = "a date and time such as 2026-11-26T15:00"
		} else {
			pl.SendAt = &t
		}
	}
	if len(errs) > 0 {
		return pl, errs, nil
	}
	tb, err := sms.ParseTemplate(f.Body)
	if err != nil {
		errs["body"] = errText(err)
		if fe := fieldErrors(err); fe != nil {
			for _, m := range fe {
				errs["body"] = m
			}
		}
		return pl, errs, nil
	}
	var templateID *int64
	if f.TemplateID != "" {
		id, err := strconv.ParseInt(f.TemplateID, 10, 64)
		if err != nil || id < 1 {
			errs["template_id"] = "not a valid template"
			return pl, errs, nil
		}
		templateID = &id
	}
	// One message per phone: the same number written twice, or a contact
	// also pasted as a number, gets one SMS.
	seen := map[string]bool{}
	uid := p.ID
	var reqs []dispatch.Request
	var labels []string
	var phones []string
	for _, rc := range recips {
		if ph, err := sms.NormalizePhone(rc.To, "BR"); err == nil {
			if seen[ph.E164] {
				pl.Skipped = append(pl.Skipped, skipped{Label: rc.Label, Code: "duplicate", Message: "already among the recipients"})
				continue
			}
			seen[ph.E164] = true
			if rc.ContactID == nil {
				phones = append(phones, ph.E164)
			}
		}
		req := dispatch.Request{To: rc.To, ContactID: rc.ContactID, Body: f.Body, Provider: f.Provider,
			Kind: sms.MessageKind(f.Kind), SendAt: pl.SendAt, CreatedBy: &uid, TemplateID: templateID}
		if rc.ContactID != nil {
			req.To = ""
		}
		reqs = append(reqs, req)
		labels = append(labels, rc.Label)
	}
	// Placeholders are filled per recipient, from its contact (pasted
	// numbers too, when a contact has them); a recipient missing a value
	// without a default is skipped.
	missing := map[int][]string{}
	if len(tb.Placeholders()) > 0 {
		known, err := s.DB.ContactsForSend(ctx, idList, phones)
		if err != nil {
			return pl, nil, err
		}
		byID, byPhone := map[int64]*sms.Contact{}, map[string]*sms.Contact{}
		for i := range known {
			byID[known[i].ID], byPhone[known[i].Phone] = &known[i], &known[i]
		}
		for i := range reqs {
			var c *sms.Contact
			phone := ""
			if reqs[i].ContactID != nil {
				c = byID[*reqs[i].ContactID]
			} else if ph, err := sms.NormalizePhone(reqs[i].To, "BR"); err == nil {
				c, phone = byPhone[ph.E164], ph.E164
			}
			text, miss := tb.Render(sms.ContactVars(c, phone, nil))
			if len(miss) > 0 {
				missing[i] = miss
				continue
			}
			reqs[i].Body = text
		}
	}
	var checkable []dispatch.Request
	var index []int // position in reqs of each checkable request
	for i, req := range reqs {
		if miss, ok := missing[i]; ok {
			pl.Skipped = append(pl.Skipped, skipped{Label: labels[i], Code: "missing_field", Message: "no value for " + strings.Join(miss, ", ")})
			continue
		}
		checkable = append(checkable, req)
		index = append(index, i)
	}
	problems, err := s.Dispatch.Check(ctx, checkable)
	if err != nil {
		return pl, nil, err
	}
	bad := map[int]dispatch.Problem{}
	for _, pr := range problems {
		switch pr.Field {
		case "to", "contact_id":
			if _, dup := bad[pr.Index]; !dup {
				bad[pr.Index] = pr
			}
		case "provider":
			errs["provider"] = pr.Message
		case "kind":
			errs["kind"] = pr.Message
		case "body":
			errs["body"] = pr.Message
		}
	}
	if len(errs) > 0 {
		return pl, errs, nil
	}
	// A marketing message skips the numbers the provider refused as
	// do-not-disturb before, as campaigns do.
	phoneOf := func(req dispatch.Request) string {
		if req.ContactID != nil {
			return byID[*req.ContactID].Phone
		}
		ph, _ := sms.NormalizePhone(req.To, "BR")
		return ph.E164
	}
	dnd := map[string]bool{}
	if sms.MessageKind(f.Kind) != sms.Transactional {
		var ps []string
		for _, req := range checkable {
			ps = append(ps, phoneOf(req))
		}
		if dnd, err = s.DB.RefusedAsNotDisturb(ctx, ps); err != nil {
			return pl, nil, err
		}
	}
	for j, req := range checkable {
		i := index[j]
		if pr, ok := bad[j]; ok {
			pl.Skipped = append(pl.Skipped, skipped{Label: labels[i], Code: pr.Code, Message: pr.Message})
			continue
		}
		if dnd[phoneOf(req)] {
			pl.Skipped = append(pl.Skipped, skipped{Label: labels[i], Code: "do_not_disturb", Message: "the provider refused this number as do-not-disturb before"})
			continue
		}
		pl.Requests = append(pl.Requests, req)
		pl.Labels = append(pl.Labels, labels[i])
	}
	_, rec, err := s.Providers.Get(ctx, f.Provider)
	if err != nil {
		return pl, nil, err
	}
	pl.Provider, pl.UnitCost = rec.Name, rec.CostPerSegment
	// The sample is the first recipient's text; the cost adds every
	// message's own segments, since placeholders make lengths differ.
	pl.Sample = f.Body
	if len(pl.Requests) > 0 {
		pl.Sample = pl.Requests[0].Body
	}
	pl.Segments = sms.Segments(pl.Sample)
	pl.Chars = len([]rune(pl.Sample))
	total, foldedTotal := 0, 0
	for _, req := range pl.Requests {
		seg := sms.Segments(req.Body)
		total += seg.Segments
		if seg.Encoding == sms.UCS2 {
			pl.UCS2++
		}
		foldedTotal += sms.Segments(sms.FoldGSM(req.Body)).Segments
	}
	pl.Cost = rec.CostPerSegment.Times(total)
	if pl.Segments.Encoding == sms.UCS2 || pl.UCS2 > 0 {
		if folded := sms.FoldGSM(f.Body); folded != f.Body {
			pl.Foldable = true
			pl.Folded = sms.Segments(sms.FoldGSM(pl.Sample))
			pl.FoldSaves = rec.CostPerSegment.Times(total - foldedTotal)
		}
	}
	return pl, nil, nil
}

type composeData struct {
	Form      composeForm
	Plan      *plan
	Errors    map[string]string
	Providers []string
	Tags      []string
	Contacts  []sms.Contact // picked contacts, to show their names
	Default   string
	Templates []sms.Template
	Lists     []store.List
}

func (s *Server) composeData(ctx context.Context, f composeForm) (composeData, error) {
	d := composeData{Form: f}
	provs, err := s.Providers.List(ctx)
	if err != nil {
		return d, err
	}
	for _, pv := range provs {
		if pv.Active {
			d.Providers = append(d.Providers, pv.Name)
		}
		if pv.Default {
			d.Default = pv.Name
		}
	}
	if d.Tags, err = s.DB.Tags(ctx, 500); err != nil {
		return d, err
	}
	if d.Templates, err = s.DB.ListTemplates(ctx, store.TemplateFilter{Limit: 500}); err != nil {
		return d, err
	}
	if d.Lists, err = s.DB.Lists(ctx); err != nil {
		return d, err
	}
	var ids []int64
	for _, v := range f.ContactIDs {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		if d.Contacts, err = s.DB.ContactsForSend(ctx, ids, nil); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (s *Server) composePage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := composeForm{Numbers: q.Get("to"), ContactIDs: q["contact_id"], Tag: q.Get("tag"), ListID: q.Get("list_id"), Kind: string(sms.Marketing)}
	if v := q.Get("template_id"); v != "" {
		if err := s.useTemplate(r.Context(), &f, v); err != nil {
			return err
		}
	}
	d, err := s.composeData(r.Context(), f)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "compose", "layout", d)
	return nil
}

// useTemplate puts template id's text and kind in the form.
func (s *Server) useTemplate(ctx context.Context, f *composeForm, id string) error {
	t, err := s.templateByID(ctx, id)
	if err != nil {
		return err
	}
	f.Body, f.Kind, f.TemplateID = t.Body, string(t.Kind), id
	return nil
}

// composeTemplate answers the text box filled with a template's text
// (htmx), when one is picked.
func (s *Server) composeTemplate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := composeForm{Body: r.URL.Query().Get("body"), Kind: string(sms.Marketing)}
	if id := r.URL.Query().Get("template_id"); id != "" {
		if err := s.useTemplate(r.Context(), &f, id); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "compose", "compose-body", composeData{Form: f})
	return nil
}

// composeContacts finds contacts to add to the recipients (htmx): each
// result adds itself to the picked list.
func (s *Server) composeContacts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		return sms.Invalid("search too long", sms.FieldError{Field: "q", Message: "at most 200 characters"})
	}
	var cs []sms.Contact
	if q != "" {
		var err error
		if cs, err = s.DB.ListContacts(r.Context(), store.ContactFilter{Query: q, Limit: 10}); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "compose", "contact-results", cs)
	return nil
}

// composePick answers a picked contact's chip (htmx).
func (s *Server) composePick(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.DB.GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "compose", "contact-chip", c)
	return nil
}

// composePreview answers the composer's live preview (htmx): segments,
// encoding, cost, the recipients it will skip and why. With fold=1 it also
// folds the text's accents to GSM-7 and sends the new text back for the
// text box.
func (s *Server) composePreview(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := readComposeForm(r)
	fold := r.PostFormValue("fold") == "1"
	if fold {
		f.Body = sms.FoldGSM(f.Body)
	}
	pl, errs, err := s.plan(r.Context(), f, p)
	if err != nil {
		return err
	}
	d := composeData{Form: f, Plan: &pl, Errors: errs}
	name := "preview"
	if fold {
		name = "preview-folded"
	}
	s.render(w, r, http.StatusOK, "compose", name, d)
	return nil
}

// composeSend sends to every recipient that passes the checks; the skipped
// ones were shown in the preview and are listed again after sending.
func (s *Server) composeSend(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	f := readComposeForm(r)
	pl, errs, err := s.plan(ctx, f, p)
	if err != nil {
		return err
	}
	if len(errs) == 0 && len(pl.Requests) == 0 {
		errs = map[string]string{"numbers": "none of the recipients can receive this message"}
	}
	if len(errs) > 0 {
		d, err := s.composeData(ctx, f)
		if err != nil {
			return err
		}
		d.Errors, d.Plan = errs, &pl
		s.render(w, r, http.StatusUnprocessableEntity, "compose", "layout", d)
		return nil
	}
	ms, err := s.Dispatch.Submit(ctx, pl.Requests)
	if err != nil {
		if fe := fieldErrors(err); fe != nil {
			d, derr := s.composeData(ctx, f)
			if derr != nil {
				return derr
			}
			d.Errors, d.Plan = fe, &pl
			s.render(w, r, http.StatusUnprocessableEntity, "compose", "layout", d)
			return nil
		}
		return err
	}
	msg := s.tr(r, "%d messages queued.", len(ms))
	if len(pl.Skipped) > 0 {
		msg += " " + s.tr(r, "%d recipients skipped.", len(pl.Skipped))
	}
	s.flash(w, r, msg)
	if len(ms) == 1 {
		http.Redirect(w, r, fmt.Sprintf("/messages/%d", ms[0].ID), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/messages?direction=outbound", http.StatusSeeOther)
	return nil
}
