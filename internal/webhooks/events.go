package webhooks

import (
	"slices"
	"time"
)

// EventType names an event an endpoint can subscribe to.
type EventType string

// The event types. Message events carry the message as it is when the
// delivery is made, with the state the event is about.
const (
	MessageSent      EventType = "message.sent"      // the provider accepted the message
	MessageDelivered EventType = "message.delivered" // the handset received it
	MessageFailed    EventType = "message.failed"    // it will not be delivered
	MessageRejected  EventType = "message.rejected"  // the provider refused it
	MessageExpired   EventType = "message.expired"   // the network gave up on it
	// ReplyReceived and ContactOptedOut are about a reply: their message is
	// the inbound one, with its text, contact and owner.
	ReplyReceived   EventType = "reply.received"    // a contact answered
	ContactOptedOut EventType = "contact.opted_out" // a contact asked for no more marketing
)

// Events lists every event type, in the order the documentation shows them.
func Events() []EventType {
	return []EventType{MessageSent, MessageDelivered, MessageFailed, MessageRejected, MessageExpired,
		ReplyReceived, ContactOptedOut}
}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return slices.Contains(Events(), t) }

// Event is the JSON body of every delivery.
type Event struct {
	// ID is the delivery's id, the same on every attempt and resend: a
	// receiver that saw it already may ignore it.
	ID      string        `json:"id"`
	Type    EventType     `json:"type"`
	At      time.Time     `json:"at"`
	Detail  string        `json:"detail,omitempty"`
	Message *EventMessage `json:"message,omitempty"`
}

// EventMessage is the message a message event is about. State is the state
// the event announces (the message may have moved on since); the other
// fields are read when the delivery is made.
type EventMessage struct {
	ID                int64  `json:"id"`
	Reference         string `json:"reference"`
	Phone             string `json:"phone"`
	State             string `json:"state"`
	Provider          string `json:"provider"`
	ProviderMessageID string `json:"provider_message_id,omitempty"`
	ErrorCode         string `json:"error_code,omitempty"`
	ErrorText         string `json:"error_text,omitempty"`
	CampaignID        *int64 `json:"campaign_id,omitempty"`
	// For reply.received and contact.opted_out, the message is the reply:
	// its text, its contact and the message it answers.
	Body      string `json:"body,omitempty"`
	ContactID *int64 `json:"contact_id,omitempty"`
	ReplyTo   *int64 `json:"reply_to,omitempty"`
	OwnerID   *int64 `json:"owner_id,omitempty"` // the contact's owner: the operator who answers its replies
}
