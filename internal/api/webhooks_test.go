package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/api"
	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
	"github.com/recado-sms/recado/internal/webhooks"
)

// webhookList is the answer of GET /webhooks.
type webhookList struct {
	Webhooks []webhooks.Endpoint `json:"webhooks"`
}

func TestWebhookEndpointsAPI(t *testing.T) {
	s := apptest.New(t)
	post := func(body any) apptest.Response {
		return s.Send(t, apptest.Request{Method: http.MethodPost, Path: "/api/v1/webhooks", Token: s.Token, Body: body})
	}

	t.Run("refused", func(t *testing.T) {
		for _, c := range []struct {
			name, field string
			body        map[string]any
		}{
			{"ftp", "url", map[string]any{"url": "ftp://crm.example.test/x", "events": []string{"message.sent"}}},
			{"no scheme", "url", map[string]any{"url": "crm.example.test/x", "events": []string{"message.sent"}}},
			{"credentials", "url", map[string]any{"url": "https://crm:hunter2@crm.example.test/x", "events": []string{"message.sent"}}},
			{"unknown event", "events[1]", map[string]any{"url": "https://crm.example.test/x", "events": []string{"message.sent", "message.read"}}},
			{"no events", "", map[string]any{"url": "https://crm.example.test/x", "events": []string{}}},
			{"no url", "", map[string]any{"events": []string{"message.sent"}}},
			{"short secret", "", map[string]any{"url": "https://crm.example.test/x", "events": []string{"message.sent"}, "secret": "abc"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				res := post(c.body)
				checkProblem(t, res, http.StatusUnprocessableEntity, c.field)
				if strings.Contains(string(res.Body), "hunter2") {
					t.Errorf("the answer shows the URL's password: %s", res.Body)
				}
			})
		}
		if got := apptest.JSON[webhookList](t, s, http.MethodGet, "/api/v1/webhooks", s.Token, nil, http.StatusOK); len(got.Webhooks) != 0 {
			t.Fatalf("endpoints after refusals: %+v", got)
		}
	})

	res := post(map[string]any{"url": "https://crm.example.test/recado", "events": []string{"message.delivered", "message.failed"},
		"description": "CRM"})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var created webhooks.Endpoint
	if err := json.Unmarshal(res.Body, &created); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Secret, "whsec_") || !created.Active || created.Description != "CRM" ||
		fmt.Sprint(created.Events) != "[message.delivered message.failed]" {
		t.Fatalf("created %+v", created)
	}
	path := fmt.Sprintf("/api/v1/webhooks/%d", created.ID)

	// The secret is shown once: never by GET, the list, or a PATCH that
	// does not rotate it.
	for _, p := range []string{path, "/api/v1/webhooks"} {
		status, body, _ := s.Do(t, http.MethodGet, p, s.Token, nil)
		if status != http.StatusOK || strings.Contains(string(body), created.Secret) || strings.Contains(string(body), `"secret"`) {
			t.Fatalf("GET %s: %d %s", p, status, body)
		}
	}
	status, body, _ := s.Do(t, http.MethodPatch, path, s.Token, map[string]any{"active": false, "events": []string{"message.sent"}})
	if status != http.StatusOK || strings.Contains(string(body), `"secret"`) {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	got := apptest.JSON[webhooks.Endpoint](t, s, http.MethodGet, path, s.Token, nil, http.StatusOK)
	if got.Active || fmt.Sprint(got.Events) != "[message.sent]" || got.URL != created.URL {
		t.Fatalf("after PATCH: %+v", got)
	}
	checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodPatch, Path: path, Token: s.Token,
		Body: map[string]any{"events": []string{"sms.sent"}}}), http.StatusUnprocessableEntity, "events[0]")
	rotated := apptest.JSON[webhooks.Endpoint](t, s, http.MethodPatch, path, s.Token, map[string]any{"rotate_secret": true}, http.StatusOK)
	if !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == created.Secret {
		t.Fatalf("rotated secret %q (was %q)", rotated.Secret, created.Secret)
	}
	if again := apptest.JSON[webhooks.Endpoint](t, s, http.MethodGet, path, s.Token, nil, http.StatusOK); again.Secret != "" {
		t.Fatalf("GET after rotation shows the secret")
	}

	page := apptest.JSON[webhooks.DeliveryPage](t, s, http.MethodGet, path+"/deliveries?status=failed", s.Token, nil, http.StatusOK)
	if len(page.Deliveries) != 0 {
		t.Fatalf("deliveries of a new endpoint: %+v", page)
	}
	checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodGet, Path: path + "/deliveries?status=lost", Token: s.Token}),
		http.StatusUnprocessableEntity, "")
	checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodPost, Path: path + "/deliveries/999/resend", Token: s.Token}),
		http.StatusNotFound, "")

	if status, body, _ := s.Do(t, http.MethodDelete, path, s.Token, nil); status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodGet, Path: path, Token: s.Token}), http.StatusNotFound, "")
	checkProblem(t, s.Send(t, apptest.Request{Method: http.MethodGet, Path: path + "/deliveries", Token: s.Token}), http.StatusNotFound, "")
}

// hookReceiver is a system receiving Recado's webhooks: it checks every
// signature with webhooks.Verify and keeps the events in arrival order.
type hookReceiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	events []webhooks.Event
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := webhooks.Verify(r.secret, req.Header.Get("Recado-Signature"), body, time.Now(), time.Minute); err != nil {
		r.t.Errorf("unsigned or badly signed delivery: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev webhooks.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("delivery %s: %v", body, err)
	}
	if req.Header.Get("Recado-Event") != string(ev.Type) || req.Header.Get("Recado-Delivery") != ev.ID {
		r.t.Errorf("headers %v for event %+v", req.Header, ev)
	}
	r.events = append(r.events, ev)
}

func (r *hookReceiver) received() []webhooks.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]webhooks.Event(nil), r.events...)
}

func (r *hookReceiver) wait(t *testing.T, n int) []webhooks.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := r.received()
		if len(evs) >= n {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d events, want %d: %+v", len(evs), n, evs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhooksEndToEnd sends messages through the API to the mock provider,
// and checks that a subscribed system receives each one's "sent" then
// "delivered", signed; then resends one.
func TestWebhooksEndToEnd(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := apptest.New(t, apptest.WithDatabase(dsn), apptest.WithWorkers())
		// Not 0s: a report that beats the worker's record of "sent" moves
		// the message from sending straight to delivered, and no "sent"
		// event happens (see TestSendAndDeliver).
		apptest.JSON[map[string]any](t, s, http.MethodPatch, "/api/v1/providers/mock", s.Token,
			map[string]any{"settings": map[string]any{"delivery_delay": "100ms"}}, http.StatusOK)
		rcv := &hookReceiver{t: t}
		srv := httptest.NewServer(rcv)
		defer srv.Close()
		ep := apptest.JSON[webhooks.Endpoint](t, s, http.MethodPost, "/api/v1/webhooks", s.Token,
			map[string]any{"url": srv.URL + "/recado", "events": []string{"message.sent", "message.delivered"}}, http.StatusCreated)
		rcv.mu.Lock()
		rcv.secret = ep.Secret
		rcv.mu.Unlock()

		one := apptest.JSON[api.Message](t, s, http.MethodPost, "/api/v1/messages", s.Token,
			map[string]any{"to": uniquePhone(), "body": "Seu pedido saiu para entrega.", "reference": "hook-1"}, http.StatusAccepted)
		batch := apptest.JSON[messageList](t, s, http.MethodPost, "/api/v1/messages/batch", s.Token,
			map[string]any{"messages": []map[string]any{{"to": uniquePhone(), "body": "dois"}, {"to": uniquePhone(), "body": "três"}}},
			http.StatusAccepted)
		ids := map[int64]bool{one.ID: true, batch.Messages[0].ID: true, batch.Messages[1].ID: true}

		evs := rcv.wait(t, 6)
		seen := map[int64][]string{}
		for _, ev := range evs {
			m := ev.Message
			if m == nil || !ids[m.ID] {
				t.Fatalf("event about an unknown message: %+v", ev)
			}
			if string(ev.Type) != "message."+m.State || m.Provider != "mock" || m.ProviderMessageID == "" || m.Phone == "" {
				t.Errorf("event %+v with message %+v", ev, m)
			}
			seen[m.ID] = append(seen[m.ID], string(ev.Type))
		}
		for id := range ids {
			if fmt.Sprint(seen[id]) != "[message.sent message.delivered]" {
				t.Errorf("message %d: received %v, want sent then delivered", id, seen[id])
			}
		}
		if evs[0].Message.ID == one.ID && evs[0].Message.Reference != "hook-1" {
			t.Errorf("reference %q, want hook-1", evs[0].Message.Reference)
		}

		// The receiver has answered; the deliverer records the answers right after.
		path := fmt.Sprintf("/api/v1/webhooks/%d/deliveries", ep.ID)
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			p := apptest.JSON[webhooks.DeliveryPage](t, s, http.MethodGet, path+"?status=pending", s.Token, nil, http.StatusOK)
			if len(p.Deliveries) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still pending: %+v", p.Deliveries)
			}
		}
		log := apptest.JSON[webhooks.DeliveryPage](t, s, http.MethodGet, path+"?limit=4", s.Token, nil, http.StatusOK)
		if len(log.Deliveries) != 4 || log.NextCursor == "" {
			t.Fatalf("first page of the log: %+v", log)
		}
		rest := apptest.JSON[webhooks.DeliveryPage](t, s, http.MethodGet, path+"?cursor="+log.NextCursor, s.Token, nil, http.StatusOK)
		all := append(log.Deliveries, rest.Deliveries...)
		if len(all) != 6 {
			t.Fatalf("log of %d deliveries, want 6", len(all))
		}
		for _, d := range all {
			if d.Status != store.DeliveryDelivered || d.Attempts != 1 || d.LastStatus == nil || *d.LastStatus != http.StatusOK || d.DeliveredAt == nil {
				t.Errorf("delivery %+v", d)
			}
		}

		d := all[len(all)-1]
		again := apptest.JSON[store.WebhookDelivery](t, s, http.MethodPost, fmt.Sprintf("%s/%d/resend", path, d.ID), s.Token, nil, http.StatusAccepted)
		if again.Status != store.DeliveryPending || again.ID != d.ID {
			t.Fatalf("resend answered %+v", again)
		}
		evs = rcv.wait(t, 7)
		if last := evs[6]; last.ID != fmt.Sprint(d.ID) || string(last.Type) != d.Event {
			t.Fatalf("resent event %+v, want delivery %d (%s)", last, d.ID, d.Event)
		}
	})
}
