package sms

import "testing"

func TestContactSendable(t *testing.T) {
	tests := []struct {
		deceased, optedOut bool
		kind               MessageKind
		ok                 bool
	}{
		{false, false, Marketing, true},
		{false, false, Transactional, true},
		{false, true, Marketing, false},
		{false, true, Transactional, true}, // a one-time code still reaches an opted-out contact
		{true, false, Marketing, false},
		{true, false, Transactional, false}, // never message a deceased contact
		{true, true, Marketing, false},
		{true, true, Transactional, false},
	}
	for _, tt := range tests {
		c := &Contact{ID: 42, Deceased: tt.deceased, OptedOut: tt.optedOut}
		err := c.Sendable(tt.kind)
		if (err == nil) != tt.ok {
			t.Errorf("deceased=%v optedOut=%v %s: Sendable = %v, want ok=%v", tt.deceased, tt.optedOut, tt.kind, err, tt.ok)
		}
		if err != nil && KindOf(err) != KindConflict {
			t.Errorf("Sendable error %v is not a conflict", err)
		}
	}
}

func TestValidEnums(t *testing.T) {
	for _, tt := range []struct {
		valid bool
		got   bool
	}{
		{true, Marketing.Valid()},
		{true, Transactional.Valid()},
		{false, MessageKind("spam").Valid()},
		{false, MessageKind("").Valid()},
		{true, Outbound.Valid()},
		{true, Inbound.Valid()},
		{false, Direction("sideways").Valid()},
	} {
		if tt.got != tt.valid {
			t.Errorf("Valid() = %v, want %v", tt.got, tt.valid)
		}
	}
}
