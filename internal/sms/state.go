package sms

import "fmt"

// State is where a message stands in its life. Outbound messages move
// draft → queued → sending → sent → delivered, or end in one of the failure
// states; inbound messages are born received and stay so.
type State string

// The states of a message.
const (
	StateDraft     State = "draft"
	StateQueued    State = "queued"
	StateSending   State = "sending"
	StateSent      State = "sent"
	StateDelivered State = "delivered"
	StateFailed    State = "failed"
	StateRejected  State = "rejected"
	StateExpired   State = "expired"
	StateCanceled  State = "canceled"
	StateReceived  State = "received"
)

// States lists every state in the order of progress, for documentation,
// validation and metrics.
var States = []State{
	StateDraft, StateQueued, StateSending, StateSent, StateDelivered,
	StateFailed, StateRejected, StateExpired, StateCanceled, StateReceived,
}

// rank orders the outbound states by progress. A message only ever moves to a
// state of higher rank; the final states share the top rank so that none of
// them replaces another.
var rank = map[State]int{
	StateDraft:     0,
	StateQueued:    1,
	StateSending:   2,
	StateSent:      3,
	StateDelivered: 4,
	StateFailed:    4,
	StateRejected:  4,
	StateExpired:   4,
	StateCanceled:  4,
	StateReceived:  4,
}

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	_, ok := rank[s]
	return ok
}

// Final reports whether no further change of state can follow s.
func (s State) Final() bool {
	switch s {
	case StateDelivered, StateFailed, StateRejected, StateExpired, StateCanceled, StateReceived:
		return true
	}
	return false
}

// Failure reports whether s is a final state in which the message did not
// reach its recipient.
func (s State) Failure() bool {
	switch s {
	case StateFailed, StateRejected, StateExpired, StateCanceled:
		return true
	}
	return false
}

// ParseState returns the state named s, or an invalid-input error.
func ParseState(s string) (State, error) {
	st := State(s)
	if !st.Valid() {
		return "", Errorf(KindInvalid, "unknown state %q", s)
	}
	return st, nil
}

// CanTransition reports whether an outbound message in state from may move to
// state to. The rules:
//   - a final state is never left;
//   - a state never moves backwards, and staying put is not a transition;
//   - canceled is reachable only before the provider has the message
//     (draft or queued);
//   - received belongs to inbound messages and is never reached by a move.
//
// Skipping forward is allowed: a "delivered" report may arrive before the
// "sent" one, and a message queued may be rejected before it is sent.
func CanTransition(from, to State) bool {
	if !from.Valid() || !to.Valid() || from.Final() {
		return false
	}
	switch to {
	case StateReceived, StateDraft:
		return false
	case StateCanceled:
		return from == StateDraft || from == StateQueued
	}
	return rank[to] > rank[from]
}

// ErrStale is returned by Transition for a move that is not allowed because
// it comes too late: the message is already at or past the target state. It
// is of kind KindConflict; callers applying provider reports treat it as
// "ignore", not as a failure.
var ErrStale = &Error{Kind: KindConflict, Message: "state change is stale or not allowed"}

func transitionError(from, to State) error {
	return &Error{Kind: KindConflict, Message: fmt.Sprintf("cannot move a %s message to %s", from, to), Err: ErrStale}
}
