package provider

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// Deps are what the registry hands every provider it builds.
type Deps struct {
	Sink       StatusSink
	Replies    ReplySink
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	PublicURL  string // Recado's public base URL, for webhook URLs; may be empty
}

// Factory builds a provider of one type from its configuration.
type Factory func(cfg Config, deps Deps) (Provider, error)

// Type describes one kind of provider to the registry.
type Type struct {
	Name    string   // "mock", "kolmeya"
	Build   Factory  //
	Secrets []string // settings keys that are secret: encrypted at rest, never shown or logged
}

// Registry knows the provider types Recado can build.
type Registry struct {
	factories map[string]Type
	deps      Deps
}

// NewRegistry returns an empty registry whose providers get deps.
func NewRegistry(deps Deps) *Registry {
	return &Registry{factories: map[string]Type{}, deps: deps}
}

// Register adds a provider type. Registering a type twice panics: it is a
// wiring mistake, found at start.
func (r *Registry) Register(t Type) {
	if _, dup := r.factories[t.Name]; dup {
		panic("provider: type registered twice: " + t.Name)
	}
	r.factories[t.Name] = t
}

// Secrets returns the settings keys of type typ that are secret.
func (r *Registry) Secrets(typ string) []string { return r.factories[typ].Secrets }

// Types lists the registered types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.factories))
	for t := range r.factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Build makes a provider from its configuration. An unknown type or bad
// settings give an error of kind KindInvalid.
func (r *Registry) Build(cfg Config) (Provider, error) {
	t, ok := r.factories[cfg.Type]
	if !ok {
		return nil, sms.Errorf(sms.KindInvalid, "unknown provider type %q (known: %v)", cfg.Type, r.Types())
	}
	p, err := t.Build(cfg, r.deps)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", cfg.Name, err)
	}
	return p, nil
}
