package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/recado-sms/recado/internal/periodic"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Sweep starts a feeder for each running campaign whose feeder's lease is
// missing or ran out (its job died with its process), and returns how many.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	ids, err := s.db.OrphanCampaigns(ctx)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			if err := s.enqueue(ctx, tx, id, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// RunSweeper runs Sweep every interval until StopSweeper.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	s.stop = periodic.Start(ctx, interval, func(ctx context.Context) {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("campaign sweep failed", "err", err)
		} else if n > 0 {
			s.log.Info("restarted the feeders of campaigns whose feeder died", "campaigns", n)
		}
	})
}

// StopSweeper stops the sweeper and waits for it.
func (s *Service) StopSweeper() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// Register adds the feeder to the queue's workers.
func (s *Service) Register(w *river.Workers) { river.AddWorker(w, &feeder{s: s}) }

type feeder struct {
	river.WorkerDefaults[FeedArgs]
	s *Service
}

// Timeout leaves room for materialising a large audience and a last chunk.
func (f *feeder) Timeout(*river.Job[FeedArgs]) time.Duration { return f.s.Slice + 3*time.Minute }

func (f *feeder) Work(ctx context.Context, job *river.Job[FeedArgs]) error {
	return f.s.Feed(ctx, job.Args.CampaignID, job.ID)
}

// spec loads what selects a campaign's audience and skips: its segments'
// filters, its imports' lists, and the rows its imports rejected or merged.
func (s *Service) spec(ctx context.Context, c store.Campaign) (store.AudienceSpec, map[string]int64, error) {
	spec := store.AudienceSpec{Audience: c.Audience}
	extra := map[string]int64{}
	for _, id := range c.Audience.Segments {
		g, err := s.db.GetSegment(ctx, id)
		if err != nil {
			return spec, nil, err
		}
		spec.Filters = append(spec.Filters, g.Filter)
	}
	for _, id := range c.Audience.Imports {
		im, err := s.db.GetImport(ctx, id)
		if err != nil {
			return spec, nil, err
		}
		if im.ListID != nil {
			spec.ImportLists = append(spec.ImportLists, *im.ListID)
		}
		for reason, n := range im.RejectedBy {
			if strings.HasPrefix(reason, "phone_") {
				extra[store.SkipNoValidPhone] += n
			}
		}
		if im.Merged > 0 {
			extra[store.SkipDuplicate] += im.Merged
		}
	}
	tb, err := sms.ParseTemplate(c.Body)
	if err != nil {
		return spec, nil, err
	}
	x := store.Exclusion{CampaignID: c.ID, Kind: c.Kind, CapMessages: c.CapMessages, SkipOnMissed: c.OnMissing != "blank"}
	if c.CapDays > 0 {
		x.CapSince = s.now().Add(-time.Duration(c.CapDays) * 24 * time.Hour)
	}
	cv := vars(c)
	for _, name := range tb.Required() {
		switch name {
		case "nome", "name", "primeiro_nome", "first_name":
			x.NeedsName = true
		case "telefone", "phone":
		default:
			if strings.TrimSpace(cv[name]) == "" {
				x.NeedsFields = append(x.NeedsFields, name)
			}
		}
	}
	spec.Exclusion = x
	return spec, extra, nil
}

// Feed runs one slice of a campaign's feeding, as its queue job does:
// activate a scheduled campaign when its time comes, write its recipients
// once, then turn pending recipients into messages chunk by chunk while the
// campaign runs, its window is open and its speed allows; complete it when
// all are fed and sent. It returns a river.JobSnooze error when it should
// run again later. owner is its queue job's id: the feeder's lease is held
// in its name, through snoozes too, and another job that finds it held ends.
func (s *Service) Feed(ctx context.Context, id, owner int64) (err error) {
	c, err := s.db.GetCampaign(ctx, id)
	if sms.KindOf(err) == sms.KindNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	switch c.State {
	case store.CampaignScheduled:
		if c.ScheduleAt != nil && c.ScheduleAt.After(s.now()) {
			return river.JobSnooze(c.ScheduleAt.Sub(s.now()))
		}
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetCampaignState(ctx, id, []string{store.CampaignScheduled}, store.CampaignRunning)
		})
		s.forget(id)
		if err != nil {
			return err
		}
	case store.CampaignRunning:
	default:
		return nil // paused, canceled, completed: resuming enqueues a new job
	}
	ok, err := s.db.ClaimFeeder(ctx, id, owner, s.now().Add(s.Slice+feedGrace))
	if err != nil {
		return err
	}
	if !ok {
		return nil // another feeder holds it, or it stopped running
	}
	defer func() {
		// A snooze keeps the lease until the job wakes; anything else gives it up.
		bg := context.WithoutCancel(ctx)
		var snooze *river.JobSnoozeError
		if errors.As(err, &snooze) {
			s.db.HoldFeeder(bg, id, owner, s.now().Add(snooze.Duration+feedGrace))
			return
		}
		s.db.ReleaseFeeder(bg, id, owner)
	}()

	c, err = s.db.GetCampaign(ctx, id)
	if err != nil {
		return err
	}
	spec, extra, err := s.spec(ctx, c)
	if err != nil {
		return err
	}
	if !c.Materialized {
		// In chunks, each its own short transaction (RecipientChunk).
		start := time.Now()
		for done := false; !done; {
			if err := s.db.InTx(ctx, func(tx *store.Tx) (err error) {
				done, err = tx.Materialize(ctx, spec, extra, max(s.RecipientChunk, 1))
				return err
			}); err != nil {
				return fmt.Errorf("campaign %d: write recipients: %w", id, err)
			}
			if !done {
				if err := s.db.HoldFeeder(ctx, id, owner, s.now().Add(s.Slice+feedGrace)); err != nil {
					return err
				}
			}
		}
		if err := s.db.Analyze(ctx, "campaign_recipients", "messages"); err != nil {
			return err
		}
		s.log.Info("campaign recipients written", "campaign", id, "took", time.Since(start).Round(time.Millisecond))
	}
	tb, err := sms.ParseTemplate(c.Body)
	if err != nil {
		return err
	}
	w := window(c)
	deadline := time.Now().Add(s.Slice)
	var tokens float64
	last := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c, err = s.db.GetCampaign(ctx, id); err != nil {
			return err
		}
		if c.State != store.CampaignRunning {
			return nil
		}
		now := s.now()
		if next := w.Next(now); next.IsZero() {
			return river.JobSnooze(time.Hour)
		} else if next.After(now) {
			return river.JobSnooze(min(next.Sub(now), 10*time.Minute))
		}
		queued, err := s.db.CampaignInFlight(ctx, id, sms.StateQueued)
		if err != nil {
			return err
		}
		n := s.ChunkSize
		if room := s.MaxInFlight - queued; room < int64(n) {
			n = int(max(room, 0))
		}
		if c.RatePerMinute > 0 {
			t := time.Now()
			perSec := float64(c.RatePerMinute) / 60
			tokens = min(tokens+perSec*t.Sub(last).Seconds(), max(perSec, 1))
			last = t
			n = min(n, int(tokens))
		}
		if n <= 0 {
			if time.Now().After(deadline) {
				return river.JobSnooze(time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
			continue
		}
		fed, more, err := s.feedChunk(ctx, c, tb, n)
		if errors.Is(err, errNoProvider) {
			// The provider was removed or deactivated: retrying cannot help
			// until someone acts, so the campaign pauses.
			s.log.Warn("campaign paused: its provider cannot send", "campaign", id, "provider", c.Provider, "err", err)
			perr := s.db.InTx(ctx, func(tx *store.Tx) error {
				return tx.SetCampaignState(ctx, id, []string{store.CampaignRunning}, store.CampaignPaused)
			})
			s.forget(id)
			return perr
		}
		if err != nil {
			return err
		}
		// Renewed with each chunk, the lease runs out soon after a feeder dies.
		if err := s.db.HoldFeeder(ctx, id, owner, s.now().Add(s.Slice+feedGrace)); err != nil {
			return err
		}
		tokens -= float64(fed)
		if !more {
			return s.finish(ctx, id)
		}
		if time.Now().After(deadline) {
			return river.JobSnooze(time.Millisecond)
		}
	}
}

var errStopped = errors.New("campaign: no longer running")

// errNoProvider marks a chunk that could not be queued because the
// campaign's provider is gone or inactive.
var errNoProvider = errors.New("campaign: the provider cannot send")

// feedGrace is how long a feeder's lease outlasts its slice: room for the
// last chunk (or writing a large audience's recipients) before another
// feeder may take over. Two feeders at once would still send nobody twice
// (each chunk is one transaction on the locked campaign, past its cursor).
const feedGrace = 10 * time.Second

// feedChunk turns up to n pending recipients into messages and batches in
// one transaction. It returns how many it took (fed or skipped) and whether
// any remain.
func (s *Service) feedChunk(ctx context.Context, c store.Campaign, tb *sms.TemplateBody, n int) (int, bool, error) {
	cv := vars(c)
	var taken int
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		cur, err := tx.LockCampaign(ctx, c.ID)
		if err != nil {
			return err
		}
		if cur.State != store.CampaignRunning {
			return errStopped
		}
		contacts, err := tx.NextRecipients(ctx, c.ID, cur.Cursor, n)
		if err != nil || len(contacts) == 0 {
			taken = 0
			return err
		}
		taken = len(contacts)
		var listed map[string]bool
		if c.Kind == sms.Marketing {
			// Numbers blacklisted since the recipients were written.
			phones := make([]string, len(contacts))
			for i := range contacts {
				phones[i] = contacts[i].Phone
			}
			if listed, err = s.db.Blacklisted(ctx, phones); err != nil {
				return err
			}
		}
		res := store.FeedResult{Skipped: map[string][]int64{}}
		// Recipients between the ones found whose contact was deleted.
		gone, err := tx.GoneRecipients(ctx, c.ID, cur.Cursor, contacts[len(contacts)-1].ID, len(contacts))
		if err != nil {
			return err
		}
		if len(gone) > 0 {
			res.Skipped[store.SkipDeleted] = gone
		}
		msgs := make([]store.NewMessage, 0, len(contacts))
		for i := range contacts {
			ct := &contacts[i]
			res.Cursor = ct.ID
			text, missing := tb.Render(sms.ContactVars(ct, "", cv))
			if (len(missing) > 0 && c.OnMissing != "blank") || strings.TrimSpace(text) == "" {
				res.Skipped[store.SkipMissingField] = append(res.Skipped[store.SkipMissingField], ct.ID)
				continue
			}
			if listed[ct.Phone] {
				res.Skipped[store.SkipBlacklisted] = append(res.Skipped[store.SkipBlacklisted], ct.ID)
				continue
			}
			if reason := lateReason(ct, c.Kind); reason != "" {
				res.Skipped[reason] = append(res.Skipped[reason], ct.ID)
				continue
			}
			seg := sms.Segments(text)
			id := ct.ID
			msgs = append(msgs, store.NewMessage{ContactID: &id, Phone: ct.Phone, Body: text, Kind: c.Kind,
				Reference: fmt.Sprintf("cp%d.%d", c.ID, ct.ID), Segments: seg.Segments, Encoding: seg.Encoding,
				TemplateID: c.TemplateID, CreatedBy: c.CreatedBy})
		}
		stored, err := s.d.QueueChunk(ctx, tx, c.Provider, c.ID, msgs)
		if k := sms.KindOf(err); k == sms.KindNotFound || k == sms.KindConflict {
			return fmt.Errorf("%w: %w", errNoProvider, err)
		}
		if err != nil {
			return err
		}
		res.Queued = len(stored)
		return tx.RecordFeed(ctx, c.ID, res)
	})
	if errors.Is(err, errStopped) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("campaign %d: feed: %w", c.ID, err)
	}
	return taken, taken > 0, nil
}

// lateReason rechecks, at feeding time, the flags that may have changed
// since the recipients were written.
func lateReason(c *sms.Contact, kind sms.MessageKind) string {
	switch {
	case c.Deceased:
		return store.SkipDeceased
	case c.OptedOut && kind == sms.Marketing:
		return store.SkipOptedOut
	}
	return ""
}

// finishRecheck is how often a fed campaign looks whether its last
// messages have left the queue: a count on an index, so the campaign shows
// completed within half a second of its last acceptance (it was 2 s).
const finishRecheck = 500 * time.Millisecond

// finish completes a campaign once every recipient is fed and its messages
// have left the queue; until then it checks again every finishRecheck.
func (s *Service) finish(ctx context.Context, id int64) error {
	if err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.SkipLeftovers(ctx, id)
		return err
	}); err != nil {
		return err
	}
	left, err := s.db.CampaignInFlight(ctx, id, sms.StateQueued, sms.StateSending)
	if err != nil {
		return err
	}
	if left > 0 {
		return river.JobSnooze(finishRecheck)
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetCampaignState(ctx, id, []string{store.CampaignRunning}, store.CampaignCompleted)
	})
	s.forget(id)
	if sms.KindOf(err) == sms.KindConflict {
		return nil // paused or canceled meanwhile
	}
	if err == nil {
		s.log.Info("campaign completed", "campaign", id)
	}
	return err
}
