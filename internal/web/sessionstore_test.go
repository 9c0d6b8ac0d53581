package web

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

// TestSessionExpiry: requests that only read a session keep it alive
// (pushing its expiry on at most every touchEvery, without touching its
// data); one idle for idleTimeout is gone, and so is one past its lifetime
// however busy.
func TestSessionExpiry(t *testing.T) {
	type step struct {
		after      time.Duration // since the step before
		found      bool
		wantExpiry time.Duration // since the session was saved; 0: not checked
	}
	every := func(n int, gap time.Duration) []step {
		var out []step
		for range n {
			out = append(out, step{after: gap, found: true})
		}
		return out
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"idle for the timeout", []step{{after: idleTimeout, found: false}}},
		{"read just before the timeout, then idle", []step{
			{after: idleTimeout - time.Second, found: true, wantExpiry: 2*idleTimeout - time.Second},
			{after: idleTimeout - time.Second, found: true},
			{after: idleTimeout, found: false},
		}},
		{"read again soon: no push", []step{
			{after: time.Minute, found: true, wantExpiry: idleTimeout},
			{after: touchEvery - time.Minute - time.Second, found: true, wantExpiry: idleTimeout},
			{after: 2 * time.Second, found: true, wantExpiry: touchEvery + time.Second + idleTimeout},
		}},
		{"busy for 6 hours, then idle", append(every(36, 10*time.Minute),
			step{after: idleTimeout - touchEvery, found: true},
			step{after: idleTimeout, found: false})},
		{"busy past the lifetime", append(every(11, time.Hour),
			step{after: time.Hour, found: false})},
	}
	storetest.Dialects(t, func(t *testing.T, dsn string) {
		clk := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		db := storetest.Open(t, dsn, store.Options{Now: func() time.Time { return clk }})
		ss := newSessionStore(db, scs.GobCodec{})
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				saved := clk
				data, err := scs.GobCodec{}.Encode(saved.Add(sessionLifetime), map[string]any{sessLang: "en"})
				if err != nil {
					t.Fatal(err)
				}
				token := "tok " + tt.name
				if err := ss.CommitCtx(ctx, token, data, saved.Add(sessionLifetime)); err != nil {
					t.Fatal(err)
				}
				if got, _, _ := db.Sessions().Load(ctx, token); !got.Expiry.Equal(saved.Add(idleTimeout)) {
					t.Fatalf("a saved session expires at %v, want %v", got.Expiry, saved.Add(idleTimeout))
				}
				for i, st := range tt.steps {
					clk = clk.Add(st.after)
					b, found, err := ss.FindCtx(ctx, token)
					if err != nil || found != st.found {
						t.Fatalf("step %d, %v after saving: found=%v err=%v, want found=%v", i, clk.Sub(saved), found, err, st.found)
					}
					if found && !bytes.Equal(b, data) {
						t.Fatalf("step %d: the data changed", i)
					}
					if st.wantExpiry == 0 {
						continue
					}
					if got, _, _ := db.Sessions().Load(ctx, token); !got.Expiry.Equal(saved.Add(st.wantExpiry)) {
						t.Fatalf("step %d: expiry %v after saving, want %v", i, got.Expiry.Sub(saved), st.wantExpiry)
					}
				}
			})
		}
	})
}
