package auth

import (
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// User is a person who signs in to Recado, or on whose behalf an API token
// acts. A user who is not Active can do nothing, whatever the role.
type User struct {
	ID        int64     `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// Can reports whether u is active and u's role grants p.
func (u User) Can(p Permission) bool { return u.Active && u.Role.Can(p) }

// Principal is who makes a request: a signed-in user, or a user's API token.
type Principal struct {
	User
	TokenID *int64 // the API token used, or nil for a browser session
}

// Can reports whether the principal may act with permission p.
func (p Principal) Can(perm Permission) bool { return p.User.Can(perm) }

// Require returns nil when the principal may act with permission perm, else
// an error of kind KindForbidden (KindUnauthorized for a deactivated user).
func (p Principal) Require(perm Permission) error {
	switch {
	case !p.Active:
		return sms.Errorf(sms.KindUnauthorized, "user %s is deactivated", p.Username)
	case !p.Can(perm):
		return sms.Errorf(sms.KindForbidden, "the %s role does not allow %s", p.Role, perm)
	}
	return nil
}

// ViaToken reports whether the principal came with an API token.
func (p Principal) ViaToken() bool { return p.TokenID != nil }

// badCredentials is the one answer to a failed sign-in, whatever failed, so
// that it tells no one which usernames exist.
func badCredentials() error {
	return sms.Errorf(sms.KindUnauthorized, "invalid username or password")
}

// Authenticate checks a sign-in: u is the user found by username (nil when
// there is none) and hash its stored password hash. It returns the principal
// when the password matches and the user is active, and otherwise an error of
// kind KindUnauthorized that reads the same for an unknown user and a wrong
// password. An unknown user costs as much time as a known one, hashing with
// p's parameters, so that timing does not tell them apart either. A stored
// hash that cannot be read gives an error of kind KindInternal.
func (p Params) Authenticate(u *User, hash, pw string) (Principal, error) {
	if u == nil {
		p.burn(pw)
		return Principal{}, badCredentials()
	}
	ok, err := CheckPassword(hash, pw)
	switch {
	case err != nil:
		return Principal{}, err
	case !ok:
		return Principal{}, badCredentials()
	case !u.Active:
		return Principal{}, sms.Errorf(sms.KindUnauthorized, "user %s is deactivated", u.Username)
	}
	return Principal{User: *u}, nil
}

// Authenticate is Params.Authenticate with DefaultParams.
func Authenticate(u *User, hash, pw string) (Principal, error) {
	return DefaultParams().Authenticate(u, hash, pw)
}

// AuthenticateToken returns the principal for API token tokenID of user u,
// found by the token's hash. A missing or deactivated user gives an error of
// kind KindUnauthorized.
func AuthenticateToken(u *User, tokenID int64) (Principal, error) {
	if u == nil || !u.Active {
		return Principal{}, sms.Errorf(sms.KindUnauthorized, "invalid or revoked API token")
	}
	return Principal{User: *u, TokenID: &tokenID}, nil
}
