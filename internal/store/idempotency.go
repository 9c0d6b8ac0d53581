package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// IdempotentResponse is the first answer given to a request with an
// Idempotency-Key.
type IdempotentResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// BeginIdempotent reserves (user, key) for a request whose body hashes to
// requestHash. It returns:
//   - (nil, nil) when the key is new: the caller runs the request and calls
//     FinishIdempotent (or AbortIdempotent on failure);
//   - (resp, nil) when the key already has an answer for the same body;
//   - KindInvalid when the key was used with another body;
//   - KindConflict when a request with the key is still running.
//
// A reservation older than staleAfter is taken over: its request died.
func (db *DB) BeginIdempotent(ctx context.Context, userID int64, key, requestHash string, staleAfter time.Duration) (*IdempotentResponse, error) {
	var resp *IdempotentResponse
	err := db.InTx(ctx, func(tx *Tx) error {
		var hash, ctype string
		var status int
		var body []byte
		var created time.Time
		err := tx.QueryRowContext(ctx, db.dialect.rebind(`
SELECT request_hash, status, content_type, response, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2`+db.q.forUpdate),
			userID, key).Scan(&hash, &status, &ctype, &body, &created)
		now := db.now()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4)`), userID, key, requestHash, now)
			if err != nil && isUniqueViolation(err) {
				return &sms.Error{Kind: sms.KindConflict, Message: "a request with this Idempotency-Key is in progress"}
			}
			return wrapDBErr("idempotency", err)
		case err != nil:
			return wrapDBErr("idempotency", err)
		case hash != requestHash:
			return sms.Invalid("Idempotency-Key was already used with a different request body",
				sms.FieldError{Field: "Idempotency-Key", Message: "reused with another body", Value: key})
		case status != 0:
			resp = &IdempotentResponse{Status: status, ContentType: ctype, Body: body}
			return nil
		case now.Sub(created.UTC()) < staleAfter:
			return &sms.Error{Kind: sms.KindConflict, Message: "a request with this Idempotency-Key is in progress", RetryAfter: time.Second}
		default:
			_, err = tx.ExecContext(ctx, db.dialect.rebind(`UPDATE idempotency_keys SET created_at = $3 WHERE user_id = $1 AND key = $2`), userID, key, now)
			return wrapDBErr("idempotency", err)
		}
	})
	return resp, err
}

// FinishIdempotent stores the answer for a reserved key.
func (db *DB) FinishIdempotent(ctx context.Context, userID int64, key string, r IdempotentResponse) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE idempotency_keys SET status = $3, content_type = $4, response = $5 WHERE user_id = $1 AND key = $2`),
		userID, key, r.Status, r.ContentType, r.Body)
	return wrapDBErr("idempotency", err)
}

// AbortIdempotent frees a reserved key whose request failed in a way worth
// repeating (a 5xx): the same key may then be tried again.
func (db *DB) AbortIdempotent(ctx context.Context, userID int64, key string) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 0`), userID, key)
	return wrapDBErr("idempotency", err)
}
