package sms

import (
	"fmt"
	"time"
)

// Why a contact may not be messaged (Error.Code of Sendable's errors).
const (
	CodeDeceased = "deceased"
	CodeOptedOut = "opted_out"
)

// Contact is a person or company Recado sends SMS to. Its phone is stored in
// E.164. Fields hold custom values for templates; Stats are kept by the
// store as messages are created and change state.
type Contact struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Phone      string            `json:"phone"`
	ExternalID string            `json:"external_id,omitempty"` // the contact's id in another system (a CRM), unique
	LineType   string            `json:"line_type,omitempty"`
	OwnerID    *int64            `json:"owner_id,omitempty"`
	Fields     map[string]string `json:"fields"`
	Tags       []string          `json:"tags"`
	OptedOut   bool              `json:"opted_out"`
	Deceased   bool              `json:"deceased"`
	Stats      ContactStats      `json:"stats"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// ContactStats counts a contact's SMS: every message, those that reached at
// least "sent", those received from it, and when the last one was created.
type ContactStats struct {
	Total     int        `json:"total"`
	Sent      int        `json:"sent"`
	Received  int        `json:"received"`
	LastSMSAt *time.Time `json:"last_sms_at,omitempty"`
}

// Sendable returns nil when an outbound message of kind k may go to c, or an
// error of kind KindConflict saying why not. A deceased contact is never
// messaged; an opted-out contact only receives transactional messages.
func (c *Contact) Sendable(k MessageKind) error {
	switch {
	case c.Deceased:
		return &Error{Kind: KindConflict, Code: CodeDeceased, Message: fmt.Sprintf("contact %d is marked deceased", c.ID)}
	case c.OptedOut && k == Marketing:
		return &Error{Kind: KindConflict, Code: CodeOptedOut, Message: fmt.Sprintf("contact %d has opted out of marketing messages", c.ID)}
	}
	return nil
}
