// Package api is Recado's REST API under /api/v1, described by an OpenAPI
// 3.1 document generated from its Go types (served at /api/openapi.json,
// with a reference page at /api/docs).
//
// Every operation names the permission it needs; one middleware checks it,
// so no handler can forget. Errors are RFC 9457 problem details, their
// status taken from the kind table in package sms. Handlers are thin: decode,
// call a service, encode.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/campaign"
	"github.com/recado-sms/recado/internal/contacts"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/imports"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/reports"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/templates"
	"github.com/recado-sms/recado/internal/webhooks"
)

// Deps are the services the API calls.
type Deps struct {
	DB        *store.DB
	Dispatch  *dispatch.Dispatcher
	Providers *providers.Service
	Accounts  *accounts.Service
	Contacts  *contacts.Service
	Webhooks  *webhooks.Service
	Templates *templates.Service
	Imports   *imports.Service
	Campaigns *campaign.Service
	Reports   *reports.Service
	Logger    *slog.Logger
	Version   string
}

// Server holds the API's dependencies.
type Server struct {
	Deps
	api huma.API
}

// New registers the API's routes on mux and returns the Server. The caller
// wraps mux with Authenticate (and the idempotency middleware) so that
// handlers see the request's principal.
func New(mux *http.ServeMux, deps Deps) *Server {
	cfg := huma.DefaultConfig("Recado API", deps.Version)
	cfg.Info.Description = "Send SMS, follow every message from queued to delivered, and manage contacts, providers and users. " +
		"Authenticate with `Authorization: Bearer <token>`. Every POST accepts an `Idempotency-Key` header."
	cfg.OpenAPIPath = "/api/openapi"
	cfg.DocsPath = "" // huma's page loads scripts from a CDN; ours (docs.go) is self-contained
	cfg.SchemasPath = "/api/schemas"
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", Description: "An API token made by `recado token create` or POST /api/v1/me/tokens."},
	}
	cfg.Security = []map[string][]string{{"bearer": {}}}
	s := &Server{Deps: deps}
	s.api = humago.New(mux, cfg)
	s.api.UseMiddleware(s.authorize, s.refuseNUL)
	s.registerMessages()
	s.registerContacts()
	s.registerProviders()
	s.registerProviderActions()
	s.registerUsers()
	s.registerBlacklist()
	s.registerWebhooks()
	s.registerTemplates()
	s.registerLists()
	s.registerImports()
	s.registerCampaigns()
	s.registerReports()
	mux.HandleFunc("GET /api/docs", s.serveDocs)
	return s
}

// OpenAPI returns the generated description.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// permKey is the operation metadata key holding the permission it needs.
const permKey = "permission"

// op builds an operation needing perm.
func op(id, method, path, summary string, perm auth.Permission, tags ...string) huma.Operation {
	return huma.Operation{
		OperationID: id, Method: method, Path: "/api/v1" + path, Summary: summary, Tags: tags,
		Metadata: map[string]any{permKey: perm},
	}
}

// Permission returns the permission an operation needs, for tests and docs.
func Permission(o *huma.Operation) auth.Permission {
	p, _ := o.Metadata[permKey].(auth.Permission)
	return p
}

// authorize refuses a request without a principal (401) or whose principal
// lacks the operation's permission (403).
func (s *Server) authorize(ctx huma.Context, next func(huma.Context)) {
	perm := Permission(ctx.Operation())
	if perm == "" {
		next(ctx)
		return
	}
	p, ok := PrincipalFrom(ctx.Context())
	if !ok {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="recado"`)
		huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
		return
	}
	if err := p.Require(perm); err != nil {
		writeHumaErr(s.api, ctx, err)
		return
	}
	next(ctx)
}

// refuseNUL refuses a NUL byte in a query or path parameter: no stored
// text holds one, PostgreSQL refuses it, and SQLite's LIKE stops at it (a
// search for "\x00x" would match everything).
func (s *Server) refuseNUL(ctx huma.Context, next func(huma.Context)) {
	u := ctx.URL()
	if strings.Contains(u.Path, "\x00") || strings.Contains(u.RawQuery, "%00") || strings.Contains(u.RawQuery, "\x00") {
		huma.WriteErr(s.api, ctx, http.StatusUnprocessableEntity, "NUL characters are not allowed in parameters")
		return
	}
	next(ctx)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the request's principal, if it has one.
func PrincipalFrom(ctx context.Context) (auth.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(auth.Principal)
	return p, ok
}

// problem converts an error from below into an RFC 9457 answer, its status
// from the kind table. Internal errors are logged and answered without
// their text, which may name internals.
func (s *Server) problem(err error) error {
	return toStatusError(err, s.Logger)
}

func toStatusError(err error, log *slog.Logger) huma.StatusError {
	var se huma.StatusError
	if errors.As(err, &se) {
		return se
	}
	kind := sms.KindOf(err)
	info := sms.Kinds[kind]
	if kind == sms.KindInternal {
		if log != nil {
			log.Error("internal error", "err", err)
		}
		return huma.NewError(info.Status, "internal error; the server log has the details")
	}
	msg := err.Error()
	var e *sms.Error
	var details []error
	if errors.As(err, &e) {
		msg = e.Message
		for _, f := range e.Fields {
			details = append(details, &huma.ErrorDetail{Location: f.Field, Message: f.Message, Value: f.Value})
		}
	}
	return huma.NewError(info.Status, msg, details...)
}

func writeHumaErr(api huma.API, ctx huma.Context, err error) {
	se := toStatusError(err, nil)
	huma.WriteErr(api, ctx, se.GetStatus(), se.Error(), detailsOf(se)...)
}

func detailsOf(se huma.StatusError) []error {
	if em, ok := se.(*huma.ErrorModel); ok {
		out := make([]error, len(em.Errors))
		for i, d := range em.Errors {
			out[i] = d
		}
		return out
	}
	return nil
}
