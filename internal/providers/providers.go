// Package providers manages the configured providers: it stores their
// settings with the secret ones sealed, builds live provider.Provider values
// from them through the registry, and keeps those built values cached until
// their record changes (on this instance or another sharing the database).
package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Sealer encrypts secrets at rest (secrets.Box).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Service is the one way to read and change providers.
type Service struct {
	db  *store.DB
	reg *provider.Registry
	box Sealer

	mu    sync.Mutex
	built map[string]built
	recs  map[string]cachedRecord // by name; "" is the default provider
	now   func() time.Time
}

// recordTTL is how long a provider's record is trusted without reading it
// again: every webhook and every batch looks its provider up, and records
// change rarely. A change made on another instance is seen within it.
const recordTTL = time.Second

type cachedRecord struct {
	rec store.ProviderRecord
	at  time.Time
}

// record returns the record of provider name ("" for the default), from the
// cache when fresh.
func (s *Service) record(ctx context.Context, name string) (store.ProviderRecord, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.recs[name]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < recordTTL {
		return c.rec, nil
	}
	var rec store.ProviderRecord
	var err error
	if name == "" {
		rec, err = s.db.DefaultProviderRecord(ctx)
	} else {
		rec, err = s.db.ProviderRecord(ctx, name)
	}
	if err != nil {
		return rec, err
	}
	s.mu.Lock()
	s.recs[name] = cachedRecord{rec: rec, at: now}
	s.mu.Unlock()
	return rec, nil
}

// forget drops cached records after a change made here.
func (s *Service) forget() {
	s.mu.Lock()
	clear(s.recs)
	s.mu.Unlock()
}

type built struct {
	updatedAt time.Time
	p         provider.Provider
}

// New returns a Service over db, building providers with reg and sealing
// their secrets with box.
func New(db *store.DB, reg *provider.Registry, box Sealer) *Service {
	return &Service{db: db, reg: reg, box: box, built: map[string]built{}, recs: map[string]cachedRecord{}, now: time.Now}
}

// View is a provider as the API and UI show it: secret settings are never
// included, only the names of those that are set.
type View struct {
	Name           string         `json:"name"`
	Type           string         `json:"type"`
	Active         bool           `json:"active"`
	Default        bool           `json:"default"`
	Settings       map[string]any `json:"settings"`
	SecretsSet     []string       `json:"secrets_set"`
	CostPerSegment string         `json:"cost_per_segment"`
	Balance        *string        `json:"balance,omitempty"`
	BalanceAt      *time.Time     `json:"balance_at,omitempty"`
	MessageCount   int64          `json:"message_count"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	// Filled by decorate (status.go).
	LowBalanceThreshold *string        `json:"low_balance_threshold,omitempty" doc:"The settings' low_balance_threshold"`
	BalanceLow          bool           `json:"balance_low" doc:"Whether the last known balance is below low_balance_threshold"`
	RateLimit           *RateLimitView `json:"rate_limit,omitempty" doc:"The provider's request budget as this instance last saw it"`
	Sync                *SyncView      `json:"sync,omitempty" doc:"What the background jobs (reply poll, blacklist sync, balance check) last did"`
}

// Input creates or changes a provider. In an update, nil fields stay as they
// are, and Settings is merged key by key into the stored ones: a secret not
// given keeps its value, a key given as null is removed.
type Input struct {
	Name     string
	Type     string
	Active   *bool
	Default  *bool
	Settings map[string]json.RawMessage
}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// Create validates, stores and returns a new provider.
func (s *Service) Create(ctx context.Context, in Input) (View, error) {
	if !validName.MatchString(in.Name) {
		return View{}, sms.Invalid("invalid provider name", sms.FieldError{Field: "name",
			Message: "1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit", Value: in.Name})
	}
	rec := store.ProviderRecord{Name: in.Name, Type: in.Type, Active: true}
	if in.Active != nil {
		rec.Active = *in.Active
	}
	if in.Default != nil {
		rec.Default = *in.Default
	}
	if err := s.setSettings(&rec, map[string]json.RawMessage{}, in.Settings); err != nil {
		return View{}, err
	}
	rec, err := s.db.CreateProvider(ctx, rec)
	if err != nil {
		return View{}, err
	}
	s.forget()
	return s.decorated(ctx, rec)
}

// Update changes a provider.
func (s *Service) Update(ctx context.Context, name string, in Input) (View, error) {
	rec, err := s.db.GetProvider(ctx, name)
	if err != nil {
		return View{}, err
	}
	if in.Type != "" && in.Type != rec.Type {
		return View{}, sms.Invalid("a provider's type cannot change", sms.FieldError{Field: "type", Message: "create another provider instead", Value: in.Type})
	}
	if in.Active != nil {
		rec.Active = *in.Active
	}
	if in.Default != nil {
		rec.Default = *in.Default
	}
	current, err := s.settings(rec)
	if err != nil {
		return View{}, err
	}
	if in.Settings != nil {
		if err := s.setSettings(&rec, current, in.Settings); err != nil {
			return View{}, err
		}
	}
	rec, err = s.db.UpdateProvider(ctx, rec)
	if err != nil {
		return View{}, err
	}
	s.forget()
	return s.decorated(ctx, rec)
}

// Delete removes a provider.
func (s *Service) Delete(ctx context.Context, name string) error {
	if err := s.db.DeleteProvider(ctx, name); err != nil {
		return err
	}
	s.forget()
	s.mu.Lock()
	if b, ok := s.built[name]; ok {
		closeProvider(b.p)
		delete(s.built, name)
	}
	s.mu.Unlock()
	return nil
}

// List returns every provider.
func (s *Service) List(ctx context.Context) ([]View, error) {
	recs, err := s.db.ListProviders(ctx)
	if err != nil {
		return nil, err
	}
	states, err := s.db.ProviderSyncStates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(recs))
	for _, r := range recs {
		v, err := s.view(r)
		if err != nil {
			return nil, err
		}
		st, ok := states[r.Name]
		if !ok {
			if st, err = s.db.ProviderSyncState(ctx, r.Name); err != nil {
				return nil, err
			}
		}
		s.decorate(&v, r, st)
		out = append(out, v)
	}
	return out, nil
}

// View returns one provider.
func (s *Service) View(ctx context.Context, name string) (View, error) {
	rec, err := s.db.GetProvider(ctx, name)
	if err != nil {
		return View{}, err
	}
	return s.decorated(ctx, rec)
}

// Get returns the live provider named name, or the default provider when name
// is empty, with its record. An inactive provider is a conflict: nothing may
// be sent through it.
func (s *Service) Get(ctx context.Context, name string) (provider.Provider, store.ProviderRecord, error) {
	rec, err := s.record(ctx, name)
	if err != nil {
		return nil, rec, err
	}
	if !rec.Active {
		return nil, rec, sms.Errorf(sms.KindConflict, "provider %q is not active", rec.Name)
	}
	p, err := s.live(rec)
	return p, rec, err
}

// Lookup returns the live provider named name whether active or not, for
// work already under way (finishing a batch, applying reports).
func (s *Service) Lookup(ctx context.Context, name string) (provider.Provider, store.ProviderRecord, error) {
	rec, err := s.record(ctx, name)
	if err != nil {
		return nil, rec, err
	}
	p, err := s.live(rec)
	return p, rec, err
}

// live returns the built provider for rec, building it again when its record
// changed since.
func (s *Service) live(rec store.ProviderRecord) (provider.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.built[rec.Name]; ok && b.updatedAt.Equal(rec.UpdatedAt) {
		return b.p, nil
	}
	settings, err := s.settings(rec)
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(typeSettings(settings))
	p, err := s.reg.Build(provider.Config{Name: rec.Name, Type: rec.Type, Settings: raw})
	if err != nil {
		return nil, err
	}
	if old, ok := s.built[rec.Name]; ok {
		closeProvider(old.p)
	}
	s.built[rec.Name] = built{updatedAt: rec.UpdatedAt, p: p}
	return p, nil
}

// Close closes every built provider that holds resources (timers, clients).
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, b := range s.built {
		closeProvider(b.p)
		delete(s.built, name)
	}
}

func closeProvider(p provider.Provider) {
	if c, ok := p.(interface{ Close() }); ok {
		c.Close()
	} else if c, ok := p.(io.Closer); ok {
		c.Close()
	}
}

// settings returns a record's settings with its secrets opened.
func (s *Service) settings(rec store.ProviderRecord) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	if err := json.Unmarshal([]byte(rec.Settings), &out); err != nil {
		return nil, fmt.Errorf("providers: %s settings: %w", rec.Name, err)
	}
	if rec.Secrets != "" {
		plain, err := s.box.Open(rec.Secrets)
		if err != nil {
			return nil, fmt.Errorf("providers: %s secrets (was RECADO_SECRET_KEY or the key file changed?): %w", rec.Name, err)
		}
		secret := map[string]json.RawMessage{}
		if err := json.Unmarshal(plain, &secret); err != nil {
			return nil, fmt.Errorf("providers: %s secrets: %w", rec.Name, err)
		}
		for k, v := range secret {
			out[k] = v
		}
	}
	return out, nil
}

// setSettings merges patch into current, validates the result by building
// the provider, and writes it into rec with the secrets sealed.
func (s *Service) setSettings(rec *store.ProviderRecord, current, patch map[string]json.RawMessage) error {
	for k, v := range patch {
		if string(v) == "null" {
			delete(current, k)
		} else {
			current[k] = v
		}
	}
	if err := checkCommonSettings(current); err != nil {
		return err
	}
	raw, _ := json.Marshal(typeSettings(current))
	p, err := s.reg.Build(provider.Config{Name: rec.Name, Type: rec.Type, Settings: raw})
	if err != nil {
		return err
	}
	closeProvider(p)
	cost := sms.Money(0)
	if v, ok := current["cost_per_segment"]; ok {
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			var f json.Number
			if json.Unmarshal(v, &f) != nil {
				return sms.Invalid("invalid cost_per_segment", sms.FieldError{Field: "settings.cost_per_segment", Message: "a decimal amount in BRL such as \"0.07\""})
			}
			str = f.String()
		}
		if cost, err = sms.ParseMoney(str); err != nil || cost < 0 {
			return sms.Invalid("invalid cost_per_segment", sms.FieldError{Field: "settings.cost_per_segment", Message: "a decimal amount in BRL such as \"0.07\"", Value: str})
		}
	}
	secretKeys := s.reg.Secrets(rec.Type)
	plain, secret := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for k, v := range current {
		if slices.Contains(secretKeys, k) {
			secret[k] = v
		} else {
			plain[k] = v
		}
	}
	pj, _ := json.Marshal(plain)
	rec.Settings = string(pj)
	rec.Secrets = ""
	if len(secret) > 0 {
		sj, _ := json.Marshal(secret)
		sealed, err := s.box.Seal(sj)
		if err != nil {
			return fmt.Errorf("providers: seal secrets: %w", err)
		}
		rec.Secrets = sealed
	}
	rec.CostPerSegment = cost
	return nil
}

func (s *Service) view(rec store.ProviderRecord) (View, error) {
	v := View{Name: rec.Name, Type: rec.Type, Active: rec.Active, Default: rec.Default,
		CostPerSegment: rec.CostPerSegment.String(), BalanceAt: rec.BalanceAt, MessageCount: rec.MessageCount,
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt, Settings: map[string]any{}, SecretsSet: []string{}}
	if err := json.Unmarshal([]byte(rec.Settings), &v.Settings); err != nil {
		return v, fmt.Errorf("providers: %s settings: %w", rec.Name, err)
	}
	if rec.Balance != nil {
		b := rec.Balance.String()
		v.Balance = &b
	}
	if rec.Secrets != "" {
		plain, err := s.box.Open(rec.Secrets)
		if err == nil {
			secret := map[string]json.RawMessage{}
			if json.Unmarshal(plain, &secret) == nil {
				for k := range secret {
					v.SecretsSet = append(v.SecretsSet, k)
				}
				slices.Sort(v.SecretsSet)
			}
		}
	}
	return v, nil
}

// Types lists the provider types that can be configured.
func (s *Service) Types() []string { return s.reg.Types() }
