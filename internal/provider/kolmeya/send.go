package kolmeya

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

// MaxStoreMessages is how many messages one /sms/store request takes.
const MaxStoreMessages = 1000

// StoreRequest is the body of /sms/store and /sms/store-token.
type StoreRequest struct {
	Messages []OutMessage `json:"messages"`
	// Reference is Recado's id for the request, echoed back and usable to
	// ask for its status.
	Reference string `json:"reference,omitempty"`
	// TenantSegmentID is the cost centre (from Segments); 0 means the
	// account's default and is not sent.
	TenantSegmentID int64 `json:"tenant_segment_id,omitempty"`
	// SMSAPIID is the API route (from APIs); 0 is not sent.
	SMSAPIID int64 `json:"sms_api_id,omitempty"`
	// WebhookURL is where Kolmeya posts this request's events.
	WebhookURL string `json:"webhook_url,omitempty"`
}

// OutMessage is one message of a StoreRequest.
type OutMessage struct {
	Phone     string `json:"phone"` // digits with 55
	Message   string `json:"message"`
	Reference string `json:"reference,omitempty"`
}

// StoreResponse is Kolmeya's answer to a send: the request's id and, per
// message, whether it was taken or why not. Match items to messages by
// Reference, never by position; refusals that carry only a phone are matched
// by phone (see NationalDigits).
type StoreResponse struct {
	ID         FlexString `json:"id"`
	Reference  FlexString `json:"reference"`
	Valids     []Accepted `json:"valids"`
	Invalids   []Refusal  `json:"invalids"`
	Duplicates []Refusal  `json:"duplicates"`
	Blacklist  []Refusal  `json:"blacklist"`
	NotDisturb []Refusal  `json:"not_disturb"`
}

// Accepted is a message Kolmeya took. Its phone comes back as an integer
// without the country code.
type Accepted struct {
	ID        FlexString `json:"id"`
	Phone     FlexString `json:"phone"`
	Reference FlexString `json:"reference"`
}

// Refusal is a message Kolmeya refused. Blacklist and do-not-disturb
// refusals may name only the phone; an item that is a bare phone (a string or
// a number instead of an object) reads as one with only Phone set.
type Refusal struct {
	Phone     FlexString `json:"phone"`
	Message   FlexString `json:"message"`
	Reference FlexString `json:"reference"`
	Error     FlexString `json:"error"`
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Refusal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] != '{' {
		*r = Refusal{}
		return r.Phone.UnmarshalJSON(b)
	}
	type plain Refusal
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*r = Refusal(p)
	return nil
}

// Store sends 1 to 1000 messages through /sms/store. It is never retried: on
// a temporary error the request may have been taken, so ask StatusByReference
// before sending again.
func (c *Client) Store(ctx context.Context, req StoreRequest) (*StoreResponse, error) {
	if n := len(req.Messages); n < 1 || n > MaxStoreMessages {
		return nil, wrap("store", sms.Errorf(sms.KindInvalid, "%d messages: a request takes 1 to %d", n, MaxStoreMessages))
	}
	var out StoreResponse
	if err := c.call(ctx, pathStore, req, &out, noRetry); err != nil {
		return nil, wrap("store", err)
	}
	return &out, nil
}

// StoreToken sends one transactional message (a one-time code, a notice)
// through /sms/store-token, which skips the do-not-disturb register and
// refuses links and 0800 numbers. Like Store, it is never retried.
func (c *Client) StoreToken(ctx context.Context, req StoreRequest) (*StoreResponse, error) {
	if n := len(req.Messages); n != 1 {
		return nil, wrap("store token", sms.Errorf(sms.KindInvalid, "%d messages: the token route takes exactly one", n))
	}
	var out StoreResponse
	if err := c.call(ctx, pathStoreToken, req, &out, noRetry); err != nil {
		return nil, wrap("store token", err)
	}
	return &out, nil
}

// NationalDigits returns a phone's Brazilian national number: its digits,
// without a leading 55 when what remains is a 10- or 11-digit number.
// Kolmeya echoes phones sometimes with 55 and sometimes without; comparing
// national digits matches both.
func NationalDigits(phone string) string {
	var b strings.Builder
	b.Grow(len(phone))
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; c >= '0' && c <= '9' {
			b.WriteByte(c)
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "55") && (len(d) == 12 || len(d) == 13) {
		d = d[2:]
	}
	return d
}
