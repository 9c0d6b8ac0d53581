package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/recado-sms/recado/internal/auth"
)

func (s *Server) registerProviderActions() {
	huma.Register(s.api, op("check-provider-balance", http.MethodPost, "/providers/{name}/balance",
		"Ask a provider for its balance now, and keep it", auth.ProvidersRead, "Providers"),
		func(ctx context.Context, in *struct {
			IdemHeader
			NameParam
		}) (*providerOutput, error) {
			if _, err := s.Dispatch.CheckBalance(ctx, in.Name); err != nil {
				return nil, s.problem(err)
			}
			v, err := s.Providers.View(ctx, in.Name)
			if err != nil {
				return nil, s.problem(err)
			}
			return &providerOutput{Body: v}, nil
		})

	sync := op("sync-provider-blacklist", http.MethodPost, "/providers/{name}/sync-blacklist",
		"Push Recado's whole blacklist to a provider that keeps one (in the background)", auth.ProvidersWrite, "Providers")
	sync.DefaultStatus = http.StatusAccepted
	huma.Register(s.api, sync, func(ctx context.Context, in *struct {
		IdemHeader
		NameParam
	}) (*providerOutput, error) {
		if err := s.Dispatch.RequestBlacklistSync(ctx, in.Name, true); err != nil {
			return nil, s.problem(err)
		}
		v, err := s.Providers.View(ctx, in.Name)
		if err != nil {
			return nil, s.problem(err)
		}
		return &providerOutput{Body: v}, nil
	})
}
