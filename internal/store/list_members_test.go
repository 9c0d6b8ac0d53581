package store_test

import (
	"context"
	"testing"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

func TestAddMembersWhereAndListsOfContact(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		a, _ := db.CreateContact(ctx, sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001", Tags: []string{"vip"}})
		b, _ := db.CreateContact(ctx, sms.Contact{Name: "Beltrana Teste", Phone: "+5511900000002", Fields: map[string]string{"cidade": "Campinas"}})
		db.CreateContact(ctx, sms.Contact{Name: "Ciclana Teste", Phone: "+5511900000003"})
		l, err := db.CreateList(ctx, "Clientes", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.AddMembersWhere(ctx, l.ID, store.ContactFilter{}); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("no scope: %v", err)
		}
		if _, err := db.AddMembersWhere(ctx, 9999, store.ContactFilter{Tag: "vip"}); sms.KindOf(err) != sms.KindNotFound {
			t.Fatalf("unknown list: %v", err)
		}
		for _, tt := range []struct {
			f    store.ContactFilter
			want int64
		}{
			{store.ContactFilter{Tag: "vip"}, 1},
			{store.ContactFilter{Tag: "vip"}, 0}, // already in
			{store.ContactFilter{Filter: &sms.Filter{Match: "any", Conditions: []sms.Condition{
				{Field: "field.cidade", Op: "eq", Value: "campinas"}, {Field: "tag", Op: "has", Value: "vip"}}}}, 1},
			{store.ContactFilter{Tag: "nobody"}, 0},
		} {
			n, err := db.AddMembersWhere(ctx, l.ID, tt.f)
			if err != nil || n != tt.want {
				t.Fatalf("%+v: added %d, %v; want %d", tt.f, n, err, tt.want)
			}
		}
		if got, _ := db.GetList(ctx, l.ID); got.Members != 2 {
			t.Fatalf("%d members, want 2", got.Members)
		}
		other, _ := db.CreateList(ctx, "Antigos", "", nil)
		db.ChangeMembers(ctx, other.ID, []int64{a.ID}, nil)
		ls, err := db.ListsOfContact(ctx, a.ID)
		if err != nil || len(ls) != 2 || ls[0].Name != "Antigos" || ls[1].Name != "Clientes" || ls[1].Members != 2 {
			t.Fatalf("lists of Fulana: %+v %v", ls, err)
		}
		if ls, _ := db.ListsOfContact(ctx, b.ID); len(ls) != 1 {
			t.Fatalf("lists of Beltrana: %+v", ls)
		}
	})
}
