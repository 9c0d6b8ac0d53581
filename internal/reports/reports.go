// Package reports turns messages into figures: volume, delivery, failure
// reasons, segments and cost per campaign, provider, day, month and
// operator, as JSON or CSV; and reconciles Recado's states with Kolmeya's
// own report, flagging the messages where they differ.
package reports

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/csvout"

	"github.com/recado-sms/recado/internal/provider/kolmeya"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Service builds reports.
type Service struct {
	db        *store.DB
	providers *providers.Service
}

// New returns a Service.
func New(db *store.DB, ps *providers.Service) *Service { return &Service{db: db, providers: ps} }

// WriteCSV writes report rows as CSV with a header, one column per
// dimension then the figures; money with a dot, as the API writes it.
func WriteCSV(w io.Writer, by []string, rows []store.ReportRow) error {
	cw := csv.NewWriter(w)
	head := append([]string{}, by...)
	for _, b := range by {
		if b == store.ByCampaign || b == store.ByOperator {
			head = append(head, b+"_name")
		}
	}
	head = append(head, "messages", "sent", "delivered", "failed", "rejected", "expired", "canceled", "pending",
		"segments", "cost_brl", "delivery_rate")
	cw.Write(head)
	for _, r := range rows {
		rec := append([]string{}, r.Keys...)
		for i, b := range by {
			if b == store.ByCampaign || b == store.ByOperator {
				rec = append(rec, csvout.Cell(r.Labels[i])) // names people typed
			}
		}
		for _, n := range []int64{r.Messages, r.Sent, r.Delivered, r.Failed, r.Rejected, r.Expired, r.Canceled, r.Pending, r.Segments} {
			rec = append(rec, strconv.FormatInt(n, 10))
		}
		rec = append(rec, r.CostText, strconv.FormatFloat(r.DeliveryRate, 'f', 4, 64))
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// Difference is a message whose state Recado and Kolmeya tell differently.
type Difference struct {
	MessageID     int64     `json:"message_id,omitempty"`
	Reference     string    `json:"reference,omitempty"`
	Phone         string    `json:"phone"`
	RecadoState   sms.State `json:"recado_state,omitempty"`
	KolmeyaStatus string    `json:"kolmeya_status"`
	KolmeyaState  sms.State `json:"kolmeya_state,omitempty"`
	Problem       string    `json:"problem" doc:"state_differs, unknown_to_recado, missing_at_kolmeya, unknown_status"`
}

// Reconciliation compares Recado's messages to a provider with Kolmeya's
// report of the same period.
type Reconciliation struct {
	Provider    string       `json:"provider"`
	From        time.Time    `json:"from"`
	To          time.Time    `json:"to"`
	Recado      int          `json:"recado" doc:"Messages Recado sent through the provider in the period"`
	Kolmeya     int          `json:"kolmeya" doc:"Rows of Kolmeya's report"`
	Matched     int          `json:"matched"`
	Agree       int          `json:"agree"`
	Differences []Difference `json:"differences"`
	Truncated   bool         `json:"truncated,omitempty" doc:"Kolmeya's report hit its row limit in one minute: rows may be missing"`
}

// kolmeyaWord maps Kolmeya's status words, accents and case aside, to
// states.
var kolmeyaWord = map[string]sms.State{
	"tentando enviar": sms.StateSent, "enviando": sms.StateSent, "enviado": sms.StateSent, "enviada": sms.StateSent,
	"entregue": sms.StateDelivered, "nao entregue": sms.StateFailed, "falha": sms.StateFailed,
	"rejeitado": sms.StateRejected, "rejeitada": sms.StateRejected, "expirado": sms.StateExpired, "expirada": sms.StateExpired,
}

// StateForWord reads a status word of Kolmeya's reports.
func StateForWord(w string) (sms.State, bool) {
	s, ok := kolmeyaWord[strings.ToLower(strings.TrimSpace(sms.FoldGSM(w)))]
	return s, ok
}

// MaxReconcile is the most messages of Recado's one reconciliation reads.
const MaxReconcile = 200000

// Reconcile asks Kolmeya for its report of [from, to) and compares it with
// Recado's messages to the provider in that period. A row is matched to a
// message by the reference Kolmeya keeps in its parameters, else by phone
// and request reference ("lote"), else by phone and text. Messages still
// sending are left out; a message Kolmeya reports in a final state Recado
// has not reached, or the other way round, is a difference.
func (s *Service) Reconcile(ctx context.Context, providerName string, from, to time.Time) (Reconciliation, error) {
	out := Reconciliation{Provider: providerName, From: from, To: to, Differences: []Difference{}}
	p, rec, err := s.providers.Lookup(ctx, providerName)
	if err != nil {
		return out, err
	}
	kp, ok := p.(*kolmeya.Provider)
	if !ok {
		return out, sms.Invalid("not a Kolmeya provider", sms.FieldError{Field: "provider", Message: "reconciliation needs a provider of type kolmeya", Value: rec.Type})
	}
	rows, err := kp.Client().ReportStatuses(ctx, from, to)
	if err != nil {
		if !errors.Is(err, kolmeya.ErrReportTruncated) {
			return out, fmt.Errorf("reports: reconcile: %w", err)
		}
		out.Truncated = true
	}
	msgs, err := s.db.SentInWindow(ctx, rec.Name, from.Add(-time.Hour), to.Add(time.Hour), MaxReconcile)
	if err != nil {
		return out, err
	}
	out.Kolmeya = len(rows)
	byRef := make(map[string]*sms.Message, len(msgs))
	byPhoneBody := map[string]*sms.Message{}
	inPeriod := 0
	for i := range msgs {
		m := &msgs[i]
		byRef[m.Reference] = m
		byPhoneBody[m.Phone+"\x00"+m.Body] = m
		if !m.CreatedAt.Before(from) && m.CreatedAt.Before(to) {
			inPeriod++
		}
	}
	out.Recado = inPeriod
	seen := map[int64]bool{}
	for _, r := range rows {
		phone := "+" + strings.TrimPrefix(string(r.Phone), "+")
		if !strings.HasPrefix(phone, "+55") {
			phone = "+55" + strings.TrimPrefix(phone, "+")
		}
		var m *sms.Message
		if ref := r.Parameters["reference"]; ref != "" {
			m = byRef[ref]
		}
		if m == nil {
			m = byPhoneBody[phone+"\x00"+string(r.Message)]
		}
		state, known := StateForWord(string(r.Status))
		d := Difference{Phone: phone, KolmeyaStatus: string(r.Status), KolmeyaState: state}
		if m == nil {
			d.Problem = "unknown_to_recado"
			out.Differences = append(out.Differences, d)
			continue
		}
		seen[m.ID] = true
		out.Matched++
		d.MessageID, d.Reference, d.RecadoState = m.ID, m.Reference, m.State
		switch {
		case !known:
			d.Problem = "unknown_status"
		case state == m.State:
			out.Agree++
			continue
		default:
			d.Problem = "state_differs"
		}
		out.Differences = append(out.Differences, d)
	}
	if !out.Truncated {
		for i := range msgs {
			m := &msgs[i]
			if !seen[m.ID] && !m.CreatedAt.Before(from) && m.CreatedAt.Before(to) {
				out.Differences = append(out.Differences, Difference{MessageID: m.ID, Reference: m.Reference, Phone: m.Phone,
					RecadoState: m.State, Problem: "missing_at_kolmeya"})
			}
		}
	}
	return out, nil
}
