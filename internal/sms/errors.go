package sms

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Kind classifies an error for the code that must decide what to do with it:
// answer with an HTTP status, retry later, or give up. Code returns kinds,
// never statuses; the table Kinds is the one place that maps them.
type Kind int

// The kinds of error.
const (
	KindInternal          Kind = iota // a bug or an unexpected failure below us
	KindInvalid                       // the input is wrong; nothing was changed
	KindUnauthorized                  // no or bad credentials
	KindForbidden                     // credentials fine, permission missing
	KindNotFound                      // no such thing
	KindConflict                      // the thing's current state refuses the change
	KindProviderTemporary             // the provider failed in a way worth retrying
	KindProviderPermanent             // the provider refused; retrying will not help
	KindRateLimited                   // slow down; see Error.RetryAfter
	KindUnavailable                   // a dependency of ours is down; try again soon
	KindTooLarge                      // the input is over its size limit; nothing was changed
)

// KindInfo is what the table says about one kind.
type KindInfo struct {
	Name   string // a short stable name, used in logs and problem types
	Status int    // the HTTP status the API answers with
	Retry  bool   // whether the same operation may succeed if tried again later
}

// Kinds maps every kind to its HTTP status and retry rule.
var Kinds = map[Kind]KindInfo{
	KindInternal:          {"internal", http.StatusInternalServerError, false},
	KindInvalid:           {"invalid", http.StatusUnprocessableEntity, false},
	KindUnauthorized:      {"unauthorized", http.StatusUnauthorized, false},
	KindForbidden:         {"forbidden", http.StatusForbidden, false},
	KindNotFound:          {"not_found", http.StatusNotFound, false},
	KindConflict:          {"conflict", http.StatusConflict, false},
	KindProviderTemporary: {"provider_temporary", http.StatusBadGateway, true},
	KindProviderPermanent: {"provider_permanent", http.StatusBadGateway, false},
	KindRateLimited:       {"rate_limited", http.StatusTooManyRequests, true},
	KindUnavailable:       {"unavailable", http.StatusServiceUnavailable, true},
	KindTooLarge:          {"too_large", http.StatusRequestEntityTooLarge, false},
}

// String returns k's name from the table Kinds, or "Kind(n)" for a number
// that names no kind.
func (k Kind) String() string {
	if info, ok := Kinds[k]; ok {
		return info.Name
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// FieldError names one bad field of an input and says what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Value   any    `json:"value,omitempty"`
}

// Error is the error type of Recado's domain and services. It carries a Kind,
// a message fit to show a user, the bad fields where there are some, and for
// rate limits how long to wait.
type Error struct {
	Kind       Kind
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration
	Code       string // a provider's or our own short error code, when there is one
	Err        error  // the cause, if any
}

// Error returns the message followed by the cause's text, unless the message
// already says it (Errorf's messages do, having formatted the cause with %w)
// or the cause is ErrStale, whose text adds nothing to the message of a
// refused transition.
func (e *Error) Error() string {
	switch {
	case e.Err == nil && e.Message == "":
		return e.Kind.String()
	case e.Err == nil:
		return e.Message
	case e.Message == "":
		return e.Err.Error()
	case errors.Is(e.Err, ErrStale), strings.Contains(e.Message, e.Err.Error()):
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

// Unwrap returns the cause, so that errors.Is and errors.As see through e.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with a formatted message. A %w verb wraps
// its operand as the cause.
func Errorf(k Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: k, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Invalid returns an invalid-input error listing the bad fields.
func Invalid(msg string, fields ...FieldError) error {
	return &Error{Kind: KindInvalid, Message: msg, Fields: fields}
}

// KindOf returns the kind of the first *Error in err's chain, or KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Retryable reports whether the operation that returned err may succeed if
// tried again later, according to the kind table.
func Retryable(err error) bool { return Kinds[KindOf(err)].Retry }

// RetryAfter returns how long err asks the caller to wait, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
