package kolmeyatest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

// maxMessages is how many messages one /sms/store request takes.
const maxMessages = 1000

// scalar is a request value sent as a JSON string or number; it keeps its
// text and whether it was a number, to echo it back the same way.
type scalar struct {
	text   string
	number bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || b[0] == 'n':
		*s = scalar{}
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = scalar{text: v}
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*s = scalar{text: n.String(), number: true}
	}
	return nil
}

// echo returns the value as it came: a number or a string.
func (s scalar) echo() any {
	if s.number {
		return json.Number(s.text)
	}
	return s.text
}

// int reads the value as a whole number; "" reads as 0.
func (s scalar) int() (int64, bool) {
	if strings.TrimSpace(s.text) == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s.text), 10, 64)
	return n, err == nil
}

type storeBody struct {
	Messages []struct {
		Phone     scalar `json:"phone"`
		Message   string `json:"message"`
		Reference scalar `json:"reference"`
	} `json:"messages"`
	Reference  scalar `json:"reference"`
	Segment    scalar `json:"tenant_segment_id"`
	API        scalar `json:"sms_api_id"`
	WebhookURL string `json:"webhook_url"`
}

type valid struct {
	ID        string  `json:"id"`
	Phone     int64   `json:"phone"`
	Reference *string `json:"reference"`
}

type invalid struct {
	Phone     any     `json:"phone"`
	Message   string  `json:"message"`
	Reference *string `json:"reference"`
	Error     string  `json:"error"`
}

type phoneRef struct {
	Phone     int64   `json:"phone"`
	Reference *string `json:"reference,omitempty"`
}

type phoneOnly struct {
	Phone int64 `json:"phone"`
}

type storeAnswer struct {
	ID         string      `json:"id"`
	Reference  *string     `json:"reference"`
	Valids     []valid     `json:"valids"`
	Invalids   []invalid   `json:"invalids"`
	Duplicates []phoneRef  `json:"duplicates"`
	Blacklist  []phoneOnly `json:"blacklist"`
	NotDisturb []phoneOnly `json:"not_disturb"`
}

func (h *Handler) store(r *http.Request, body []byte, _ string) answer {
	return h.send(body, false)
}

func (h *Handler) storeToken(r *http.Request, body []byte, _ string) answer {
	return h.send(body, true)
}

// send implements /sms/store and, with token, /sms/store-token: one
// message only, links and 0800 numbers refused, no do-not-disturb check.
func (h *Handler) send(body []byte, token bool) answer {
	var in storeBody
	if a := decode(body, &in); a != nil {
		return *a
	}
	switch n := len(in.Messages); {
	case n == 0:
		return fail(http.StatusUnprocessableEntity, "O campo messages é obrigatório.")
	case token && n != 1:
		return fail(http.StatusUnprocessableEntity, "A rota store-token aceita exatamente uma mensagem.")
	case n > maxMessages:
		return fail(http.StatusUnprocessableEntity, "O campo messages não pode ter mais do que 1000 itens.")
	}
	seg, okSeg := in.Segment.int()
	api, okAPI := in.API.int()
	segName, known := h.catalogued(h.segments, seg)
	if !okSeg || (seg != 0 && !known) {
		return fail(http.StatusUnprocessableEntity, "O centro de custo informado é inválido.")
	}
	if _, known := h.catalogued(h.apis, api); !okAPI || (api != 0 && !known) {
		return fail(http.StatusUnprocessableEntity, "A API informada é inválida.")
	}
	if in.WebhookURL != "" {
		if u, err := url.Parse(in.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fail(http.StatusUnprocessableEntity, "O campo webhook url deve ser uma URL válida.")
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	h.advanceLocked(now)
	hang := false
	if f := &h.faults; f.HangAfterAccept > 0 {
		f.HangAfterAccept--
		hang = f.HangAfterAccept == 0
	}
	h.jobSeq++
	req := &request{id: h.newIDLocked(kindRequest), job: h.jobSeq, reference: in.Reference.text, token: token,
		webhook: in.WebhookURL, segment: segName, created: now}
	if seg == 0 {
		req.segment = h.segments[0].Name
	}
	out := storeAnswer{ID: req.id, Reference: nullable(req.reference), Valids: []valid{}, Invalids: []invalid{},
		Duplicates: []phoneRef{}, Blacklist: []phoneOnly{}, NotDisturb: []phoneOnly{}}
	seen := make(map[string]bool, len(in.Messages))
	for _, m := range in.Messages {
		ref := m.Reference.text
		phone, plausible := mobile(m.Phone.text)
		bad := ""
		switch {
		case !plausible:
			bad = "Número de telefone inválido."
		case strings.TrimSpace(m.Message) == "":
			bad = "A mensagem não pode ser vazia."
		case token && hasLink(m.Message):
			bad = "Links não são permitidos no envio por token."
		case token && strings.Contains(strings.ReplaceAll(m.Message, " ", ""), "0800"):
			bad = "Números 0800 não são permitidos no envio por token."
		}
		switch {
		case bad != "":
			out.Invalids = append(out.Invalids, invalid{Phone: m.Phone.echo(), Message: m.Message, Reference: nullable(ref), Error: bad})
		case seen[phone]:
			out.Duplicates = append(out.Duplicates, phoneRef{Phone: phoneInt(phone), Reference: nullable(ref)})
		case h.blacklist[phone][""]:
			out.Blacklist = append(out.Blacklist, phoneOnly{Phone: phoneInt(phone)})
		case !token && h.notDisturb[phone]:
			out.NotDisturb = append(out.NotDisturb, phoneOnly{Phone: phoneInt(phone)})
		default:
			msg := &message{id: h.newIDLocked(kindMessage), req: req, reference: ref, phone: phone, body: m.Message,
				segments: max(1, sms.Segments(m.Message).Segments), code: 1, outcome: h.outcomeFor(ref), created: now, changed: now}
			req.messages = append(req.messages, msg)
			h.messages[msg.id] = msg
			h.byPhone[phone] = msg
			h.order = append(h.order, msg)
			if ref != "" {
				h.byMsgRef[ref] = msg
				h.accepted[ref]++
			}
			h.totalAccepted++
			h.balance -= h.price.Times(msg.segments)
			out.Valids = append(out.Valids, valid{ID: msg.id, Phone: phoneInt(phone), Reference: nullable(ref)})
		}
		if plausible {
			seen[phone] = true
		}
	}
	h.requests[req.id] = req
	h.byJob[req.job] = req
	h.jobs = append(h.jobs, req)
	if req.reference != "" {
		h.byRef[req.reference] = req
	}
	if len(req.messages) > 0 {
		h.scheduleLocked(req, 1, now.Add(h.sentAfter))
	}
	if hang {
		return answer{hang: true}
	}
	return ok(out)
}

func (h *Handler) catalogued(list []Catalogued, id int64) (string, bool) {
	for _, c := range list {
		if c.ID == id {
			return c.Name, true
		}
	}
	return "", false
}

// mobile returns the national digits of a plausible Brazilian mobile: 11
// digits (after an optional 55), an area code of two non-zero digits, then
// a 9.
func mobile(phone string) (string, bool) {
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; (c < '0' || c > '9') && c != '+' && c != ' ' && c != '-' && c != '(' && c != ')' {
			return "", false
		}
	}
	n := national(phone)
	if len(n) != 11 || n[0] == '0' || n[1] == '0' || n[2] != '9' {
		return n, false
	}
	return n, true
}

func hasLink(text string) bool {
	t := strings.ToLower(text)
	return strings.Contains(t, "http://") || strings.Contains(t, "https://") || strings.Contains(t, "www.")
}

// phoneInt returns national digits as the integer Kolmeya echoes.
func phoneInt(national string) int64 {
	n, _ := strconv.ParseInt(national, 10, 64)
	return n
}
