package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/recado-sms/recado/internal/sms"
)

// TwoFactor is a user's two-factor sign-in state. Secret is sealed; the
// store never sees it in the clear.
type TwoFactor struct {
	Secret   string   // sealed TOTP secret; empty when never enrolled
	Enabled  bool     // enrolment confirmed with a code
	LastStep int64    // the TOTP time step of the last code accepted
	Recovery []string // SHA-256 hashes (hex) of the unused recovery codes
}

// UserTwoFactor returns user id's two-factor state.
func (db *DB) UserTwoFactor(ctx context.Context, id int64) (TwoFactor, error) {
	var tf TwoFactor
	var recovery string
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(
		`SELECT totp_secret, totp_enabled, totp_last_step, recovery_codes FROM users WHERE id = $1`), id).
		Scan(&tf.Secret, &tf.Enabled, &tf.LastStep, &recovery)
	if errors.Is(err, sql.ErrNoRows) {
		return tf, sms.Errorf(sms.KindNotFound, "user %d not found", id)
	}
	if err != nil {
		return tf, wrapDBErr("user two-factor", err)
	}
	if err := json.Unmarshal([]byte(recovery), &tf.Recovery); err != nil {
		return tf, fmt.Errorf("store: user %d recovery codes: %w", id, err)
	}
	return tf, nil
}

// SetUserTwoFactor writes a user's two-factor state whole: enrolment
// started (a secret, not enabled), confirmed (enabled, recovery codes), or
// removed (all empty).
func (db *DB) SetUserTwoFactor(ctx context.Context, id int64, tf TwoFactor) error {
	if tf.Recovery == nil {
		tf.Recovery = []string{}
	}
	recovery, _ := json.Marshal(tf.Recovery)
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE users SET totp_secret = $2, totp_enabled = $3, totp_last_step = $4, recovery_codes = $5, updated_at = $6
WHERE id = $1`), id, tf.Secret, tf.Enabled, tf.LastStep, string(recovery), db.now())
	if err != nil {
		return wrapDBErr("set user two-factor", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "user %d not found", id)
	}
	return nil
}

// UseTOTPStep records that a code of time step was accepted for user id,
// and reports false when a code of that step or a later one was accepted
// before: a code is good once, even on two instances at the same moment.
func (db *DB) UseTOTPStep(ctx context.Context, id, step int64) (bool, error) {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(
		`UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`), id, step)
	if err != nil {
		return false, wrapDBErr("use totp step", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UseRecoveryCode removes the recovery code with hash from user id's, and
// reports false when it is not among them (unknown, or used before).
func (db *DB) UseRecoveryCode(ctx context.Context, id int64, hash string) (bool, error) {
	used := false
	err := db.InTx(ctx, func(tx *Tx) error {
		var recovery string
		err := tx.QueryRowContext(ctx, db.dialect.rebind(`SELECT recovery_codes FROM users WHERE id = $1`+db.q.forUpdate), id).Scan(&recovery)
		if err != nil {
			return wrapDBErr("recovery codes", err)
		}
		var codes []string
		if err := json.Unmarshal([]byte(recovery), &codes); err != nil {
			return fmt.Errorf("store: user %d recovery codes: %w", id, err)
		}
		left := codes[:0]
		for _, c := range codes {
			if c == hash && !used {
				used = true
				continue
			}
			left = append(left, c)
		}
		if !used {
			return nil
		}
		raw, _ := json.Marshal(left)
		_, err = tx.ExecContext(ctx, db.dialect.rebind(`UPDATE users SET recovery_codes = $2 WHERE id = $1`), id, string(raw))
		return wrapDBErr("use recovery code", err)
	})
	return used, err
}

// Setting returns an application setting's value, or def when it was never
// set.
func (db *DB) Setting(ctx context.Context, key, def string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT value FROM app_settings WHERE key = $1`), key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return def, nil
	}
	if err != nil {
		return def, wrapDBErr("setting", err)
	}
	return v, nil
}

// SetSetting stores an application setting.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`
INSERT INTO app_settings (key, value, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), key, value, db.now())
	return wrapDBErr("set setting", err)
}
