package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/store/storetest"
)

func TestIdempotencyKey(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn))
		_, ana := s.Operator(t, "ana")
		_, bia := s.Operator(t, "bia")
		send := func(t *testing.T, token, key string, body any) apptest.Response {
			t.Helper()
			return s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/messages", Token: token,
				Header: http.Header{"Idempotency-Key": {key}}, Body: body})
		}
		body := map[string]any{"to": "+55 11 90000-0001", "body": "Pedido 1 saiu para entrega"}

		first := send(t, ana, "order-1", body)
		if first.Status != http.StatusAccepted {
			t.Fatalf("first: status %d; body: %s", first.Status, first.Body)
		}
		if h := first.Header.Get("Idempotent-Replayed"); h != "" {
			t.Errorf("first answer has Idempotent-Replayed: %q", h)
		}
		var m api.Message
		if err := json.Unmarshal(first.Body, &m); err != nil {
			t.Fatal(err)
		}

		t.Run("same key and body", func(t *testing.T) {
			again := send(t, ana, "order-1", body)
			if again.Status != first.Status || !bytes.Equal(again.Body, first.Body) {
				t.Errorf("replay: %d %s\nwant: %d %s", again.Status, again.Body, first.Status, first.Body)
			}
			if h := again.Header.Get("Idempotent-Replayed"); h != "true" {
				t.Errorf("Idempotent-Replayed %q, want true", h)
			}
			if ct := again.Header.Get("Content-Type"); ct != first.Header.Get("Content-Type") {
				t.Errorf("Content-Type %q, want %q", ct, first.Header.Get("Content-Type"))
			}
		})

		t.Run("same key, other body", func(t *testing.T) {
			other := map[string]any{"to": "+55 11 90000-0001", "body": "Pedido 2 saiu para entrega"}
			checkProblem(t, send(t, ana, "order-1", other), http.StatusUnprocessableEntity, "")
		})

		t.Run("same key, other route", func(t *testing.T) {
			batch := map[string]any{"messages": []any{body}}
			res := s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/messages/batch", Token: ana,
				Header: http.Header{"Idempotency-Key": {"order-1"}}, Body: batch})
			checkProblem(t, res, http.StatusUnprocessableEntity, "")
		})

		t.Run("other user, same key", func(t *testing.T) {
			res := send(t, bia, "order-1", body)
			if res.Status != http.StatusAccepted {
				t.Fatalf("status %d; body: %s", res.Status, res.Body)
			}
			if h := res.Header.Get("Idempotent-Replayed"); h != "" {
				t.Errorf("another user's request was replayed")
			}
			var mb api.Message
			if err := json.Unmarshal(res.Body, &mb); err != nil {
				t.Fatal(err)
			}
			if mb.ID == m.ID {
				t.Errorf("another user got message %d, the first user's", mb.ID)
			}
		})

		t.Run("refusals are kept too", func(t *testing.T) {
			bad := map[string]any{"to": "abc", "body": "hi"}
			a, b := send(t, ana, "bad-1", bad), send(t, ana, "bad-1", bad)
			checkProblem(t, a, http.StatusUnprocessableEntity, "to")
			checkProblem(t, b, http.StatusUnprocessableEntity, "to")
			if b.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("the refusal was not replayed")
			}
		})

		t.Run("key too long", func(t *testing.T) {
			checkProblem(t, send(t, ana, strings.Repeat("k", 201), body), http.StatusUnprocessableEntity, "Idempotency-Key")
		})

		// One message from ana, one from bia: the replay stored nothing.
		list := apptest.JSON[messageList](t, s, http.MethodGet, "/api/v1/messages", s.Token, nil, http.StatusOK)
		if len(list.Messages) != 2 {
			t.Fatalf("%d messages stored, want 2 (one per user)", len(list.Messages))
		}
		users := map[int64]int{}
		for _, m := range list.Messages {
			if m.CreatedBy != nil {
				users[*m.CreatedBy]++
			}
		}
		if len(users) != 2 {
			t.Errorf("messages by user %v, want one each for two users", users)
		}
	})
}
