// Package provider defines what Recado asks of an SMS provider, the errors a
// provider answers with, and the registry that builds providers from their
// stored configuration.
//
// A provider is a handful of methods: send a batch and say, per message, what
// became of it; look up what it holds for references we sent (so that a crash
// between its answer and our write is reconciled, never re-sent); and, where it
// can, report its balance. Status reports that arrive later (webhooks, polls,
// the mock's timers) go to a StatusSink, the one path that applies them.
package provider

import (
	"context"
	"encoding/json"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// Provider sends SMS for Recado. Implementations are safe for concurrent use.
type Provider interface {
	// Name is the provider's configured name, unique in Recado ("kolmeya",
	// "mock").
	Name() string
	// Limits says how the send pipeline must shape its batches.
	Limits() Limits
	// Send hands a batch to the provider. It returns one Result per message
	// the provider gave an answer for, matched by Outbound.Reference; a message
	// without a result is treated as not accepted. An error means the batch as
	// a whole failed: a *sms.Error of kind KindProviderTemporary or
	// KindRateLimited is retried (a rate limit after its RetryAfter, without
	// counting an attempt), anything else fails the batch's messages.
	//
	// A temporary error does not prove the provider did not accept the batch
	// (a timeout after acceptance looks the same), so the pipeline calls
	// Lookup before sending a batch again.
	Send(ctx context.Context, b Batch) ([]Result, error)
	// Lookup returns what the provider holds for messages sent in earlier
	// attempts of a batch: a Result for each message it accepted, matched by
	// reference. Messages it does not know are absent from the answer. A
	// provider that cannot look up returns an error of kind
	// KindProviderPermanent and the pipeline does not retry blindly.
	Lookup(ctx context.Context, q LookupQuery) ([]Result, error)
}

// BalanceChecker is implemented by providers that can tell their balance.
type BalanceChecker interface {
	Balance(ctx context.Context) (sms.Money, error)
}

// Limits are a provider's constraints on batches.
type Limits struct {
	MaxBatch int // messages per Send call; at least 1
}

// Batch is one call to Send: the request's own reference, unique per attempt,
// and its messages.
type Batch struct {
	Reference string
	Messages  []Outbound
}

// Outbound is a message as a provider sees it.
type Outbound struct {
	Reference string          // Recado's unique reference, echoed back in results
	Phone     string          // E.164, with the plus
	Body      string          //
	Kind      sms.MessageKind // transactional messages may take a separate route
}

// LookupQuery names what to look up: the references of earlier send requests
// of a batch, and the message references the pipeline is unsure about.
type LookupQuery struct {
	RequestReferences []string
	MessageReferences []string
}

// Result is a provider's answer for one message. State is StateSent for an
// accepted message (or a later state when the provider already knows more),
// StateRejected for a final refusal, StateFailed for a failure.
type Result struct {
	Reference         string
	State             sms.State
	ProviderMessageID string
	ProviderJobID     string
	ErrorCode         string // "invalid", "duplicate", "blacklist", "not_disturb", or the provider's own
	ErrorText         string
	Cost              *sms.Money // the provider's cost, when it tells; else Recado's price per segment
}

// StatusUpdate is a later report about a message: delivered, failed and so on.
// It names the message by the provider's id, by Recado's reference, or both.
type StatusUpdate struct {
	Reference         string
	ProviderMessageID string
	State             sms.State
	At                time.Time
	ErrorCode         string
	ErrorText         string
	Detail            string // the provider's own word for the status
}

// StatusSink takes status reports and applies them durably. It returns only
// once the updates are stored, so a webhook answers 2xx after them.
type StatusSink interface {
	ApplyStatuses(ctx context.Context, provider string, source sms.Source, updates []StatusUpdate) error
}

// Reply is an SMS a recipient sent back, as a provider reports it.
type Reply struct {
	ProviderReplyID string    // the provider's id for the reply: the key that de-duplicates it
	Phone           string    // the sender, in any form the provider gives (normalised by Recado)
	Body            string    //
	ReceivedAt      time.Time // zero: now
	// What it answers, when the provider says: its id for our message, or our
	// reference. Recado falls back to the latest message sent to the phone.
	InReplyToProviderMessageID string
	InReplyToReference         string
}

// ReplySink takes replies and stores them durably as inbound messages,
// linked to their contact and to the message they answer; replying with an
// opt-out word (SAIR, PARE, STOP…) opts the contact out. A reply seen before
// (same provider and reply id) changes nothing. It returns once stored.
type ReplySink interface {
	ApplyReplies(ctx context.Context, provider string, source sms.Source, replies []Reply) error
}

// Config is a provider's stored configuration, secrets already decrypted.
type Config struct {
	Name     string
	Type     string
	Settings json.RawMessage // the type's own settings, secrets included
}
