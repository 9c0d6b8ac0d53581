package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// TestFilters compiles each kind of condition in both dialects and counts
// what it selects.
func TestFilters(t *testing.T) {
	openBoth(t, func(t *testing.T, db *store.DB, clk *clock) {
		ctx := context.Background()
		owner, err := db.CreateUser(ctx, store.User{Username: "ana", Role: "user", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		mk := func(c sms.Contact) sms.Contact {
			t.Helper()
			c, err := db.CreateContact(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		a := mk(sms.Contact{Name: "Fulana Teste", Phone: "+5511900000001", Tags: []string{"vip", "sp"},
			Fields: map[string]string{"cidade": "Campinas", "plano": "ouro"}, OwnerID: &owner.ID, ExternalID: "crm-1"})
		mk(sms.Contact{Name: "Beltrana Teste", Phone: "+5511900000002", Tags: []string{"sp"}, Fields: map[string]string{"cidade": "Santos"}, OptedOut: true})
		c := mk(sms.Contact{Name: "Ciclano", Phone: "+5521900000003", Deceased: true})
		list, err := db.CreateList(ctx, "L", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ChangeMembers(ctx, list.ID, []int64{a.ID, c.ID}, nil); err != nil {
			t.Fatal(err)
		}
		// a got an SMS and replied yesterday; the others never had one.
		clk.t = clk.t.Add(-24 * time.Hour)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.InsertReplies(ctx, []store.NewReply{{Provider: "mock", ProviderReplyID: "r1", Phone: a.Phone, Body: "oi",
				Reference: "ri-1", Segments: 1, Encoding: sms.GSM7, ReceivedAt: clk.t}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(24 * time.Hour)
		listID := func() string { return itoa(list.ID) }
		tests := []struct {
			name  string
			f     sms.Filter
			count int64
		}{
			{"none", sms.Filter{}, 3},
			{"name contains, any case", filter(cond("name", "contains", "TESTE")), 2},
			{"name starts with", filter(cond("name", "starts_with", "cic")), 1},
			{"name eq", filter(cond("name", "eq", "fulana teste")), 1},
			{"phone contains", filter(cond("phone", "contains", "5521")), 1},
			{"custom field eq", filter(cond("field.cidade", "eq", "campinas")), 1},
			{"custom field neq", filter(cond("field.cidade", "neq", "campinas")), 2},
			{"custom field empty", filter(cond("field.cidade", "empty", "")), 1},
			{"custom field not empty", filter(cond("field.plano", "not_empty", "")), 1},
			{"external id", filter(cond("external_id", "eq", "CRM-1")), 1},
			{"opted out", filter(cond("opted_out", "eq", "true")), 1},
			{"not deceased", filter(cond("deceased", "eq", "false")), 2},
			{"owner", filter(cond("owner", "eq", itoa(owner.ID))), 1},
			{"no owner", filter(cond("owner", "empty", "")), 2},
			{"tag", filter(cond("tag", "has", "sp")), 2},
			{"not tag", filter(cond("tag", "not_has", "vip")), 2},
			{"in list", filter(cond("list", "in", listID())), 2},
			{"not in list", filter(cond("list", "not_in", listID())), 1},
			{"replied within 2 days", filter(cond("replied", "within_days", "2")), 1},
			{"not replied within 2 days", filter(cond("replied", "not_within_days", "2")), 2},
			{"never messaged", filter(cond("last_sms", "never", "")), 2},
			{"last SMS before tomorrow", filter(cond("last_sms", "before", clk.t.Add(24*time.Hour).Format(time.RFC3339))), 1},
			{"last SMS after tomorrow", filter(cond("last_sms", "after", clk.t.Add(24*time.Hour).Format("2006-01-02"))), 0},
			{"created before", filter(cond("created", "before", "2020-01-01")), 0},
			{"all of two", filter(cond("tag", "has", "sp"), cond("opted_out", "eq", "false")), 1},
			{"any of two", sms.Filter{Match: "any", Conditions: []sms.Condition{cond("tag", "has", "vip"), cond("deceased", "eq", "true")}}, 2},
			{"a quote in a value is a value", filter(cond("name", "eq", "x' OR '1'='1")), 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.f.Validate(); err != nil {
					t.Fatalf("invalid filter: %v", err)
				}
				n, err := db.CountContacts(ctx, store.ContactFilter{Filter: &tt.f})
				if err != nil {
					t.Fatal(err)
				}
				if n != tt.count {
					t.Errorf("selects %d contacts, want %d", n, tt.count)
				}
				cs, err := db.ListContacts(ctx, store.ContactFilter{Filter: &tt.f, Limit: 10})
				if err != nil || int64(len(cs)) != tt.count {
					t.Errorf("lists %d contacts (%v), want %d", len(cs), err, tt.count)
				}
			})
		}
	})
}

func cond(field, op, value string) sms.Condition {
	return sms.Condition{Field: field, Op: op, Value: value}
}

func filter(cs ...sms.Condition) sms.Filter { return sms.Filter{Conditions: cs} }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
