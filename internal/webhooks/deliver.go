package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// UserAgent is the User-Agent of every delivery.
const UserAgent = "Recado-Webhooks/1"

// lease is how long a claimed delivery is kept from other claims: longer
// than an attempt may take, so that only a dead deliverer loses one.
func (c Config) lease() time.Duration { return c.Timeout + 30*time.Second }

// Start runs the deliverer until Stop: it claims due deliveries, at most
// Concurrency at a time, and attempts them.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		return errors.New("webhooks: the deliverer is already running")
	}
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	workCtx, work := context.WithCancel(context.WithoutCancel(ctx))
	s.stop, s.work, s.done = stop, work, make(chan struct{})
	go s.loop(loopCtx, workCtx)
	return nil
}

// Stop stops claiming and waits for the attempts in flight until ctx ends;
// then it cancels them (their deliveries come due again when their lease
// runs out).
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	stop, work, done := s.stop, s.work, s.done
	s.stop, s.work, s.done = nil, nil, nil
	s.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	defer work()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		work()
		<-done
		return fmt.Errorf("webhooks: stop: %w", ctx.Err())
	}
}

// loop keeps up to Concurrency attempts running. It claims again when an
// attempt ends, so that the next event of the same message follows at once,
// and otherwise every PollInterval.
func (s *Service) loop(ctx, work context.Context) {
	defer close(s.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, s.cfg.Concurrency)
	ended := make(chan struct{}, 1)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-ended:
		}
		for {
			free := cap(slots) - len(slots)
			if free == 0 {
				break
			}
			jobs, err := s.claim(ctx, free)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("webhooks: claim deliveries", "err", err)
				}
				break
			}
			for _, j := range jobs {
				slots <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.run(work, j)
					<-slots
					select {
					case ended <- struct{}{}:
					default:
					}
				}()
			}
			if len(jobs) < free {
				break
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(s.cfg.PollInterval)
	}
}

// DeliverDue attempts the deliveries due now, up to Concurrency of them at
// once, and returns how many it attempted. The deliverer calls the same
// steps; tests call it to step through time.
func (s *Service) DeliverDue(ctx context.Context) (int, error) {
	jobs, err := s.claim(ctx, s.cfg.Concurrency)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { s.run(ctx, j) })
	}
	wg.Wait()
	return len(jobs), nil
}

// job is a claimed delivery ready to send.
type job struct {
	d      store.WebhookDelivery
	url    string
	secret string
	body   []byte
	err    string // why it cannot be sent (the secret does not open)
}

// claim takes up to n due deliveries and prepares their requests, with the
// messages as they are now.
func (s *Service) claim(ctx context.Context, n int) ([]job, error) {
	now := s.cfg.Now()
	if due, err := s.db.WebhooksDue(ctx, now); err != nil || !due {
		return nil, err
	}
	ds, err := s.db.ClaimWebhookDeliveries(ctx, now, now.Add(s.cfg.lease()), n)
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	endpoints, err := s.db.ListWebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int64]store.WebhookEndpoint{}
	for _, e := range endpoints {
		byID[e.ID] = e
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.MessageID
	}
	msgs, err := s.db.MessagesByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	byMsg := make(map[int64]sms.Message, len(msgs))
	var contactIDs []int64
	for _, m := range msgs {
		byMsg[m.ID] = m
		if m.Direction == sms.Inbound && m.ContactID != nil {
			contactIDs = append(contactIDs, *m.ContactID)
		}
	}
	// A reply names its contact's owner, the operator who answers it, so
	// that the receiving system can notify them.
	owners := map[int64]*int64{}
	if len(contactIDs) > 0 {
		cs, err := s.db.ContactsForSend(ctx, contactIDs, nil)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			owners[c.ID] = c.OwnerID
		}
	}
	type opened struct{ secret, err string }
	secrets := map[int64]opened{}
	jobs := make([]job, 0, len(ds))
	for _, d := range ds {
		e, ok := byID[d.EndpointID]
		if !ok { // deleted since the claim: its deliveries went with it
			continue
		}
		sec, ok := secrets[e.ID]
		if !ok {
			plain, err := s.box.Open(e.Secret)
			sec.secret = string(plain)
			if err != nil {
				sec.err = "cannot open the endpoint's secret (was RECADO_SECRET_KEY changed?): rotate it"
			}
			secrets[e.ID] = sec
		}
		j := job{d: d, url: e.URL, secret: sec.secret, err: sec.err}
		if j.body, err = json.Marshal(payload(d, byMsg, owners)); err != nil {
			return nil, fmt.Errorf("webhooks: encode event: %w", err)
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// payload is the body of a delivery: the event, and the message it is
// about with the state the event announces.
func payload(d store.WebhookDelivery, msgs map[int64]sms.Message, owners map[int64]*int64) Event {
	ev := Event{ID: strconv.FormatInt(d.ID, 10), Type: EventType(d.Event), At: d.At.UTC(), Detail: d.Detail}
	state, isMessage := strings.CutPrefix(d.Event, "message.")
	isReply := d.Event == string(ReplyReceived) || d.Event == string(ContactOptedOut)
	if !isMessage && !isReply {
		return ev
	}
	if isReply {
		state = string(sms.StateReceived)
	}
	em := &EventMessage{ID: d.MessageID, State: state}
	if m, ok := msgs[d.MessageID]; ok { // a message deleted since is announced by id alone
		em.Reference, em.Phone, em.Provider = m.Reference, m.Phone, m.Provider
		em.ProviderMessageID, em.ErrorCode, em.ErrorText, em.CampaignID = m.ProviderMessageID, m.ErrorCode, m.ErrorText, m.CampaignID
		if isReply {
			em.Body, em.ContactID, em.ReplyTo = m.Body, m.ContactID, m.ReplyTo
			if m.ContactID != nil {
				em.OwnerID = owners[*m.ContactID]
			}
		}
	}
	ev.Message = em
	return ev
}

// run attempts one delivery and records the outcome. An attempt cut short
// by Stop is not recorded: the delivery comes due again with its lease.
func (s *Service) run(ctx context.Context, j job) {
	status, errText := 0, j.err
	if errText == "" {
		status, errText = s.post(ctx, j)
		if ctx.Err() != nil {
			return
		}
	}
	a := s.outcome(j.d, status, errText)
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := s.db.RecordWebhookAttempt(recCtx, j.d.ID, a); err != nil {
		s.log.Warn("webhooks: record attempt", "delivery", j.d.ID, "err", err)
		return
	}
	if a.Status == store.DeliveryFailed {
		s.log.Warn("webhooks: gave up on a delivery", "delivery", j.d.ID, "endpoint", j.d.EndpointID,
			"event", j.d.Event, "attempts", j.d.Attempts+1, "last_error", a.Error)
	}
}

// post sends one delivery and returns the HTTP status (0 when no answer
// came) and, unless it is 2xx, what went wrong.
func (s *Service) post(ctx context.Context, j job) (int, string) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(j.body))
	if err != nil {
		return 0, clip(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderEvent, j.d.Event)
	req.Header.Set(HeaderDelivery, strconv.FormatInt(j.d.ID, 10))
	req.Header.Set(HeaderSignature, Sign(j.secret, s.cfg.Now(), j.body))
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return 0, fmt.Sprintf("no answer within %s", s.cfg.Timeout)
		}
		return 0, clip(err.Error())
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode/100 == 2 {
		return resp.StatusCode, ""
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if t := strings.TrimSpace(string(snippet)); t != "" {
		msg += ": " + t
	}
	return resp.StatusCode, clip(msg)
}

// outcome decides what an attempt leads to: delivered on 2xx; otherwise
// another attempt after the backoff, unless that falls past GiveUpAfter
// since the event (or its resend), when the delivery fails.
func (s *Service) outcome(d store.WebhookDelivery, status int, errText string) store.DeliveryAttempt {
	now := s.cfg.Now()
	a := store.DeliveryAttempt{HTTPStatus: status, Error: errText, At: now}
	if errText == "" && status/100 == 2 {
		a.Status = store.DeliveryDelivered
		return a
	}
	wait := s.cfg.Backoff[min(d.Attempts, len(s.cfg.Backoff)-1)]
	start := d.CreatedAt
	if d.ResentAt != nil {
		start = *d.ResentAt
	}
	next := now.Add(wait)
	if next.After(start.Add(s.cfg.GiveUpAfter)) {
		a.Status = store.DeliveryFailed
		return a
	}
	a.Status, a.Next = store.DeliveryPending, &next
	return a
}

func clip(s string) string {
	if len(s) > 500 {
		return s[:500] + "…"
	}
	return s
}
