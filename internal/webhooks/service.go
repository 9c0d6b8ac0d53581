package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Sealer encrypts endpoint secrets at rest (secrets.Box).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Config tunes the service. Zero fields take the defaults in parentheses.
type Config struct {
	// HTTPClient makes the deliveries (a client that follows no redirect:
	// a 3xx is not a 2xx, and the receiver should name its final URL).
	HTTPClient *http.Client
	// Timeout bounds one attempt, the answer's headers included (10 s).
	Timeout time.Duration
	// Backoff is the wait after each failed attempt (30 s, 2 min, 10 min,
	// 30 min, 1 h, 3 h, 6 h, 12 h); the last repeats.
	Backoff []time.Duration
	// GiveUpAfter is how long after its event (or its resend) a delivery is
	// tried before it fails (72 h).
	GiveUpAfter time.Duration
	// PollInterval is how often the deliverer looks for due deliveries (1 s).
	PollInterval time.Duration
	// Concurrency is how many deliveries are attempted at once (8).
	Concurrency int
	// Now is the clock (time.Now).
	Now func() time.Time
	// Rand is the source of generated secrets (crypto/rand).
	Rand io.Reader
	// Logger logs deliveries given up on and the deliverer's own failures.
	Logger *slog.Logger
}

func (c *Config) defaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{
			Timeout:       c.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
			time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour}
	}
	if c.GiveUpAfter == 0 {
		c.GiveUpAfter = 72 * time.Hour
	}
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Service manages the endpoints and delivers their events.
type Service struct {
	db  *store.DB
	box Sealer
	cfg Config
	log *slog.Logger

	mu   sync.Mutex
	stop context.CancelFunc // ends the deliverer's loop
	done chan struct{}      // closed when the loop has ended
	work context.CancelFunc // cancels the attempts in flight
}

// New returns the service; Start runs its deliverer.
func New(db *store.DB, box Sealer, cfg Config) *Service {
	cfg.defaults()
	return &Service{db: db, box: box, cfg: cfg, log: cfg.Logger}
}

// Endpoint is an endpoint as shown to managers. Its secret is shown only
// when it is made: by Create, and by Update when rotated.
type Endpoint struct {
	ID          int64       `json:"id"`
	URL         string      `json:"url"`
	Events      []EventType `json:"events"`
	Active      bool        `json:"active"`
	Description string      `json:"description"`
	Secret      string      `json:"secret,omitempty" doc:"The signing secret, shown only in the answer that made it (create, rotate_secret)"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

func view(e store.WebhookEndpoint) Endpoint {
	v := Endpoint{ID: e.ID, URL: e.URL, Active: e.Active, Description: e.Description, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		Events: make([]EventType, len(e.Events))}
	for i, ev := range e.Events {
		v.Events[i] = EventType(ev)
	}
	return v
}

// Input creates an endpoint or, in Update, changes it: nil fields are left
// as they are. URL and Events are required to create.
type Input struct {
	URL         *string
	Events      []EventType
	Active      *bool // true when created without it
	Description *string
	// Secret is the signing secret to use (16 to 200 characters, no
	// spaces); Create generates one when empty.
	Secret string
	// RotateSecret makes Update generate a new secret, shown in its answer.
	RotateSecret bool
}

// Create stores a new endpoint and returns it with its secret, the only
// time the secret is shown.
func (s *Service) Create(ctx context.Context, in Input) (Endpoint, error) {
	if in.URL == nil {
		in.URL = new(string)
	}
	if in.Events == nil {
		in.Events = []EventType{}
	}
	e := store.WebhookEndpoint{Active: true}
	if err := apply(&e, in); err != nil {
		return Endpoint{}, err
	}
	secret := in.Secret
	if secret == "" {
		var err error
		if secret, err = s.newSecret(); err != nil {
			return Endpoint{}, err
		}
	}
	sealed, err := s.box.Seal([]byte(secret))
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhooks: seal secret: %w", err)
	}
	e.Secret = sealed
	e, err = s.db.CreateWebhookEndpoint(ctx, e)
	if err != nil {
		return Endpoint{}, err
	}
	v := view(e)
	v.Secret = secret
	return v, nil
}

// Update changes an endpoint. With RotateSecret (or a Secret) the new
// secret is in the answer, and signs every delivery from then on, those
// already pending included.
func (s *Service) Update(ctx context.Context, id int64, in Input) (Endpoint, error) {
	e, err := s.db.GetWebhookEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	if err := apply(&e, in); err != nil {
		return Endpoint{}, err
	}
	secret := in.Secret
	if in.RotateSecret && secret == "" {
		if secret, err = s.newSecret(); err != nil {
			return Endpoint{}, err
		}
	}
	if secret != "" {
		if e.Secret, err = s.box.Seal([]byte(secret)); err != nil {
			return Endpoint{}, fmt.Errorf("webhooks: seal secret: %w", err)
		}
	}
	if e, err = s.db.UpdateWebhookEndpoint(ctx, e); err != nil {
		return Endpoint{}, err
	}
	v := view(e)
	v.Secret = secret
	return v, nil
}

// Delete removes an endpoint and its delivery log.
func (s *Service) Delete(ctx context.Context, id int64) error {
	return s.db.DeleteWebhookEndpoint(ctx, id)
}

// Get returns an endpoint, without its secret.
func (s *Service) Get(ctx context.Context, id int64) (Endpoint, error) {
	e, err := s.db.GetWebhookEndpoint(ctx, id)
	if err != nil {
		return Endpoint{}, err
	}
	return view(e), nil
}

// List returns every endpoint, oldest first, without their secrets.
func (s *Service) List(ctx context.Context) ([]Endpoint, error) {
	es, err := s.db.ListWebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Endpoint, len(es))
	for i, e := range es {
		out[i] = view(e)
	}
	return out, nil
}

// DeliveryFilter selects deliveries of an endpoint: Status ("pending",
// "delivered", "failed") when set; Cursor is the NextCursor of the page
// before.
type DeliveryFilter struct {
	Status string
	Cursor string
	Limit  int // 1..1000; 50 when zero
}

// DeliveryPage is a page of an endpoint's delivery log, newest first.
type DeliveryPage struct {
	Deliveries []store.WebhookDelivery `json:"deliveries"`
	NextCursor string                  `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page"`
}

// Deliveries returns a page of an endpoint's delivery log, newest first:
// each delivery's status, attempts, last answer and next attempt.
func (s *Service) Deliveries(ctx context.Context, endpointID int64, f DeliveryFilter) (DeliveryPage, error) {
	if _, err := s.db.GetWebhookEndpoint(ctx, endpointID); err != nil {
		return DeliveryPage{}, err
	}
	sf := store.DeliveryFilter{EndpointID: endpointID, Status: f.Status, Limit: f.Limit}
	var bad []sms.FieldError
	switch f.Status {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryFailed:
	default:
		bad = append(bad, sms.FieldError{Field: "status", Message: "pending, delivered or failed", Value: f.Status})
	}
	if f.Cursor != "" {
		if _, err := fmt.Sscan(f.Cursor, &sf.Before); err != nil || sf.Before < 1 {
			bad = append(bad, sms.FieldError{Field: "cursor", Message: "use next_cursor from the previous page", Value: f.Cursor})
		}
	}
	if len(bad) > 0 {
		return DeliveryPage{}, sms.Invalid("invalid filter", bad...)
	}
	if sf.Limit <= 0 {
		sf.Limit = 50
	}
	ds, err := s.db.ListWebhookDeliveries(ctx, sf)
	if err != nil {
		return DeliveryPage{}, err
	}
	page := DeliveryPage{Deliveries: ds}
	if len(ds) == sf.Limit {
		page.NextCursor = fmt.Sprint(ds[len(ds)-1].ID)
	}
	return page, nil
}

// Resend makes one of an endpoint's deliveries pending again and due now,
// whatever its status: it is sent with the same id and the endpoint's
// current secret, and retried as a new delivery would be.
func (s *Service) Resend(ctx context.Context, endpointID, deliveryID int64) (store.WebhookDelivery, error) {
	return s.db.ResendWebhookDelivery(ctx, endpointID, deliveryID, s.cfg.Now())
}

// secretPrefix starts generated secrets, so that one found lying around is
// recognisable.
const secretPrefix = "whsec_"

func (s *Service) newSecret() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(s.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("webhooks: generate secret: %w", err)
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// apply validates in and writes its set fields into e.
func apply(e *store.WebhookEndpoint, in Input) error {
	var bad []sms.FieldError
	if in.URL != nil {
		u, msg := checkURL(*in.URL)
		if msg != "" {
			bad = append(bad, sms.FieldError{Field: "url", Message: msg, Value: redactURL(*in.URL)})
		}
		e.URL = u
	}
	if in.Events != nil {
		if len(in.Events) == 0 {
			bad = append(bad, sms.FieldError{Field: "events", Message: "name at least one event type"})
		}
		e.Events = e.Events[:0]
		seen := map[EventType]bool{}
		for i, ev := range in.Events {
			if !ev.Valid() {
				bad = append(bad, sms.FieldError{Field: fmt.Sprintf("events[%d]", i), Message: "unknown event type; known: " + eventList(), Value: string(ev)})
				continue
			}
			if !seen[ev] {
				seen[ev] = true
				e.Events = append(e.Events, string(ev))
			}
		}
	}
	if in.Active != nil {
		e.Active = *in.Active
	}
	if in.Description != nil {
		if len(*in.Description) > 500 {
			bad = append(bad, sms.FieldError{Field: "description", Message: "at most 500 characters"})
		}
		e.Description = *in.Description
	}
	if in.Secret != "" && (len(in.Secret) < 16 || len(in.Secret) > 200 || strings.ContainsAny(in.Secret, " \t\r\n")) {
		bad = append(bad, sms.FieldError{Field: "secret", Message: "16 to 200 characters without spaces"})
	}
	if len(bad) > 0 {
		return sms.Invalid("invalid webhook endpoint", bad...)
	}
	return nil
}

// checkURL returns the URL to store, or why it cannot be: an absolute http
// or https URL with a host, and no credentials (the signature authenticates
// Recado; a password in the URL would show in every log line that prints
// it).
func checkURL(raw string) (string, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", "required"
	}
	if len(raw) > 2000 {
		return raw, "at most 2000 characters"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw, "not a URL"
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return raw, "must start with https:// or http://"
	case u.Host == "" || u.Hostname() == "":
		return raw, "must name a host"
	case u.User != nil:
		return raw, "must not carry credentials (user:password@); Recado's signature authenticates it"
	case u.Fragment != "":
		return raw, "must not have a #fragment"
	}
	return u.String(), ""
}

// redactURL hides credentials in a refused URL before it is echoed back.
func redactURL(raw string) string {
	if u, err := url.Parse(strings.TrimSpace(raw)); err == nil && u.User != nil {
		return u.Redacted()
	}
	return raw
}

func eventList() string {
	var names []string
	for _, e := range Events() {
		names = append(names, string(e))
	}
	return strings.Join(names, ", ")
}
