// Package campaign runs campaigns: a template or body sent to an audience
// (lists, tags, segments, imported files) within a sending window, at a
// speed, with a frequency cap, skipping who must not get it and saying why.
//
// Starting a campaign writes its recipients once, set-based, each pending or
// skipped with a reason. A feeder job then turns the next chunk of pending
// recipients into messages and send batches in one transaction (through
// dispatch.QueueChunk), inside the window and at the speed asked, moving a
// cursor with them: a crash rolls a chunk back whole, and a restart resumes
// after the last chunk committed, so nobody gets the message twice. The send
// worker asks Gate before sending a campaign's batch: a paused campaign's
// batches wait, a canceled one's are canceled.
package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Service creates, starts, pauses, resumes and cancels campaigns, and feeds
// running ones to the send path.
type Service struct {
	db        *store.DB
	providers *providers.Service
	d         *dispatch.Dispatcher
	log       *slog.Logger
	now       func() time.Time

	// ChunkSize is the most recipients one feed transaction turns into
	// messages (5000).
	ChunkSize int
	// RecipientChunk is how many contacts of the audience one transaction
	// writes as recipients when a campaign starts (20000: well under a
	// second of SQLite's one writer, which a million in one transaction
	// would hold for half a minute).
	RecipientChunk int
	// MaxInFlight is how many queued messages a campaign may have before
	// the feeder waits for the send workers (20000): it keeps pausing
	// prompt and memory bounded.
	MaxInFlight int64
	// Slice is how long one run of the feeder job works before it yields
	// (20 s).
	Slice time.Duration
	// PauseCheck is how long a paused campaign's batch waits before it asks
	// again (5 s).
	PauseCheck time.Duration

	gateMu sync.Mutex
	gates  map[int64]gateEntry
	stop   func()
}

type gateEntry struct {
	at     time.Time
	state  string
	window Window
	sched  *time.Time
}

// New returns a Service; SetDispatcher must be called before campaigns run.
func New(db *store.DB, ps *providers.Service, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, providers: ps, log: log, now: now, ChunkSize: 5000, RecipientChunk: 20000, MaxInFlight: 20000,
		Slice: 20 * time.Second, PauseCheck: 5 * time.Second, gates: map[int64]gateEntry{}}
}

// SetDispatcher gives the Service the send path (built after the Service
// registered its worker).
func (s *Service) SetDispatcher(d *dispatch.Dispatcher) { s.d = d }

// Input creates a campaign or changes a draft: nil fields stay.
type Input struct {
	Name          *string
	TemplateID    *int64
	Body          *string
	Kind          *sms.MessageKind
	Provider      *string
	Audience      *store.Audience
	Vars          map[string]string
	ScheduleAt    *time.Time
	Window        *Window
	RatePerMinute *int
	CapMessages   *int
	CapDays       *int
	OnMissing     *string
}

// apply validates in into c. Templates are copied: a campaign keeps the body
// it was made with.
func (s *Service) apply(ctx context.Context, c *store.Campaign, in Input) error {
	var bad []sms.FieldError
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	if c.Name == "" || utf8.RuneCountInString(c.Name) > 100 {
		bad = append(bad, sms.FieldError{Field: "name", Message: "1 to 100 characters"})
	}
	if in.TemplateID != nil {
		t, err := s.db.GetTemplate(ctx, *in.TemplateID)
		if err != nil {
			if sms.KindOf(err) != sms.KindNotFound {
				return err
			}
			bad = append(bad, sms.FieldError{Field: "template_id", Message: "no such template", Value: *in.TemplateID})
		} else {
			c.TemplateID, c.Body = &t.ID, t.Body
			if in.Kind == nil && c.Kind == "" {
				c.Kind = t.Kind
			}
		}
	}
	if in.Body != nil {
		c.Body = *in.Body
	}
	switch {
	case strings.TrimSpace(c.Body) == "":
		bad = append(bad, sms.FieldError{Field: "body", Message: "a body or a template_id is required"})
	case utf8.RuneCountInString(c.Body) > 1600:
		bad = append(bad, sms.FieldError{Field: "body", Message: "at most 1600 characters"})
	default:
		if _, err := sms.ParseTemplate(c.Body); err != nil {
			if e, ok := err.(*sms.Error); ok {
				bad = append(bad, e.Fields...)
			}
		}
	}
	if in.Kind != nil {
		c.Kind = *in.Kind
	}
	if c.Kind == "" {
		c.Kind = sms.Marketing
	}
	if !c.Kind.Valid() {
		bad = append(bad, sms.FieldError{Field: "kind", Message: "marketing or transactional", Value: string(c.Kind)})
	}
	if in.Provider != nil {
		c.Provider = strings.TrimSpace(*in.Provider)
	}
	if _, _, err := s.providers.Get(ctx, c.Provider); err != nil {
		if k := sms.KindOf(err); k != sms.KindNotFound && k != sms.KindConflict {
			return err
		}
		bad = append(bad, sms.FieldError{Field: "provider", Message: err.Error(), Value: c.Provider})
	}
	if in.Audience != nil {
		c.Audience = *in.Audience
	}
	bad = append(bad, s.checkAudience(ctx, c.Audience)...)
	if in.Vars != nil {
		c.Vars = map[string]string{}
		for k, v := range in.Vars {
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" || len(k) > 64 || len(v) > 500 {
				bad = append(bad, sms.FieldError{Field: "vars." + k, Message: "names of 1 to 64 characters, values up to 500"})
			}
			c.Vars[k] = v
		}
	}
	if in.ScheduleAt != nil {
		if in.ScheduleAt.IsZero() {
			c.ScheduleAt = nil
		} else {
			t := in.ScheduleAt.UTC()
			c.ScheduleAt = &t
		}
	}
	if in.Window != nil {
		if err := in.Window.Validate(); err != nil {
			if e, ok := err.(*sms.Error); ok {
				bad = append(bad, e.Fields...)
			}
		}
		raw, _ := json.Marshal(in.Window)
		c.Window = raw
	}
	if in.RatePerMinute != nil {
		c.RatePerMinute = *in.RatePerMinute
	}
	if c.RatePerMinute < 0 || c.RatePerMinute > 10_000_000 {
		bad = append(bad, sms.FieldError{Field: "rate_per_minute", Message: "0 (no limit) to 10000000"})
	}
	if in.CapMessages != nil {
		c.CapMessages = *in.CapMessages
	}
	if in.CapDays != nil {
		c.CapDays = *in.CapDays
	}
	if c.CapMessages < 0 || c.CapDays < 0 || c.CapDays > 365 || (c.CapMessages > 0) != (c.CapDays > 0) {
		bad = append(bad, sms.FieldError{Field: "cap_messages", Message: "a frequency cap is N messages (cap_messages) in D days (cap_days, up to 365), both or neither"})
	}
	if in.OnMissing != nil {
		c.OnMissing = *in.OnMissing
	}
	if c.OnMissing == "" {
		c.OnMissing = "skip"
	}
	if c.OnMissing != "skip" && c.OnMissing != "blank" {
		bad = append(bad, sms.FieldError{Field: "on_missing", Message: `"skip" (the contact) or "blank" (send with the field empty)`, Value: c.OnMissing})
	}
	if len(bad) > 0 {
		return sms.Invalid("invalid campaign", bad...)
	}
	return nil
}

func (s *Service) checkAudience(ctx context.Context, a store.Audience) []sms.FieldError {
	if a.Empty() {
		return []sms.FieldError{{Field: "audience", Message: "name at least one list, tag, segment or import"}}
	}
	var bad []sms.FieldError
	for i, id := range a.Lists {
		if _, err := s.db.GetList(ctx, id); err != nil {
			bad = append(bad, sms.FieldError{Field: fmt.Sprintf("audience.lists[%d]", i), Message: "no such list", Value: id})
		}
	}
	for i, id := range a.Segments {
		if _, err := s.db.GetSegment(ctx, id); err != nil {
			bad = append(bad, sms.FieldError{Field: fmt.Sprintf("audience.segments[%d]", i), Message: "no such segment", Value: id})
		}
	}
	for i, id := range a.Imports {
		im, err := s.db.GetImport(ctx, id)
		if err != nil || im.ListID == nil {
			bad = append(bad, sms.FieldError{Field: fmt.Sprintf("audience.imports[%d]", i), Message: "no such import with a list", Value: id})
		}
	}
	for i, t := range a.Tags {
		if strings.TrimSpace(t) == "" || len(t) > 64 {
			bad = append(bad, sms.FieldError{Field: fmt.Sprintf("audience.tags[%d]", i), Message: "1 to 64 characters"})
		}
	}
	return bad
}

// Create validates and stores a campaign as a draft.
func (s *Service) Create(ctx context.Context, in Input, by *int64) (store.Campaign, error) {
	c := store.Campaign{CreatedBy: by}
	if err := s.apply(ctx, &c, in); err != nil {
		return c, err
	}
	return s.db.CreateCampaign(ctx, c)
}

// Update changes a draft.
func (s *Service) Update(ctx context.Context, id int64, in Input) (store.Campaign, error) {
	c, err := s.db.GetCampaign(ctx, id)
	if err != nil {
		return c, err
	}
	if c.State != store.CampaignDraft {
		return c, sms.Errorf(sms.KindConflict, "campaign %d is %s: only drafts can be changed", id, c.State)
	}
	if err := s.apply(ctx, &c, in); err != nil {
		return c, err
	}
	return s.db.UpdateCampaign(ctx, c)
}

// window is c's sending window: its own, or the default of its kind.
func window(c store.Campaign) Window {
	if len(c.Window) > 0 {
		var w Window
		if json.Unmarshal(c.Window, &w) == nil {
			return w
		}
	}
	if c.Kind == sms.Transactional {
		return AlwaysOpen()
	}
	return DefaultMarketingWindow()
}

// vars are a campaign's variables: its own, and campanha (its name) unless
// set.
func vars(c store.Campaign) map[string]string {
	v := map[string]string{"campanha": c.Name, "campaign": c.Name}
	for k, x := range c.Vars {
		v[k] = x
	}
	return v
}

// FeedArgs is the queue job that feeds one campaign.
type FeedArgs struct {
	CampaignID int64 `json:"campaign_id"`
}

// Kind names the job for the queue.
func (FeedArgs) Kind() string { return "campaign_feed" }

// InsertOpts puts the job on the campaigns queue. Two jobs of one campaign
// do no harm: only the holder of the campaign's feeder lease feeds, and the
// other ends.
func (FeedArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 25}
}

// Queue is the queue feeder jobs run on.
const Queue = "campaigns"

func (s *Service) enqueue(ctx context.Context, tx *store.Tx, id int64, at *time.Time) error {
	opts := &river.InsertOpts{}
	if at != nil {
		opts.ScheduledAt = *at
	}
	return s.d.EnqueueTx(ctx, tx, FeedArgs{CampaignID: id}, opts)
}

// Start starts a draft now, or schedules it for its schedule_at.
func (s *Service) Start(ctx context.Context, id int64) (store.Campaign, error) {
	c, err := s.db.GetCampaign(ctx, id)
	if err != nil {
		return c, err
	}
	if c.State != store.CampaignDraft {
		return c, sms.Errorf(sms.KindConflict, "campaign %d is %s: only a draft can be started", id, c.State)
	}
	if err := s.apply(ctx, &c, Input{}); err != nil { // the audience or provider may have gone since
		return c, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if c.ScheduleAt != nil && c.ScheduleAt.After(s.now()) {
			if err := tx.SetCampaignState(ctx, id, []string{store.CampaignDraft}, store.CampaignScheduled); err != nil {
				return err
			}
			return s.enqueue(ctx, tx, id, c.ScheduleAt)
		}
		if err := tx.SetCampaignState(ctx, id, []string{store.CampaignDraft}, store.CampaignRunning); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, id, nil)
	})
	s.forget(id)
	if err != nil {
		return c, err
	}
	return s.db.GetCampaign(ctx, id)
}

// Pause stops a running or scheduled campaign from making and sending more
// messages: the feeder stops, and its queued batches wait.
func (s *Service) Pause(ctx context.Context, id int64) (store.Campaign, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetCampaignState(ctx, id, []string{store.CampaignRunning, store.CampaignScheduled}, store.CampaignPaused)
	})
	s.forget(id)
	if err != nil {
		return store.Campaign{}, err
	}
	return s.db.GetCampaign(ctx, id)
}

// Resume continues a paused campaign where it stopped; one paused before
// its schedule waits for it again.
func (s *Service) Resume(ctx context.Context, id int64) (store.Campaign, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.LockCampaign(ctx, id)
		if err != nil {
			return err
		}
		if c.State != store.CampaignPaused {
			return sms.Errorf(sms.KindConflict, "campaign %d is %s: only a paused campaign can be resumed", id, c.State)
		}
		if c.StartedAt == nil && c.ScheduleAt != nil && c.ScheduleAt.After(s.now()) {
			// Paused before its time: it goes back to waiting for it.
			if err := tx.SetCampaignState(ctx, id, []string{store.CampaignPaused}, store.CampaignScheduled); err != nil {
				return err
			}
			return s.enqueue(ctx, tx, id, c.ScheduleAt)
		}
		if err := tx.SetCampaignState(ctx, id, []string{store.CampaignPaused}, store.CampaignRunning); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, id, nil)
	})
	s.forget(id)
	if err != nil {
		return store.Campaign{}, err
	}
	return s.db.GetCampaign(ctx, id)
}

// Cancel ends a campaign: recipients not yet fed are canceled, and so are
// its messages still queued; messages already handed to the provider go on.
func (s *Service) Cancel(ctx context.Context, id int64) (store.Campaign, error) {
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		err := tx.SetCampaignState(ctx, id, []string{store.CampaignDraft, store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused}, store.CampaignCanceled)
		if err != nil {
			return err
		}
		if err := tx.CancelRecipients(ctx, id); err != nil {
			return err
		}
		_, err = tx.CancelQueued(ctx, id, 0, "campaign canceled")
		return err
	})
	s.forget(id)
	if err != nil {
		return store.Campaign{}, err
	}
	return s.db.GetCampaign(ctx, id)
}

// Gate tells the send worker whether a campaign's batch may go now: a paused
// or scheduled campaign's waits, as does one outside its sending window
// (until it opens); a canceled one's is canceled. It reads the campaign at
// most once a second.
func (s *Service) Gate(ctx context.Context, id int64) (time.Duration, bool, error) {
	now := s.now()
	s.gateMu.Lock()
	e, ok := s.gates[id]
	s.gateMu.Unlock()
	if !ok || now.Sub(e.at) > time.Second || now.Before(e.at) {
		c, err := s.db.GetCampaign(ctx, id)
		if sms.KindOf(err) == sms.KindNotFound {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		e = gateEntry{at: now, state: c.State, window: window(c), sched: c.ScheduleAt}
		s.gateMu.Lock()
		s.gates[id] = e
		s.gateMu.Unlock()
	}
	switch e.state {
	case store.CampaignCanceled:
		return 0, true, nil
	case store.CampaignPaused, store.CampaignDraft:
		return s.PauseCheck, false, nil
	case store.CampaignScheduled:
		if e.sched != nil && e.sched.After(now) {
			return min(e.sched.Sub(now), 10*time.Minute), false, nil
		}
		return s.PauseCheck, false, nil
	}
	if next := e.window.Next(now); next.IsZero() {
		return time.Hour, false, nil
	} else if next.After(now) {
		return min(next.Sub(now), 10*time.Minute), false, nil
	}
	return 0, false, nil
}

func (s *Service) forget(id int64) {
	s.gateMu.Lock()
	delete(s.gates, id)
	s.gateMu.Unlock()
}
