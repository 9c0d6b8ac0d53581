package accounts_test

import (
	"context"
	"testing"

	"github.com/recado-sms/recado/internal/accounts"
	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
	"github.com/recado-sms/recado/internal/store/storetest"
)

var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestBootstrapAndTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		acc := accounts.New(db, nil, cheap)
		b, err := acc.Bootstrap(ctx, "", "automation-token-0123456789")
		if err != nil || !b.Created || b.Password == "" || b.Token != "" {
			t.Fatalf("bootstrap = %+v, %v", b, err)
		}
		if again, err := acc.Bootstrap(ctx, "", ""); err != nil || again.Created {
			t.Fatalf("a second bootstrap created something: %+v, %v", again, err)
		}
		p, err := acc.PrincipalForToken(ctx, "automation-token-0123456789")
		if err != nil || p.Username != "admin" || p.Role != auth.RoleManager || p.TokenID == nil {
			t.Fatalf("bootstrap token: %+v, %v", p, err)
		}
		if _, err := acc.CheckPassword(ctx, "ADMIN", b.Password); err != nil {
			t.Fatalf("the printed password does not work: %v", err)
		}
		for _, tc := range []struct{ user, pw string }{{"admin", "wrong password"}, {"nobody", b.Password}} {
			if _, err := acc.CheckPassword(ctx, tc.user, tc.pw); sms.KindOf(err) != sms.KindUnauthorized {
				t.Errorf("CheckPassword(%q) = %v, want unauthorized", tc.user, err)
			}
		}
		u, err := acc.CreateUser(ctx, "Ana", "Ana Teste", auth.RoleUser, "a long password")
		if err != nil || u.Username != "ana" {
			t.Fatalf("create user: %+v, %v", u, err)
		}
		plain, tok, err := acc.CreateToken(ctx, u.ID, "crm")
		if err != nil || tok.Hash == plain || tok.Prefix == "" {
			t.Fatalf("token: %v %+v", err, tok)
		}
		if p, err := acc.PrincipalForToken(ctx, plain); err != nil || p.ID != u.ID {
			t.Fatalf("operator token: %+v, %v", p, err)
		}
		off := false
		if _, err := acc.UpdateUser(ctx, u.ID, accounts.UserPatch{Active: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := acc.PrincipalForToken(ctx, plain); sms.KindOf(err) != sms.KindUnauthorized {
			t.Fatalf("a deactivated user's token still works: %v", err)
		}
		for _, bad := range []struct{ user, pw string }{{"x", "a long password"}, {"bo b", "a long password"}, {"bob", "short"}} {
			if _, err := acc.CreateUser(ctx, bad.user, "", auth.RoleUser, bad.pw); sms.KindOf(err) != sms.KindInvalid {
				t.Errorf("CreateUser(%q) = %v, want invalid", bad.user, err)
			}
		}
	})
}
