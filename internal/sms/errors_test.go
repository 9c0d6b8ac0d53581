package sms

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestKinds(t *testing.T) {
	// Every kind constant, listed by hand so that a new kind without an
	// entry in the table fails here.
	want := []struct {
		kind   Kind
		name   string
		status int
		retry  bool
	}{
		{KindInternal, "internal", http.StatusInternalServerError, false},
		{KindInvalid, "invalid", http.StatusUnprocessableEntity, false},
		{KindUnauthorized, "unauthorized", http.StatusUnauthorized, false},
		{KindForbidden, "forbidden", http.StatusForbidden, false},
		{KindNotFound, "not_found", http.StatusNotFound, false},
		{KindConflict, "conflict", http.StatusConflict, false},
		{KindProviderTemporary, "provider_temporary", http.StatusBadGateway, true},
		{KindProviderPermanent, "provider_permanent", http.StatusBadGateway, false},
		{KindRateLimited, "rate_limited", http.StatusTooManyRequests, true},
		{KindUnavailable, "unavailable", http.StatusServiceUnavailable, true},
		{KindTooLarge, "too_large", http.StatusRequestEntityTooLarge, false},
	}
	if len(Kinds) != len(want) {
		t.Errorf("Kinds has %d entries, want %d", len(Kinds), len(want))
	}
	names := map[string]bool{}
	for _, w := range want {
		info, ok := Kinds[w.kind]
		if !ok {
			t.Errorf("kind %d has no entry in Kinds", w.kind)
			continue
		}
		if info != (KindInfo{w.name, w.status, w.retry}) {
			t.Errorf("Kinds[%d] = %+v, want %+v", w.kind, info, KindInfo{w.name, w.status, w.retry})
		}
		if names[info.Name] {
			t.Errorf("name %q used twice", info.Name)
		}
		names[info.Name] = true
		if got := w.kind.String(); got != w.name {
			t.Errorf("Kind(%d).String() = %q, want %q", w.kind, got, w.name)
		}
		if got := Retryable(&Error{Kind: w.kind}); got != w.retry {
			t.Errorf("Retryable(kind %s) = %v", w.kind, got)
		}
	}
	if got := Kind(99).String(); got != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", got)
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("connection refused")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"message only", &Error{Kind: KindInvalid, Message: "bad phone"}, "bad phone"},
		{"message and cause", &Error{Kind: KindProviderTemporary, Message: "kolmeya: send", Err: cause}, "kolmeya: send: connection refused"},
		{"cause only", &Error{Kind: KindUnavailable, Err: cause}, "connection refused"},
		{"nothing", &Error{Kind: KindNotFound}, "not_found"},
		{"Errorf", Errorf(KindNotFound, "contact %d not found", 3), "contact 3 not found"},
		{"Errorf wrapping says the cause once", Errorf(KindUnavailable, "store: open: %w", cause), "store: open: connection refused"},
		{"Errorf wrapping mid-message", Errorf(KindUnavailable, "open (%w) failed", cause), "open (connection refused) failed"},
		{"stale cause is not repeated", transitionError(StateDelivered, StateSent), "cannot move a delivered message to sent"},
		{"ErrStale itself", ErrStale, "state change is stale or not allowed"},
		{"Invalid", Invalid("check the fields", FieldError{Field: "phone", Message: "too short"}), "check the fields"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestErrorChain(t *testing.T) {
	cause := errors.New("timeout")
	err := Errorf(KindProviderTemporary, "kolmeya: send: %w", cause)
	if !errors.Is(err, cause) {
		t.Error("Errorf lost its %w cause")
	}
	wrapped := fmt.Errorf("dispatch: %w", err)
	if got := KindOf(wrapped); got != KindProviderTemporary {
		t.Errorf("KindOf through a wrap = %s", got)
	}
	if !Retryable(wrapped) {
		t.Error("a temporary provider error is not retryable")
	}
	if got := KindOf(errors.New("plain")); got != KindInternal {
		t.Errorf("KindOf(plain error) = %s, want internal", got)
	}
	if got := KindOf(nil); got != KindInternal {
		t.Errorf("KindOf(nil) = %s", got)
	}
	if Retryable(errors.New("plain")) {
		t.Error("a plain error is retryable")
	}

	limited := fmt.Errorf("send: %w", &Error{Kind: KindRateLimited, RetryAfter: 30 * time.Second})
	if got := RetryAfter(limited); got != 30*time.Second {
		t.Errorf("RetryAfter = %v", got)
	}
	if got := RetryAfter(cause); got != 0 {
		t.Errorf("RetryAfter(plain) = %v", got)
	}

	inv := Invalid("bad", FieldError{Field: "body", Message: "empty"})
	var e *Error
	if !errors.As(inv, &e) || e.Kind != KindInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "body" {
		t.Errorf("Invalid = %#v", inv)
	}
}
