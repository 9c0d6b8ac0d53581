package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// listForm is a list's name and description as their form carries them.
type listForm struct {
	Name, Description string
}

func readListForm(r *http.Request) listForm {
	return listForm{Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description"))}
}

// check applies the API's rules for a list (api.ListBody).
func (f listForm) check() map[string]string {
	errs := map[string]string{}
	if n := utf8.RuneCountInString(f.Name); n == 0 || n > 100 {
		errs["name"] = "1 to 100 characters"
	}
	if utf8.RuneCountInString(f.Description) > 500 {
		errs["description"] = "at most 500 characters"
	}
	return errs
}

type listsData struct {
	Lists    []store.List
	Segments []store.Segment
	Form     listForm
	Errors   map[string]string
}

func (s *Server) listsData(r *http.Request) (listsData, error) {
	ls, err := s.DB.Lists(r.Context())
	if err != nil {
		return listsData{}, err
	}
	gs, err := s.DB.Segments(r.Context())
	return listsData{Lists: ls, Segments: gs}, err
}

func (s *Server) listsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.listsData(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "lists", "layout", d)
	return nil
}

func (s *Server) listCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := readListForm(r)
	errs := f.check()
	if len(errs) == 0 {
		l, err := s.DB.CreateList(r.Context(), f.Name, f.Description, &p.ID)
		if err == nil {
			s.flash(w, r, s.tr(r, "List %s created.", l.Name))
			http.Redirect(w, r, fmt.Sprintf("/lists/%d", l.ID), http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	d, err := s.listsData(r)
	if err != nil {
		return err
	}
	d.Form, d.Errors = f, errs
	s.render(w, r, http.StatusUnprocessableEntity, "lists", "layout", d)
	return nil
}

// listData is a list's page: the list, a page of its members (found by name
// or phone with q), and what the forms offer.
type listData struct {
	List     store.List
	Form     listForm
	Q        string
	Members  []sms.Contact
	Next     string
	Tags     []string
	Segments []store.Segment
	Picked   []sms.Contact // contacts picked to add, kept on an error
	Errors   map[string]string
}

func (s *Server) listData(r *http.Request) (listData, error) {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return listData{}, err
	}
	l, err := s.DB.GetList(ctx, id)
	if err != nil {
		return listData{}, err
	}
	d := listData{List: l, Form: listForm{Name: l.Name, Description: l.Description}}
	q := r.URL.Query()
	d.Q = strings.TrimSpace(q.Get("q"))
	if len(d.Q) > 200 {
		return d, sms.Invalid("search too long", sms.FieldError{Field: "q", Message: "at most 200 characters"})
	}
	f := store.ContactFilter{ListID: id, Query: d.Q, Limit: 50}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return d, sms.Invalid("invalid cursor", sms.FieldError{Field: "before", Message: "not a valid cursor"})
		}
		f.Before = n
	}
	if d.Members, err = s.DB.ListContacts(ctx, f); err != nil {
		return d, err
	}
	if len(d.Members) == f.Limit {
		d.Next = fmt.Sprintf("/lists/%d?%s", id, queryString("q", d.Q, "before", strconv.FormatInt(d.Members[len(d.Members)-1].ID, 10)))
	}
	if d.Tags, err = s.DB.Tags(ctx, 500); err != nil {
		return d, err
	}
	d.Segments, err = s.DB.Segments(ctx)
	return d, err
}

func (s *Server) listPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.listData(r)
	if err != nil {
		return err
	}
	if isHTMX(r) && r.Header.Get("HX-Target") == "list-members" {
		s.render(w, r, http.StatusOK, "list", "list-members", d)
		return nil
	}
	s.render(w, r, http.StatusOK, "list", "layout", d)
	return nil
}

// listAgain shows the list's page again with the errors of one of its
// forms.
func (s *Server) listAgain(w http.ResponseWriter, r *http.Request, errs map[string]string, edit func(*listData)) error {
	d, err := s.listData(r)
	if err != nil {
		return err
	}
	d.Errors = errs
	if edit != nil {
		edit(&d)
	}
	s.render(w, r, http.StatusUnprocessableEntity, "list", "layout", d)
	return nil
}

func (s *Server) listUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f := readListForm(r)
	errs := f.check()
	if len(errs) == 0 {
		l, err := s.DB.UpdateList(r.Context(), id, f.Name, f.Description)
		if err == nil {
			s.flash(w, r, s.tr(r, "List %s saved.", l.Name))
			http.Redirect(w, r, fmt.Sprintf("/lists/%d", id), http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	return s.listAgain(w, r, errs, func(d *listData) { d.Form = f })
}

func (s *Server) listDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.DB.DeleteList(r.Context(), id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "List deleted; its contacts are kept."))
	http.Redirect(w, r, "/lists", http.StatusSeeOther)
	return nil
}

// listFind finds contacts to add to a list (htmx): each result adds itself
// to the picked ones, as in the composer.
func (s *Server) listFind(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 200 {
		return sms.Invalid("search too long", sms.FieldError{Field: "q", Message: "at most 200 characters"})
	}
	var cs []sms.Contact
	if q != "" {
		if cs, err = s.DB.ListContacts(r.Context(), store.ContactFilter{Query: q, Limit: 10}); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "list", "list-results", map[string]any{"ListID": id, "Contacts": cs})
	return nil
}

// listPick answers a picked contact's chip (htmx).
func (s *Server) listPick(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "contact")
	if err != nil {
		return err
	}
	c, err := s.DB.GetContact(r.Context(), id)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "list", "list-chip", c)
	return nil
}

// maxPick is the most contacts one form adds or removes, as the API takes.
const maxPick = 10000

// formIDs reads a repeated id field; a value that is no id is an error.
func formIDs(r *http.Request, field string) ([]int64, map[string]string) {
	r.ParseForm()
	vals := r.PostForm[field]
	if len(vals) > maxPick {
		return nil, map[string]string{field: fmt.Sprintf("at most %d at once", maxPick)}
	}
	ids := make([]int64, 0, len(vals))
	for _, v := range vals {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, map[string]string{field: "not a valid contact"}
		}
		ids = append(ids, n)
	}
	return ids, nil
}

// listAddMembers adds the picked contacts to the list.
func (s *Server) listAddMembers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ids, errs := formIDs(r, "contact_id")
	if errs == nil && len(ids) == 0 {
		errs = map[string]string{"contact_id": "pick at least one contact"}
	}
	if errs == nil {
		before, err := s.DB.GetList(ctx, id)
		if err != nil {
			return err
		}
		err = s.DB.ChangeMembers(ctx, id, ids, nil)
		if err == nil {
			after, err := s.DB.GetList(ctx, id)
			if err != nil {
				return err
			}
			s.flash(w, r, s.tr(r, "%d contacts added to the list.", after.Members-before.Members))
			http.Redirect(w, r, fmt.Sprintf("/lists/%d", id), http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
		if msg, ok := errs["add"]; ok {
			delete(errs, "add")
			errs["contact_id"] = msg
		}
	}
	return s.listAgain(w, r, errs, func(d *listData) {
		if picked, err := s.DB.ContactsForSend(ctx, ids, nil); err == nil {
			d.Picked = picked
		}
	})
}

// listRemoveMembers takes contacts out of the list; they stay contacts.
func (s *Server) listRemoveMembers(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	ids, errs := formIDs(r, "contact_id")
	if errs == nil && len(ids) == 0 {
		errs = map[string]string{"contact_id": "choose the contacts to take out"}
	}
	if errs != nil {
		return s.listAgain(w, r, errs, nil)
	}
	before, err := s.DB.GetList(r.Context(), id)
	if err != nil {
		return err
	}
	if err := s.DB.ChangeMembers(r.Context(), id, nil, ids); err != nil {
		return err
	}
	after, err := s.DB.GetList(r.Context(), id)
	if err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "%d contacts taken out of the list.", before.Members-after.Members))
	http.Redirect(w, r, fmt.Sprintf("/lists/%d", id), http.StatusSeeOther)
	return nil
}

// listAddFrom adds every contact with a tag, or every contact a saved
// filter selects, to the list, with one statement.
func (s *Server) listAddFrom(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	tag := strings.TrimSpace(r.PostFormValue("tag"))
	seg := r.PostFormValue("filter_id")
	var f store.ContactFilter
	errs := map[string]string{}
	switch {
	case tag == "" && seg == "":
		errs["tag"] = "choose a tag or a saved filter"
	case tag != "" && seg != "":
		errs["tag"] = "a tag or a saved filter, not both"
	case len(tag) > 64:
		errs["tag"] = "at most 64 characters"
	case tag != "":
		f.Tag = tag
	default:
		n, err := strconv.ParseInt(seg, 10, 64)
		if err != nil || n < 1 {
			errs["filter_id"] = "not a valid saved filter"
			break
		}
		g, err := s.DB.GetSegment(ctx, n)
		if err != nil {
			if sms.KindOf(err) != sms.KindNotFound {
				return err
			}
			errs["filter_id"] = "no such saved filter"
			break
		}
		f.Filter = &g.Filter
	}
	if len(errs) > 0 {
		return s.listAgain(w, r, errs, nil)
	}
	n, err := s.DB.AddMembersWhere(ctx, id, f)
	if err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "%d contacts added to the list.", n))
	http.Redirect(w, r, fmt.Sprintf("/lists/%d", id), http.StatusSeeOther)
	return nil
}
