package web

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/csvout"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// messageFilterForm is the messages page's filter as the URL carries it.
type messageFilterForm struct {
	State, Direction, Provider, Campaign, Contact, From, To, Q, Before string
}

func readMessageFilter(q url.Values) messageFilterForm {
	return messageFilterForm{State: q.Get("state"), Direction: q.Get("direction"), Provider: q.Get("provider"),
		Campaign: q.Get("campaign_id"), Contact: q.Get("contact_id"), From: q.Get("from"), To: q.Get("to"),
		Q: q.Get("q"), Before: q.Get("before")}
}

// filter turns the form into a store filter; dates are whole days in the
// UI's time zone, "to" included.
func (f messageFilterForm) filter(loc *time.Location) (store.MessageFilter, map[string]string) {
	out := store.MessageFilter{Limit: 50, Text: strings.TrimSpace(f.Q), Provider: f.Provider}
	errs := map[string]string{}
	if f.State != "" {
		st, err := sms.ParseState(f.State)
		if err != nil {
			errs["state"] = errText(err)
		} else {
			out.States = []sms.State{st}
		}
	}
	if f.Direction != "" {
		if d := sms.Direction(f.Direction); d.Valid() {
			out.Direction = d
		} else {
			errs["direction"] = "unknown direction"
		}
	}
	for _, id := range []struct {
		name, v string
		dst     **int64
	}{{"campaign_id", f.Campaign, &out.CampaignID}, {"contact_id", f.Contact, &out.ContactID}} {
		if id.v == "" {
			continue
		}
		n, err := strconv.ParseInt(id.v, 10, 64)
		if err != nil || n < 1 {
			errs[id.name] = "not a valid id"
			continue
		}
		*id.dst = &n
	}
	for _, d := range []struct {
		name, v string
		dst     **time.Time
		plus    int
	}{{"from", f.From, &out.From, 0}, {"to", f.To, &out.To, 1}} {
		if d.v == "" {
			continue
		}
		day, err := time.ParseInLocation("2006-01-02", d.v, loc)
		if err != nil {
			errs[d.name] = "a date such as 2026-11-25"
			continue
		}
		day = day.AddDate(0, 0, d.plus)
		*d.dst = &day
	}
	if f.Before != "" {
		n, err := strconv.ParseInt(f.Before, 10, 64)
		if err != nil || n < 1 {
			errs["before"] = "not a valid cursor"
		}
		out.Before = n
	}
	if len(out.Text) > 200 {
		errs["q"] = "at most 200 characters"
	}
	return out, errs
}

type messagesData struct {
	Filter    messageFilterForm
	Messages  []sms.Message
	Next      string
	Errors    map[string]string
	States    []sms.State
	Providers []string
}

func (s *Server) messagesPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	form := readMessageFilter(r.URL.Query())
	f, errs := form.filter(s.cfg.Location)
	data := messagesData{Filter: form, Errors: errs, States: sms.States}
	provs, err := s.Providers.List(ctx)
	if err != nil {
		return err
	}
	for _, pv := range provs {
		data.Providers = append(data.Providers, pv.Name)
	}
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		if data.Messages, err = s.DB.ListMessages(ctx, f); err != nil {
			return err
		}
		if len(data.Messages) == f.Limit {
			q := r.URL.Query()
			q.Set("before", strconv.FormatInt(data.Messages[len(data.Messages)-1].ID, 10))
			data.Next = "/messages?" + q.Encode()
		}
	}
	if isHTMX(r) && r.Header.Get("HX-Target") == "message-list" {
		s.render(w, r, status, "messages", "message-list", data)
		return nil
	}
	s.render(w, r, status, "messages", "layout", data)
	return nil
}

// messagesExport streams every message the filter selects as CSV, a page of
// 1000 at a time, so that memory stays flat whatever the count.
func (s *Server) messagesExport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	f, errs := readMessageFilter(r.URL.Query()).filter(s.cfg.Location)
	if len(errs) > 0 {
		var fe []sms.FieldError
		for k, v := range errs {
			fe = append(fe, sms.FieldError{Field: k, Message: v})
		}
		return sms.Invalid("invalid filter", fe...)
	}
	f.Limit = 1000
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="recado-messages-%s.csv"`, s.cfg.Now().In(s.cfg.Location).Format("2006-01-02")))
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "created_at", "direction", "kind", "phone", "body", "state", "provider", "provider_message_id",
		"reference", "segments", "encoding", "cost", "error_code", "error_text", "attempts", "sent_at", "delivered_at",
		"contact_id", "campaign_id", "template_id"})
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(s.cfg.Location).Format(time.RFC3339)
	}
	id := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	for {
		ms, err := s.DB.ListMessages(ctx, f)
		if err != nil {
			// Headers are gone: the best a CSV can do is end with the error.
			cw.Write([]string{"error", errText(err)})
			cw.Flush()
			return nil
		}
		for _, m := range ms {
			created := m.CreatedAt
			cw.Write([]string{strconv.FormatInt(m.ID, 10), ts(&created), string(m.Direction), string(m.Kind), m.Phone,
				csvout.Cell(m.Body), string(m.State), m.Provider, m.ProviderMessageID, m.Reference, strconv.Itoa(m.Segments),
				string(m.Encoding), m.Cost.String(), m.ErrorCode, csvout.Cell(m.ErrorText), strconv.Itoa(m.Attempts), ts(m.SentAt),
				ts(m.DeliveredAt), id(m.ContactID), id(m.CampaignID), id(m.TemplateID)})
		}
		cw.Flush()
		if len(ms) < f.Limit {
			return cw.Error()
		}
		f.Before = ms[len(ms)-1].ID
	}
}

type messageData struct {
	Message   sms.Message
	Events    []sms.Event
	Contact   *sms.Contact
	ReplyTo   *sms.Message
	Live      bool
	CanCancel bool
	CanResend bool
	CanDelete bool
}

func (s *Server) loadMessage(r *http.Request, p auth.Principal) (messageData, error) {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return messageData{}, err
	}
	m, err := s.DB.GetMessage(ctx, id)
	if err != nil {
		return messageData{}, err
	}
	evs, err := s.DB.MessageEvents(ctx, id)
	if err != nil {
		return messageData{}, err
	}
	d := messageData{Message: m, Events: evs, Live: !m.State.Final() && m.State != sms.StateDraft}
	if m.ContactID != nil {
		c, err := s.DB.GetContact(ctx, *m.ContactID)
		if err == nil {
			d.Contact = &c
		} else if sms.KindOf(err) != sms.KindNotFound {
			return d, err
		}
	}
	if m.ReplyTo != nil {
		if o, err := s.DB.GetMessage(ctx, *m.ReplyTo); err == nil {
			d.ReplyTo = &o
		}
	}
	out := m.Direction == sms.Outbound
	d.CanCancel = out && p.Can(auth.MessagesWrite) && sms.CanTransition(m.State, sms.StateCanceled)
	d.CanResend = out && p.Can(auth.MessagesWrite) && m.State.Final()
	d.CanDelete = p.Can(auth.MessagesDelete) && (m.State.Final() || m.State == sms.StateDraft)
	return d, nil
}

func (s *Server) messagePage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	d, err := s.loadMessage(r, p)
	if err != nil {
		return err
	}
	if d.Message.Direction == sms.Inbound && d.Message.ReadAt == nil && p.Can(auth.MessagesWrite) {
		if err := s.DB.MarkRead(r.Context(), d.Message.ID); err != nil {
			return err
		}
	}
	s.render(w, r, http.StatusOK, "message", "layout", d)
	return nil
}

// messageLive streams the message's state and events while it is on its
// way, and ends once it reaches a final state.
func (s *Server) messageLive(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	return s.stream(w, r, func() (string, error) {
		m, err := s.DB.GetMessage(r.Context(), id)
		if err != nil {
			return "", err
		}
		return string(m.State) + "|" + m.UpdatedAt.String(), nil
	}, func() (string, bool, error) {
		d, err := s.loadMessage(r, p)
		if err != nil {
			return "", true, err
		}
		html, err := s.renderString(r, "message", "message-live", d)
		return html, !d.Live, err
	})
}

func (s *Server) messageCancel(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.Dispatch.Cancel(r.Context(), id, "canceled by "+p.Username+" (web)"); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Message #%d canceled.", id))
	http.Redirect(w, r, fmt.Sprintf("/messages/%d", id), http.StatusSeeOther)
	return nil
}

// messageResend sends a finished outbound message again, as a new message
// with a new reference (the old one keeps its history).
func (s *Server) messageResend(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	m, err := s.DB.GetMessage(ctx, id)
	if err != nil {
		return err
	}
	if m.Direction != sms.Outbound || !m.State.Final() {
		return sms.Errorf(sms.KindConflict, "only a finished outbound message can be sent again")
	}
	uid := p.ID
	ms, err := s.Dispatch.Submit(ctx, []dispatch.Request{{To: m.Phone, ContactID: m.ContactID, Body: m.Body,
		Provider: m.Provider, Kind: m.Kind, TemplateID: m.TemplateID, CreatedBy: &uid}})
	if err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Sent again as message #%d.", ms[0].ID))
	http.Redirect(w, r, fmt.Sprintf("/messages/%d", ms[0].ID), http.StatusSeeOther)
	return nil
}

func (s *Server) messageDelete(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.DB.DeleteMessage(r.Context(), id); err != nil {
		return err
	}
	s.flash(w, r, s.tr(r, "Message #%d deleted.", id))
	http.Redirect(w, r, "/messages", http.StatusSeeOther)
	return nil
}

// pathID reads a positive integer path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n < 1 {
		return 0, sms.Errorf(sms.KindNotFound, "no such %s", name)
	}
	return n, nil
}
