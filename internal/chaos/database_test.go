package chaos

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recado-sms/recado/internal/app"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// load is a client that keeps sending batches of ten messages and reading
// a page of messages, as a CRM would, while a test breaks the database. A
// send that gets no answer, or an answer other than 202, is repeated with
// the same references until it gets 202 or 409 (those references exist:
// an earlier try was stored though its answer was lost). Answers are
// counted by phase.
type load struct {
	e      *env
	client *http.Client
	phase  atomic.Int32
	stop   chan struct{}
	wg     sync.WaitGroup

	mu       sync.Mutex
	refs     []string
	statuses map[string]int // "<phase>/<kind> <status>" → count
	slowest  map[string]time.Duration
}

func startLoad(e *env, prefix string) *load {
	l := &load{e: e, client: &http.Client{Timeout: 15 * time.Second}, stop: make(chan struct{}),
		statuses: map[string]int{}, slowest: map[string]time.Duration{}}
	l.phase.Store(1)
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		for b := 0; ; b++ {
			msgs := make([]map[string]any, 10)
			refs := make([]string, len(msgs))
			for i := range msgs {
				refs[i] = fmt.Sprintf("%s%d-%d", prefix, b, i)
				msgs[i] = map[string]any{"to": phone(b*10 + i), "body": "Teste de queda do banco", "provider": "kolmeya", "reference": refs[i]}
			}
			body, _ := json.Marshal(map[string]any{"messages": msgs})
			for {
				st := l.call("send", http.MethodPost, "/api/v1/messages/batch", body)
				if st == http.StatusAccepted || st == http.StatusConflict {
					break
				}
				select {
				case <-l.stop:
					// Stopping mid-retry: the batch may or may not be stored;
					// its references are checked as "at most once".
					l.mu.Lock()
					l.refs = append(l.refs, refs...)
					l.mu.Unlock()
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
			l.mu.Lock()
			l.refs = append(l.refs, refs...)
			l.mu.Unlock()
			select {
			case <-l.stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	go func() {
		defer l.wg.Done()
		for {
			l.call("read", http.MethodGet, "/api/v1/messages?limit=5", nil)
			select {
			case <-l.stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return l
}

// call makes one request and counts its answer (0 when there was none).
func (l *load) call(kind, method, path string, body []byte) int {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, l.e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+l.e.srv.Token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	status := 0
	if resp, err := l.client.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}
	took := time.Since(start)
	key := fmt.Sprintf("%d/%s", l.phase.Load(), kind)
	l.mu.Lock()
	l.statuses[fmt.Sprintf("%s %d", key, status)]++
	l.slowest[key] = max(l.slowest[key], took)
	l.mu.Unlock()
	return status
}

func (l *load) count(phase int, kind string, status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.statuses[fmt.Sprintf("%d/%s %d", phase, kind, status)]
}

// finish stops the load and returns every reference it tried.
func (l *load) finish() []string {
	close(l.stop)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refs
}

func (l *load) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("answers %v, slowest %v", l.statuses, l.slowest)
}

// checkAtMostOnce checks that each reference tried is stored at most once
// and, when stored, accepted by Kolmeya exactly once; and that those
// answered 202 or 409 are all stored.
func (e *env) checkAtMostOnce(t *testing.T, refs []string) {
	t.Helper()
	ms, err := e.app.DB.MessagesByRef(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, m := range ms {
		stored[m.Reference]++
	}
	var lost int
	for _, r := range refs {
		switch n := stored[r]; {
		case n > 1:
			t.Errorf("%s stored %d times", r, n)
		case n == 1 && e.fake.Accepted(r) != 1:
			t.Errorf("%s accepted by Kolmeya %d times, want once", r, e.fake.Accepted(r))
		case n == 0:
			lost++
		}
	}
	// Only the last batch, cut short by the end of the load, may be missing.
	if lost > 10 {
		t.Errorf("%d references tried were never stored", lost)
	}
}

// TestPostgresGoesAway runs the load while PostgreSQL refuses Recado for
// three seconds (a minute with RECADO_SOAK=1; its connections killed, new
// ones refused, as during a restart), then while its connections are killed
// again and again for two seconds. Meanwhile Recado answers 503, never 500, and never hangs; it
// recovers by itself; and no message is stored twice, lost once accepted,
// or sent twice.
func TestPostgresGoesAway(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	admin, err := sql.Open("pgx", os.Getenv(storetest.EnvPostgres))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, _ := url.Parse(dsn)
	name := strings.TrimPrefix(u.Path, "/")
	kill := func() {
		t.Helper()
		if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name); err != nil {
			t.Fatal(err)
		}
	}
	allow := func(yes bool) {
		t.Helper()
		if _, err := admin.Exec(fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS %t`, name, yes)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { admin.Exec(fmt.Sprintf(`ALTER DATABASE %s ALLOW_CONNECTIONS true`, name)) })

	logs := &syncBuffer{}
	e := newEnv(t, dsn, envOptions{config: func(c *app.Config) {
		c.Dispatch.SendTimeout = 2 * time.Second
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	}})
	l := startLoad(e, "pg")
	time.Sleep(time.Second)

	l.phase.Store(2) // the database goes away
	allow(false)
	outage := 3 * time.Second
	if os.Getenv("RECADO_SOAK") == "1" {
		outage = 60 * time.Second
	}
	for end := time.Now().Add(outage); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		kill()
	}
	ready := e.srv.Send(t, apptestGet("/readyz"))
	if ready.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d while the database was away: %s", ready.Status, ready.Body)
	}
	if st := e.srv.Send(t, apptestGet("/healthz")).Status; st != http.StatusOK {
		t.Errorf("/healthz answered %d while the database was away", st)
	}
	allow(true)

	l.phase.Store(3) // back, but its connections keep being killed
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		kill()
	}
	l.phase.Store(4) // left alone: Recado must recover by itself
	deadline := time.Now().Add(20 * time.Second)
	for l.count(4, "read", 200) < 20 || l.count(4, "send", 202) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("Recado did not recover within 20 s: %s", l)
		}
		time.Sleep(50 * time.Millisecond)
	}
	refs := l.finish()
	t.Logf("%d messages tried; %s", len(refs), l)
	defer func() {
		if t.Failed() {
			t.Logf("errors logged:\n%s", logs)
		}
	}()
	for phase := 1; phase <= 4; phase++ {
		for _, kind := range []string{"read", "send"} {
			if n := l.count(phase, kind, 500); n > 0 {
				t.Errorf("phase %d: %d %ss answered 500, want 503 while the database is away", phase, n, kind)
			}
			if n := l.count(phase, kind, 0); n > 0 {
				t.Errorf("phase %d: %d %ss got no answer", phase, n, kind)
			}
		}
	}
	if l.count(2, "read", 503) == 0 {
		t.Errorf("no read was answered 503 while the database was away: %s", l)
	}
	if st := e.srv.Send(t, apptestGet("/readyz")).Status; st != http.StatusOK {
		t.Errorf("/readyz answered %d after the database came back", st)
	}
	e.settle(t, nil)
	e.checkAtMostOnce(t, refs)
}

// syncBuffer is a bytes.Buffer that several goroutines may write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSQLiteLockedByAnotherWriter runs the load while another process
// holds SQLite's write lock for two seconds (a tool writing, a backup
// taking its copy): reads go on being answered at once, from the WAL; the
// writes wait for the lock and then go through; nothing fails, nothing is
// stored or sent twice.
func TestSQLiteLockedByAnotherWriter(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	e := newEnv(t, dsn, envOptions{})
	other, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	l := startLoad(e, "sq")
	time.Sleep(500 * time.Millisecond)
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	l.phase.Store(2)
	time.Sleep(2 * time.Second)
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	l.phase.Store(3)
	time.Sleep(500 * time.Millisecond)
	refs := l.finish()
	t.Logf("%d messages tried; %s", len(refs), l)
	if n := l.count(2, "read", 200); n < 50 {
		t.Errorf("only %d reads answered while the lock was held: %s", n, l)
	}
	l.mu.Lock()
	slowRead := l.slowest["2/read"]
	for k, n := range l.statuses {
		if !strings.HasSuffix(k, " 200") && !strings.HasSuffix(k, " 202") {
			t.Errorf("%d answers %s: nothing should fail while a lock is waited for", n, k)
		}
	}
	l.mu.Unlock()
	if slowRead > 500*time.Millisecond {
		t.Errorf("a read took %v while another writer held the lock: reads must not wait for it", slowRead)
	}
	if l.count(3, "send", 202) == 0 {
		t.Errorf("no send went through once the lock was released: %s", l)
	}
	e.settle(t, nil)
	e.checkAtMostOnce(t, refs)
}
