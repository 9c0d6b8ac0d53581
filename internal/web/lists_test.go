package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/recado-sms/recado/internal/app/apptest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// members returns the ids of a list's members.
func members(t *testing.T, s *apptest.Server, list int64) map[int64]bool {
	t.Helper()
	cs, err := s.App.DB.ListContacts(context.Background(), store.ContactFilter{ListID: list, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, c := range cs {
		out[c.ID] = true
	}
	return out
}

// TestListPages: lists are created, renamed and deleted, their members
// picked one by one or added by tag or saved filter (one statement, on both
// databases), taken out, and shown on the contact's page and as a filter of
// the contacts page; bad input changes nothing.
func TestListPages(t *testing.T) {
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		s := newServer(t, apptest.WithDatabase(dsn))
		ctx := context.Background()
		fulana, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001", Tags: []string{"vip"}})
		beltrana, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Beltrana Teste", Phone: "+5511900000002", Tags: []string{"vip"}, Fields: map[string]string{"cidade": "Campinas"}})
		ciclana, _ := s.App.DB.CreateContact(ctx, sms.Contact{Name: "Ciclana Teste", Phone: "+5511900000003", Fields: map[string]string{"cidade": "Campinas"}})
		b := manager(t, s)
		b.get("/lists")

		for _, tt := range []struct {
			name string
			form url.Values
		}{
			{"empty name", url.Values{"name": {"  "}}},
			{"name too long", url.Values{"name": {strings.Repeat("x", 101)}}},
			{"description too long", url.Values{"name": {"Clientes"}, "description": {strings.Repeat("x", 501)}}},
			{"forged CSRF", url.Values{"name": {"Clientes"}, "csrf_token": {"forged"}}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				forged := tt.form.Get("csrf_token") != ""
				p := b.post("/lists", tt.form)
				if forged {
					wantStatus(t, p, http.StatusForbidden)
				} else {
					wantStatus(t, p, http.StatusUnprocessableEntity)
					wantContains(t, p, `id="form-errors"`)
				}
				if ls, _ := s.App.DB.Lists(ctx); len(ls) != 0 {
					t.Fatalf("bad input made a list: %v", ls)
				}
			})
		}
		p := b.post("/lists", url.Values{"name": {"Clientes"}, "description": {"de São Paulo"}})
		wantStatus(t, p, http.StatusSeeOther)
		l, err := s.App.DB.ListByName(ctx, "Clientes")
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/lists/%d", l.ID)
		if p.Location != path {
			t.Fatalf("went to %q", p.Location)
		}
		wantStatus(t, b.post("/lists", url.Values{"name": {"Clientes"}}), http.StatusUnprocessableEntity) // taken

		// Picking contacts: the search offers them, the chip carries them.
		b.get(path)
		p = b.get(path + "/find?q=Beltrana")
		wantContains(t, p, fmt.Sprintf(`data-contact="%d"`, beltrana.ID))
		wantContains(t, b.get(fmt.Sprintf("%s/pick/%d", path, beltrana.ID)), fmt.Sprintf(`name="contact_id" value="%d"`, beltrana.ID))
		for _, tt := range []struct {
			name string
			form url.Values
		}{
			{"nobody picked", url.Values{}},
			{"not an id", url.Values{"contact_id": {"abc"}}},
			{"unknown contact", url.Values{"contact_id": {fmt.Sprint(fulana.ID), "99999"}}},
		} {
			t.Run("add: "+tt.name, func(t *testing.T) {
				wantStatus(t, b.post(path+"/members", tt.form), http.StatusUnprocessableEntity)
				if m := members(t, s, l.ID); len(m) != 0 {
					t.Fatalf("bad input added %v", m)
				}
			})
		}
		wantStatus(t, b.post(path+"/members", url.Values{"contact_id": {fmt.Sprint(fulana.ID)}}), http.StatusSeeOther)
		if m := members(t, s, l.ID); !m[fulana.ID] || len(m) != 1 {
			t.Fatalf("members %v", m)
		}

		// By tag or saved filter, in one statement.
		g, err := s.App.DB.SaveSegment(ctx, store.Segment{Name: "Campinas", Filter: sms.Filter{Conditions: []sms.Condition{{Field: "field.cidade", Op: "eq", Value: "campinas"}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name string
			form url.Values
		}{
			{"neither", url.Values{}},
			{"both", url.Values{"tag": {"vip"}, "filter_id": {fmt.Sprint(g.ID)}}},
			{"unknown saved filter", url.Values{"filter_id": {"99999"}}},
			{"bad saved filter", url.Values{"filter_id": {"x"}}},
			{"tag too long", url.Values{"tag": {strings.Repeat("t", 65)}}},
		} {
			t.Run("add from: "+tt.name, func(t *testing.T) {
				wantStatus(t, b.post(path+"/members/from", tt.form), http.StatusUnprocessableEntity)
				if m := members(t, s, l.ID); len(m) != 1 {
					t.Fatalf("bad input changed the members: %v", m)
				}
			})
		}
		wantStatus(t, b.post(path+"/members/from", url.Values{"tag": {"vip"}}), http.StatusSeeOther)
		if p := b.get(path); !strings.Contains(p.Body, "1 contacts added to the list.") {
			t.Fatalf("flash: %.3000s", p.Body)
		}
		wantStatus(t, b.post(path+"/members/from", url.Values{"filter_id": {fmt.Sprint(g.ID)}}), http.StatusSeeOther)
		if m := members(t, s, l.ID); len(m) != 3 {
			t.Fatalf("after tag and filter: %v", m)
		}

		// The list's page, its search, the contact's page and the contacts page.
		p = b.get(path)
		wantContains(t, p, `data-members="3"`, "Ciclana Teste", "Fulana Teste")
		if p := b.get(path + "?q=Ciclana"); strings.Contains(p.Body, "Fulana Teste") || !strings.Contains(p.Body, "Ciclana Teste") {
			t.Fatal("the members' search does not narrow")
		}
		wantContains(t, b.get(fmt.Sprintf("/contacts/%d", ciclana.ID)), `id="contact-lists"`, ">Clientes</a>")
		for _, q := range []string{fmt.Sprintf("list_id=%d", l.ID), "tag=vip", fmt.Sprintf("segment_id=%d", g.ID)} {
			p := b.get("/contacts?" + q)
			wantStatus(t, p, http.StatusOK)
			if q == "tag=vip" && strings.Contains(p.Body, "Ciclana Teste") {
				t.Errorf("contacts?%s shows an untagged contact", q)
			}
			if strings.HasPrefix(q, "segment_id") && strings.Contains(p.Body, "Fulana Teste") {
				t.Errorf("contacts?%s shows a contact the filter excludes", q)
			}
		}
		wantStatus(t, b.get("/contacts?list_id=99999"), http.StatusNotFound)
		wantStatus(t, b.get("/contacts?list_id=x"), http.StatusUnprocessableEntity)

		// Rename: bad, then good.
		wantStatus(t, b.post(path, url.Values{"name": {""}}), http.StatusUnprocessableEntity)
		wantStatus(t, b.post(path, url.Values{"name": {"Clientes VIP"}}), http.StatusSeeOther)
		if got, _ := s.App.DB.GetList(ctx, l.ID); got.Name != "Clientes VIP" {
			t.Fatalf("not renamed: %q", got.Name)
		}

		// Taking out.
		wantStatus(t, b.post(path+"/members/remove", url.Values{}), http.StatusUnprocessableEntity)
		wantStatus(t, b.post(path+"/members/remove", url.Values{"contact_id": {fmt.Sprint(fulana.ID)}}), http.StatusSeeOther)
		if m := members(t, s, l.ID); m[fulana.ID] || len(m) != 2 {
			t.Fatalf("after taking out: %v", m)
		}

		// An operator adds but does not delete.
		op := operator(t, s, "operadora")
		op.get(path)
		wantStatus(t, op.post(path+"/members", url.Values{"contact_id": {fmt.Sprint(fulana.ID)}}), http.StatusSeeOther)
		wantStatus(t, op.post(path+"/delete", nil), http.StatusForbidden)
		if strings.Contains(op.get(path).Body, `id="delete-list"`) {
			t.Error("the operator is shown the delete button")
		}
		wantStatus(t, b.post(path+"/delete", nil), http.StatusSeeOther)
		if _, err := s.App.DB.GetList(ctx, l.ID); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("not deleted: %v", err)
		}
		if c, err := s.App.DB.GetContact(ctx, fulana.ID); err != nil || c.ID != fulana.ID {
			t.Fatal("deleting the list deleted a contact")
		}
	})
}
