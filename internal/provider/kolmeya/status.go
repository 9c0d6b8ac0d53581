package kolmeya

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/recado-sms/recado/internal/sms"
)

// RequestStatus is what Kolmeya knows of one send request and its messages.
// The request-level status is an enumeration of its own, of which only
// "Válido" (2) is known.
type RequestStatus struct {
	ID         FlexString      `json:"id"`
	Reference  FlexString      `json:"reference"`
	Status     FlexString      `json:"status"`
	StatusCode FlexInt         `json:"status_code"`
	Messages   []MessageStatus `json:"messages"`
}

// MessageStatus is the status of one message. Only StatusCode is stable
// (see StateForCode); Status is Kolmeya's word for it ("enviado",
// "entregue"), which varies.
type MessageStatus struct {
	ID         FlexString `json:"id"`
	Reference  FlexString `json:"reference"`
	Phone      FlexString `json:"phone"`
	Status     FlexString `json:"status"`
	StatusCode FlexInt    `json:"status_code"`
}

// Kolmeya's message status codes.
const (
	StatusTrying      = 1 // trying to send
	StatusSent        = 2 // handed to the carrier
	StatusDelivered   = 3 // delivered (final)
	StatusUndelivered = 4 // not delivered (final)
	StatusRejected    = 5 // rejected by the carrier (final)
	StatusExpired     = 6 // expired (final)
)

// StateForCode maps a Kolmeya message status code to Recado's state, and
// says whether the code is known. A message Kolmeya holds has been accepted,
// so codes 1 and 2 are both StateSent; 3 is delivered, 4 failed, 5 rejected
// and 6 expired.
func StateForCode(code int) (sms.State, bool) {
	switch code {
	case StatusTrying, StatusSent:
		return sms.StateSent, true
	case StatusDelivered:
		return sms.StateDelivered, true
	case StatusUndelivered:
		return sms.StateFailed, true
	case StatusRejected:
		return sms.StateRejected, true
	case StatusExpired:
		return sms.StateExpired, true
	}
	return "", false
}

// StatusByRequestID asks for a request's status by Kolmeya's request id.
func (c *Client) StatusByRequestID(ctx context.Context, id string) (*RequestStatus, error) {
	return c.requestStatus(ctx, "status by id", map[string]string{"id": id})
}

// StatusByReference asks for a request's status by the top-level reference
// Recado sent with it. A reference Kolmeya does not know gives an error with
// Code CodeNotFound (or CodeValidation, as Kolmeya may answer 422).
func (c *Client) StatusByReference(ctx context.Context, ref string) (*RequestStatus, error) {
	return c.requestStatus(ctx, "status by reference", map[string]string{"reference": ref})
}

func (c *Client) requestStatus(ctx context.Context, op string, body map[string]string) (*RequestStatus, error) {
	var out RequestStatus
	if err := c.call(ctx, pathStatusRequest, body, &out, idempotent); err != nil {
		return nil, wrap(op, err)
	}
	return &out, nil
}

// MessageStatus asks for one message's status by Kolmeya's message id.
func (c *Client) MessageStatus(ctx context.Context, id string) (*MessageStatus, error) {
	var out MessageStatus
	if err := c.call(ctx, pathStatusMessage, map[string]string{"id": id}, decodeMessageStatus(&out), idempotent); err != nil {
		return nil, wrap("message status", err)
	}
	return &out, nil
}

// decodeMessageStatus reads a message status given bare or wrapped in
// {"message": {...}} or {"data": {...}}; the contract only assumes its shape.
func decodeMessageStatus(out *MessageStatus) func([]byte) error {
	return func(body []byte) error {
		var wrapper map[string]json.RawMessage
		if err := json.Unmarshal(body, &wrapper); err != nil {
			return err
		}
		for _, key := range []string{"message", "data"} {
			if inner := bytes.TrimSpace(wrapper[key]); len(inner) > 0 && inner[0] == '{' {
				return json.Unmarshal(inner, out)
			}
		}
		return json.Unmarshal(body, out)
	}
}
