package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/templates"
)

// campaignStates are a campaign's states, in the order the list filters
// them.
var campaignStates = []string{store.CampaignDraft, store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused,
	store.CampaignCompleted, store.CampaignCanceled}

type campaignsData struct {
	State     string
	States    []string
	Campaigns []campaignRow
}

// campaignRow is a campaign in the list, with how many it sends to.
type campaignRow struct {
	store.Campaign
	ToSend int64 // recipients not skipped
}

func (s *Server) campaignsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	st := r.URL.Query().Get("state")
	var states []string
	if st != "" {
		if !slices.Contains(campaignStates, st) {
			return sms.Invalid("unknown state", sms.FieldError{Field: "state", Message: "unknown state", Value: st})
		}
		states = []string{st}
	}
	cs, err := s.DB.ListCampaigns(r.Context(), states, 200)
	if err != nil {
		return err
	}
	d := campaignsData{State: st, States: campaignStates}
	for _, c := range cs {
		d.Campaigns = append(d.Campaigns, campaignRow{Campaign: c, ToSend: max(c.Recipients-c.Skipped, 0)})
	}
	s.render(w, r, http.StatusOK, "campaigns", "layout", d)
	return nil
}

// weekdays are the keys of a sending window's hours, Monday first, as the
// editor shows them.
var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// dayHours is one day of the sending-hours editor.
type dayHours struct {
	Day      string
	Open     bool
	From, To string // "09:00"; a To of "00:00" is the end of the day
}

// windowForm is the sending-hours editor.
type windowForm struct {
	Days        []dayHours
	Holidays    bool   // open on national holidays
	ClosedDates string // one date per line
}

// Always reports whether the window sends at any hour of every day.
func (f windowForm) Always() bool {
	for _, d := range f.Days {
		if !d.Open || d.From != "00:00" || d.To != "00:00" {
			return false
		}
	}
	return f.Holidays && strings.TrimSpace(f.ClosedDates) == ""
}

// windowFormOf shows w in the editor; a window without hours is open all
// day every day.
func windowFormOf(w campaign.Window) windowForm {
	f := windowForm{Holidays: w.OpenOnHolidays, ClosedDates: strings.Join(w.ClosedDates, "\n")}
	for _, d := range weekdays {
		h := dayHours{Day: d, From: "09:00", To: "21:00"}
		v, ok := w.Hours[d]
		switch {
		case len(w.Hours) == 0:
			h.Open, h.From, h.To = true, "00:00", "00:00"
		case ok && strings.TrimSpace(v) != "":
			a, b, _ := strings.Cut(v, "-")
			h.Open, h.From, h.To = true, strings.TrimSpace(a), strings.TrimSpace(b)
			if h.To == "24:00" {
				h.To = "00:00"
			}
		}
		f.Days = append(f.Days, h)
	}
	return f
}

// window is the editor's campaign.Window, or the errors that keep it from
// being one.
func (f windowForm) window() (campaign.Window, string) {
	w := campaign.Window{Hours: map[string]string{}, OpenOnHolidays: f.Holidays}
	for _, d := range f.Days {
		if !d.Open {
			continue
		}
		to := d.To
		if to == "00:00" {
			to = "24:00"
		}
		w.Hours[d.Day] = d.From + "-" + to
	}
	if len(w.Hours) == 0 {
		return w, "open at least one day"
	}
	for _, line := range strings.FieldsFunc(f.ClosedDates, func(r rune) bool { return r == '\n' || r == ',' || r == ';' || r == ' ' }) {
		if line = strings.TrimSpace(line); line != "" {
			w.ClosedDates = append(w.ClosedDates, line)
		}
	}
	if len(w.ClosedDates) > 366 {
		return w, "at most 366 closed dates"
	}
	return w, ""
}

// campaignForm is a campaign as its form carries it.
type campaignForm struct {
	ID            int64
	Name          string
	TemplateID    string
	Body          string
	Kind          string
	Provider      string
	Lists         []string
	Tags          []string
	Segments      []string
	Imports       []string
	ScheduleAt    string // datetime-local in the UI's time zone; empty: at start
	Window        windowForm
	RatePerMinute string
	CapMessages   string
	CapDays       string
	OnMissing     string
	Vars          string // one key=value per line
	Sample        string // a contact to preview with
}

// HasList, HasTag, HasSegment and HasImport report whether the audience
// holds a list, tag, saved filter or import, for the form's checkboxes.
func (f campaignForm) HasList(id int64) bool {
	return slices.Contains(f.Lists, strconv.FormatInt(id, 10))
}
func (f campaignForm) HasTag(t string) bool { return slices.Contains(f.Tags, t) }
func (f campaignForm) HasSegment(id int64) bool {
	return slices.Contains(f.Segments, strconv.FormatInt(id, 10))
}
func (f campaignForm) HasImport(id int64) bool {
	return slices.Contains(f.Imports, strconv.FormatInt(id, 10))
}

func readCampaignForm(r *http.Request) campaignForm {
	r.ParseForm()
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := campaignForm{Name: v("name"), TemplateID: v("template_id"), Body: r.PostFormValue("body"), Kind: v("kind"),
		Provider: v("provider"), Lists: r.PostForm["list"], Tags: r.PostForm["tag"], Segments: r.PostForm["segment"],
		Imports: r.PostForm["import"], ScheduleAt: v("schedule_at"), RatePerMinute: v("rate_per_minute"),
		CapMessages: v("cap_messages"), CapDays: v("cap_days"), OnMissing: v("on_missing"), Vars: r.PostFormValue("vars"),
		Sample: v("sample")}
	f.Window = windowForm{Holidays: v("open_on_holidays") != "", ClosedDates: r.PostFormValue("closed_dates")}
	for _, d := range weekdays {
		f.Window.Days = append(f.Window.Days, dayHours{Day: d, Open: v("open_"+d) != "", From: v("from_" + d), To: v("to_" + d)})
	}
	return f
}

// campaignFormOf is a stored campaign in its form.
func (s *Server) campaignFormOf(c store.Campaign) campaignForm {
	f := campaignForm{ID: c.ID, Name: c.Name, Body: c.Body, Kind: string(c.Kind), Provider: c.Provider,
		RatePerMinute: strconv.Itoa(c.RatePerMinute), CapMessages: strconv.Itoa(c.CapMessages), CapDays: strconv.Itoa(c.CapDays),
		OnMissing: c.OnMissing, Tags: c.Audience.Tags}
	if c.TemplateID != nil {
		f.TemplateID = strconv.FormatInt(*c.TemplateID, 10)
	}
	ids := func(ns []int64) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = strconv.FormatInt(n, 10)
		}
		return out
	}
	f.Lists, f.Segments, f.Imports = ids(c.Audience.Lists), ids(c.Audience.Segments), ids(c.Audience.Imports)
	if c.ScheduleAt != nil {
		f.ScheduleAt = c.ScheduleAt.In(s.cfg.Location).Format("2006-01-02T15:04")
	}
	f.Window = windowFormOf(campaignWindow(c))
	var keys []string
	for k := range c.Vars {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, c.Vars[k])
	}
	f.Vars = b.String()
	return f
}

// campaignWindow is c's sending window: its own, or its kind's default.
func campaignWindow(c store.Campaign) campaign.Window {
	if len(c.Window) > 0 {
		var w campaign.Window
		if json.Unmarshal(c.Window, &w) == nil {
			return w
		}
	}
	return defaultWindow(c.Kind)
}

func defaultWindow(kind sms.MessageKind) campaign.Window {
	if kind == sms.Transactional {
		return campaign.AlwaysOpen()
	}
	return campaign.DefaultMarketingWindow()
}

// input turns the form into a campaign.Input, or the form's own errors
// (numbers and dates); the service checks the rest.
func (f campaignForm) input(loc *time.Location) (campaign.Input, map[string]string) {
	errs := map[string]string{}
	kind := sms.MessageKind(f.Kind)
	in := campaign.Input{Name: &f.Name, Body: &f.Body, Kind: &kind, Provider: &f.Provider, OnMissing: &f.OnMissing, Vars: map[string]string{}}
	if f.TemplateID != "" {
		n, err := strconv.ParseInt(f.TemplateID, 10, 64)
		if err != nil || n < 1 {
			errs["template_id"] = "not a valid template"
		}
		in.TemplateID = &n
	}
	var aud store.Audience
	for _, x := range []struct {
		field string
		vals  []string
		dst   *[]int64
	}{{"audience", f.Lists, &aud.Lists}, {"audience", f.Segments, &aud.Segments}, {"audience", f.Imports, &aud.Imports}} {
		for _, v := range x.vals {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				errs[x.field] = "not a valid list, saved filter or import"
				continue
			}
			*x.dst = append(*x.dst, n)
		}
	}
	for _, t := range f.Tags {
		if t = strings.TrimSpace(t); t != "" {
			aud.Tags = append(aud.Tags, t)
		}
	}
	if len(aud.Lists)+len(aud.Tags)+len(aud.Segments)+len(aud.Imports) > 100 {
		errs["audience"] = "at most 100 lists, tags, saved filters and imports"
	}
	in.Audience = &aud
	at := time.Time{} // empty: no schedule, start when started
	if f.ScheduleAt != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", f.ScheduleAt, loc)
		if err != nil {
			errs["schedule_at"] = "a date and time such as 2026-12-01T09:00"
		}
		at = t
	}
	in.ScheduleAt = &at
	w, msg := f.Window.window()
	if msg != "" {
		errs["window"] = msg
	}
	in.Window = &w
	for _, n := range []struct {
		field, v string
		dst      **int
	}{{"rate_per_minute", f.RatePerMinute, &in.RatePerMinute}, {"cap_messages", f.CapMessages, &in.CapMessages}, {"cap_days", f.CapDays, &in.CapDays}} {
		v := 0
		if n.v != "" {
			var err error
			if v, err = strconv.Atoi(n.v); err != nil || v < 0 {
				errs[n.field] = "a whole number, 0 or more"
			}
		}
		*n.dst = &v
	}
	for i, line := range strings.Split(f.Vars, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			errs["vars"] = fmt.Sprintf("line %d: write key=value", i+1)
			continue
		}
		in.Vars[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return in, errs
}

var fieldIndex = regexp.MustCompile(`\[\d+\]`)

// campaignErrors are the service's invalid-input errors for the form: an
// audience's, a window's or a variable's part names the whole.
func campaignErrors(err error) map[string]string {
	errs := fieldErrors(err)
	var e *sms.Error
	if errs == nil || !asSMSError(err, &e) || len(e.Fields) == 0 {
		return errs
	}
	out := map[string]string{}
	for _, f := range e.Fields {
		name := fieldIndex.ReplaceAllString(f.Field, "")
		if head, _, ok := strings.Cut(name, "."); ok {
			name = head
		}
		if name == "template" { // the template's own parse errors are the body's
			name = "body"
		}
		if prev, ok := out[name]; ok && prev != f.Message {
			out[name] = prev + "; " + f.Message
			continue
		}
		out[name] = f.Message
	}
	return out
}

// campaignEditData is the campaign form's page.
type campaignEditData struct {
	Form      campaignForm
	Errors    map[string]string
	Templates []sms.Template
	Providers []string
	Default   string
	Lists     []store.List
	Tags      []string
	Segments  []store.Segment
	Imports   []store.Import
	Weekdays  []string
}

func (s *Server) campaignEditData(ctx context.Context, f campaignForm) (campaignEditData, error) {
	d := campaignEditData{Form: f, Weekdays: weekdays}
	var err error
	if d.Templates, err = s.DB.ListTemplates(ctx, store.TemplateFilter{Limit: 500}); err != nil {
		return d, err
	}
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
	if d.Lists, err = s.DB.Lists(ctx); err != nil {
		return d, err
	}
	if d.Tags, err = s.DB.Tags(ctx, 500); err != nil {
		return d, err
	}
	if d.Segments, err = s.DB.Segments(ctx); err != nil {
		return d, err
	}
	ims, err := s.DB.ListImports(ctx, 100)
	if err != nil {
		return d, err
	}
	for _, im := range ims {
		if im.ListID != nil && im.Status == store.ImportDone {
			d.Imports = append(d.Imports, im)
		}
	}
	return d, nil
}

func (s *Server) campaignNewPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	f := campaignForm{Kind: string(sms.Marketing), OnMissing: "skip", RatePerMinute: "0", CapMessages: "0", CapDays: "0",
		Window: windowFormOf(campaign.DefaultMarketingWindow())}
	if v := q.Get("list_id"); v != "" {
		f.Lists = []string{v}
	}
	if v := q.Get("template_id"); v != "" {
		if err := s.campaignUseTemplate(r.Context(), &f, v); err != nil {
			return err
		}
	}
	d, err := s.campaignEditData(r.Context(), f)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "campaign-edit", "layout", d)
	return nil
}

// campaignUseTemplate puts template id's text and kind in the form.
func (s *Server) campaignUseTemplate(ctx context.Context, f *campaignForm, id string) error {
	t, err := s.templateByID(ctx, id)
	if err != nil {
		return err
	}
	f.TemplateID, f.Body, f.Kind = id, t.Body, string(t.Kind)
	if f.Name == "" {
		f.Name = t.Name
	}
	return nil
}

// campaignTemplate answers the text box filled with a template's text
// (htmx), when one is picked; "none" keeps the text as it is.
func (s *Server) campaignTemplate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f := campaignForm{Body: r.URL.Query().Get("body")}
	if id := r.URL.Query().Get("template_id"); id != "" {
		if err := s.campaignUseTemplate(r.Context(), &f, id); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "campaign-edit", "campaign-body", campaignEditData{Form: f})
	return nil
}

// campaignWindowDefaults answers the sending-hours editor with the default
// hours of a kind (htmx).
func (s *Server) campaignWindowDefaults(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	kind := sms.MessageKind(r.URL.Query().Get("kind"))
	if !kind.Valid() {
		return sms.Invalid("unknown kind", sms.FieldError{Field: "kind", Message: "marketing or transactional"})
	}
	s.render(w, r, http.StatusOK, "campaign-edit", "window", campaignEditData{Form: campaignForm{Window: windowFormOf(defaultWindow(kind))}, Weekdays: weekdays})
	return nil
}

// campaignPreviewData renders the form's text for a sample contact with
// the template editor's preview: placeholders, what is missing, segments,
// encoding, cost at the campaign's provider, and the saving of folding
// accents.
func (s *Server) campaignPreviewData(ctx context.Context, f campaignForm) (templateData, error) {
	d := templateData{Form: templateForm{Body: f.Body, Sample: f.Sample}, Builtins: sms.BuiltinVariables}
	if strings.TrimSpace(f.Body) == "" {
		return d, nil
	}
	vars := map[string]string{"campanha": f.Name, "campaign": f.Name}
	for _, line := range strings.Split(f.Vars, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && strings.TrimSpace(k) != "" {
			vars[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	in := templates.PreviewInput{Body: f.Body, Campaign: vars, Provider: f.Provider}
	if f.Sample != "" {
		cs, err := s.DB.ListContacts(ctx, store.ContactFilter{Query: f.Sample, Limit: 1})
		if err != nil {
			return d, err
		}
		if len(cs) > 0 {
			d.Sample, in.ContactID = &cs[0], &cs[0].ID
		}
	}
	if in.ContactID == nil {
		in.Phone = "+5511900000000"
		in.Fields = map[string]string{"nome": "Fulana de Tal", "name": "Fulana de Tal", "primeiro_nome": "Fulana", "first_name": "Fulana"}
	}
	pv, err := s.Templates.Preview(ctx, in)
	if err != nil {
		if d.Errors = fieldErrors(err); d.Errors == nil {
			if k := sms.KindOf(err); k == sms.KindNotFound || k == sms.KindConflict { // a provider gone or inactive
				d.Errors = map[string]string{"provider": errText(err)}
				return d, nil
			}
			return d, err
		}
		return d, nil
	}
	d.Preview = &pv
	return d, nil
}

// campaignPreview answers the form's live preview (htmx), drawn by the
// template editor's preview block.
func (s *Server) campaignPreview(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.campaignPreviewData(r.Context(), readCampaignForm(r))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "template", "template-preview", d)
	return nil
}

func (s *Server) campaignCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.campaignSave(w, r, p, 0)
}

func (s *Server) campaignUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.DB.GetCampaign(r.Context(), id)
	if err != nil {
		return err
	}
	if c.State != store.CampaignDraft {
		return sms.Errorf(sms.KindConflict, "campaign %d is %s: only drafts can be changed", id, c.State)
	}
	return s.campaignSave(w, r, p, id)
}

// campaignSave creates (id 0) or changes a draft; a bad form is shown again
// with what is wrong.
func (s *Server) campaignSave(w http.ResponseWriter, r *http.Request, p auth.Principal, id int64) error {
	ctx := r.Context()
	f := readCampaignForm(r)
	f.ID = id
	in, errs := f.input(s.cfg.Location)
	if len(errs) == 0 {
		var c store.Campaign
		var err error
		if id == 0 {
			c, err = s.Campaigns.Create(ctx, in, &p.ID)
		} else {
			c, err = s.Campaigns.Update(ctx, id, in)
		}
		if err == nil {
			s.flash(w, r, s.tr(r, "Campaign %s saved as a draft. Do a dry run, then start it.", c.Name))
			http.Redirect(w, r, fmt.Sprintf("/campaigns/%d", c.ID), http.StatusSeeOther)
			return nil
		}
		if errs = campaignErrors(err); errs == nil {
			return err
		}
	}
	d, err := s.campaignEditData(ctx, f)
	if err != nil {
		return err
	}
	d.Errors = errs
	s.render(w, r, http.StatusUnprocessableEntity, "campaign-edit", "layout", d)
	return nil
}

func (s *Server) campaignEditPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := s.DB.GetCampaign(r.Context(), id)
	if err != nil {
		return err
	}
	if c.State != store.CampaignDraft {
		http.Redirect(w, r, fmt.Sprintf("/campaigns/%d", id), http.StatusSeeOther)
		return nil
	}
	d, err := s.campaignEditData(r.Context(), s.campaignFormOf(c))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "campaign-edit", "layout", d)
	return nil
}

// campaignStart, campaignPause, campaignResume and campaignCancel change a
// campaign's state; they take effect at once.
func (s *Server) campaignStart(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.campaignAct(w, r, s.Campaigns.Start, "Campaign %s started.")
}

func (s *Server) campaignPause(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.campaignAct(w, r, s.Campaigns.Pause, "Campaign %s paused.")
}

func (s *Server) campaignResume(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.campaignAct(w, r, s.Campaigns.Resume, "Campaign %s resumed.")
}

func (s *Server) campaignCancel(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return s.campaignAct(w, r, s.Campaigns.Cancel, "Campaign %s canceled.")
}

// campaignAct runs one of the service's state changes and goes back to the
// campaign's page.
func (s *Server) campaignAct(w http.ResponseWriter, r *http.Request, do func(context.Context, int64) (store.Campaign, error), done string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	c, err := do(r.Context(), id)
	if err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, done, c.Name))
	http.Redirect(w, r, fmt.Sprintf("/campaigns/%d", id), http.StatusSeeOther)
	return nil
}

func (s *Server) campaignDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.DB.DeleteCampaign(r.Context(), id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Draft deleted."))
	http.Redirect(w, r, "/campaigns", http.StatusSeeOther)
	return nil
}
