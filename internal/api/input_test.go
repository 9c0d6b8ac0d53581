package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// batchOf returns a batch body of n valid messages.
func batchOf(n int) map[string]any {
	msgs := make([]map[string]any, n)
	for i := range msgs {
		msgs[i] = map[string]any{"to": "+55 11 90000-0001", "body": "hi"}
	}
	return map[string]any{"messages": msgs}
}

// TestBadInput sends requests that must be refused with a problem document
// naming what is wrong, and checks that none of them stored anything.
func TestBadInput(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))
		_, op := s.Operator(t, "ana")
		deceased := createContact(t, s, map[string]any{"phone": "+55 11 91111-0001", "deceased": true})
		optedOut := createContact(t, s, map[string]any{"phone": "+55 11 91111-0002", "opted_out": true})
		existing := createContact(t, s, map[string]any{"phone": "+55 11 91111-0003"})

		const mib = 1 << 20
		tests := []struct {
			name   string
			method string
			path   string
			header http.Header
			body   any
			status int
			field  string // where errors must point; "" when the problem has no field
			words  string // a word the problem must say, if any
		}{
			{name: "malformed JSON", method: "POST", path: "/messages", body: `{"to": "+55 11 90000-0001", "body": "hi",`,
				status: 400, field: "body"},
			{name: "not an object", method: "POST", path: "/messages", body: `["hi"]`, status: 422},
			{name: "unknown field", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": "hi", "priority": "high"},
				status: 422, field: "body.priority"},
			{name: "body over 1 MiB", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": strings.Repeat("a", mib)},
				status: 413, words: "too large"},
			{name: "body over 1 MiB with an idempotency key", method: "POST", path: "/messages",
				header: http.Header{"Idempotency-Key": {"too-big"}},
				body:   map[string]any{"to": "+55 11 90000-0001", "body": strings.Repeat("a", mib)},
				status: 413, words: "too large"},
			{name: "batch over 1000", method: "POST", path: "/messages/batch", body: batchOf(1001), status: 422, field: "body.messages"},
			{name: "empty batch", method: "POST", path: "/messages/batch", body: batchOf(0), status: 422, field: "body.messages"},
			{name: "empty text", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": ""},
				status: 422, field: "body"},
			{name: "blank text", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": " \n\t "},
				status: 422, field: "body"},
			{name: "missing text", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001"},
				status: 422, words: "body"},
			{name: "text too long", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": strings.Repeat("a", 1601)},
				status: 422, field: "body"},
			{name: "no recipient", method: "POST", path: "/messages", body: map[string]any{"body": "hi"}, status: 422, field: "to"},
			{name: "phone abc", method: "POST", path: "/messages", body: map[string]any{"to": "abc", "body": "hi"}, status: 422, field: "to"},
			{name: "phone 123", method: "POST", path: "/messages", body: map[string]any{"to": "123", "body": "hi"}, status: 422, field: "to"},
			{name: "landline", method: "POST", path: "/messages", body: map[string]any{"to": "(11) 3333-0001", "body": "hi"},
				status: 422, field: "to", words: "landline"},
			{name: "invalid kind", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": "hi", "kind": "bulk"},
				status: 422, field: "body.kind"},
			{name: "invalid reference", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": "hi", "reference": "no spaces"},
				status: 422, field: "reference"},
			{name: "duplicate reference in a batch", method: "POST", path: "/messages/batch", body: map[string]any{"messages": []map[string]any{
				{"to": "+55 11 90000-0001", "body": "one", "reference": "order-1"},
				{"to": "+55 11 90000-0002", "body": "two", "reference": "order-1"},
			}}, status: 422, field: "messages[1].reference"},
			{name: "one bad message refuses the batch", method: "POST", path: "/messages/batch", body: map[string]any{"messages": []map[string]any{
				{"to": "+55 11 90000-0001", "body": "fine"},
				{"to": "abc", "body": "bad phone"},
				{"to": "+55 11 90000-0003", "body": "fine"},
			}}, status: 422, field: "messages[1].to"},
			{name: "deceased contact by id", method: "POST", path: "/messages", body: map[string]any{"contact_id": deceased.ID, "body": "hi", "kind": "transactional"},
				status: 422, field: "to", words: "deceased"},
			{name: "deceased contact by phone", method: "POST", path: "/messages", body: map[string]any{"to": deceased.Phone, "body": "hi"},
				status: 422, field: "to", words: "deceased"},
			{name: "opted-out contact, marketing", method: "POST", path: "/messages", body: map[string]any{"contact_id": optedOut.ID, "body": "promo"},
				status: 422, field: "to", words: "opted out"},
			{name: "opted-out phone, marketing", method: "POST", path: "/messages", body: map[string]any{"to": optedOut.Phone, "body": "promo", "kind": "marketing"},
				status: 422, field: "to", words: "opted out"},
			{name: "unknown contact", method: "POST", path: "/messages", body: map[string]any{"contact_id": 999999, "body": "hi"},
				status: 422, field: "contact_id"},
			{name: "unknown provider", method: "POST", path: "/messages", body: map[string]any{"to": "+55 11 90000-0001", "body": "hi", "provider": "nope"},
				status: 422, field: "provider"},

			{name: "contact with a bad phone", method: "POST", path: "/contacts", body: map[string]any{"phone": "abc"}, status: 422, field: "phone"},
			{name: "contact with a landline", method: "POST", path: "/contacts", body: map[string]any{"phone": "(11) 3333-0001"},
				status: 422, field: "phone", words: "landline"},
			{name: "contact without a phone", method: "POST", path: "/contacts", body: map[string]any{"name": "Nobody"}, status: 422, field: "phone"},
			{name: "contact with a duplicate phone", method: "POST", path: "/contacts", body: map[string]any{"phone": "(11) 91111-0003"}, status: 409},
			{name: "contact patched to a bad phone", method: "PATCH", path: fmt.Sprintf("/contacts/%d", existing.ID), body: map[string]any{"phone": "123"},
				status: 422, field: "phone"},
			{name: "contact patched to another's phone", method: "PATCH", path: fmt.Sprintf("/contacts/%d", existing.ID), body: map[string]any{"phone": deceased.Phone},
				status: 409},
			{name: "contact with an unknown field", method: "POST", path: "/contacts", body: map[string]any{"phone": "+55 11 92222-0001", "email": "x@example.com"},
				status: 422, field: "body.email"},

			{name: "provider of an unknown type", method: "POST", path: "/providers", body: map[string]any{"name": "other", "type": "carrier-pigeon"},
				status: 422, words: "carrier-pigeon"},
			{name: "provider with a bad cost", method: "POST", path: "/providers", body: map[string]any{"name": "other", "type": "mock",
				"settings": map[string]any{"cost_per_segment": "cheap"}}, status: 422, words: "cost_per_segment"},
			{name: "provider with a negative cost", method: "POST", path: "/providers", body: map[string]any{"name": "other", "type": "mock",
				"settings": map[string]any{"cost_per_segment": "-0.05"}}, status: 422, words: "cost_per_segment"},
			{name: "provider with a bad name", method: "POST", path: "/providers", body: map[string]any{"name": "Not A Name", "type": "mock"},
				status: 422, field: "name"},
			{name: "provider with a taken name", method: "POST", path: "/providers", body: map[string]any{"name": "mock", "type": "mock"},
				status: 422, field: "name"},
			{name: "provider patched to a bad cost", method: "PATCH", path: "/providers/mock", body: map[string]any{"settings": map[string]any{"cost_per_segment": "cheap"}},
				status: 422, words: "cost_per_segment"},

			{name: "user with a short password", method: "POST", path: "/users", body: map[string]any{"username": "bob", "role": "user", "password": "short"},
				status: 422, field: "password"},
			{name: "user with a bad username", method: "POST", path: "/users", body: map[string]any{"username": "Bob Smith", "role": "user", "password": "long enough"},
				status: 422, field: "username"},
			{name: "user with an unknown role", method: "POST", path: "/users", body: map[string]any{"username": "bob", "role": "admin", "password": "long enough"},
				status: 422, field: "body.role"},
			{name: "user with a taken username", method: "POST", path: "/users", body: map[string]any{"username": "ana", "role": "user", "password": "long enough"},
				status: 422, field: "username"},
			{name: "empty token name", method: "POST", path: "/me/tokens", body: map[string]any{"name": ""}, status: 422, field: "body.name"},

			{name: "list with an unknown state", method: "GET", path: "/messages?state=queued,lost", status: 422, field: "state", words: "lost"},
			{name: "list with a bad from", method: "GET", path: "/messages?from=yesterday", status: 422, field: "from"},
			{name: "list with a bad to", method: "GET", path: "/messages?to=2026-13-01", status: 422, field: "to"},
			{name: "list with a bad cursor", method: "GET", path: "/messages?cursor=abc", status: 422, field: "cursor"},
			{name: "list with a bad limit", method: "GET", path: "/messages?limit=0", status: 422, field: "query.limit"},
			{name: "list with a bad direction", method: "GET", path: "/messages?direction=sideways", status: 422, field: "query.direction"},
			{name: "message id not a number", method: "GET", path: "/messages/abc", status: 422, field: "path.id"},
			{name: "message that does not exist", method: "GET", path: "/messages/999999", status: 404},
			{name: "cancel a message that does not exist", method: "POST", path: "/messages/999999/cancel", status: 404},
		}

		contactsBefore := countContacts(t, s)
		providersBefore := len(apptest.JSON[struct{ Providers []any }](t, s, "GET", "/api/v1/providers", s.Token, nil, 200).Providers)
		usersBefore := len(apptest.JSON[struct{ Users []any }](t, s, "GET", "/api/v1/users", s.Token, nil, 200).Users)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				token := op
				if strings.HasPrefix(tt.path, "/providers") || strings.HasPrefix(tt.path, "/users") {
					token = s.Token
				}
				res := s.Send(t, apptest.Request{Method: tt.method, Path: "/api/v1" + tt.path, Token: token, Body: tt.body, Header: tt.header})
				p := checkProblem(t, res, tt.status, tt.field)
				if tt.words != "" && !strings.Contains(p.text(), tt.words) {
					t.Errorf("the problem does not say %q: %s", tt.words, res.Body)
				}
			})
		}

		if n := countMessages(t, s); n != 0 {
			t.Errorf("%d messages stored by refused requests, want none", n)
		}
		if n := countContacts(t, s); n != contactsBefore {
			t.Errorf("%d contacts after refused requests, want %d", n, contactsBefore)
		}
		if n := len(apptest.JSON[struct{ Providers []any }](t, s, "GET", "/api/v1/providers", s.Token, nil, 200).Providers); n != providersBefore {
			t.Errorf("%d providers after refused requests, want %d", n, providersBefore)
		}
		if n := len(apptest.JSON[struct{ Users []any }](t, s, "GET", "/api/v1/users", s.Token, nil, 200).Users); n != usersBefore {
			t.Errorf("%d users after refused requests, want %d", n, usersBefore)
		}
		mock := apptest.JSON[map[string]any](t, s, "GET", "/api/v1/providers/mock", s.Token, nil, 200)
		if mock["cost_per_segment"] != "0.05" {
			t.Errorf("a refused PATCH changed the mock's cost to %v", mock["cost_per_segment"])
		}
	})
}

// TestSendRules checks the refusals that depend on what is already stored,
// and that a transactional message reaches an opted-out contact.
func TestSendRules(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))
		_, op := s.Operator(t, "ana")

		t.Run("reference already used", func(t *testing.T) {
			first := apptest.JSON[api.Message](t, s, "POST", "/api/v1/messages", op,
				map[string]any{"to": "+55 11 90000-0001", "body": "one", "reference": "invoice-42"}, http.StatusAccepted)
			if first.Reference != "invoice-42" {
				t.Errorf("reference %q, want invoice-42", first.Reference)
			}
			for _, tt := range []struct {
				name string
				path string
				body any
			}{
				{"single", "/api/v1/messages", map[string]any{"to": "+55 11 90000-0002", "body": "two", "reference": "invoice-42"}},
				{"in a batch", "/api/v1/messages/batch", map[string]any{"messages": []map[string]any{
					{"to": "+55 11 90000-0003", "body": "three", "reference": "invoice-43"},
					{"to": "+55 11 90000-0004", "body": "four", "reference": "invoice-42"},
				}}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					checkProblem(t, s.Send(t, apptest.Request{Method: "POST", Path: tt.path, Token: op, Body: tt.body}), http.StatusConflict, "")
				})
			}
			list := apptest.JSON[messageList](t, s, "GET", "/api/v1/messages", op, nil, http.StatusOK)
			if len(list.Messages) != 1 || list.Messages[0].ID != first.ID {
				t.Errorf("messages after the refusals: %+v, want only %d", list.Messages, first.ID)
			}
		})

		t.Run("transactional to an opted-out contact", func(t *testing.T) {
			c := createContact(t, s, map[string]any{"phone": "+55 11 91111-0009", "opted_out": true})
			m := apptest.JSON[api.Message](t, s, "POST", "/api/v1/messages", op,
				map[string]any{"contact_id": c.ID, "body": "Seu código: 1234", "kind": "transactional"}, http.StatusAccepted)
			if m.ContactID == nil || *m.ContactID != c.ID || m.Phone != c.Phone || m.Kind != sms.Transactional {
				t.Errorf("message %+v, want transactional to contact %d at %s", m, c.ID, c.Phone)
			}
		})

		t.Run("deactivated provider", func(t *testing.T) {
			apptest.JSON[map[string]any](t, s, "POST", "/api/v1/providers", s.Token,
				map[string]any{"name": "spare", "type": "mock", "active": false}, http.StatusCreated)
			checkProblem(t, s.Send(t, apptest.Request{Method: "POST", Path: "/api/v1/messages", Token: op,
				Body: map[string]any{"to": "+55 11 90000-0005", "body": "hi", "provider": "spare"}}), http.StatusUnprocessableEntity, "provider")
		})
	})
}
