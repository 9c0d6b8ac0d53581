// Package auth decides who may do what in Recado: users and their roles, the
// permissions each role grants, password hashing and API tokens. It is pure
// logic; users and token hashes are stored elsewhere, and handlers ask a
// Principal whether it Can before they act.
//
// There are two roles, as in the system Recado replaces: the SMS User
// (operator) reads, creates and edits messages and contacts but never deletes
// them and sees providers read-only; the SMS Manager does everything,
// including providers, templates, campaigns, users, the blacklist, webhooks,
// and cost and delivery reports.
package auth

import (
	"slices"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

// Role is what a user is allowed to do, as a whole.
type Role string

// The roles.
const (
	// RoleUser is the SMS User: an operator who sends and follows messages.
	RoleUser Role = "user"
	// RoleManager is the SMS Manager: full control of Recado.
	RoleManager Role = "manager"
)

// Roles lists every role, least privileged first.
func Roles() []Role { return []Role{RoleUser, RoleManager} }

// ParseRole returns the role named s ("user" or "manager", in any case), or
// an error of kind KindInvalid.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", sms.Invalid("unknown role",
			sms.FieldError{Field: "role", Message: `must be "user" or "manager"`, Value: s})
	}
	return r, nil
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleUser || r == RoleManager }

// Can reports whether role r grants permission p. A manager holds every
// permission; an unknown role holds none.
func (r Role) Can(p Permission) bool {
	switch r {
	case RoleManager:
		return p.Valid()
	case RoleUser:
		switch p {
		case MessagesRead, MessagesWrite,
			ContactsRead, ContactsWrite,
			ProvidersRead,
			TemplatesRead,
			CampaignsRead,
			BlacklistRead,
			TokensManage:
			return true
		}
	}
	return false
}

// Permission is the right to one kind of action. Handlers check one
// permission each; the roles decide who holds it.
type Permission string

// The permissions. "Write" covers creating and editing; deleting is separate
// where operators may write but not delete.
const (
	MessagesRead   Permission = "messages:read"   // list and read messages and their events
	MessagesWrite  Permission = "messages:write"  // compose, send, edit drafts, answer replies
	MessagesDelete Permission = "messages:delete" // delete messages
	ContactsRead   Permission = "contacts:read"   // list and read contacts and their timelines
	ContactsWrite  Permission = "contacts:write"  // create, edit and import contacts
	ContactsDelete Permission = "contacts:delete" // delete contacts
	ProvidersRead  Permission = "providers:read"  // see providers and their state, never their secrets
	ProvidersWrite Permission = "providers:write" // create, configure and delete providers
	TemplatesRead  Permission = "templates:read"  // list templates and use them in the composer
	TemplatesWrite Permission = "templates:write" // create, edit and delete templates
	CampaignsRead  Permission = "campaigns:read"  // list campaigns and their progress
	CampaignsWrite Permission = "campaigns:write" // create, schedule, pause, resume and cancel campaigns
	BlacklistRead  Permission = "blacklist:read"  // see the blacklist and opt-outs
	BlacklistWrite Permission = "blacklist:write" // add to and remove from the blacklist
	UsersRead      Permission = "users:read"      // list users
	UsersWrite     Permission = "users:write"     // create, edit and deactivate users, revoke anyone's tokens
	TokensManage   Permission = "tokens:manage"   // create and revoke one's own API tokens
	ReportsRead    Permission = "reports:read"    // costs, balances and delivery statistics
	WebhooksManage Permission = "webhooks:manage" // configure Recado's outgoing webhooks
)

// Permissions lists every permission.
func Permissions() []Permission {
	return []Permission{
		MessagesRead, MessagesWrite, MessagesDelete,
		ContactsRead, ContactsWrite, ContactsDelete,
		ProvidersRead, ProvidersWrite,
		TemplatesRead, TemplatesWrite,
		CampaignsRead, CampaignsWrite,
		BlacklistRead, BlacklistWrite,
		UsersRead, UsersWrite,
		TokensManage,
		ReportsRead,
		WebhooksManage,
	}
}

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool { return slices.Contains(Permissions(), p) }
