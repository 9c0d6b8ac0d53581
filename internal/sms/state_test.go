package sms

import (
	"errors"
	"testing"
	"time"
)

// allowedMoves is the state machine written out by hand from the rules in
// CanTransition's documentation: forward only, skipping allowed, canceled only
// from draft or queued, nothing out of a final state, never to received or
// draft. Every pair not listed is refused.
var allowedMoves = map[State][]State{
	StateDraft:     {StateQueued, StateSending, StateSent, StateDelivered, StateFailed, StateRejected, StateExpired, StateCanceled},
	StateQueued:    {StateSending, StateSent, StateDelivered, StateFailed, StateRejected, StateExpired, StateCanceled},
	StateSending:   {StateSent, StateDelivered, StateFailed, StateRejected, StateExpired},
	StateSent:      {StateDelivered, StateFailed, StateRejected, StateExpired},
	StateDelivered: nil,
	StateFailed:    nil,
	StateRejected:  nil,
	StateExpired:   nil,
	StateCanceled:  nil,
	StateReceived:  nil,
}

// testStates is every state plus two that do not exist.
var testStates = append(append([]State(nil), States...), "", "bogus")

func TestCanTransitionEveryPair(t *testing.T) {
	if len(allowedMoves) != len(States) {
		t.Fatalf("the expected table covers %d states, States has %d", len(allowedMoves), len(States))
	}
	for _, from := range testStates {
		for _, to := range testStates {
			want := false
			for _, s := range allowedMoves[from] {
				want = want || s == to
			}
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%q, %q) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestStatePredicates(t *testing.T) {
	tests := []struct {
		s                     State
		valid, final, failure bool
	}{
		{StateDraft, true, false, false},
		{StateQueued, true, false, false},
		{StateSending, true, false, false},
		{StateSent, true, false, false},
		{StateDelivered, true, true, false},
		{StateFailed, true, true, true},
		{StateRejected, true, true, true},
		{StateExpired, true, true, true},
		{StateCanceled, true, true, true},
		{StateReceived, true, true, false},
		{"", false, false, false},
		{"DELIVERED", false, false, false},
	}
	if len(tests) != len(States)+2 {
		t.Fatalf("table has %d states, want every one of the %d", len(tests)-2, len(States))
	}
	for _, tt := range tests {
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("%q.Valid() = %v", tt.s, got)
		}
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("%q.Final() = %v", tt.s, got)
		}
		if got := tt.s.Failure(); got != tt.failure {
			t.Errorf("%q.Failure() = %v", tt.s, got)
		}
		got, err := ParseState(string(tt.s))
		switch {
		case tt.valid && (err != nil || got != tt.s):
			t.Errorf("ParseState(%q) = %q, %v", tt.s, got, err)
		case !tt.valid && (err == nil || KindOf(err) != KindInvalid || got != ""):
			t.Errorf("ParseState(%q) = %q, %v; want an invalid-input error", tt.s, got, err)
		}
	}
}

func TestTransition(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	next := t0.Add(time.Hour)

	m := &Message{ID: 7, State: StateDraft, NextAttemptAt: &next}
	ev, err := m.Transition(StateQueued, t0, SourceAPI, "created")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Event{MessageID: 7, State: StateQueued, At: t0, Source: SourceAPI, Detail: "created"}); ev != want {
		t.Errorf("event %+v, want %+v", ev, want)
	}
	if m.State != StateQueued || !m.UpdatedAt.Equal(t0) || m.SentAt != nil || m.DeliveredAt != nil || m.NextAttemptAt == nil {
		t.Errorf("after queued: %+v", m)
	}

	mustMove(t, m, StateSending, t0)
	mustMove(t, m, StateSent, t1)
	if m.SentAt == nil || !m.SentAt.Equal(t1) || m.DeliveredAt != nil {
		t.Errorf("after sent: SentAt %v, DeliveredAt %v", m.SentAt, m.DeliveredAt)
	}
	mustMove(t, m, StateDelivered, t2)
	if !m.SentAt.Equal(t1) || m.DeliveredAt == nil || !m.DeliveredAt.Equal(t2) {
		t.Errorf("after delivered: SentAt %v, DeliveredAt %v", m.SentAt, m.DeliveredAt)
	}
	if m.NextAttemptAt != nil {
		t.Errorf("a final state kept NextAttemptAt %v", m.NextAttemptAt)
	}

	// The late "sent" report after "delivered" changes nothing.
	before := *m
	_, err = m.Transition(StateSent, t2.Add(time.Minute), SourceWebhook, "late")
	if !errors.Is(err, ErrStale) || KindOf(err) != KindConflict {
		t.Errorf("late sent: error %v, want one wrapping ErrStale of kind conflict", err)
	}
	if *m != before {
		t.Errorf("a refused move changed the message: %+v, was %+v", m, before)
	}
	if err != nil && err.Error() != "cannot move a delivered message to sent" {
		t.Errorf("message %q", err.Error())
	}
}

func TestTransitionDeliveredBeforeSent(t *testing.T) {
	// A "delivered" report that overtakes "sent" sets both times.
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := &Message{State: StateSending}
	mustMove(t, m, StateDelivered, at)
	if m.SentAt == nil || !m.SentAt.Equal(at) || m.DeliveredAt == nil || !m.DeliveredAt.Equal(at) {
		t.Errorf("SentAt %v, DeliveredAt %v, want both %v", m.SentAt, m.DeliveredAt, at)
	}
}

func TestTransitionRefusals(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sentAt := at.Add(-time.Hour)
	tests := []struct {
		name     string
		from, to State
		kind     Kind
		stale    bool
	}{
		{"backwards", StateSent, StateSending, KindConflict, true},
		{"back to queued", StateSending, StateQueued, KindConflict, true},
		{"same state", StateSent, StateSent, KindConflict, true},
		{"cancel after the provider has it", StateSending, StateCanceled, KindConflict, true},
		{"to received", StateSent, StateReceived, KindConflict, true},
		{"to draft", StateQueued, StateDraft, KindConflict, true},
		{"unknown target", StateQueued, "bogus", KindInvalid, false},
		{"empty target", StateQueued, "", KindInvalid, false},
		{"unknown origin", "bogus", StateSent, KindConflict, true},
	}
	// Final is final: every final state refuses every state.
	for _, from := range States {
		if !from.Final() {
			continue
		}
		for _, to := range States {
			tests = append(tests, struct {
				name     string
				from, to State
				kind     Kind
				stale    bool
			}{"final " + string(from) + " to " + string(to), from, to, KindConflict, true})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{ID: 1, State: tt.from, SentAt: &sentAt, UpdatedAt: sentAt}
			before := *m
			ev, err := m.Transition(tt.to, at, SourceWebhook, "")
			if err == nil {
				t.Fatalf("%s → %s allowed", tt.from, tt.to)
			}
			if KindOf(err) != tt.kind || errors.Is(err, ErrStale) != tt.stale {
				t.Errorf("error %v: kind %s stale %v, want %s %v", err, KindOf(err), errors.Is(err, ErrStale), tt.kind, tt.stale)
			}
			if ev != (Event{}) || *m != before {
				t.Errorf("refused move changed things: event %+v, message %+v", ev, m)
			}
		})
	}
}

func TestTransitionFailureSetsNoTimes(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, to := range []State{StateFailed, StateRejected, StateExpired} {
		m := &Message{State: StateSending}
		mustMove(t, m, to, at)
		if m.SentAt != nil || m.DeliveredAt != nil {
			t.Errorf("%s set SentAt %v DeliveredAt %v", to, m.SentAt, m.DeliveredAt)
		}
	}
}

// mustMove moves m to state to and fails t if that is refused.
func mustMove(t *testing.T, m *Message, to State, at time.Time) {
	t.Helper()
	if _, err := m.Transition(to, at, SourceWorker, ""); err != nil {
		t.Fatalf("%s → %s: %v", m.State, to, err)
	}
}
