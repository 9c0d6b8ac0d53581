package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestMigrateDBToPostgres fills a SQLite recado through its API (users,
// tokens, contacts, providers with sealed secrets, messages delivered and
// one scheduled for later, a blacklist, a webhook endpoint and its
// deliveries), stops it, copies it into an empty PostgreSQL database with
// `recado migrate-db`, and checks: every table has the same rows, a sample
// of messages with their events and the contacts read the same from both,
// the scheduled message's job came along with its time and no periodic job
// did, and recado started on PostgreSQL (same data folder, so same key)
// takes new rows with new ids and sends through the Kolmeya provider whose
// token was sealed on SQLite.
func TestMigrateDBToPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dsn := storetest.PostgresDSN(t)
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "migrate-kolmeya-token", RateLimit: -1, SentAfter: time.Hour, FinalAfter: time.Hour})
	t.Cleanup(fake.Close)
	data := t.TempDir()
	cmd, _, base := startChild(t, data)
	c := client{t: t, base: base, token: testToken}
	must := func(want int, method, path string, body any) map[string]any {
		t.Helper()
		st, out := c.do(method, path, body)
		if st != want {
			t.Fatalf("%s %s: %d %v", method, path, st, out)
		}
		return out
	}
	must(200, "PATCH", "/api/v1/providers/mock", map[string]any{"settings": map[string]any{"delivery_delay": "0s"}})
	must(201, "POST", "/api/v1/providers", map[string]any{"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
		"base_url": fake.URL(), "token": "migrate-kolmeya-token", "webhook_secret": "migrate-webhook-secret-0123456789"}})
	u := must(201, "POST", "/api/v1/users", map[string]any{"username": "olga", "name": "Fulana Teste", "role": "user", "password": "a long enough password"})
	must(201, "POST", fmt.Sprintf("/api/v1/users/%v/tokens", u["id"]), map[string]any{"name": "crm"})
	for i := range 20 {
		must(201, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprintf("Fulana Teste %d", i), "phone": fmt.Sprintf("+55119%08d", i), "tags": []string{"vip"}})
	}
	must(201, "POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:1/hooks", "events": []string{"message.delivered"}})
	// A campaign to the 20 contacts, from a template (issue 6's tables).
	tm := must(201, "POST", "/api/v1/templates", map[string]any{"name": "aviso", "body": "Olá, {{primeiro_nome}}!"})
	camp := must(201, "POST", "/api/v1/campaigns", map[string]any{"name": "Aviso", "template_id": tm["id"],
		"audience": map[string]any{"tags": []string{"vip"}}, "window": map[string]any{"open_on_holidays": true}})
	must(200, "POST", fmt.Sprintf("/api/v1/campaigns/%v/start", camp["id"]), nil)
	msgs := make([]map[string]any, 300)
	for i := range msgs {
		msgs[i] = map[string]any{"to": fmt.Sprintf("+55119%08d", i), "body": "Olá! Teste de migração."}
	}
	must(202, "POST", "/api/v1/messages/batch", map[string]any{"messages": msgs})
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	must(202, "POST", "/api/v1/messages", map[string]any{"to": "+5511900000999", "body": "mais tarde", "send_at": later.Format(time.RFC3339)})
	must(200, "POST", "/api/v1/blacklist", map[string]any{"phones": []string{"+5511900000777"}, "reason": "pediu"})
	for deadline := time.Now().Add(30 * time.Second); len(listMessages(t, c, "delivered", func(map[string]any) int { return 0 })) < 320; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("messages not delivered by the mock")
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	var out, errb bytes.Buffer
	path := filepath.Join(data, "recado.db")
	if code := run(context.Background(), []string{"migrate-db", "--from", "sqlite:" + path, "--to", dsn, "--quiet", "--batch", "64"}, testEnv(nil), &out, &errb); code != 0 {
		t.Fatalf("migrate-db: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "counts checked") {
		t.Fatalf("migrate-db said:\n%s", out.String())
	}
	// Again, into the now full database: refused, nothing changed.
	if code := run(context.Background(), []string{"migrate-db", "--from", "sqlite:" + path, "--to", dsn, "--quiet"}, testEnv(nil), &out, &errb); code == 0 {
		t.Fatal("migrate-db into a database that is not empty ran")
	}

	ctx := context.Background()
	src, err := store.Connect(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := store.Connect(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	count := func(db *store.DB, q string) int {
		t.Helper()
		var n int
		if err := db.Reader().QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	// Every table of the schema (the queue's aside) holds as many rows on both.
	rows, err := dst.Reader().Query(`SELECT table_name FROM information_schema.tables
WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'river%' AND table_name <> 'goose_db_version'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	nonEmpty := 0
	for _, table := range tables {
		q := "SELECT count(*) FROM " + table
		a, b := count(src, q), count(dst, q)
		if a != b {
			t.Errorf("%s: %d rows on SQLite, %d on PostgreSQL", table, a, b)
		}
		if a > 0 {
			nonEmpty++
		}
	}
	if len(tables) < 20 || nonEmpty < 15 {
		t.Errorf("%d tables, %d with rows: the test fills too few to prove much", len(tables), nonEmpty)
	}
	if n := count(dst, "SELECT count(*) FROM messages WHERE campaign_id IS NULL"); n != 301 {
		t.Errorf("%d messages outside the campaign copied, want 301", n)
	}
	for _, id := range []int64{1, 2, 150, 300, 301} {
		a, err1 := src.GetMessage(ctx, id)
		b, err2 := dst.GetMessage(ctx, id)
		ea, err3 := src.MessageEvents(ctx, id)
		eb, err4 := dst.MessageEvents(ctx, id)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			t.Fatalf("message %d: %v %v %v %v", id, err1, err2, err3, err4)
		}
		// PostgreSQL keeps microseconds, SQLite nanoseconds.
		micro(&a, ea)
		micro(&b, eb)
		if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ea, eb) {
			t.Errorf("message %d differs:\nSQLite     %+v %+v\nPostgreSQL %+v %+v", id, a, ea, b, eb)
		}
	}
	ca, _ := src.ListContacts(ctx, store.ContactFilter{Limit: 100})
	cb, _ := dst.ListContacts(ctx, store.ContactFilter{Limit: 100})
	for _, list := range [][]sms.Contact{ca, cb} {
		for i := range list {
			c := &list[i]
			c.CreatedAt, c.UpdatedAt = c.CreatedAt.Truncate(time.Microsecond), c.UpdatedAt.Truncate(time.Microsecond)
			if c.Stats.LastSMSAt != nil {
				*c.Stats.LastSMSAt = c.Stats.LastSMSAt.Truncate(time.Microsecond)
			}
		}
	}
	if len(ca) != 20 || !reflect.DeepEqual(ca, cb) {
		t.Errorf("contacts differ: %d on SQLite, %d on PostgreSQL", len(ca), len(cb))
	}
	// The queue: the scheduled send came along, on time; no periodic job did.
	var state string
	var at time.Time
	err = dst.Reader().QueryRow(`SELECT state::text, scheduled_at FROM river_job WHERE kind = 'send_batch' AND scheduled_at > now() + interval '30 minutes'`).Scan(&state, &at)
	if err != nil || state != "scheduled" || at.Sub(later).Abs() > 2*time.Second {
		t.Errorf("the scheduled send's job on PostgreSQL: %q at %v (want scheduled at %v): %v", state, at, later, err)
	}
	if n := count(dst, `SELECT count(*) FROM river_job WHERE metadata ? 'periodic'`); n != 0 {
		t.Errorf("%d periodic jobs copied", n)
	}

	// Recado on PostgreSQL, same data folder (so the same secret key).
	_, _, base = startChild(t, data, "RECADO_DATABASE_URL="+dsn)
	c.base = base
	created := must(201, "POST", "/api/v1/contacts", map[string]any{"name": "Nova Teste", "phone": "+5511977777777"})
	if created["id"].(float64) != 21 {
		t.Errorf("a new contact got id %v, want 21: the sequence was not moved", created["id"])
	}
	last := count(dst, "SELECT max(id) FROM messages")
	sent := must(202, "POST", "/api/v1/messages", map[string]any{"to": "+5511900000888", "body": "oi", "provider": "kolmeya", "reference": "after-migration"})
	if int(sent["id"].(float64)) != last+1 {
		t.Errorf("a new message got id %v, want %d", sent["id"], last+1)
	}
	for deadline := time.Now().Add(30 * time.Second); fake.Accepted("after-migration") != 1; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("recado on PostgreSQL did not send through Kolmeya: the provider's sealed token did not open?")
		}
	}
}

// micro truncates a message's times and its events' to microseconds.
func micro(m *sms.Message, evs []sms.Event) {
	for _, p := range []*time.Time{&m.CreatedAt, &m.UpdatedAt} {
		*p = p.Truncate(time.Microsecond)
	}
	for _, p := range []**time.Time{&m.SentAt, &m.DeliveredAt, &m.ReadAt, &m.NextAttemptAt} {
		if *p != nil {
			t := (*p).Truncate(time.Microsecond)
			*p = &t
		}
	}
	for i := range evs {
		evs[i].At = evs[i].At.Truncate(time.Microsecond)
	}
}
