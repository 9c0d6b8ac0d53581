package kolmeya

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// Settings configure a Kolmeya provider. They are stored as JSON:
//
//	{"base_url": "https://kolmeya.com.br/api/v1", "token": "…", "segment_id": 109,
//	 "sms_api_id": 47, "webhook_secret": "…", "webhook_jwt_secret": "…",
//	 "cost_per_segment": "0.07", "timeout": "30s"}
//
// Only token is required. "token", "webhook_secret" and "webhook_jwt_secret"
// are secrets.
type Settings struct {
	// BaseURL is Kolmeya's API root; DefaultBaseURL when empty.
	BaseURL string
	// Token is the account's API token.
	Token string
	// SegmentID is the cost centre sent as tenant_segment_id; 0 sends none
	// and Kolmeya uses the account's default.
	SegmentID int64
	// SMSAPIID is the route sent as sms_api_id; 0 sends none.
	SMSAPIID int64
	// WebhookSecret goes in the path of the webhook URL sent with each
	// request; without it (or without a public URL) no webhook URL is sent
	// and statuses come by polling only.
	WebhookSecret string
	// WebhookJWTSecret is the HMAC key of the HS256 JWTs a gateway in front
	// of Recado may put in the webhooks' Authorization header; a webhook
	// bearing a valid one is accepted whatever its URL's secret. Empty means
	// no JWT is accepted.
	WebhookJWTSecret string
	// CostPerSegment is what one segment costs, reported in each accepted
	// Result; 0 reports no cost.
	CostPerSegment sms.Money
	// Timeout bounds each HTTP attempt; 30 seconds by default.
	Timeout time.Duration
}

// MinWebhookSecret is the shortest webhook secret accepted: it is the only
// thing keeping strangers from posting statuses.
const MinWebhookSecret = 16

// MinWebhookJWTSecret is the shortest HS256 key accepted: RFC 7518 asks for
// a key at least as long as the hash, 256 bits.
const MinWebhookJWTSecret = 32

type settingsJSON struct {
	BaseURL        string          `json:"base_url"`
	Token          string          `json:"token"`
	SegmentID      json.RawMessage `json:"segment_id"`
	SMSAPIID       json.RawMessage `json:"sms_api_id"`
	WebhookSecret  string          `json:"webhook_secret"`
	WebhookJWT     string          `json:"webhook_jwt_secret"`
	CostPerSegment json.RawMessage `json:"cost_per_segment"`
	Timeout        string          `json:"timeout"`
}

// ParseSettings reads and checks a provider's settings. Unknown keys,
// a missing token, malformed values and values out of range give an error
// of kind KindInvalid naming the field.
func ParseSettings(raw json.RawMessage) (Settings, error) {
	var in settingsJSON
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Settings{}, sms.Errorf(sms.KindInvalid, "kolmeya: bad settings JSON: %w", err)
	}
	s := Settings{
		BaseURL:          strings.TrimRight(strings.TrimSpace(in.BaseURL), "/"),
		Token:            strings.TrimSpace(in.Token),
		WebhookSecret:    in.WebhookSecret,
		WebhookJWTSecret: in.WebhookJWT,
		Timeout:          30 * time.Second,
	}
	invalid := func(field, msg string, value any) error {
		return sms.Invalid(fmt.Sprintf("kolmeya: setting %s %s", field, msg),
			sms.FieldError{Field: field, Message: msg, Value: value})
	}
	if s.BaseURL == "" {
		s.BaseURL = DefaultBaseURL
	}
	if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return Settings{}, invalid("base_url", "must be an http or https URL", in.BaseURL)
	}
	if s.Token == "" {
		return Settings{}, invalid("token", "is required", nil)
	}
	var err error
	if s.SegmentID, err = settingID(in.SegmentID); err != nil {
		return Settings{}, invalid("segment_id", "must be a whole number of 0 or more", string(in.SegmentID))
	}
	if s.SMSAPIID, err = settingID(in.SMSAPIID); err != nil {
		return Settings{}, invalid("sms_api_id", "must be a whole number of 0 or more", string(in.SMSAPIID))
	}
	if s.WebhookSecret != "" && len(s.WebhookSecret) < MinWebhookSecret {
		return Settings{}, invalid("webhook_secret", fmt.Sprintf("must have at least %d characters", MinWebhookSecret), nil)
	}
	if s.WebhookJWTSecret != "" && len(s.WebhookJWTSecret) < MinWebhookJWTSecret {
		return Settings{}, invalid("webhook_jwt_secret", fmt.Sprintf("must have at least %d characters", MinWebhookJWTSecret), nil)
	}
	if len(in.CostPerSegment) > 0 {
		var text FlexString
		if err := text.UnmarshalJSON(in.CostPerSegment); err != nil {
			return Settings{}, invalid("cost_per_segment", "must be an amount such as \"0.07\"", string(in.CostPerSegment))
		}
		if text != "" {
			if s.CostPerSegment, err = sms.ParseMoney(string(text)); err != nil || s.CostPerSegment < 0 {
				return Settings{}, invalid("cost_per_segment", "must be an amount of 0 or more such as \"0.07\"", string(text))
			}
		}
	}
	if in.Timeout != "" {
		if s.Timeout, err = time.ParseDuration(in.Timeout); err != nil || s.Timeout <= 0 {
			return Settings{}, invalid("timeout", "must be a positive duration such as \"30s\"", in.Timeout)
		}
	}
	return s, nil
}

func settingID(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 {
		return 0, nil
	}
	var n FlexInt
	if err := n.UnmarshalJSON(raw); err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, fmt.Errorf("negative")
	}
	return int64(n), nil
}
