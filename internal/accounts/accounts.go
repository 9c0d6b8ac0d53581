// Package accounts manages users and their API tokens: the first
// administrator, passwords, roles, tokens shown once and stored hashed, and
// turning a request's token into a Principal.
package accounts

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/recado-sms/recado/internal/auth"
	"github.com/recado-sms/recado/internal/sms"
	"github.com/recado-sms/recado/internal/store"
)

// Service is the one way to change users and tokens.
type Service struct {
	db     *store.DB
	rand   io.Reader
	params auth.Params
}

// New returns a Service. rand is the source for passwords and tokens
// (crypto/rand when nil); params the password hashing cost.
func New(db *store.DB, rand io.Reader, params auth.Params) *Service {
	return &Service{db: db, rand: rand, params: params}
}

// Bootstrap is what Bootstrap created: the admin's password and token, to be
// printed once.
type Bootstrap struct {
	Created  bool
	Username string
	Password string // empty when it came from the environment
	Token    string // empty when it came from the environment
}

// Bootstrap creates the manager "admin" on a database with no users. The
// password is password when given, else generated; the token is token when
// given (for automation), else generated.
func (s *Service) Bootstrap(ctx context.Context, password, token string) (Bootstrap, error) {
	n, err := s.db.CountUsers(ctx)
	if err != nil || n > 0 {
		return Bootstrap{}, err
	}
	out := Bootstrap{Created: true, Username: "admin"}
	if password == "" {
		password = auth.GeneratePassword(s.rand)
		out.Password = password
	}
	u, err := s.CreateUser(ctx, "admin", "Administrator", auth.RoleManager, password)
	if err != nil {
		return Bootstrap{}, err
	}
	if token == "" {
		token, _, err = s.CreateToken(ctx, u.ID, "bootstrap")
		out.Token = token
	} else {
		err = s.importToken(ctx, u.ID, "bootstrap", token)
	}
	if err != nil {
		return Bootstrap{}, err
	}
	return out, nil
}

var validUsername = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{1,63}$`)

// CreateUser adds an active user with a password.
func (s *Service) CreateUser(ctx context.Context, username, name string, role auth.Role, password string) (store.User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var bad []sms.FieldError
	if !validUsername.MatchString(username) {
		bad = append(bad, sms.FieldError{Field: "username", Message: "2 to 64 lowercase letters, digits, '.', '_', '@' or '-'", Value: username})
	}
	if !role.Valid() {
		bad = append(bad, sms.FieldError{Field: "role", Message: "must be user or manager", Value: string(role)})
	}
	if err := auth.CheckPasswordPolicy(password); err != nil {
		bad = append(bad, sms.FieldError{Field: "password", Message: message(err)})
	}
	if len(name) > 200 {
		bad = append(bad, sms.FieldError{Field: "name", Message: "at most 200 characters"})
	}
	if len(bad) > 0 {
		return store.User{}, sms.Invalid("invalid user", bad...)
	}
	hash, err := s.params.Hash(password, s.rand)
	if err != nil {
		return store.User{}, err
	}
	return s.db.CreateUser(ctx, store.User{Username: username, Name: name, Role: string(role), Active: true, PasswordHash: hash})
}

// UserPatch changes a user; nil fields stay.
type UserPatch struct {
	Name     *string
	Role     *auth.Role
	Active   *bool
	Password *string
}

// UpdateUser applies p to user id.
func (s *Service) UpdateUser(ctx context.Context, id int64, p UserPatch) (store.User, error) {
	u, err := s.db.GetUser(ctx, id)
	if err != nil {
		return u, err
	}
	if p.Name != nil {
		u.Name = *p.Name
	}
	if p.Role != nil {
		if !p.Role.Valid() {
			return u, sms.Invalid("invalid role", sms.FieldError{Field: "role", Message: "must be user or manager", Value: string(*p.Role)})
		}
		u.Role = string(*p.Role)
	}
	if p.Active != nil {
		u.Active = *p.Active
	}
	if p.Password != nil {
		if err := auth.CheckPasswordPolicy(*p.Password); err != nil {
			return u, sms.Invalid("invalid password", sms.FieldError{Field: "password", Message: message(err)})
		}
		if u.PasswordHash, err = s.params.Hash(*p.Password, s.rand); err != nil {
			return u, err
		}
	}
	return s.db.UpdateUser(ctx, u)
}

// CreateToken makes an API token for a user and returns its plain text, to
// be shown once, with the stored record.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string) (string, store.Token, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", store.Token{}, sms.Invalid("invalid token name", sms.FieldError{Field: "name", Message: "1 to 100 characters"})
	}
	plain, hash := auth.NewToken(s.rand)
	t, err := s.db.CreateToken(ctx, store.Token{UserID: userID, Name: name, Hash: hash, Prefix: auth.TokenPrefix(plain)})
	return plain, t, err
}

func (s *Service) importToken(ctx context.Context, userID int64, name, plain string) error {
	if len(plain) < 20 || strings.ContainsAny(plain, " \t\r\n") {
		return sms.Errorf(sms.KindInvalid, "RECADO_BOOTSTRAP_TOKEN must be at least 20 characters without spaces")
	}
	_, err := s.db.CreateToken(ctx, store.Token{UserID: userID, Name: name, Hash: auth.HashToken(plain), Prefix: plain[:min(8, len(plain))]})
	return err
}

// PrincipalForToken authenticates an API token.
func (s *Service) PrincipalForToken(ctx context.Context, plain string) (auth.Principal, error) {
	if len(plain) < 20 || len(plain) > 200 {
		return auth.Principal{}, &sms.Error{Kind: sms.KindUnauthorized, Message: "invalid or revoked token"}
	}
	u, t, err := s.db.TokenUser(ctx, auth.HashToken(plain))
	if err != nil {
		return auth.Principal{}, err
	}
	if t.LastUsedAt == nil || s.db.Now().Sub(*t.LastUsedAt) > 60e9 {
		_ = s.db.TouchToken(ctx, t.ID) // bookkeeping only; a failure must not refuse the request
	}
	au := AuthUser(u)
	return auth.AuthenticateToken(&au, t.ID)
}

// AuthUser converts a stored user to the auth package's view of it.
func AuthUser(u store.User) auth.User {
	return auth.User{ID: u.ID, Username: u.Username, Name: u.Name, Role: auth.Role(u.Role), Active: u.Active, CreatedAt: u.CreatedAt}
}

// CheckPassword authenticates a username and password.
func (s *Service) CheckPassword(ctx context.Context, username, password string) (auth.Principal, error) {
	u, err := s.db.UserByUsername(ctx, strings.ToLower(strings.TrimSpace(username)))
	if err != nil && sms.KindOf(err) != sms.KindNotFound {
		return auth.Principal{}, err
	}
	if err != nil {
		return s.params.Authenticate(nil, "", password)
	}
	au := AuthUser(u)
	return s.params.Authenticate(&au, u.PasswordHash, password)
}

func message(err error) string {
	var e *sms.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
