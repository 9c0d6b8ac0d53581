package imports

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestApplyImportChunkRows writes chunks whose rows test how they travel to
// the database (bound one value a parameter in batches on SQLite, as
// column arrays on PostgreSQL): text that needs escaping, empty values,
// external ids absent, chunk sizes around SQLite's batch sizes, and updates
// beside inserts. Each case starts from the same two contacts.
func TestApplyImportChunkRows(t *testing.T) {
	const (
		oldPhone = "+5511900000001" // contact "Antiga": crm-1, fields {plano: ouro}, tags [vip]
		extPhone = "+5511900000002" // contact "Externa": crm-2
	)
	phone := func(i int) string { return fmt.Sprintf("+55119%08d", 10000+i) }
	many := func(n int) []store.ImportRow {
		rows := make([]store.ImportRow, n)
		for i := range rows {
			rows[i] = store.ImportRow{Line: i + 2, Name: fmt.Sprintf("Pessoa %d", i), Phone: phone(i), LineType: "mobile",
				Fields: map[string]string{"n": fmt.Sprint(i)}}
		}
		return rows
	}
	owner := int64(1) // the first user, created below
	type check func(t *testing.T, db *store.DB, c store.ImportCounts, listMembers int64)
	contact := func(t *testing.T, db *store.DB, phone string) sms.Contact {
		t.Helper()
		c, err := db.ContactByPhone(context.Background(), phone)
		if err != nil {
			t.Fatalf("contact %s: %v", phone, err)
		}
		return c
	}
	for _, tt := range []struct {
		name  string
		rows  []store.ImportRow
		check check
	}{
		{
			name: "text that needs escaping",
			rows: []store.ImportRow{{Line: 2, Name: `O'Brien, "Bob" \ João 😀`, Phone: phone(1), LineType: "mobile",
				Fields: map[string]string{
					`chave "com" aspas`: `a,b;c "d" 'e' \f`,
					"controle":          "linha\nnova\ttab\r\x01\x1f",
					"html":              `</script>&<b>`,
					"unicode":           "São Paulo ✓ \u2028 😀",
					"inválido":          "a\xffb",
					"vazio":             "",
				},
				Tags: []string{`"aspas"`, "vírgula,junta", `barra\`, "日本"}}},
			check: func(t *testing.T, db *store.DB, c store.ImportCounts, _ int64) {
				got := contact(t, db, phone(1))
				want := map[string]string{`chave "com" aspas`: `a,b;c "d" 'e' \f`, "controle": "linha\nnova\ttab\r\x01\x1f",
					"html": `</script>&<b>`, "unicode": "São Paulo ✓ \u2028 😀", "inválido": "a\ufffdb", "vazio": ""}
				if got.Name != `O'Brien, "Bob" \ João 😀` || fmt.Sprint(got.Fields) != fmt.Sprint(want) ||
					!slices.Equal(got.Tags, []string{`"aspas"`, "vírgula,junta", `barra\`, "日本"}) {
					t.Errorf("contact %q fields %q tags %q", got.Name, got.Fields, got.Tags)
				}
			},
		},
		{
			name: "empty values",
			rows: []store.ImportRow{
				{Line: 2, Phone: phone(1)},                     // new, nothing but a phone
				{Line: 3, Phone: oldPhone, LineType: "mobile"}, // existing: keeps its name, ext, fields, tags
			},
			check: func(t *testing.T, db *store.DB, c store.ImportCounts, _ int64) {
				n := contact(t, db, phone(1))
				if n.Name != "" || len(n.Fields) != 0 || len(n.Tags) != 0 || n.ExternalID != "" || n.OwnerID != nil {
					t.Errorf("new contact %+v", n)
				}
				o := contact(t, db, oldPhone)
				if o.Name != "Antiga" || o.ExternalID != "crm-1" || o.Fields["plano"] != "ouro" || !slices.Equal(o.Tags, []string{"vip"}) || o.OwnerID == nil {
					t.Errorf("updated contact %+v", o)
				}
			},
		},
		{
			// An absent external id is NULL, not '': two contacts without
			// one do not collide on its unique index.
			name: "no external id is null",
			rows: []store.ImportRow{{Line: 2, Name: "A", Phone: phone(1)}, {Line: 3, Name: "B", Phone: phone(2)},
				{Line: 4, Name: "C", Phone: phone(3), ExternalID: "crm-3"}},
			check: func(t *testing.T, db *store.DB, c store.ImportCounts, _ int64) {
				if c.Inserted != 3 || c.Rejects != 0 {
					t.Errorf("counts %+v", c)
				}
				if a, b := contact(t, db, phone(1)), contact(t, db, phone(3)); a.ExternalID != "" || b.ExternalID != "crm-3" {
					t.Errorf("external ids %q, %q", a.ExternalID, b.ExternalID)
				}
			},
		},
		{name: "one row", rows: many(1)},
		{name: "a batch less one", rows: many(511)},
		{name: "exactly a batch", rows: many(512)},
		{name: "a batch and one", rows: many(513)},
		{name: "several batches", rows: many(5000)},
		{
			name: "updates beside inserts",
			rows: []store.ImportRow{
				{Line: 2, Name: "Nova", Phone: phone(1), LineType: "mobile", Tags: []string{"novo"}},
				{Line: 3, Name: "Antiga Atualizada", Phone: oldPhone, LineType: "mobile", OwnerID: &owner,
					Fields: map[string]string{"cidade": "Santos"}, Tags: []string{"vip", "sp"}},
				{Line: 4, Phone: phone(2), ExternalID: "crm-2", LineType: "mobile"}, // Externa, by external id: new phone
				{Line: 5, Name: "Outra", Phone: phone(3)},
			},
			check: func(t *testing.T, db *store.DB, c store.ImportCounts, members int64) {
				if c.Inserted != 2 || c.Updated != 2 || c.Rejects != 0 || members != 4 {
					t.Errorf("counts %+v, %d members; want 2 inserted, 2 updated, 4 members", c, members)
				}
				o := contact(t, db, oldPhone)
				if o.Name != "Antiga Atualizada" || o.Fields["plano"] != "ouro" || o.Fields["cidade"] != "Santos" ||
					!slices.Equal(o.Tags, []string{"sp", "vip"}) || o.OwnerID == nil || *o.OwnerID != owner || o.ExternalID != "crm-1" {
					t.Errorf("updated contact %+v", o)
				}
				x := contact(t, db, phone(2))
				if x.Name != "Externa" || x.ExternalID != "crm-2" {
					t.Errorf("contact moved by external id %+v", x)
				}
				if n := contact(t, db, phone(1)); n.Name != "Nova" || !slices.Equal(n.Tags, []string{"novo"}) {
					t.Errorf("new contact %+v", n)
				}
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Dialects(t, func(t *testing.T, dsn string) {
				ctx := context.Background()
				db := storetest.Open(t, dsn, store.Options{})
				u, err := db.CreateUser(ctx, store.User{Username: "ana", Role: "user", Active: true})
				if err != nil || u.ID != owner {
					t.Fatalf("user %+v, %v", u, err)
				}
				if _, err := db.CreateContact(ctx, sms.Contact{Name: "Antiga", Phone: oldPhone, ExternalID: "crm-1", OwnerID: &owner,
					Fields: map[string]string{"plano": "ouro"}, Tags: []string{"vip"}}); err != nil {
					t.Fatal(err)
				}
				if _, err := db.CreateContact(ctx, sms.Contact{Name: "Externa", Phone: extPhone, ExternalID: "crm-2"}); err != nil {
					t.Fatal(err)
				}
				l, err := db.CreateList(ctx, "Lista", "", nil)
				if err != nil {
					t.Fatal(err)
				}
				im, err := db.CreateImport(ctx, store.Import{Status: store.ImportRunning, Filename: "x.csv"})
				if err != nil {
					t.Fatal(err)
				}
				var c store.ImportCounts
				err = db.InTx(ctx, func(tx *store.Tx) error {
					return tx.ApplyImportChunk(ctx, store.ImportChunk{ImportID: im.ID, ListID: &l.ID, Rows: tt.rows,
						RowsRead: int64(len(tt.rows))}, &c)
				})
				if err != nil {
					t.Fatal(err)
				}
				members, err := db.CountContacts(ctx, store.ContactFilter{ListID: l.ID})
				if err != nil {
					t.Fatal(err)
				}
				if tt.check != nil {
					tt.check(t, db, c, members)
					return
				}
				// Rows from many: all new, all in the list, each as written.
				n := len(tt.rows)
				if c.Inserted != int64(n) || members != int64(n) {
					t.Fatalf("inserted %d, %d members; want %d", c.Inserted, members, n)
				}
				for _, i := range []int{0, n / 2, n - 1} {
					if got := contact(t, db, phone(i)); got.Name != tt.rows[i].Name || got.Fields["n"] != fmt.Sprint(i) {
						t.Errorf("row %d: %+v", i, got)
					}
				}
			})
		})
	}
}

// TestApplyImportChunkConflictMeanwhile inserts, in another transaction, a
// contact with the phone of a row the chunk will insert, after the chunk
// found it missing: PostgreSQL's insert without a conflict clause fails, and
// is run again with it, merging the row into that contact as before. (SQLite
// has one writer: nothing can come between the look-up and the insert.)
func TestApplyImportChunkConflictMeanwhile(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, storetest.PostgresDSN(t), store.Options{})
	l, err := db.CreateList(ctx, "Lista", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	const taken, free = "+5511900000001", "+5511900000002"
	inserted, commit, other := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		other <- db.InTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO contacts (name, phone, fields, tags, created_at, updated_at)
VALUES ('Outra', $1, '{"a": "1"}', '[]', now(), now())`, taken)
			close(inserted)
			if err != nil {
				return err
			}
			<-commit
			return nil
		})
	}()
	<-inserted
	applied := make(chan error, 1)
	var c store.ImportCounts
	go func() {
		applied <- db.InTx(ctx, func(tx *store.Tx) error {
			return tx.ApplyImportChunk(ctx, store.ImportChunk{ListID: &l.ID, Rows: []store.ImportRow{
				{Line: 2, Name: "Nova", Phone: free},
				{Line: 3, Name: "Mesma", Phone: taken, Fields: map[string]string{"b": "2"}},
			}}, &c)
		})
	}()
	// Let the other transaction commit once the chunk's insert waits for it.
	for waiting := 0; waiting == 0; {
		if err := db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-applied:
			t.Fatalf("the chunk did not wait for the other transaction: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	close(commit)
	if err := <-other; err != nil {
		t.Fatal(err)
	}
	if err := <-applied; err != nil {
		t.Fatalf("apply: %v", err)
	}
	got, err := db.ContactByPhone(ctx, taken)
	if err != nil || got.Name != "Outra" || got.Fields["a"] != "1" || got.Fields["b"] != "2" {
		t.Errorf("contact created meanwhile: %+v, %v", got, err)
	}
	if n, err := db.CountContacts(ctx, store.ContactFilter{ListID: l.ID}); err != nil || n != 2 || c.Inserted != 2 {
		t.Errorf("%d members, %v; counts %+v", n, err, c)
	}
}
