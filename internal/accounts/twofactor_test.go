package accounts_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/secrets"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTwoFactor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		box, err := secrets.NewBox(bytes.Repeat([]byte{7}, 32), nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
		tf := accounts.NewTwoFactor(db, box, nil, func() time.Time { return now })
		acc := accounts.New(db, nil, cheap)
		u, err := acc.CreateUser(ctx, "gerente", "Gerente Teste", auth.RoleManager, "a long password")
		if err != nil {
			t.Fatal(err)
		}
		if on, _ := tf.Enabled(ctx, u.ID); on {
			t.Fatal("on before enrolment")
		}
		e, err := tf.Begin(ctx, u)
		if err != nil || e.Secret == "" || len(e.QRPNG) < 100 {
			t.Fatalf("begin: %+v %v", e, err)
		}
		raw, _ := db.UserTwoFactor(ctx, u.ID)
		if bytes.Contains([]byte(raw.Secret), []byte(e.Secret)) {
			t.Fatal("the secret is stored in the clear")
		}
		if again, ok, err := tf.Pending(ctx, u); err != nil || !ok || again.Secret != e.Secret {
			t.Fatalf("pending: %v %v %v", again.Secret, ok, err)
		}
		if _, err := tf.Confirm(ctx, u.ID, "000000"); sms.KindOf(err) != sms.KindInvalid {
			t.Fatalf("a wrong code confirmed: %v", err)
		}
		recovery, err := tf.Confirm(ctx, u.ID, code(t, e.Secret, now))
		if err != nil || len(recovery) != 10 {
			t.Fatalf("confirm: %v %v", recovery, err)
		}
		if _, err := tf.Begin(ctx, u); sms.KindOf(err) != sms.KindConflict {
			t.Fatalf("enrolling again while on: %v", err)
		}

		// The code that confirmed is spent; the next step's works, once; one
		// step of skew either way is accepted, two are not.
		tests := []struct {
			name string
			at   time.Duration
			ok   bool
		}{
			{"the confirming code again", 0, false},
			{"next step", 30 * time.Second, true},
			{"next step again", 30 * time.Second, false},
			{"two steps ahead", 90 * time.Second, false},
		}
		for _, tt := range tests {
			err := tf.Verify(ctx, u.ID, code(t, e.Secret, now.Add(tt.at)))
			if (err == nil) != tt.ok {
				t.Errorf("%s: %v", tt.name, err)
			}
		}
		now = now.Add(2 * time.Minute)
		if err := tf.Verify(ctx, u.ID, code(t, e.Secret, now.Add(-30*time.Second))); err != nil {
			t.Errorf("a code one step old: %v", err)
		}
		// Recovery codes: any case and dashes, once each.
		lower := []byte(recovery[3])
		for i := range lower {
			if lower[i] >= 'A' && lower[i] <= 'Z' {
				lower[i] += 'a' - 'A'
			}
		}
		if err := tf.Verify(ctx, u.ID, string(lower)); err != nil {
			t.Errorf("recovery code: %v", err)
		}
		if err := tf.Verify(ctx, u.ID, recovery[3]); sms.KindOf(err) != sms.KindUnauthorized {
			t.Errorf("a recovery code used twice: %v", err)
		}
		if err := tf.Verify(ctx, u.ID, "NOPE-NOPE-NOPE"); sms.KindOf(err) != sms.KindUnauthorized {
			t.Errorf("an unknown recovery code: %v", err)
		}

		if req, _ := tf.RequiredFor(ctx, auth.RoleManager); req {
			t.Error("required before the administrator asked")
		}
		if err := tf.RequireForManagers(ctx, true); err != nil {
			t.Fatal(err)
		}
		if req, _ := tf.RequiredFor(ctx, auth.RoleManager); !req {
			t.Error("not required for managers after asking")
		}
		if req, _ := tf.RequiredFor(ctx, auth.RoleUser); req {
			t.Error("required for operators")
		}
		if err := tf.Disable(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if on, _ := tf.Enabled(ctx, u.ID); on {
			t.Fatal("still on after disable")
		}
	})
}
