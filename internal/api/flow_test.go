package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/providers"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// waitFinal polls GET /messages/{id} until the message reaches a final
// state, and returns it with its events.
func waitFinal(t *testing.T, s *apptest.Server, token string, id int64) api.Message {
	t.Helper()
	var m api.Message
	apptest.Eventually(t, 15*time.Second, fmt.Sprintf("message %d to finish", id), func() bool {
		m = apptest.JSON[api.Message](t, s, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", id), token, nil, http.StatusOK)
		return m.State.Final()
	})
	return m
}

func states(evs []sms.Event) []sms.State {
	out := make([]sms.State, len(evs))
	for i, e := range evs {
		out[i] = e.State
	}
	return out
}

// TestSendAndDeliver follows messages over HTTP from the API to the mock
// provider and back, with the queue's workers running.
func TestSendAndDeliver(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		_, op := s.Operator(t, "ana")

		// Faster than the mock's default second, but not 0s: the report
		// would then race the worker recording "sent", and a report that
		// wins moves the message from sending straight to delivered.
		mock := apptest.JSON[providers.View](t, s, http.MethodPatch, "/api/v1/providers/mock", s.Token,
			map[string]any{"settings": map[string]any{"delivery_delay": "250ms"}}, http.StatusOK)
		if mock.Settings["delivery_delay"] != "250ms" || !mock.Default || mock.CostPerSegment != "0.05" {
			t.Fatalf("mock after PATCH: %+v", mock)
		}

		var delivered []int64 // every message this test delivered, newest last
		t.Run("one message", func(t *testing.T) {
			long := strings.Repeat("Seu pedido saiu para entrega. ", 6) // 180 GSM-7 characters: 2 segments
			m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", op,
				map[string]any{"to": "(11) 90000-0001", "body": long}, http.StatusAccepted)
			want := api.Message{Message: sms.Message{ID: m.ID, Phone: "+5511900000001", Body: long, Direction: sms.Outbound,
				Kind: sms.Marketing, State: sms.StateQueued, Provider: "mock", Segments: 2, Encoding: sms.GSM7}, Cost: "0.10"}
			if m.Phone != want.Phone || m.State != want.State || m.Segments != want.Segments || m.Encoding != want.Encoding ||
				m.Cost != want.Cost || m.Provider != want.Provider || m.Kind != want.Kind || m.Direction != want.Direction {
				t.Errorf("accepted %+v\nwant     %+v", m, want)
			}
			if m.Reference == "" || m.CreatedBy == nil {
				t.Errorf("accepted without reference or author: %+v", m)
			}

			got := waitFinal(t, s, op, m.ID)
			if got.State != sms.StateDelivered {
				t.Fatalf("state %s, want delivered; %+v", got.State, got)
			}
			wantStates := []sms.State{sms.StateQueued, sms.StateSending, sms.StateSent, sms.StateDelivered}
			if !slices.Equal(states(got.Events), wantStates) {
				t.Errorf("events %v, want %v", states(got.Events), wantStates)
			}
			if got.SentAt == nil || got.DeliveredAt == nil || got.ProviderMessageID == "" {
				t.Errorf("delivered without sent_at, delivered_at or provider id: %+v", got)
			}
			delivered = append(delivered, m.ID)
		})

		t.Run("UCS-2", func(t *testing.T) {
			m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", op,
				map[string]any{"to": "+5511900000002", "body": "Olá! 😀 Seu código é 1234", "kind": "transactional"}, http.StatusAccepted)
			if m.Encoding != sms.UCS2 || m.Segments != 1 || m.Cost != "0.05" {
				t.Errorf("encoding %s, segments %d, cost %s; want ucs2, 1, 0.05", m.Encoding, m.Segments, m.Cost)
			}
			if got := waitFinal(t, s, op, m.ID); got.State != sms.StateDelivered {
				t.Errorf("state %s, want delivered", got.State)
			}
			delivered = append(delivered, m.ID)
		})

		t.Run("batch", func(t *testing.T) {
			body := map[string]any{"messages": []map[string]any{
				{"to": "+55 11 90000-0011", "body": "um", "reference": "batch-1"},
				{"to": "+55 11 90000-0012", "body": "dois", "reference": "batch-2"},
				{"to": "+55 11 90000-0013", "body": "três", "reference": "batch-3"},
			}}
			out := apptest.JSON[messageList](t, s, http.MethodPost, "/api/v1/messages/batch", op, body, http.StatusAccepted)
			if len(out.Messages) != 3 {
				t.Fatalf("%d messages accepted, want 3", len(out.Messages))
			}
			for i, m := range out.Messages {
				if want := fmt.Sprintf("batch-%d", i+1); m.Reference != want || m.State != sms.StateQueued {
					t.Errorf("message %d: reference %q state %s, want %s queued (in the order given)", i, m.Reference, m.State, want)
				}
			}
			for _, m := range out.Messages {
				if got := waitFinal(t, s, op, m.ID); got.State != sms.StateDelivered {
					t.Errorf("message %d: state %s, want delivered", m.ID, got.State)
				}
				delivered = append(delivered, m.ID)
			}
		})

		var contact sms.Contact
		t.Run("to a contact", func(t *testing.T) {
			contact = createContact(t, s, map[string]any{"name": "Fulana", "phone": "(21) 98888-7777"})
			m := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", op,
				map[string]any{"contact_id": contact.ID, "body": "Olá, Fulana"}, http.StatusAccepted)
			if m.Phone != "+5521988887777" || m.ContactID == nil || *m.ContactID != contact.ID {
				t.Errorf("message %+v, want to contact %d at +5521988887777", m, contact.ID)
			}
			if got := waitFinal(t, s, op, m.ID); got.State != sms.StateDelivered {
				t.Fatalf("state %s, want delivered", got.State)
			}
			delivered = append(delivered, m.ID)
			c := apptest.JSON[sms.Contact](t, s, http.MethodGet, fmt.Sprintf("/api/v1/contacts/%d", contact.ID), op, nil, http.StatusOK)
			if c.Stats.Total != 1 || c.Stats.Sent != 1 || c.Stats.LastSMSAt == nil {
				t.Errorf("contact stats %+v, want total 1, sent 1, a last SMS time", c.Stats)
			}
			cm := apptest.JSON[messageList](t, s, http.MethodGet, fmt.Sprintf("/api/v1/contacts/%d/messages", contact.ID), op, nil, http.StatusOK)
			if len(cm.Messages) != 1 || cm.Messages[0].ID != m.ID {
				t.Errorf("contact messages %+v, want only %d", cm.Messages, m.ID)
			}
		})

		var scheduled api.Message
		t.Run("cancel", func(t *testing.T) {
			later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
			scheduled = apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", op,
				map[string]any{"to": "+55 11 90000-0021", "body": "amanhã", "send_at": later}, http.StatusAccepted)
			got := apptest.JSON[api.Message](t, s, http.MethodPost, fmt.Sprintf("/api/v1/messages/%d/cancel", scheduled.ID), op, nil, http.StatusOK)
			if got.ID != scheduled.ID || got.State != sms.StateCanceled {
				t.Errorf("after cancel: id %d state %s, want %d canceled", got.ID, got.State, scheduled.ID)
			}
			evs := apptest.JSON[api.Message](t, s, http.MethodGet, fmt.Sprintf("/api/v1/messages/%d", scheduled.ID), op, nil, http.StatusOK).Events
			if want := []sms.State{sms.StateQueued, sms.StateCanceled}; !slices.Equal(states(evs), want) {
				t.Errorf("events %v, want %v", states(evs), want)
			}
			for _, id := range []int64{scheduled.ID, delivered[0]} {
				res := s.Send(t, apptest.Request{Method: http.MethodPost, Path: fmt.Sprintf("/api/v1/messages/%d/cancel", id), Token: op})
				checkProblem(t, res, http.StatusConflict, "")
			}
		})

		t.Run("list and filter", func(t *testing.T) {
			all := append(slices.Clone(delivered), scheduled.ID)
			slices.Sort(all)
			slices.Reverse(all) // newest first

			var got []int64
			path := "/api/v1/messages?limit=1"
			for pages := 0; ; pages++ {
				if pages > len(all) {
					t.Fatalf("more pages than messages: cursors do not end")
				}
				page := apptest.JSON[messageList](t, s, http.MethodGet, path, op, nil, http.StatusOK)
				if len(page.Messages) > 1 {
					t.Fatalf("limit=1 gave %d messages", len(page.Messages))
				}
				for _, m := range page.Messages {
					got = append(got, m.ID)
				}
				if page.NextCursor == "" {
					break
				}
				path = "/api/v1/messages?limit=1&cursor=" + page.NextCursor
			}
			if !slices.Equal(got, all) {
				t.Errorf("paged through %v, want %v", got, all)
			}

			filters := []struct {
				query string
				want  int
			}{
				{"state=delivered", len(delivered)},
				{"state=canceled", 1},
				{"state=delivered,canceled", len(all)},
				{"state=queued", 0},
				{fmt.Sprintf("contact_id=%d", contact.ID), 1},
				{"provider=mock", len(all)},
				{"provider=other", 0},
				{"direction=outbound", len(all)},
				{"direction=inbound", 0},
				{"from=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), len(all)},
				{"to=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), 0},
			}
			for _, f := range filters {
				t.Run(f.query, func(t *testing.T) {
					list := apptest.JSON[messageList](t, s, http.MethodGet, "/api/v1/messages?"+f.query, op, nil, http.StatusOK)
					if len(list.Messages) != f.want {
						t.Errorf("%d messages, want %d", len(list.Messages), f.want)
					}
				})
			}
		})

		t.Run("delete", func(t *testing.T) {
			id := delivered[len(delivered)-1]
			if status, body, _ := s.Do(t, http.MethodDelete, fmt.Sprintf("/api/v1/messages/%d", id), s.Token, nil); status != http.StatusNoContent {
				t.Fatalf("delete a delivered message: %d %s", status, body)
			}
			checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodGet, Path: fmt.Sprintf("/api/v1/messages/%d", id), Token: op}),
				http.StatusNotFound, "")
		})

		t.Run("provider counts", func(t *testing.T) {
			v := apptest.JSON[providers.View](t, s, http.MethodGet, "/api/v1/providers/mock", op, nil, http.StatusOK)
			if v.MessageCount == 0 {
				t.Errorf("the mock counts no messages: %+v", v)
			}
		})
	})
}
