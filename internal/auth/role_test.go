package auth_test

import (
	"testing"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
)

// The permission table as PRODUCT.md states it, written out by hand: an
// operator reads, creates and edits messages and contacts but never deletes,
// sees providers read-only, and manages no users, reports or webhooks.
func TestRoleCan(t *testing.T) {
	tests := []struct {
		perm    auth.Permission
		user    bool
		manager bool
	}{
		{auth.MessagesRead, true, true},
		{auth.MessagesWrite, true, true},
		{auth.MessagesDelete, false, true},
		{auth.ContactsRead, true, true},
		{auth.ContactsWrite, true, true},
		{auth.ContactsDelete, false, true},
		{auth.ProvidersRead, true, true},
		{auth.ProvidersWrite, false, true},
		{auth.TemplatesRead, true, true},
		{auth.TemplatesWrite, false, true},
		{auth.CampaignsRead, true, true},
		{auth.CampaignsWrite, false, true},
		{auth.BlacklistRead, true, true},
		{auth.BlacklistWrite, false, true},
		{auth.UsersRead, false, true},
		{auth.UsersWrite, false, true},
		{auth.TokensManage, true, true},
		{auth.ReportsRead, false, true},
		{auth.WebhooksManage, false, true},
		{auth.Permission("messages:purge"), false, false},
		{auth.Permission(""), false, false},
	}
	covered := map[auth.Permission]bool{}
	for _, tt := range tests {
		covered[tt.perm] = true
		if got := auth.RoleUser.Can(tt.perm); got != tt.user {
			t.Errorf("RoleUser.Can(%q) = %v, want %v", tt.perm, got, tt.user)
		}
		if got := auth.RoleManager.Can(tt.perm); got != tt.manager {
			t.Errorf("RoleManager.Can(%q) = %v, want %v", tt.perm, got, tt.manager)
		}
		if got := auth.Role("admin").Can(tt.perm); got {
			t.Errorf("unknown role can %q", tt.perm)
		}
	}
	for _, p := range auth.Permissions() {
		if !covered[p] {
			t.Errorf("permission %q is missing from the table", p)
		}
		if !p.Valid() {
			t.Errorf("listed permission %q is not Valid", p)
		}
	}
	if n := len(auth.Permissions()); n != len(tests)-2 {
		t.Errorf("Permissions() lists %d permissions, the table %d", n, len(tests)-2)
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want auth.Role
		ok   bool
	}{
		{"user", auth.RoleUser, true},
		{"manager", auth.RoleManager, true},
		{" Manager ", auth.RoleManager, true},
		{"USER", auth.RoleUser, true},
		{"admin", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := auth.ParseRole(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && sms.KindOf(err) != sms.KindInvalid {
			t.Errorf("ParseRole(%q) = %q, %v; want an error of kind invalid", tt.in, got, err)
		}
	}
	for _, r := range auth.Roles() {
		if got, err := auth.ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
	}
}

func TestPrincipal(t *testing.T) {
	tokenID := int64(7)
	op := auth.Principal{User: auth.User{ID: 1, Username: "operador", Role: auth.RoleUser, Active: true}}
	mgr := auth.Principal{User: auth.User{ID: 2, Username: "gerente", Role: auth.RoleManager, Active: true}, TokenID: &tokenID}
	gone := auth.Principal{User: auth.User{ID: 3, Username: "antigo", Role: auth.RoleManager, Active: false}}

	if !op.Can(auth.MessagesWrite) || op.Can(auth.MessagesDelete) {
		t.Error("operator: want messages:write and not messages:delete")
	}
	if err := op.Require(auth.MessagesDelete); sms.KindOf(err) != sms.KindForbidden {
		t.Errorf("operator Require(messages:delete) = %v, want forbidden", err)
	}
	if err := op.Require(auth.MessagesRead); err != nil {
		t.Errorf("operator Require(messages:read) = %v", err)
	}
	if !mgr.Can(auth.ReportsRead) || !mgr.ViaToken() || op.ViaToken() {
		t.Error("manager with token: want reports:read and ViaToken")
	}
	if gone.Can(auth.MessagesRead) {
		t.Error("a deactivated manager can read messages")
	}
	if err := gone.Require(auth.MessagesRead); sms.KindOf(err) != sms.KindUnauthorized {
		t.Errorf("deactivated Require = %v, want unauthorized", err)
	}
}

func TestAuthenticateToken(t *testing.T) {
	u := &auth.User{ID: 4, Username: "crm", Role: auth.RoleUser, Active: true}
	p, err := auth.AuthenticateToken(u, 9)
	if err != nil || p.ID != 4 || p.TokenID == nil || *p.TokenID != 9 {
		t.Errorf("AuthenticateToken = %+v, %v", p, err)
	}
	if _, err := auth.AuthenticateToken(nil, 9); sms.KindOf(err) != sms.KindUnauthorized {
		t.Errorf("AuthenticateToken without user: %v, want unauthorized", err)
	}
	u.Active = false
	if _, err := auth.AuthenticateToken(u, 9); sms.KindOf(err) != sms.KindUnauthorized {
		t.Errorf("AuthenticateToken of a deactivated user: %v, want unauthorized", err)
	}
}
