package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// inboxItem is a reply with what the inbox shows beside it.
type inboxItem struct {
	Message  sms.Message
	Contact  *sms.Contact
	Answers  *sms.Message // the message it replies to
	OptOut   bool
	Answered int64 // set after an inline answer: the id of the answer sent
	Errors   map[string]string
	Body     string // the answer being written, kept on an error
}

type inboxData struct {
	Mine   bool
	Unread []inboxItem
	Read   []inboxItem
	Next   string
}

// inboxPage lists replies, unread ones first. Operators see the replies of
// the contacts they own unless they ask for all; managers the other way
// round.
func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	q := r.URL.Query()
	mine := p.Role == auth.RoleUser
	if v := q.Get("mine"); v != "" {
		mine = v == "1"
	}
	f := store.InboxFilter{Limit: 100}
	if mine {
		f.OwnerID = &p.ID
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			return sms.Invalid("invalid cursor", sms.FieldError{Field: "before", Message: "not a valid cursor"})
		}
		f.Before = n
	}
	ms, err := s.DB.Inbox(ctx, f)
	if err != nil {
		return err
	}
	items, err := s.inboxItems(ctx, ms)
	if err != nil {
		return err
	}
	d := inboxData{Mine: mine}
	for _, it := range items {
		if it.Message.ReadAt == nil {
			d.Unread = append(d.Unread, it)
		} else {
			d.Read = append(d.Read, it)
		}
	}
	if len(ms) == f.Limit {
		m := "0"
		if mine {
			m = "1"
		}
		d.Next = "/inbox?" + queryString("mine", m, "before", strconv.FormatInt(ms[len(ms)-1].ID, 10))
	}
	s.render(w, r, http.StatusOK, "inbox", "layout", d)
	return nil
}

// inboxItems joins replies with their contacts and the messages they
// answer, in two queries.
func (s *Server) inboxItems(ctx context.Context, ms []sms.Message) ([]inboxItem, error) {
	var cids, mids []int64
	for _, m := range ms {
		if m.ContactID != nil {
			cids = append(cids, *m.ContactID)
		}
		if m.ReplyTo != nil {
			mids = append(mids, *m.ReplyTo)
		}
	}
	cs, err := s.DB.ContactsForSend(ctx, cids, nil)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*sms.Contact{}
	for i := range cs {
		byID[cs[i].ID] = &cs[i]
	}
	answered, err := s.DB.MessagesByID(ctx, mids)
	if err != nil {
		return nil, err
	}
	msgByID := map[int64]*sms.Message{}
	for i := range answered {
		msgByID[answered[i].ID] = &answered[i]
	}
	out := make([]inboxItem, len(ms))
	for i, m := range ms {
		out[i] = inboxItem{Message: m, OptOut: sms.IsOptOut(m.Body, s.cfg.OptOutWords)}
		if m.ContactID != nil {
			out[i].Contact = byID[*m.ContactID]
		}
		if m.ReplyTo != nil {
			out[i].Answers = msgByID[*m.ReplyTo]
		}
	}
	return out, nil
}

func (s *Server) inboxItem(ctx context.Context, id int64) (inboxItem, error) {
	m, err := s.DB.GetMessage(ctx, id)
	if err != nil {
		return inboxItem{}, err
	}
	if m.Direction != sms.Inbound {
		return inboxItem{}, sms.Errorf(sms.KindNotFound, "message %d is not a reply", id)
	}
	items, err := s.inboxItems(ctx, []sms.Message{m})
	if err != nil {
		return inboxItem{}, err
	}
	return items[0], nil
}

func (s *Server) inboxRead(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.inboxItem(ctx, id); err != nil {
		return err
	}
	if err := s.DB.MarkRead(ctx, id); err != nil {
		return err
	}
	if !isHTMX(r) {
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return nil
	}
	it, err := s.inboxItem(ctx, id)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "inbox", "inbox-item", it)
	return nil
}

// inboxReply answers a reply inline: a transactional SMS to the same phone
// (an answer in a conversation is not marketing, and may go to someone who
// just opted out, to confirm it), and the reply is marked read.
func (s *Server) inboxReply(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	it, err := s.inboxItem(ctx, id)
	if err != nil {
		return err
	}
	body := r.PostFormValue("body")
	uid := p.ID
	ms, err := s.Dispatch.Submit(ctx, []dispatch.Request{{To: it.Message.Phone, ContactID: it.Message.ContactID, Body: body,
		Kind: sms.Transactional, CampaignID: it.Message.CampaignID, CreatedBy: &uid}})
	status := http.StatusOK
	if err != nil {
		if it.Errors = fieldErrors(err); it.Errors == nil {
			return err
		}
		it.Body, status = body, http.StatusUnprocessableEntity
	} else {
		if err := s.DB.MarkRead(ctx, id); err != nil {
			return err
		}
		if it, err = s.inboxItem(ctx, id); err != nil {
			return err
		}
		it.Answered = ms[0].ID
	}
	if !isHTMX(r) {
		if status != http.StatusOK {
			return sms.Invalid(errText(err))
		}
		s.flash(w, r, s.tr(r, "Answer queued."))
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, status, "inbox", "inbox-item", it)
	return nil
}

// unreadCount is the number on the inbox badge: the user's own unread
// replies for an operator, all of them for a manager.
func (s *Server) unreadCount(r *http.Request, u store.User) int {
	var owner *int64
	if auth.Role(u.Role) == auth.RoleUser {
		owner = &u.ID
	}
	n, err := s.DB.CountUnread(r.Context(), owner, 100)
	if err != nil {
		s.Logger.Warn("web: count unread", "err", err)
		return 0
	}
	return n
}
