package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/webhooks"
)

// CreateWebhookBody registers an endpoint.
type CreateWebhookBody struct {
	URL         string   `json:"url" maxLength:"2000" doc:"Where Recado POSTs the events: http or https, no credentials" example:"https://crm.example.com/recado/events"`
	Events      []string `json:"events" minItems:"1" maxItems:"20" doc:"Event types to receive: message.sent, message.delivered, message.failed, message.rejected, message.expired, reply.received, contact.opted_out" example:"[\"message.delivered\",\"message.failed\"]"`
	Active      *bool    `json:"active,omitempty" doc:"Whether it receives events (true)"`
	Description string   `json:"description,omitempty" maxLength:"500"`
	Secret      string   `json:"secret,omitempty" minLength:"16" maxLength:"200" doc:"The signing secret to use; generated (32 random bytes) when omitted"`
}

// UpdateWebhookBody changes an endpoint; omitted fields stay as they are.
type UpdateWebhookBody struct {
	URL          *string  `json:"url,omitempty" maxLength:"2000"`
	Events       []string `json:"events,omitempty" minItems:"1" maxItems:"20" doc:"Event types to receive: message.sent, message.delivered, message.failed, message.rejected, message.expired, reply.received, contact.opted_out"`
	Active       *bool    `json:"active,omitempty" doc:"false stops new events and pauses pending deliveries"`
	Description  *string  `json:"description,omitempty" maxLength:"500"`
	RotateSecret bool     `json:"rotate_secret,omitempty" doc:"Generate a new signing secret, shown once in the answer; it signs every delivery from now on"`
}

func eventTypes(names []string) []webhooks.EventType {
	if names == nil {
		return nil
	}
	out := make([]webhooks.EventType, len(names))
	for i, n := range names {
		out[i] = webhooks.EventType(n)
	}
	return out
}

type webhookOutput struct{ Body webhooks.Endpoint }

// WebhookDeliveryParams are the path parameters naming one delivery of one
// endpoint.
type WebhookDeliveryParams struct {
	IDParam
	Delivery int64 `path:"delivery" minimum:"1"`
}

func (s *Server) registerWebhooks() {
	create := op("create-webhook", http.MethodPost, "/webhooks", "Register a webhook endpoint", auth.WebhooksManage, "Webhooks")
	create.DefaultStatus = http.StatusCreated
	create.Description = "Recado POSTs each event the endpoint subscribed to as JSON, signed in the `Recado-Signature` header: " +
		"`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" keyed by the secret>`. Refuse a signature whose time is far from " +
		"your clock. Answer 2xx to acknowledge; anything else is retried with backoff for three days. The answer carries the " +
		"secret: it is never shown again."
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		IdemHeader
		Body CreateWebhookBody
	}) (*webhookOutput, error) {
		b := in.Body
		e, err := s.Webhooks.Create(ctx, webhooks.Input{URL: &b.URL, Events: eventTypes(b.Events), Active: b.Active,
			Description: &b.Description, Secret: b.Secret})
		if err != nil {
			return nil, s.problem(err)
		}
		return &webhookOutput{Body: e}, nil
	})

	huma.Register(s.api, op("list-webhooks", http.MethodGet, "/webhooks", "List webhook endpoints (secrets never shown)", auth.WebhooksManage, "Webhooks"),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Webhooks []webhooks.Endpoint `json:"webhooks"`
			}
		}, error) {
			es, err := s.Webhooks.List(ctx)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Webhooks []webhooks.Endpoint `json:"webhooks"`
				}
			}{}
			out.Body.Webhooks = es
			return out, nil
		})

	huma.Register(s.api, op("get-webhook", http.MethodGet, "/webhooks/{id}", "Get a webhook endpoint", auth.WebhooksManage, "Webhooks"),
		func(ctx context.Context, in *IDParam) (*webhookOutput, error) {
			e, err := s.Webhooks.Get(ctx, in.ID)
			if err != nil {
				return nil, s.problem(err)
			}
			return &webhookOutput{Body: e}, nil
		})

	huma.Register(s.api, op("update-webhook", http.MethodPatch, "/webhooks/{id}", "Change a webhook endpoint or rotate its secret", auth.WebhooksManage, "Webhooks"),
		func(ctx context.Context, in *struct {
			IDParam
			Body UpdateWebhookBody
		}) (*webhookOutput, error) {
			b := in.Body
			e, err := s.Webhooks.Update(ctx, in.ID, webhooks.Input{URL: b.URL, Events: eventTypes(b.Events), Active: b.Active,
				Description: b.Description, RotateSecret: b.RotateSecret})
			if err != nil {
				return nil, s.problem(err)
			}
			return &webhookOutput{Body: e}, nil
		})

	del := op("delete-webhook", http.MethodDelete, "/webhooks/{id}", "Remove a webhook endpoint and its delivery log", auth.WebhooksManage, "Webhooks")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *IDParam) (*struct{}, error) {
		if err := s.Webhooks.Delete(ctx, in.ID); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})

	huma.Register(s.api, op("list-webhook-deliveries", http.MethodGet, "/webhooks/{id}/deliveries",
		"An endpoint's delivery log, newest first: status, attempts, last answer, next attempt", auth.WebhooksManage, "Webhooks"),
		func(ctx context.Context, in *struct {
			IDParam
			Status string `query:"status" enum:"pending,delivered,failed," doc:"Only deliveries in this status"`
			Cursor string `query:"cursor"`
			Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		}) (*struct{ Body webhooks.DeliveryPage }, error) {
			page, err := s.Webhooks.Deliveries(ctx, in.ID, webhooks.DeliveryFilter{Status: in.Status, Cursor: in.Cursor, Limit: in.Limit})
			if err != nil {
				return nil, s.problem(err)
			}
			return &struct{ Body webhooks.DeliveryPage }{Body: page}, nil
		})

	resend := op("resend-webhook-delivery", http.MethodPost, "/webhooks/{id}/deliveries/{delivery}/resend",
		"Send a delivery again", auth.WebhooksManage, "Webhooks")
	resend.DefaultStatus = http.StatusAccepted
	resend.Description = "Makes the delivery pending and due now, whatever its status, with the same id (receivers de-duplicate by it) " +
		"and three more days of retries."
	huma.Register(s.api, resend, func(ctx context.Context, in *struct {
		IdemHeader
		WebhookDeliveryParams
	}) (*struct{ Body store.WebhookDelivery }, error) {
		d, err := s.Webhooks.Resend(ctx, in.ID, in.Delivery)
		if err != nil {
			return nil, s.problem(err)
		}
		return &struct{ Body store.WebhookDelivery }{Body: d}, nil
	})
}
