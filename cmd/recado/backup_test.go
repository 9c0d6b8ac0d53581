package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/provider/kolmeya/kolmeyatest"
)

// TestBackupWhileRunningAndRestore backs up a running recado's SQLite
// database while a client keeps sending, restores the copy and its key into
// a new data folder as docs/OPERATIONS.md says, and starts recado on it:
// every message of the copy is there, the admin's token works, and the
// Kolmeya provider's sealed token still opens (a message sent through it
// reaches the fake).
func TestBackupWhileRunningAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	fake := kolmeyatest.NewServer(kolmeyatest.Options{Token: "backup-kolmeya-token", RateLimit: -1, SentAfter: time.Hour, FinalAfter: time.Hour})
	t.Cleanup(fake.Close)
	data := t.TempDir()
	cmd, _, base := startChild(t, data)
	c := client{t: t, base: base, token: testToken}
	if st, body := c.do("POST", "/api/v1/providers", map[string]any{"name": "kolmeya", "type": "kolmeya", "settings": map[string]any{
		"base_url": fake.URL(), "token": "backup-kolmeya-token", "webhook_secret": "backup-webhook-secret-0123456789"}}); st != 201 {
		t.Fatalf("create provider: %d %v", st, body)
	}
	send := func(c client, prefix string, n int) int {
		msgs := make([]map[string]any, n)
		for i := range msgs {
			msgs[i] = map[string]any{"to": fmt.Sprintf("+5511%09d", 900000000+i), "body": "Teste", "provider": "kolmeya", "reference": fmt.Sprintf("%s-%d", prefix, i)}
		}
		st, _ := c.do("POST", "/api/v1/messages/batch", map[string]any{"messages": msgs})
		return st
	}
	if st := send(c, "before", 1000); st != 202 {
		t.Fatalf("send: %d", st)
	}
	// A client keeps writing while the copy is made.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if st := send(client{t: t, base: base, token: testToken}, fmt.Sprintf("during%d", i), 100); st != 202 {
				t.Errorf("send during the backup: %d", st)
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	file := filepath.Join(t.TempDir(), "recado-copy.db")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"backup", "--data", data, "--to", file}, testEnv(nil), &out, &errb); code != 0 {
		t.Fatalf("backup: exit %d\n%s%s", code, out.String(), errb.String())
	}
	stop.Store(true)
	wg.Wait()
	m := regexp.MustCompile(`(\d+) messages`).FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "integrity checked") || !strings.Contains(out.String(), file+".key") {
		t.Fatalf("backup said:\n%s", out.String())
	}
	copied, _ := strconv.Atoi(m[1])
	if copied < 1000 {
		t.Fatalf("the copy holds %d messages, want at least the 1000 sent before it", copied)
	}
	if fi, err := os.Stat(file + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the key beside the copy: %v %v", fi, err)
	}
	// A second backup to the same file is refused.
	if code := run(context.Background(), []string{"backup", "--data", data, "--to", file}, testEnv(nil), &out, &errb); code == 0 {
		t.Fatal("a backup over an existing file was made")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	// Restore, as docs/OPERATIONS.md says: the copy as recado.db, its key as
	// secret.key, mode 0600.
	restored := t.TempDir()
	raw, _ := os.ReadFile(file)
	key, _ := os.ReadFile(file + ".key")
	if err := os.WriteFile(filepath.Join(restored, "recado.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "secret.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, base = startChild(t, restored)
	c = client{t: t, base: base, token: testToken}
	got := len(listMessages(t, c, "queued,sending,sent", func(map[string]any) int { return 0 }))
	if got != copied {
		t.Fatalf("the restored recado has %d messages, the copy said %d", got, copied)
	}
	st, body := c.do("GET", "/api/v1/providers/kolmeya", nil)
	if st != 200 || !strings.Contains(fmt.Sprint(body["secrets_set"]), "token") {
		t.Fatalf("provider after the restore: %d %v", st, body)
	}
	before := fake.TotalAccepted()
	if st := send(c, "after", 1); st != 202 {
		t.Fatalf("send after the restore: %d", st)
	}
	deadline := time.Now().Add(30 * time.Second)
	for fake.Accepted("after-0") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the restored recado did not send through Kolmeya (accepted %d before, %d now): the sealed token did not open?", before, fake.TotalAccepted())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBackupRefusesPostgres: on PostgreSQL, backup says how to use pg_dump
// and fails.
func TestBackupRefusesPostgres(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"backup", "--database-url", "postgres://nobody@127.0.0.1:1/x", "--to", filepath.Join(t.TempDir(), "x")},
		testEnv(nil), &out, &errb)
	if code == 0 || !strings.Contains(out.String(), "pg_dump --format=custom") || !strings.Contains(errb.String(), "pg_dump") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}
