package mock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// Settings configure a mock provider. The zero value is not useful; start
// from DefaultSettings or ParseSettings.
type Settings struct {
	// MaxBatch is how many messages one Send takes; at least 1.
	MaxBatch int
	// SendLatency is how long each Send waits before answering, as a
	// network call would.
	SendLatency time.Duration
	// DeliveryDelay is how long after a send the final status is reported to
	// the status sink.
	DeliveryDelay time.Duration
	// Outcomes weighs the fates a message may meet.
	Outcomes Outcomes
	// RejectPrefixes are E.164 prefixes ("+5511999") refused at send with
	// error code "invalid".
	RejectPrefixes []string
	// CostPerSegment is what each accepted segment costs; it is reported in
	// every Result and taken off the fake balance.
	CostPerSegment sms.Money
	// Balance is the fake balance the provider starts with.
	Balance sms.Money
	// Journal, when set, is a file where every accepted message is written,
	// and synced, before Send answers, as a real provider keeps what it
	// accepted. A mock started on an existing journal remembers those
	// messages (Lookup finds them; Accepted counts them), so a Recado killed
	// and restarted can be checked for lost or doubled sends.
	Journal string
}

// Outcomes are relative weights of the fates of accepted messages. A message's
// fate is chosen by hashing its reference, so that the same reference always
// meets the same fate. Rejected messages are refused at send; the others are
// sent and later reported delivered, failed or expired.
type Outcomes struct {
	Delivered int `json:"delivered"`
	Failed    int `json:"failed"`
	Rejected  int `json:"rejected"`
	Expired   int `json:"expired"`
}

// Validate returns an error of kind KindInvalid when a weight is negative or
// all of them are zero.
func (o Outcomes) Validate() error {
	fields := []struct {
		name string
		w    int
	}{{"delivered", o.Delivered}, {"failed", o.Failed}, {"rejected", o.Rejected}, {"expired", o.Expired}}
	for _, f := range fields {
		if f.w < 0 {
			return sms.Invalid(fmt.Sprintf("mock: outcome weight %s must not be negative", f.name),
				sms.FieldError{Field: "outcomes." + f.name, Message: "must be zero or more", Value: f.w})
		}
	}
	if o.total() == 0 {
		return sms.Invalid("mock: at least one outcome weight must be positive",
			sms.FieldError{Field: "outcomes", Message: "all weights are zero"})
	}
	return nil
}

func (o Outcomes) total() int { return o.Delivered + o.Failed + o.Rejected + o.Expired }

// DefaultSettings are the settings of a mock configured with "{}": every
// message delivered one second after it is sent, for R$ 0,05 a segment, from a
// balance of R$ 1.000,00.
func DefaultSettings() Settings {
	return Settings{
		MaxBatch:       1000,
		DeliveryDelay:  time.Second,
		Outcomes:       Outcomes{Delivered: 100},
		CostPerSegment: 500,
		Balance:        1000 * sms.MoneyScale,
	}
}

// settingsJSON is the stored form of Settings. Pointers tell a missing key
// from a zero one, so that missing keys keep their defaults.
type settingsJSON struct {
	MaxBatch       *int            `json:"max_batch"`
	SendLatency    *string         `json:"send_latency"`
	DeliveryDelay  *string         `json:"delivery_delay"`
	Outcomes       *Outcomes       `json:"outcomes"`
	RejectPrefixes []string        `json:"reject_prefixes"`
	CostPerSegment json.RawMessage `json:"cost_per_segment"`
	Balance        json.RawMessage `json:"balance"`
	Journal        *string         `json:"journal"`
}

// ParseSettings reads a mock's settings from JSON. Every key is optional and
// takes its value from DefaultSettings when missing; an empty input means
// all defaults. Unknown keys, malformed values and values out of range give
// an error of kind KindInvalid naming the field.
//
//	{"max_batch": 1000, "send_latency": "0s", "delivery_delay": "1s",
//	 "outcomes": {"delivered": 100, "failed": 0, "rejected": 0, "expired": 0},
//	 "reject_prefixes": ["+5511999"], "cost_per_segment": "0.05", "balance": "1000.00"}
//
// A missing weight inside "outcomes" counts as zero.
func ParseSettings(raw json.RawMessage) (Settings, error) {
	s := DefaultSettings()
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return s, nil
	}
	var in settingsJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Settings{}, sms.Errorf(sms.KindInvalid, "mock: bad settings JSON: %w", err)
	}
	if in.MaxBatch != nil {
		s.MaxBatch = *in.MaxBatch
	}
	var err error
	if in.SendLatency != nil {
		if s.SendLatency, err = parseDuration("send_latency", *in.SendLatency); err != nil {
			return Settings{}, err
		}
	}
	if in.DeliveryDelay != nil {
		if s.DeliveryDelay, err = parseDuration("delivery_delay", *in.DeliveryDelay); err != nil {
			return Settings{}, err
		}
	}
	if in.Outcomes != nil {
		s.Outcomes = *in.Outcomes
	}
	s.RejectPrefixes = in.RejectPrefixes
	if in.CostPerSegment != nil {
		if s.CostPerSegment, err = parseMoney("cost_per_segment", in.CostPerSegment); err != nil {
			return Settings{}, err
		}
	}
	if in.Balance != nil {
		if s.Balance, err = parseMoney("balance", in.Balance); err != nil {
			return Settings{}, err
		}
	}
	if in.Journal != nil {
		s.Journal = *in.Journal
	}
	if err := s.Validate(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Validate returns an error of kind KindInvalid naming the first setting out
// of range.
func (s Settings) Validate() error {
	switch {
	case s.MaxBatch < 1:
		return invalidField("max_batch", "must be at least 1", s.MaxBatch)
	case s.SendLatency < 0:
		return invalidField("send_latency", "must not be negative", s.SendLatency.String())
	case s.DeliveryDelay < 0:
		return invalidField("delivery_delay", "must not be negative", s.DeliveryDelay.String())
	case s.CostPerSegment < 0:
		return invalidField("cost_per_segment", "must not be negative", s.CostPerSegment.String())
	}
	for i, p := range s.RejectPrefixes {
		if !validPrefix(p) {
			return invalidField(fmt.Sprintf("reject_prefixes[%d]", i), `must be "+" followed by digits`, p)
		}
	}
	return s.Outcomes.Validate()
}

func parseDuration(field, v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		return 0, invalidField(field, `must be a duration such as "0s", "250ms" or "1s"`, v)
	}
	if d < 0 {
		return 0, invalidField(field, "must not be negative", v)
	}
	return d, nil
}

// parseMoney accepts an amount as a JSON string ("0.05") or number (0.05).
func parseMoney(field string, raw json.RawMessage) (sms.Money, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw) // a JSON number reads the same as a string
	}
	m, err := sms.ParseMoney(s)
	if err != nil {
		return 0, invalidField(field, "must be an amount such as \"0.05\"", string(raw))
	}
	if m < 0 {
		return 0, invalidField(field, "must not be negative", string(raw))
	}
	return m, nil
}

func invalidField(field, msg string, v any) error {
	return sms.Invalid(fmt.Sprintf("mock: setting %s %s", field, msg),
		sms.FieldError{Field: field, Message: msg, Value: v})
}

// validPrefix reports whether p is a plus and one or more digits.
func validPrefix(p string) bool {
	if len(p) < 2 || p[0] != '+' {
		return false
	}
	for _, c := range p[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validE164 reports whether phone looks like an E.164 number: a plus and 8 to
// 15 digits.
func validE164(phone string) bool {
	return validPrefix(phone) && len(phone) >= 9 && len(phone) <= 16
}
