package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/dispatch"
	"github.com/recado-sms/recado/internal/provider"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// conditions builds a saved filter's form: name, then field, op, value
// triples (a custom field is "custom:<key>").
func conditions(name string, triples ...string) url.Values {
	f := url.Values{"name": {name}, "match": {"all"}}
	for i := 0; i+2 < len(triples); i += 3 {
		field, key, _ := strings.Cut(triples[i], ":")
		f.Add("field", field)
		f.Add("key", key)
		f.Add("op", triples[i+1])
		f.Add("value", triples[i+2])
	}
	return f
}

var matchCount = regexp.MustCompile(`data-count="(\d+)"`)

// TestSegmentPages: the condition builder counts the contacts a filter
// selects as it is built (custom fields, tags, lists, replies, last SMS),
// redraws its rows when a field changes, and saves only valid filters.
func TestSegmentPages(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := newServer(t, apptest.WithDatabase(dsn))
		ctx := context.Background()
		a, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001", Tags: []string{"vip"}, Fields: map[string]string{"cidade": "Campinas"}})
		s.App.DB.CreateContact(ctx, sms.Contact{Name: "Beltrana Teste", Phone: "+5511900000002", Fields: map[string]string{"cidade": "Santos"}})
		s.App.DB.CreateContact(ctx, sms.Contact{Name: "Ciclana Teste", Phone: "+5511900000003", Tags: []string{"vip"}, Fields: map[string]string{"cidade": "Campinas"}})
		// Fulana replied today.
		if _, err := s.App.Dispatch.Submit(ctx, []dispatch.Request{{ContactID: &a.ID, Body: "Oi"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.App.Dispatch.ApplyReplies(ctx, "mock", sms.SourceWebhook, []provider.Reply{{ProviderReplyID: "r-1", Phone: "11900000001", Body: "Quero"}}); err != nil {
			t.Fatal(err)
		}
		b := manager(t, s)
		b.get("/segments/new")

		count := func(form url.Values) string {
			t.Helper()
			p := b.post("/segments/count", form)
			wantStatus(t, p, http.StatusOK)
			if m := matchCount.FindStringSubmatch(p.Body); m != nil {
				return m[1]
			}
			return "invalid"
		}
		for _, tt := range []struct {
			form url.Values
			want string
		}{
			{conditions("x", "custom:cidade", "eq", "campinas"), "2"},
			{conditions("x", "custom:cidade", "eq", "campinas", "tag", "not_has", "vip"), "0"},
			{conditions("x", "tag", "has", "vip", "replied", "within_days", "7"), "1"},
			{conditions("x", "replied", "not_within_days", "7"), "2"},
			{conditions("x", "last_sms", "never", ""), "2"},
			{conditions("x", "last_sms", "before", "2000-01-01"), "0"},
			{conditions("x", "opted_out", "eq", "false"), "3"},
			{conditions("x", "replied", "within_days", "abc"), "invalid"},
			{conditions("x", "bogus", "eq", "1"), "invalid"},
		} {
			if got := count(tt.form); got != tt.want {
				t.Errorf("%v: count %s, want %s", tt.form, got, tt.want)
			}
		}

		// Changing a field redraws its row with that field's operations.
		p := b.post("/segments/conditions", conditions("x", "tag", "contains", "vip"))
		wantContains(t, p, `value="has" selected`, `list="known-tags"`)
		p = b.post("/segments/conditions", mergeValues(conditions("x", "name", "contains", "a"), url.Values{"add": {"1"}}))
		if n := strings.Count(p.Body, `class="cond-row"`); n != 2 {
			t.Fatalf("after add: %d rows", n)
		}
		p = b.post("/segments/conditions", mergeValues(conditions("x", "name", "contains", "a", "tag", "has", "vip"), url.Values{"remove": {"0"}}))
		if n := strings.Count(p.Body, `class="cond-row"`); n != 1 || !strings.Contains(p.Body, `value="has" selected`) {
			t.Fatalf("after remove: %d rows: %.2000s", n, p.Body)
		}

		many := conditions("Demais")
		for range 51 {
			many.Add("field", "name")
			many.Add("key", "")
			many.Add("op", "contains")
			many.Add("value", "a")
		}
		for _, tt := range []struct {
			name string
			form url.Values
		}{
			{"no name", conditions("", "tag", "has", "vip")},
			{"name too long", conditions(strings.Repeat("n", 101), "tag", "has", "vip")},
			{"no conditions", conditions("Vazio")},
			{"unknown field", conditions("Ruim", "bogus", "eq", "x")},
			{"wrong operation", conditions("Ruim", "tag", "eq", "vip")},
			{"bad days", conditions("Ruim", "replied", "within_days", "0")},
			{"bad date", conditions("Ruim", "last_sms", "before", "ontem")},
			{"bad list", conditions("Ruim", "list", "in", "abc")},
			{"bad custom key", conditions("Ruim", "custom:a\"b", "eq", "x")},
			{"bad match", mergeValues(conditions("Ruim", "tag", "has", "vip"), url.Values{"match": {"some"}})},
			{"too many", many},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := b.post("/segments", tt.form)
				wantStatus(t, p, http.StatusUnprocessableEntity)
				wantContains(t, p, `id="form-errors"`)
				if gs, _ := s.App.DB.Segments(ctx); len(gs) != 0 {
					t.Fatalf("bad input saved %v", gs)
				}
			})
		}
		wantStatus(t, b.post("/segments", mergeValues(conditions("Forjado", "tag", "has", "vip"), url.Values{"csrf_token": {"forged"}})), http.StatusForbidden)

		p = b.post("/segments", conditions("Campinas VIP", "custom:cidade", "eq", "Campinas", "tag", "has", "vip"))
		wantStatus(t, p, http.StatusSeeOther)
		gs, _ := s.App.DB.Segments(ctx)
		if len(gs) != 1 || gs[0].Filter.Conditions[0].Field != "field.cidade" {
			t.Fatalf("saved %+v", gs)
		}
		path := fmt.Sprintf("/segments/%d", gs[0].ID)
		p = b.get(path)
		wantContains(t, p, `data-count="2"`, `value="cidade"`)
		wantContains(t, b.get("/segments"), `Campinas VIP`)
		wantStatus(t, b.post(path, conditions("", "tag", "has", "vip")), http.StatusUnprocessableEntity)
		wantStatus(t, b.post(path, conditions("Só VIP", "tag", "has", "vip")), http.StatusSeeOther)
		if g, _ := s.App.DB.GetSegment(ctx, gs[0].ID); g.Name != "Só VIP" || len(g.Filter.Conditions) != 1 {
			t.Fatalf("not replaced: %+v", g)
		}

		op := operator(t, s, "operadora")
		op.get(path)
		wantStatus(t, op.post(path+"/delete", nil), http.StatusForbidden)
		wantStatus(t, b.post(path+"/delete", nil), http.StatusSeeOther)
		if gs, _ := s.App.DB.Segments(ctx); len(gs) != 0 {
			t.Fatal("not deleted")
		}
	})
}

func mergeValues(a, b url.Values) url.Values {
	for k, v := range b {
		a[k] = v
	}
	return a
}
