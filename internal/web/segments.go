package web

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// condField is a field the condition builder offers: the operations that
// make sense for it and the kind of value it takes. sms.Filter.Validate
// stays the judge of what is valid.
type condField struct {
	Name  string
	Ops   []string
	Value string // text, bool, user, tag, list, days, date
}

var textOps = []string{"eq", "neq", "contains", "starts_with", "empty", "not_empty"}

// condFields are the builder's fields, in the order it offers them;
// "custom" is a custom field, whose key is typed beside it.
var condFields = []condField{
	{"name", textOps, "text"},
	{"phone", textOps, "text"},
	{"custom", textOps, "text"},
	{"external_id", textOps, "text"},
	{"tag", []string{"has", "not_has"}, "tag"},
	{"list", []string{"in", "not_in"}, "list"},
	{"owner", []string{"eq", "empty", "not_empty"}, "user"},
	{"opted_out", []string{"eq"}, "bool"},
	{"deceased", []string{"eq"}, "bool"},
	{"replied", []string{"within_days", "not_within_days"}, "days"},
	{"last_sms", []string{"before", "after", "never"}, "date"},
	{"created", []string{"before", "after"}, "date"},
}

func condFieldNamed(name string) condField {
	for _, f := range condFields {
		if f.Name == name {
			return f
		}
	}
	return condFields[0]
}

// condRow is one condition as the builder's form carries it.
type condRow struct {
	Field string // a condFields name
	Key   string // the custom field's key
	Op    string
	Value string
	Error string // what is wrong with it, after a check
}

// Def is the row's field definition.
func (c condRow) Def() condField { return condFieldNamed(c.Field) }

// NoValue reports whether the row's operation takes no value.
func (c condRow) NoValue() bool { return c.Op == "empty" || c.Op == "not_empty" || c.Op == "never" }

// condition is the row as an sms.Condition.
func (c condRow) condition() sms.Condition {
	field := c.Field
	if field == "custom" {
		field = "field." + strings.ToLower(strings.TrimSpace(c.Key))
	}
	v := c.Value
	if c.NoValue() {
		v = ""
	}
	return sms.Condition{Field: field, Op: c.Op, Value: v}
}

// rowOf is the builder's row for a stored condition.
func rowOf(c sms.Condition) condRow {
	if key, ok := strings.CutPrefix(c.Field, "field."); ok {
		return condRow{Field: "custom", Key: key, Op: c.Op, Value: c.Value}
	}
	return condRow{Field: c.Field, Op: c.Op, Value: c.Value}
}

// segmentForm is a saved filter as its form carries it.
type segmentForm struct {
	ID          int64
	Name        string
	Description string
	Match       string
	Rows        []condRow
}

// maxConditions is as many conditions as a filter holds (sms.Filter).
const maxConditions = 50

// readSegmentForm reads the form: the condition rows come as parallel
// field, key, op and value lists. A field the builder does not know stays
// as written, for Validate to refuse.
func readSegmentForm(r *http.Request) segmentForm {
	r.ParseForm()
	f := segmentForm{Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Match: r.PostFormValue("match")}
	at := func(vals []string, i int) string {
		if i < len(vals) {
			return strings.TrimSpace(vals[i])
		}
		return ""
	}
	fields, keys, ops, vals := r.PostForm["field"], r.PostForm["key"], r.PostForm["op"], r.PostForm["value"]
	for i := range min(len(fields), maxConditions+1) {
		f.Rows = append(f.Rows, condRow{Field: fields[i], Key: at(keys, i), Op: at(ops, i), Value: at(vals, i)})
	}
	return f
}

// filter is the form's sms.Filter.
func (f segmentForm) filter() sms.Filter {
	out := sms.Filter{Match: f.Match, Conditions: []sms.Condition{}}
	for _, c := range f.Rows {
		out.Conditions = append(out.Conditions, c.condition())
	}
	return out
}

var conditionField = regexp.MustCompile(`^filter\.conditions\[(\d+)\]`)

// check validates the form as the API does (api.SegmentBody), putting a
// condition's error on its row and the others in the map.
func (f *segmentForm) check() map[string]string {
	errs := map[string]string{}
	if n := utf8.RuneCountInString(f.Name); n == 0 || n > 100 {
		errs["name"] = "1 to 100 characters"
	}
	if utf8.RuneCountInString(f.Description) > 500 {
		errs["description"] = "at most 500 characters"
	}
	if len(f.Rows) == 0 {
		errs["conditions"] = "add at least one condition"
	}
	f.rowErrors(f.filter().Validate(), errs)
	return errs
}

// rowErrors spreads a filter's validation error over the rows.
func (f *segmentForm) rowErrors(err error, errs map[string]string) {
	var e *sms.Error
	if err == nil || !asSMSError(err, &e) {
		return
	}
	for _, fe := range e.Fields {
		if m := conditionField.FindStringSubmatch(fe.Field); m != nil {
			if i, _ := strconv.Atoi(m[1]); i < len(f.Rows) {
				f.Rows[i].Error = fe.Message
				errs["conditions"] = "see the conditions marked"
				continue
			}
		}
		name := fe.Field[strings.LastIndex(fe.Field, ".")+1:]
		errs[name] = fe.Message
	}
}

type segmentsData struct {
	Segments []segmentView
}

// segmentView is a saved filter with how many contacts it selects now.
type segmentView struct {
	store.Segment
	Contacts int64
}

func (s *Server) segmentsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	gs, err := s.DB.Segments(r.Context())
	if err != nil {
		return err
	}
	d := segmentsData{}
	for _, g := range gs {
		n, err := s.DB.CountContacts(r.Context(), store.ContactFilter{Filter: &g.Filter})
		if err != nil {
			return err
		}
		d.Segments = append(d.Segments, segmentView{Segment: g, Contacts: n})
	}
	s.render(w, r, http.StatusOK, "segments", "layout", d)
	return nil
}

// segmentData is the condition builder's page.
type segmentData struct {
	Form    segmentForm
	Errors  map[string]string
	Count   int64 // contacts the filter selects now
	Counted bool  // whether Count was counted: not while the filter is invalid
	Fields  []condField
	Users   []store.User
	Tags    []string
	Lists   []store.List
}

func (s *Server) segmentData(ctx context.Context, f segmentForm) (segmentData, error) {
	d := segmentData{Form: f, Fields: condFields}
	var err error
	if d.Users, err = s.DB.ListUsers(ctx); err != nil {
		return d, err
	}
	if d.Tags, err = s.DB.Tags(ctx, 500); err != nil {
		return d, err
	}
	d.Lists, err = s.DB.Lists(ctx)
	return d, err
}

// count fills d.Count when the form's filter is valid.
func (s *Server) count(ctx context.Context, d *segmentData) error {
	flt := d.Form.filter()
	if len(flt.Conditions) == 0 || flt.Validate() != nil {
		return nil
	}
	n, err := s.DB.CountContacts(ctx, store.ContactFilter{Filter: &flt})
	if err != nil {
		return err
	}
	d.Count, d.Counted = n, true
	return nil
}

func (s *Server) segmentNewPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := segmentForm{Match: "all", Rows: []condRow{{Field: "name", Op: "contains"}}}
	if tag := r.URL.Query().Get("tag"); tag != "" {
		f.Rows = []condRow{{Field: "tag", Op: "has", Value: tag}}
	}
	d, err := s.segmentData(r.Context(), f)
	if err != nil {
		return err
	}
	if err := s.count(r.Context(), &d); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "segment", "layout", d)
	return nil
}

func (s *Server) segmentPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	g, err := s.DB.GetSegment(r.Context(), id)
	if err != nil {
		return err
	}
	f := segmentForm{ID: g.ID, Name: g.Name, Description: g.Description, Match: g.Filter.Match}
	for _, c := range g.Filter.Conditions {
		f.Rows = append(f.Rows, rowOf(c))
	}
	d, err := s.segmentData(r.Context(), f)
	if err != nil {
		return err
	}
	if err := s.count(r.Context(), &d); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "segment", "layout", d)
	return nil
}

func (s *Server) segmentCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.segmentSave(w, r, p, 0)
}

func (s *Server) segmentUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.DB.GetSegment(r.Context(), id); err != nil {
		return err
	}
	return s.segmentSave(w, r, p, id)
}

// segmentSave creates (id 0) or replaces a saved filter; a bad one shows
// the form again with what is wrong, on the rows at fault.
func (s *Server) segmentSave(w http.ResponseWriter, r *http.Request, p auth.Principal, id int64) error {
	ctx := r.Context()
	f := readSegmentForm(r)
	f.ID = id
	errs := f.check()
	if len(errs) == 0 {
		g, err := s.DB.SaveSegment(ctx, store.Segment{ID: id, Name: f.Name, Description: f.Description, Filter: f.filter(), CreatedBy: &p.ID})
		if err == nil {
			s.flash(w, r, s.tr(r, "Saved filter %s saved.", g.Name))
			http.Redirect(w, r, fmt.Sprintf("/segments/%d", g.ID), http.StatusSeeOther)
			return nil
		}
		if errs = fieldErrors(err); errs == nil {
			return err
		}
	}
	d, err := s.segmentData(ctx, f)
	if err != nil {
		return err
	}
	d.Errors = errs
	if err := s.count(ctx, &d); err != nil {
		return err
	}
	s.render(w, r, http.StatusUnprocessableEntity, "segment", "layout", d)
	return nil
}

func (s *Server) segmentDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.DB.DeleteSegment(r.Context(), id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Saved filter deleted."))
	http.Redirect(w, r, "/segments", http.StatusSeeOther)
	return nil
}

// segmentConditions redraws the condition rows (htmx) when a field or an
// operation changes, or a row is added ("add") or removed ("remove", its
// index): each field offers its own operations and values.
func (s *Server) segmentConditions(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := readSegmentForm(r)
	if i, err := strconv.Atoi(r.PostFormValue("remove")); err == nil && i >= 0 && i < len(f.Rows) {
		f.Rows = slices.Delete(f.Rows, i, i+1)
	}
	if r.PostFormValue("add") != "" && len(f.Rows) < maxConditions {
		f.Rows = append(f.Rows, condRow{Field: "name", Op: "contains"})
	}
	for i := range f.Rows {
		if def := f.Rows[i].Def(); !slices.Contains(def.Ops, f.Rows[i].Op) {
			f.Rows[i].Op = def.Ops[0]
		}
	}
	d, err := s.segmentData(r.Context(), f)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "segment", "conditions", d)
	return nil
}

// segmentCount answers how many contacts the filter being built selects
// (htmx), or what keeps it from counting.
func (s *Server) segmentCount(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := readSegmentForm(r)
	d := segmentData{Form: f, Errors: map[string]string{}}
	if len(f.Rows) > maxConditions {
		d.Errors["conditions"] = fmt.Sprintf("at most %d conditions", maxConditions)
	} else {
		d.Form.rowErrors(f.filter().Validate(), d.Errors)
	}
	if len(d.Errors) == 0 {
		if err := s.count(r.Context(), &d); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "segment", "segment-count", d)
	return nil
}
