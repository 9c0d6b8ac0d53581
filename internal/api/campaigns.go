package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// CampaignBody creates a campaign or, in a PATCH of a draft, changes the
// fields given.
type CampaignBody struct {
	Name          *string           `json:"name,omitempty" maxLength:"100" example:"Natal 2026"`
	TemplateID    *int64            `json:"template_id,omitempty" doc:"Copy the body (and kind) of this template"`
	Body          *string           `json:"body,omitempty" maxLength:"8000" doc:"The text with placeholders; required without template_id"`
	Kind          *string           `json:"kind,omitempty" enum:"marketing,transactional"`
	Provider      *string           `json:"provider,omitempty" maxLength:"40" doc:"The default provider when empty"`
	Audience      *store.Audience   `json:"audience,omitempty"`
	Vars          map[string]string `json:"vars,omitempty" maxProperties:"50" doc:"Campaign variables for the body ({{campanha}} is the campaign's name unless set)"`
	ScheduleAt    *time.Time        `json:"schedule_at,omitempty" doc:"Start at this time (RFC 3339); now when omitted"`
	Window        *campaign.Window  `json:"window,omitempty" doc:"Sending hours in São Paulo time; marketing defaults to weekdays 09:00-21:00, Saturdays 10:00-16:00, no Sundays or national holidays; transactional to any time"`
	RatePerMinute *int              `json:"rate_per_minute,omitempty" minimum:"0" doc:"Most messages per minute; 0 for no limit"`
	CapMessages   *int              `json:"cap_messages,omitempty" minimum:"0" doc:"Frequency cap: at most this many marketing messages per contact…"`
	CapDays       *int              `json:"cap_days,omitempty" minimum:"0" maximum:"365" doc:"…in this many days, across campaigns"`
	OnMissing     *string           `json:"on_missing,omitempty" enum:"skip,blank" doc:"A contact without a value for a placeholder that has no default: skip it (default) or send with it blank"`
}

func (b CampaignBody) input() campaign.Input {
	in := campaign.Input{Name: b.Name, TemplateID: b.TemplateID, Body: b.Body, Provider: b.Provider, Audience: b.Audience,
		Vars: b.Vars, ScheduleAt: b.ScheduleAt, Window: b.Window, RatePerMinute: b.RatePerMinute, CapMessages: b.CapMessages,
		CapDays: b.CapDays, OnMissing: b.OnMissing}
	if b.Kind != nil {
		k := sms.MessageKind(*b.Kind)
		in.Kind = &k
	}
	return in
}

type campaignOutput struct{ Body store.Campaign }

func (s *Server) registerCampaigns() {
	create := op("create-campaign", http.MethodPost, "/campaigns", "Create a campaign (a draft)", auth.CampaignsWrite, "Campaigns")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		IdemHeader
		Body CampaignBody
	}) (*campaignOutput, error) {
		p, _ := PrincipalFrom(ctx)
		c, err := s.Campaigns.Create(ctx, in.Body.input(), &p.ID)
		if err != nil {
			return nil, s.problem(err)
		}
		return &campaignOutput{Body: c}, nil
	})

	huma.Register(s.api, op("list-campaigns", http.MethodGet, "/campaigns", "List campaigns, newest first", auth.CampaignsRead, "Campaigns"),
		func(ctx context.Context, in *struct {
			State string `query:"state" doc:"Comma-separated states: draft, scheduled, running, paused, completed, canceled"`
			Limit int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*struct {
			Body struct {
				Campaigns []store.Campaign `json:"campaigns"`
			}
		}, error) {
			var states []string
			for _, st := range strings.Split(in.State, ",") {
				if st = strings.TrimSpace(st); st == "" {
					continue
				}
				switch st {
				case store.CampaignDraft, store.CampaignScheduled, store.CampaignRunning, store.CampaignPaused, store.CampaignCompleted, store.CampaignCanceled:
					states = append(states, st)
				default:
					return nil, s.problem(sms.Invalid("unknown state", sms.FieldError{Field: "state", Message: "unknown state", Value: st}))
				}
			}
			cs, err := s.DB.ListCampaigns(ctx, states, in.Limit)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Campaigns []store.Campaign `json:"campaigns"`
				}
			}{}
			out.Body.Campaigns = cs
			return out, nil
		})

	huma.Register(s.api, op("get-campaign", http.MethodGet, "/campaigns/{id}", "Get a campaign", auth.CampaignsRead, "Campaigns"),
		func(ctx context.Context, in *IDParam) (*campaignOutput, error) {
			c, err := s.DB.GetCampaign(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &campaignOutput{Body: c}, nil
		})

	huma.Register(s.api, op("update-campaign", http.MethodPatch, "/campaigns/{id}", "Change a draft campaign", auth.CampaignsWrite, "Campaigns"),
		func(ctx context.Context, in *struct {
			IDParam
			Body CampaignBody
		}) (*campaignOutput, error) {
			c, err := s.Campaigns.Update(ctx, in.ID, in.Body.input())
			if err != nil {
				return nil, s.problem(err)
			}
			return &campaignOutput{Body: c}, nil
		})

	del := op("delete-campaign", http.MethodDelete, "/campaigns/{id}", "Delete a draft campaign", auth.CampaignsWrite, "Campaigns")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		if err := s.DB.DeleteCampaign(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})

	huma.Register(s.api, op("dry-run-campaign", http.MethodPost, "/campaigns/{id}/dry-run",
		"What the campaign would do now: recipients, skipped by reason, segments, cost, the saving of folding accents, sample renderings",
		auth.CampaignsRead, "Campaigns"),
		func(ctx context.Context, in *struct {
			IdemHeader
			IDParam
		}) (*struct{ Body campaign.DryRun }, error) {
			d, err := s.Campaigns.DryRun(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &struct{ Body campaign.DryRun }{Body: d}, nil
		})

	for _, a := range []struct {
		id, path, summary string
		fn                func(context.Context, int64) (store.Campaign, error)
	}{
		{"start-campaign", "start", "Start a draft campaign now, or at its schedule_at", s.Campaigns.Start},
		{"pause-campaign", "pause", "Pause a running or scheduled campaign: no new messages, queued ones wait", s.Campaigns.Pause},
		{"resume-campaign", "resume", "Resume a paused campaign where it stopped", s.Campaigns.Resume},
		{"cancel-campaign", "cancel", "Cancel a campaign: recipients not yet sent to are dropped, queued messages canceled", s.Campaigns.Cancel},
	} {
		huma.Register(s.api, op(a.id, http.MethodPost, "/campaigns/{id}/"+a.path, a.summary, auth.CampaignsWrite, "Campaigns"),
			func(ctx context.Context, in *struct {
				IdemHeader
				IDParam
			}) (*campaignOutput, error) {
				c, err := a.fn(ctx, in.ID)
				if err != nil {
					return nil, s.problem(err)
				}
				return &campaignOutput{Body: c}, nil
			})
	}

	huma.Register(s.api, op("check-recipients", http.MethodPost, "/messages/check",
		"Say, before sending, which recipients would get a message and why the others would not", auth.MessagesWrite, "Messages"),
		func(ctx context.Context, in *struct {
			IdemHeader
			Body struct {
				Recipients []campaign.Target `json:"recipients" minItems:"1" maxItems:"1000"`
				Kind       string            `json:"kind,omitempty" enum:"marketing,transactional"`
			}
		}) (*struct {
			Body struct {
				Recipients []campaign.Checked `json:"recipients"`
				OK         int                `json:"ok" doc:"How many would get a message"`
			}
		}, error) {
			cs, err := s.Campaigns.Check(ctx, in.Body.Recipients, sms.MessageKind(in.Body.Kind))
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Recipients []campaign.Checked `json:"recipients"`
					OK         int                `json:"ok" doc:"How many would get a message"`
				}
			}{}
			out.Body.Recipients = cs
			for _, c := range cs {
				if c.OK {
					out.Body.OK++
				}
			}
			return out, nil
		})

	huma.Register(s.api, op("campaign-recipients", http.MethodGet, "/campaigns/{id}/recipients",
		"A started campaign's recipients: pending, queued, or skipped with the reason", auth.CampaignsRead, "Campaigns"),
		func(ctx context.Context, in *struct {
			IDParam
			Status string `query:"status" enum:"pending,queued,skipped,canceled,"`
			Reason string `query:"reason" maxLength:"40" doc:"Only those skipped for this reason"`
			Cursor int64  `query:"cursor" minimum:"0" doc:"next_cursor of the previous page"`
			Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"100"`
		}) (*struct {
			Body struct {
				Recipients []store.Recipient `json:"recipients"`
				NextCursor int64             `json:"next_cursor,omitempty"`
			}
		}, error) {
			if _, err := s.DB.GetCampaign(ctx, in.ID); err != nil {
				return nil, s.problem(err)
			}
			rs, err := s.DB.Recipients(ctx, in.ID, in.Status, in.Reason, in.Cursor, in.Limit)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Recipients []store.Recipient `json:"recipients"`
					NextCursor int64             `json:"next_cursor,omitempty"`
				}
			}{}
			out.Body.Recipients = rs
			if len(rs) == in.Limit {
				out.Body.NextCursor = rs[len(rs)-1].ContactID
			}
			return out, nil
		})

	huma.Register(s.api, op("campaign-stats", http.MethodGet, "/campaigns/{id}/stats",
		"Live figures: messages by state, failures by reason, replies, opt-outs, cost, deliveries per hour", auth.CampaignsRead, "Campaigns"),
		func(ctx context.Context, in *IDParam) (*struct{ Body campaign.Stats }, error) {
			st, err := s.Campaigns.Stats(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &struct{ Body campaign.Stats }{Body: st}, nil
		})
}
