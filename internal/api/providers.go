package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
)

// ProviderBody creates a provider or, in a PATCH, changes it. Settings are
// merged key by key; secret settings (a token) are write-only: they are
// never shown, only listed in secrets_set.
type ProviderBody struct {
	Name     string                     `json:"name,omitempty" maxLength:"40" example:"kolmeya"`
	Type     string                     `json:"type,omitempty" maxLength:"40" example:"kolmeya"`
	Active   *bool                      `json:"active,omitempty"`
	Default  *bool                      `json:"default,omitempty" doc:"Messages without a provider go to the default one"`
	Settings map[string]json.RawMessage `json:"settings,omitempty" doc:"The type's settings, e.g. Kolmeya: base_url, token, segment_id, webhook_secret, cost_per_segment"`
}

func (b ProviderBody) input() providers.Input {
	return providers.Input{Name: b.Name, Type: b.Type, Active: b.Active, Default: b.Default, Settings: b.Settings}
}

type providerOutput struct{ Body providers.View }

// NameParam is the {name} path parameter.
type NameParam struct {
	Name string `path:"name" maxLength:"40"`
}

func (s *Server) registerProviders() {
	huma.Register(s.api, op("list-providers", http.MethodGet, "/providers", "List providers (secrets never shown)", auth.ProvidersRead, "Providers"),
		func(ctx context.Context, _ *struct{}) (*struct {
			Body struct {
				Providers []providers.View `json:"providers"`
			}
		}, error) {
			ps, err := s.Providers.List(ctx)
			if err != nil {
				return nil, s.problem(err)
			}
			out := &struct {
				Body struct {
					Providers []providers.View `json:"providers"`
				}
			}{}
			out.Body.Providers = ps
			if ps == nil {
				out.Body.Providers = []providers.View{}
			}
			return out, nil
		})

	huma.Register(s.api, op("get-provider", http.MethodGet, "/providers/{name}", "Get a provider", auth.ProvidersRead, "Providers"),
		func(ctx context.Context, in *NameParam) (*providerOutput, error) {
			v, err := s.Providers.View(ctx, in.Name)
			if err != nil {
				return nil, s.problem(err)
			}
			return &providerOutput{Body: v}, nil
		})

	create := op("create-provider", http.MethodPost, "/providers", "Configure a provider", auth.ProvidersWrite, "Providers")
	create.DefaultStatus = http.StatusCreated
	huma.Register(s.api, create, func(ctx context.Context, in *struct {
		IdemHeader
		Body ProviderBody
	}) (*providerOutput, error) {
		v, err := s.Providers.Create(ctx, in.Body.input())
		if err != nil {
			return nil, s.problem(err)
		}
		// A provider that keeps a blacklist gets Recado's whole list now; the
		// periodic sync would bring it within minutes anyway.
		if err := s.Dispatch.RequestBlacklistSync(ctx, v.Name, true); err != nil && sms.KindOf(err) != sms.KindConflict && s.Logger != nil {
			s.Logger.Warn("enqueue the new provider's blacklist sync", "provider", v.Name, "err", err)
		}
		return &providerOutput{Body: v}, nil
	})

	huma.Register(s.api, op("update-provider", http.MethodPatch, "/providers/{name}", "Change a provider", auth.ProvidersWrite, "Providers"),
		func(ctx context.Context, in *struct {
			NameParam
			Body ProviderBody
		}) (*providerOutput, error) {
			v, err := s.Providers.Update(ctx, in.Name, in.Body.input())
			if err != nil {
				return nil, s.problem(err)
			}
			return &providerOutput{Body: v}, nil
		})

	del := op("delete-provider", http.MethodDelete, "/providers/{name}", "Remove a provider", auth.ProvidersWrite, "Providers")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(s.api, del, func(ctx context.Context, in *NameParam) (*struct{}, error) {
		if err := s.Providers.Delete(ctx, in.Name); err != nil {
			return nil, s.problem(err)
		}
		return nil, nil
	})
}
