package sms

import "time"

// Direction tells whether a message leaves Recado or arrives at it.
type Direction string

// The directions of a message.
const (
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// MessageKind separates marketing messages, which obey opt-outs,
// do-not-disturb lists and sending hours, from transactional ones (one-time
// codes, notices), which may go at any hour.
type MessageKind string

// The kinds of message.
const (
	Marketing     MessageKind = "marketing"
	Transactional MessageKind = "transactional"
)

// Valid reports whether k is a known kind.
func (k MessageKind) Valid() bool { return k == Marketing || k == Transactional }

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return d == Outbound || d == Inbound }

// Source says who caused a change of state: Recado itself, a provider's
// answer to a send, a provider's report (webhook or poll), or a person.
type Source string

// The sources of a change of state.
const (
	SourceAPI      Source = "api"      // created or changed through the API or the UI
	SourceWorker   Source = "worker"   // the send pipeline
	SourceProvider Source = "provider" // the provider's answer to a send
	SourceWebhook  Source = "webhook"  // a status report pushed by the provider
	SourcePoll     Source = "poll"     // a status report we asked the provider for
)

// Event records one change of state of a message: when, to what, who caused
// it, and a free-text detail (an error, a provider's status word).
type Event struct {
	MessageID int64     `json:"message_id"`
	State     State     `json:"state"`
	At        time.Time `json:"at"`
	Source    Source    `json:"source"`
	Detail    string    `json:"detail,omitempty"`
}

// Message is one SMS, outbound or inbound, with everything Recado knows
// about it. Its State only changes through Transition.
type Message struct {
	ID                int64       `json:"id"`
	ContactID         *int64      `json:"contact_id,omitempty"`
	Phone             string      `json:"phone"` // E.164
	Body              string      `json:"body"`
	Direction         Direction   `json:"direction"`
	Kind              MessageKind `json:"kind"`
	State             State       `json:"state"`
	Provider          string      `json:"provider"`
	ProviderMessageID string      `json:"provider_message_id,omitempty"`
	ProviderJobID     string      `json:"provider_job_id,omitempty"`
	Reference         string      `json:"reference"`
	Segments          int         `json:"segments"`
	Encoding          Encoding    `json:"encoding"`
	Cost              Money       `json:"-"`
	ErrorCode         string      `json:"error_code,omitempty"`
	ErrorText         string      `json:"error_text,omitempty"`
	Attempts          int         `json:"attempts"`
	NextAttemptAt     *time.Time  `json:"next_attempt_at,omitempty"`
	CampaignID        *int64      `json:"campaign_id,omitempty"`
	TemplateID        *int64      `json:"template_id,omitempty"`
	ReplyTo           *int64      `json:"reply_to,omitempty"` // for inbound: the outbound message it answers
	CreatedBy         *int64      `json:"created_by,omitempty"`
	CreatedAt         time.Time   `json:"created_at"`
	UpdatedAt         time.Time   `json:"updated_at"`
	SentAt            *time.Time  `json:"sent_at,omitempty"`
	DeliveredAt       *time.Time  `json:"delivered_at,omitempty"`
	ReadAt            *time.Time  `json:"read_at,omitempty"` // inbound: when an operator read it
}

// Transition moves m to state to at time at and returns the event that
// records it. A move the rules refuse (see CanTransition) returns an error
// wrapping ErrStale and leaves m unchanged: a late "sent" after "delivered"
// changes nothing. A state that does not exist is an invalid-input error
// instead, so that a garbled report is not mistaken for a late one.
//
// The first move to sent (or straight to delivered) sets SentAt; delivered
// sets DeliveredAt; a final state clears NextAttemptAt.
func (m *Message) Transition(to State, at time.Time, source Source, detail string) (Event, error) {
	if !to.Valid() {
		return Event{}, Errorf(KindInvalid, "unknown state %q", to)
	}
	if !CanTransition(m.State, to) {
		return Event{}, transitionError(m.State, to)
	}
	m.State = to
	m.UpdatedAt = at
	switch to {
	case StateSent:
		if m.SentAt == nil {
			m.SentAt = &at
		}
	case StateDelivered:
		if m.SentAt == nil {
			m.SentAt = &at
		}
		m.DeliveredAt = &at
	}
	if to.Final() {
		m.NextAttemptAt = nil
	}
	return Event{MessageID: m.ID, State: to, At: at, Source: source, Detail: detail}, nil
}
