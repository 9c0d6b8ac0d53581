package kolmeyatest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

func (h *Handler) statusRequest(r *http.Request, body []byte, _ string) answer {
	var in struct {
		ID        scalar `json:"id"`
		Reference scalar `json:"reference"`
	}
	if a := decode(body, &in); a != nil {
		return *a
	}
	if in.ID.text == "" && in.Reference.text == "" {
		return fail(http.StatusUnprocessableEntity, "Informe o id ou a reference da requisição.")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advanceLocked(h.now())
	req, found := h.requests[in.ID.text]
	if in.ID.text == "" {
		req, found = h.byRef[in.Reference.text]
	}
	if !found {
		return fail(http.StatusNotFound, "Requisição não encontrada.")
	}
	items := make([]statusItem, len(req.messages))
	for i, m := range req.messages {
		items[i] = itemOf(m, true)
	}
	status, code := "Válido", 2
	if req.rejected {
		status, code = "Rejeitado", 5
	}
	return ok(map[string]any{"id": req.id, "status": status, "status_code": code,
		"reference": nullable(req.reference), "messages": items})
}

func (h *Handler) statusMessage(r *http.Request, body []byte, _ string) answer {
	var in struct {
		ID scalar `json:"id"`
	}
	if a := decode(body, &in); a != nil {
		return *a
	}
	if in.ID.text == "" {
		return fail(http.StatusUnprocessableEntity, "O campo id é obrigatório.")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advanceLocked(h.now())
	m, found := h.messages[in.ID.text]
	if !found {
		return fail(http.StatusNotFound, "Mensagem não encontrada.")
	}
	return ok(itemOf(m, true))
}

func (h *Handler) balanceAnswer(*http.Request, []byte, string) answer {
	return ok(map[string]string{"balance": formatBalance(h.Balance())})
}

// formatBalance writes m as Kolmeya does: "R$9.397,30", "R$-5,00".
func formatBalance(m sms.Money) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	cents := (int64(m) + 50) / 100
	whole := strconv.FormatInt(cents/100, 10)
	var b strings.Builder
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteByte(whole[i])
	}
	return fmt.Sprintf("R$%s%s,%02d", sign, b.String(), cents%100)
}

func (h *Handler) segmentsAnswer(*http.Request, []byte, string) answer {
	return ok(map[string]any{"segments": h.segments})
}

func (h *Handler) apisAnswer(*http.Request, []byte, string) answer { return ok(h.apis) }

func (h *Handler) layoutsAnswer(*http.Request, []byte, string) answer {
	type item struct {
		ID       int    `json:"id"`
		Name     string `json:"name"`
		Type     string `json:"type"`
		Position int    `json:"position"`
	}
	type layout struct {
		ID    int    `json:"id"`
		Name  string `json:"name"`
		Items []item `json:"items"`
	}
	return ok([]layout{
		{ID: 1, Name: "Telefone e mensagem", Items: []item{{1, "telefone", "name", 1}, {2, "mensagem", "text", 2}}},
		{ID: 2, Name: "Telefone, nome e mensagem", Items: []item{{3, "telefone", "name", 1}, {4, "nome", "name", 2}, {5, "mensagem", "text", 3}}},
	})
}

// pageQuery is the body of the paginated reply endpoints.
type pageQuery struct {
	Period scalar `json:"period"`
	Page   scalar `json:"page"`
}

// since checks the query's period and returns the oldest time it covers and
// the page asked for.
func (h *Handler) since(body []byte) (time.Time, int, *answer) {
	var in pageQuery
	if a := decode(body, &in); a != nil {
		return time.Time{}, 0, a
	}
	period, okP := in.Period.int()
	pageN, okN := in.Page.int()
	if !okP || period < 0 || period > 168 {
		a := fail(http.StatusUnprocessableEntity, "O campo period deve ser um número de horas entre 1 e 168.")
		return time.Time{}, 0, &a
	}
	if !okN {
		a := fail(http.StatusUnprocessableEntity, "O campo page deve ser um número.")
		return time.Time{}, 0, &a
	}
	if period == 0 {
		period = 24
	}
	return h.now().Add(-time.Duration(period) * time.Hour), int(max(pageN, 1)), nil
}

// paginate answers one page of items as Laravel does.
func (h *Handler) paginate(r *http.Request, n int, pageN int, item func(i int) any) answer {
	per := h.pageSize
	last := max(1, (n+per-1)/per)
	from, to := (pageN-1)*per, min(pageN*per, n)
	data := []any{}
	for i := from; i < to; i++ {
		data = append(data, item(i))
	}
	base := "http://" + r.Host + r.URL.Path
	pageURL := func(p int) *string {
		if p < 1 || p > last {
			return nil
		}
		s := base + "?page=" + strconv.Itoa(p)
		return &s
	}
	out := map[string]any{
		"current_page": pageN, "data": data, "first_page_url": *pageURL(1), "last_page": last,
		"last_page_url": *pageURL(last), "next_page_url": pageURL(pageN + 1), "prev_page_url": pageURL(pageN - 1),
		"path": base, "per_page": per, "total": n, "from": nil, "to": nil,
	}
	if len(data) > 0 {
		out["from"], out["to"] = from+1, to
	}
	return ok(out)
}

func (h *Handler) repliesAnswer(r *http.Request, body []byte, _ string) answer {
	since, pageN, a := h.since(body)
	if a != nil {
		return *a
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var list []*reply
	for _, rp := range h.replies {
		if !rp.received.Before(since) {
			list = append(list, rp)
		}
	}
	return h.paginate(r, len(list), pageN, func(i int) any {
		rp := list[i]
		return map[string]any{"id": rp.id, "reply": rp.text, "received_at": h.stamp(rp.received),
			"message": map[string]any{"id": rp.msg.id, "reference": nullable(rp.msg.reference), "phone": phoneInt("55" + rp.msg.phone)},
			"request": map[string]any{"id": rp.msg.req.id, "reference": nullable(rp.msg.req.reference)}}
	})
}

func (h *Handler) webRepliesAnswer(r *http.Request, body []byte, _ string) answer {
	since, pageN, a := h.since(body)
	if a != nil {
		return *a
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var list []*webReply
	for _, wr := range h.webReplies {
		if !wr.received.Before(since) {
			list = append(list, wr)
		}
	}
	return h.paginate(r, len(list), pageN, func(i int) any {
		wr := list[i]
		var params any = []string{}
		if len(wr.Params) > 0 {
			params = wr.Params
		}
		return map[string]any{"id": wr.id, "job": wr.Job, "phone": phoneInt("55" + national(wr.Phone)),
			"message": wr.Message, "parameters": params, "send_at": h.stamp(wr.SendAt),
			"reply": wr.Reply, "received_at": h.stamp(wr.received)}
	})
}

func (h *Handler) reportJobs(*http.Request, []byte, string) answer {
	h.mu.Lock()
	defer h.mu.Unlock()
	since := h.now().Add(-7 * 24 * time.Hour)
	jobs := []map[string]any{}
	for _, r := range h.jobs {
		if !r.created.Before(since) {
			jobs = append(jobs, map[string]any{"id": r.job, "created": h.stamp(r.created), "approved": h.stamp(r.created)})
		}
	}
	return ok(map[string]any{"jobs": jobs})
}

// row is a message as the status reports show it.
func (h *Handler) rowLocked(m *message) map[string]any {
	var params any = []string{}
	if m.reference != "" {
		params = map[string]string{"reference": m.reference}
	}
	return map[string]any{
		"telefone": phoneInt("55" + m.phone), "nome": "", "cpf": "", "mensagem": m.body,
		"status": statusWords[m.code], "enviada_em": h.stampMinute(m.created), "parametros": params,
		"lote": m.req.reference, "job": m.req.job, "centro_custo": m.req.segment, "api": h.apis[0].Name,
		"broker": "kolmeyatest", "produto": "SMS",
	}
}

func (h *Handler) reportJobStatuses(_ *http.Request, _ []byte, jobID string) answer {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advanceLocked(h.now())
	req, found := h.requests[jobID]
	if n, err := strconv.ParseInt(jobID, 10, 64); err == nil {
		req, found = h.byJob[n]
	}
	if !found {
		return fail(http.StatusNotFound, "Job não encontrado.")
	}
	rows := make([]map[string]any, len(req.messages))
	for i, m := range req.messages {
		rows[i] = h.rowLocked(m)
	}
	return ok(map[string]any{"messages": rows})
}

// maxReportLimit is the largest "limit" of /sms/reports/statuses.
const maxReportLimit = 30000

// period reads and checks "start_at" and "end_at" ("yyyy-mm-dd HH:MM", São
// Paulo time): end not before start, at most maxDays apart, end not in the
// future. The end is inclusive: the answer covers its whole minute.
func (h *Handler) period(start, end string, maxDays int) (time.Time, time.Time, *answer) {
	bad := func(msg string) (time.Time, time.Time, *answer) {
		a := fail(http.StatusUnprocessableEntity, msg)
		return time.Time{}, time.Time{}, &a
	}
	if start == "" || end == "" {
		return bad("Os campos start_at e end_at são obrigatórios.")
	}
	s, err1 := time.ParseInLocation("2006-01-02 15:04", start, h.loc)
	e, err2 := time.ParseInLocation("2006-01-02 15:04", end, h.loc)
	switch {
	case err1 != nil || err2 != nil:
		return bad("As datas devem estar no formato Y-m-d H:i.")
	case e.Before(s):
		return bad("A data final deve ser posterior à data inicial.")
	case maxDays > 0 && e.Sub(s) > time.Duration(maxDays)*24*time.Hour:
		return bad(fmt.Sprintf("O período máximo é de %d dias.", maxDays))
	case e.After(h.now()):
		return bad("A data final não pode estar no futuro.")
	}
	return s, e.Add(time.Minute), nil
}

func (h *Handler) reportStatuses(_ *http.Request, body []byte, _ string) answer {
	var in struct {
		Start string `json:"start_at"`
		End   string `json:"end_at"`
		Limit scalar `json:"limit"`
	}
	if a := decode(body, &in); a != nil {
		return *a
	}
	limit, okL := in.Limit.int()
	if !okL || limit < 0 || limit > maxReportLimit {
		return fail(http.StatusUnprocessableEntity, fmt.Sprintf("O campo limit deve estar entre 1 e %d.", maxReportLimit))
	}
	if limit == 0 {
		limit = maxReportLimit
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advanceLocked(h.now())
	s, e, a := h.period(in.Start, in.End, 7)
	if a != nil {
		return *a
	}
	rows := []map[string]any{}
	for _, m := range h.order {
		if int64(len(rows)) >= limit {
			break
		}
		if !m.created.Before(s) && m.created.Before(e) {
			rows = append(rows, h.rowLocked(m))
		}
	}
	return ok(map[string]any{"messages": rows})
}

func (h *Handler) quantityJobs(_ *http.Request, body []byte, _ string) answer {
	var in struct {
		Period string `json:"period"`
	}
	if a := decode(body, &in); a != nil {
		return *a
	}
	month, err := time.ParseInLocation("2006-01", in.Period, h.loc)
	if err != nil {
		return fail(http.StatusUnprocessableEntity, "O campo period deve estar no formato Y-m.")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advanceLocked(h.now())
	next := month.AddDate(0, 1, 0)
	jobs := []map[string]any{}
	for _, r := range h.jobs {
		if r.created.Before(month) || !r.created.Before(next) {
			continue
		}
		delivered, failed := 0, 0
		for _, m := range r.messages {
			switch {
			case m.code == 3:
				delivered++
			case m.code > 3:
				failed++
			}
		}
		accessCount := 0
		for _, a := range h.accesses {
			for _, m := range r.messages {
				if m.phone == a.phone {
					accessCount++
					break
				}
			}
		}
		jobs = append(jobs, map[string]any{"id": r.job, "created": h.stamp(r.created), "quantidade": len(r.messages),
			"entregues": delivered, "nao_entregues": failed, "acessos": accessCount})
	}
	return ok(map[string]any{"jobs": jobs})
}

func (h *Handler) accessesAnswer(_ *http.Request, body []byte, _ string) answer {
	var in struct {
		Start string `json:"start_at"`
		End   string `json:"end_at"`
		Limit scalar `json:"limit"`
	}
	if a := decode(body, &in); a != nil {
		return *a
	}
	limit, okL := in.Limit.int()
	if !okL || limit < 0 || limit > 5000 {
		return fail(http.StatusUnprocessableEntity, "O campo limit deve estar entre 1 e 5000.")
	}
	if limit == 0 {
		limit = 5000
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s, e, a := h.period(in.Start, in.End, 0)
	if a != nil {
		return *a
	}
	list := []map[string]any{}
	total := 0
	for _, ac := range h.accesses {
		if ac.at.Before(s) || !ac.at.Before(e) {
			continue
		}
		total++
		if int64(len(list)) < limit {
			list = append(list, map[string]any{"id": ac.id, "phone": phoneInt("55" + ac.phone), "url": ac.url,
				"accessed_at": h.stamp(ac.at)})
		}
	}
	return ok(map[string]any{"accesses": list, "totalAccesses": total})
}

type blacklistBody struct {
	Phones []struct {
		Phone    scalar `json:"phone"`
		Document string `json:"document"`
	} `json:"phones"`
}

// blacklistPhones reads and checks a blacklist body: 1 to 1000 phones, each
// a Brazilian number.
func blacklistPhones(body []byte) (blacklistBody, *answer) {
	var in blacklistBody
	if a := decode(body, &in); a != nil {
		return in, a
	}
	if n := len(in.Phones); n < 1 || n > 1000 {
		a := fail(http.StatusUnprocessableEntity, "O campo phones deve ter entre 1 e 1000 itens.")
		return in, &a
	}
	for _, p := range in.Phones {
		if n := national(p.Phone.text); len(n) < 10 || len(n) > 11 || strings.Trim(p.Phone.text, "+0123456789") != "" {
			a := fail(http.StatusUnprocessableEntity, "Telefone inválido: "+p.Phone.text+".")
			return in, &a
		}
	}
	return in, nil
}

func (h *Handler) blacklistStore(_ *http.Request, body []byte, _ string) answer {
	in, a := blacklistPhones(body)
	if a != nil {
		return *a
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range in.Phones {
		h.blockLocked(national(p.Phone.text), p.Document)
	}
	return answer{status: http.StatusCreated}
}

func (h *Handler) blacklistDestroy(_ *http.Request, body []byte, _ string) answer {
	in, a := blacklistPhones(body)
	if a != nil {
		return *a
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range in.Phones {
		n := national(p.Phone.text)
		delete(h.blacklist[n], p.Document)
		if len(h.blacklist[n]) == 0 {
			delete(h.blacklist, n)
		}
	}
	return answer{status: http.StatusNoContent}
}

// jobLocked finds a job by its integer id or its request id.
func (h *Handler) jobLocked(id string) (*request, bool) {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		r, ok := h.byJob[n]
		return r, ok
	}
	r, ok := h.requests[id]
	return r, ok
}

func (h *Handler) jobPause(_ *http.Request, _ []byte, id string) answer {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.advanceLocked(h.now())
	r, found := h.jobLocked(id)
	switch {
	case !found:
		return fail(http.StatusNotFound, "Job não encontrado.")
	case r.finished():
		return fail(http.StatusUnprocessableEntity, "Job já finalizado")
	}
	r.paused = true
	return ok(map[string]any{"id": r.job, "status": "paused"})
}

func (h *Handler) jobPlay(_ *http.Request, _ []byte, id string) answer {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	h.advanceLocked(now)
	r, found := h.jobLocked(id)
	switch {
	case !found:
		return fail(http.StatusNotFound, "Job não encontrado.")
	case r.finished():
		return fail(http.StatusUnprocessableEntity, "Job já finalizado")
	}
	r.paused = false
	for _, ev := range r.held {
		h.scheduleLocked(r, ev.step, now)
	}
	r.held = nil
	h.advanceLocked(now)
	return ok(map[string]any{"id": r.job, "status": "playing"})
}

// loadSaoPaulo returns the zone of Kolmeya's timestamps.
func loadSaoPaulo() *time.Location {
	loc, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		return time.FixedZone("-03", -3*60*60)
	}
	return loc
}

// stamp writes t as Kolmeya's answers do: "16/11/2025 14:30:00".
func (h *Handler) stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(h.loc).Format("02/01/2006 15:04:05")
}

// stampMinute writes t to the minute: "12/11/2025 12:17".
func (h *Handler) stampMinute(t time.Time) string { return t.In(h.loc).Format("02/01/2006 15:04") }
