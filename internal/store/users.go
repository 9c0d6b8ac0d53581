package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// User is a stored user. Role is "user" or "manager"; the auth package gives
// it meaning.
type User struct {
	ID           int64     `json:"id"`
	Username     string    `json:"username"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Active       bool      `json:"active"`
	Locale       string    `json:"locale,omitempty"` // the web UI's language, "pt-BR" or "en"; empty: the browser's
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

const userColumns = `id, username, name, role, password_hash, active, locale, created_at, updated_at`

func scanUser(s scanner) (User, error) {
	var u User
	err := s.Scan(&u.ID, &u.Username, &u.Name, &u.Role, &u.PasswordHash, &u.Active, &u.Locale, &u.CreatedAt, &u.UpdatedAt)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// CountUsers counts every user, active or not.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, wrapDBErr("count users", err)
	}
	return n, nil
}

// CreateUser stores a new user; the username must be unused.
func (db *DB) CreateUser(ctx context.Context, u User) (User, error) {
	now := db.now()
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`
INSERT INTO users (username, name, role, password_hash, active, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`), u.Username, u.Name, u.Role, u.PasswordHash, u.Active, now).Scan(&u.ID)
	if err != nil {
		if isUniqueViolation(err) {
			return u, sms.Invalid("username taken", sms.FieldError{Field: "username", Message: "already in use", Value: u.Username})
		}
		return u, wrapDBErr("create user", err)
	}
	u.CreatedAt, u.UpdatedAt = now, now
	return u, nil
}

// GetUser returns a user by id.
func (db *DB) GetUser(ctx context.Context, id int64) (User, error) {
	return db.userBy(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id, fmt.Sprintf("user %d", id))
}

// UserByUsername returns a user by username.
func (db *DB) UserByUsername(ctx context.Context, username string) (User, error) {
	return db.userBy(ctx, `SELECT `+userColumns+` FROM users WHERE username = $1`, username, "user "+username)
}

func (db *DB) userBy(ctx context.Context, q string, arg any, what string) (User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, db.dialect.rebind(q), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, sms.Errorf(sms.KindNotFound, "%s not found", what)
	}
	if err != nil {
		return u, wrapDBErr("get user", err)
	}
	return u, nil
}

// ListUsers returns every user, oldest first.
func (db *DB) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, wrapDBErr("list users", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, wrapDBErr("list users", rows.Err())
}

// UpdateUser writes a user's name, role, password hash and active flag.
func (db *DB) UpdateUser(ctx context.Context, u User) (User, error) {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE users SET name = $2, role = $3, password_hash = $4, active = $5, updated_at = $6 WHERE id = $1`),
		u.ID, u.Name, u.Role, u.PasswordHash, u.Active, db.now())
	if err != nil {
		return u, wrapDBErr("update user", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return u, sms.Errorf(sms.KindNotFound, "user %d not found", u.ID)
	}
	return db.GetUser(ctx, u.ID)
}

// SetUserLocale records the web UI language a user chose ("" for the
// browser's).
func (db *DB) SetUserLocale(ctx context.Context, id int64, locale string) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE users SET locale = $2, updated_at = $3 WHERE id = $1`),
		id, locale, db.now())
	if err != nil {
		return wrapDBErr("set user locale", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "user %d not found", id)
	}
	return nil
}

// Token is a stored API token: never the token itself, only its hash.
type Token struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

const tokenColumns = `id, user_id, name, prefix, hash, created_at, last_used_at, revoked_at`

func scanToken(s scanner) (Token, error) {
	var t Token
	var last, revoked sql.NullTime
	err := s.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, &t.CreatedAt, &last, &revoked)
	t.CreatedAt = t.CreatedAt.UTC()
	t.LastUsedAt, t.RevokedAt = nullTime(last), nullTime(revoked)
	return t, err
}

// CreateToken stores a token's hash for a user.
func (db *DB) CreateToken(ctx context.Context, t Token) (Token, error) {
	t.CreatedAt = db.now()
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`
INSERT INTO api_tokens (user_id, name, hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`),
		t.UserID, t.Name, t.Hash, t.Prefix, t.CreatedAt).Scan(&t.ID)
	if err != nil {
		if isForeignKeyViolation(err) {
			return t, sms.Errorf(sms.KindNotFound, "user %d not found", t.UserID)
		}
		return t, wrapDBErr("create token", err)
	}
	return t, nil
}

// TokenUser returns the active user and the token for a token hash. A
// revoked token, an unknown one, or one of a deactivated user is
// KindUnauthorized.
func (db *DB) TokenUser(ctx context.Context, hash string) (User, Token, error) {
	row := db.read.QueryRowContext(ctx, db.dialect.rebind(`
SELECT u.id, u.username, u.name, u.role, u.password_hash, u.active, u.locale, u.created_at, u.updated_at,
       t.id, t.user_id, t.name, t.prefix, t.hash, t.created_at, t.last_used_at, t.revoked_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.active`), hash)
	var u User
	var t Token
	var last, revoked sql.NullTime
	err := row.Scan(&u.ID, &u.Username, &u.Name, &u.Role, &u.PasswordHash, &u.Active, &u.Locale, &u.CreatedAt, &u.UpdatedAt,
		&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, &t.CreatedAt, &last, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return u, t, &sms.Error{Kind: sms.KindUnauthorized, Message: "invalid or revoked token"}
	}
	if err != nil {
		return u, t, wrapDBErr("token user", err)
	}
	t.LastUsedAt = nullTime(last)
	return u, t, nil
}

// TouchToken records that a token was used, at most once a minute, so that
// every request does not write.
func (db *DB) TouchToken(ctx context.Context, id int64) error {
	now := db.now()
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)`),
		id, now, now.Add(-time.Minute))
	return wrapDBErr("touch token", err)
}

// ListTokens returns a user's tokens (all users' when userID is 0).
func (db *DB) ListTokens(ctx context.Context, userID int64) ([]Token, error) {
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+tokenColumns+` FROM api_tokens
WHERE ($1 = 0 OR user_id = $1) ORDER BY id`), userID)
	if err != nil {
		return nil, wrapDBErr("list tokens", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, wrapDBErr("list tokens", rows.Err())
}

// RevokeToken revokes a token; revoking twice is not an error.
func (db *DB) RevokeToken(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`), id, db.now())
	if err != nil {
		return wrapDBErr("revoke token", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "token %d not found", id)
	}
	return nil
}
