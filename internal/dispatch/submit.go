package dispatch

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Request asks for one outbound message. To or ContactID (or both) name the
// recipient; To wins when both are given.
type Request struct {
	To         string
	ContactID  *int64
	Body       string
	Provider   string          // name; the default provider when empty
	Kind       sms.MessageKind // marketing when empty
	Reference  string          // the caller's unique reference; generated when empty
	SendAt     *time.Time      // not before this time; now when nil
	CampaignID *int64
	TemplateID *int64
	CreatedBy  *int64
}

// MaxBatch is the most messages one Submit takes.
const MaxBatch = 1000

var validReference = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)

// prepared is a validated request with what Submit worked out for it.
type prepared struct {
	store.NewMessage
	sendAt *time.Time
}

// Submit validates requests, stores them as queued messages and enqueues
// their sending, all in one transaction: either every message is accepted or
// none is, and the error lists each bad field by its position
// ("messages[3].to" for the fourth). It returns the stored messages in the
// order given. Small calls share their transaction with the calls that
// arrive meanwhile (group.go), each still all-or-nothing.
func (d *Dispatcher) Submit(ctx context.Context, reqs []Request) ([]sms.Message, error) {
	if len(reqs) == 0 {
		return nil, sms.Invalid("no messages", sms.FieldError{Field: "messages", Message: "at least one message is required"})
	}
	if len(reqs) > MaxBatch {
		return nil, sms.Invalid("too many messages", sms.FieldError{Field: "messages",
			Message: fmt.Sprintf("at most %d messages per request, got %d", MaxBatch, len(reqs))})
	}
	field := func(i int, name string) string {
		if len(reqs) == 1 {
			return name
		}
		return fmt.Sprintf("messages[%d].%s", i, name)
	}
	c, err := d.check(ctx, reqs)
	if err != nil {
		return nil, err
	}
	if len(c.problems) > 0 {
		bad := make([]sms.FieldError, len(c.problems))
		for i, p := range c.problems {
			bad[i] = sms.FieldError{Field: field(p.Index, p.Field), Message: p.Message, Value: p.Value}
		}
		return nil, sms.Invalid("the request has invalid messages", bad...)
	}
	maxBatch := map[string]int{}
	for _, lp := range c.provs {
		maxBatch[lp.rec.Name] = max(1, lp.p.Limits().MaxBatch)
	}
	if len(c.preps) > maxGroupedCall {
		// A large call fills batches of its own: it gains nothing from
		// company and would hold the others back.
		return d.storeAlone(ctx, &submitCall{preps: c.preps, maxBatch: maxBatch})
	}
	return d.submitGrouped(ctx, &submitCall{preps: c.preps, maxBatch: maxBatch, done: make(chan submitResult, 1)})
}

// storeCalls stores the calls' messages in tx as queued, in batches shared
// by the calls, and enqueues one send job per batch. It returns the stored
// messages of all the calls, call after call, each call's in its order.
func (d *Dispatcher) storeCalls(ctx context.Context, tx *store.Tx, calls []*submitCall) ([]sms.Message, error) {
	// Group by provider and cut into the provider's batch size; messages
	// with another send time, campaign, template or creator go in batches
	// of their own (a batch's messages share those).
	type groupKey struct {
		provider                      string
		sendAt                        time.Time
		campaign, template, createdBy int64
	}
	idOr0 := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	total := 0
	for _, c := range calls {
		total += len(c.preps)
	}
	all := make([]*prepared, 0, total)
	limits := map[string]int{}
	groups := map[groupKey][]int{}
	var order []groupKey
	for _, c := range calls {
		for name, n := range c.maxBatch {
			limits[name] = n
		}
		for i := range c.preps {
			p := &c.preps[i]
			k := groupKey{provider: p.Provider, campaign: idOr0(p.CampaignID), template: idOr0(p.TemplateID), createdBy: idOr0(p.CreatedBy)}
			if p.sendAt != nil {
				k.sendAt = p.sendAt.UTC()
			}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], len(all))
			all = append(all, p)
		}
	}
	out := make([]sms.Message, total)
	var jobs []river.InsertManyParams
	for _, k := range order {
		for idx := range chunk(groups[k], max(1, limits[k.provider])) {
			batchID, err := tx.CreateBatch(ctx, k.provider, d.refs.next("rb"))
			if err != nil {
				return nil, err
			}
			msgs := make([]store.NewMessage, len(idx))
			for j, i := range idx {
				msgs[j] = all[i].NewMessage
				msgs[j].BatchID = &batchID
			}
			stored, err := tx.InsertMessages(ctx, msgs, sms.SourceAPI)
			if err != nil {
				return nil, err
			}
			for j, i := range idx {
				out[i] = stored[j]
			}
			opts := &river.InsertOpts{}
			if !k.sendAt.IsZero() {
				opts.ScheduledAt = k.sendAt
			}
			jobs = append(jobs, river.InsertManyParams{Args: SendArgs{BatchID: batchID}, InsertOpts: opts})
		}
	}
	if _, err := d.river.InsertManyTx(ctx, tx.Tx, jobs); err != nil {
		return nil, store.DBError("dispatch: enqueue", err)
	}
	return out, nil
}

// chunk yields the positions of s in pieces of at most n.
func chunk(s []int, n int) func(func([]int) bool) {
	return func(yield func([]int) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// errMessage is the user-facing text of a domain error.
func errMessage(err error) string {
	if e, ok := err.(*sms.Error); ok && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// Cancel cancels a message that has not reached the provider yet.
func (d *Dispatcher) Cancel(ctx context.Context, id int64, by string) (sms.Message, error) {
	var m sms.Message
	err := d.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		m, err = tx.LockMessage(ctx, id)
		if err != nil {
			return err
		}
		from := m.State
		ev, err := m.Transition(sms.StateCanceled, d.cfg.Now(), sms.SourceAPI, by)
		if err != nil {
			return sms.Errorf(sms.KindConflict, "message %d is %s and can no longer be canceled", id, from)
		}
		return tx.SaveMessages(ctx, []store.MessageUpdate{{Message: m, From: from}}, []sms.Event{ev})
	})
	return m, err
}
