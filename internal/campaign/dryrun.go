package campaign

import (
	"context"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Sample is one rendering of a dry run.
type Sample struct {
	ContactID int64        `json:"contact_id"`
	Phone     string       `json:"phone"`
	Text      string       `json:"text"`
	Segments  int          `json:"segments"`
	Encoding  sms.Encoding `json:"encoding"`
}

// DryRun is what a campaign would do if it started now.
type DryRun struct {
	Audience        int64            `json:"audience" doc:"Contacts in the audience, plus the rows its imports rejected or merged"`
	Recipients      int64            `json:"recipients" doc:"Who would get a message"`
	Skipped         int64            `json:"skipped"`
	SkippedBy       map[string]int64 `json:"skipped_by" doc:"no_valid_phone, deceased, opted_out, blacklisted, do_not_disturb, duplicate_phone, already_sent, frequency_cap, missing_field"`
	Segments        int64            `json:"segments" doc:"Segments in all (estimated from the sample when the body has placeholders)"`
	Cost            sms.Money        `json:"-"`
	CostText        string           `json:"cost" doc:"Estimated cost in BRL at the provider's price"`
	FoldedSegments  int64            `json:"folded_segments" doc:"Segments if accents were folded to GSM-7"`
	FoldedCost      string           `json:"folded_cost"`
	Saving          string           `json:"saving" doc:"What folding accents would save, in BRL"`
	Estimated       bool             `json:"estimated" doc:"Whether segments and cost are extrapolated from a sample"`
	SampleSize      int              `json:"sample_size"`
	Samples         []Sample         `json:"samples" doc:"A few renderings"`
	Provider        string           `json:"provider"`
	WindowOpen      bool             `json:"window_open" doc:"Whether the sending window is open now"`
	NextWindow      *time.Time       `json:"next_window,omitempty" doc:"When the window next opens, if closed now"`
	PerSegmentPrice string           `json:"price_per_segment"`
}

// DryRunSample is how many eligible contacts a dry run renders to estimate
// segments.
const DryRunSample = 1000

// DryRun counts a campaign's audience by reason with one aggregate query,
// renders a sample to estimate segments and cost (and the saving of folding
// accents), and changes nothing.
func (s *Service) DryRun(ctx context.Context, id int64) (DryRun, error) {
	var out DryRun
	c, err := s.db.GetCampaign(ctx, id)
	if err != nil {
		return out, err
	}
	spec, extra, err := s.spec(ctx, c)
	if err != nil {
		return out, err
	}
	counts, err := s.db.CountAudience(ctx, spec)
	if err != nil {
		return out, err
	}
	out.SkippedBy = map[string]int64{}
	for reason, n := range counts {
		out.Audience += n
		if reason == "" {
			out.Recipients = n
			continue
		}
		out.SkippedBy[reason] += n
		out.Skipped += n
	}
	for reason, n := range extra {
		out.SkippedBy[reason] += n
		out.Skipped += n
		out.Audience += n
	}
	_, rec, err := s.providers.Get(ctx, c.Provider)
	if err != nil {
		return out, err
	}
	out.Provider, out.PerSegmentPrice = rec.Name, rec.CostPerSegment.String()
	tb, err := sms.ParseTemplate(c.Body)
	if err != nil {
		return out, err
	}
	sample, err := s.db.SampleAudience(ctx, spec, DryRunSample)
	if err != nil {
		return out, err
	}
	cv := vars(c)
	var segs, folded int64
	out.Samples = []Sample{}
	for i := range sample {
		text, _ := tb.Render(sms.ContactVars(&sample[i], "", cv))
		seg := sms.Segments(text)
		segs += int64(seg.Segments)
		folded += int64(sms.Segments(sms.FoldGSM(text)).Segments)
		if len(out.Samples) < 5 {
			out.Samples = append(out.Samples, Sample{ContactID: sample[i].ID, Phone: sample[i].Phone, Text: text,
				Segments: seg.Segments, Encoding: seg.Encoding})
		}
	}
	out.SampleSize = len(sample)
	if n := int64(len(sample)); n > 0 {
		out.Estimated = n < out.Recipients && len(tb.Placeholders()) > 0
		out.Segments = segs * out.Recipients / n
		out.FoldedSegments = folded * out.Recipients / n
	}
	out.Cost = rec.CostPerSegment.Times(int(out.Segments))
	out.CostText = out.Cost.String()
	foldedCost := rec.CostPerSegment.Times(int(out.FoldedSegments))
	out.FoldedCost, out.Saving = foldedCost.String(), (out.Cost - foldedCost).String()
	now := s.now()
	w := window(c)
	out.WindowOpen = w.Open(now)
	if !out.WindowOpen {
		if next := w.Next(now); !next.IsZero() {
			out.NextWindow = &next
		}
	}
	return out, nil
}

// Stats are a campaign with its live figures.
type Stats struct {
	Campaign store.Campaign      `json:"campaign"`
	Messages store.CampaignStats `json:"messages"`
	Pending  int64               `json:"pending" doc:"Recipients not fed yet"`
	Rate     float64             `json:"delivery_rate" doc:"Delivered over messages that reached a final state other than canceled"`
}

// Stats reads a campaign's counters and message figures.
func (s *Service) Stats(ctx context.Context, id int64) (Stats, error) {
	c, err := s.db.GetCampaign(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	st, err := s.db.CampaignStats(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	out := Stats{Campaign: c, Messages: st}
	if c.Materialized && c.State != store.CampaignCanceled {
		out.Pending = max(c.Recipients-c.Skipped-c.Fed, 0)
	}
	var final int64
	for state, n := range st.ByState {
		if s := sms.State(state); s.Final() && s != sms.StateCanceled && s != sms.StateReceived {
			final += n
		}
	}
	if final > 0 {
		out.Rate = float64(st.ByState[string(sms.StateDelivered)]) / float64(final)
	}
	return out, nil
}
