package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/recado-sms/recado/internal/sms"
)

// ProviderRecord is a configured provider as stored. Settings holds the
// settings that are not secret, as JSON; Secrets holds the secret ones as
// JSON sealed by the secrets package. The store never sees them in clear.
type ProviderRecord struct {
	ID             int64
	Name           string
	Type           string
	Active         bool
	Default        bool
	Settings       string
	Secrets        string
	CostPerSegment sms.Money
	Balance        *sms.Money
	BalanceAt      *time.Time
	MessageCount   int64 // filled by ListProviders and GetProvider
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const providerColumns = `id, name, type, active, is_default, settings, secrets, cost_per_segment, balance,
	balance_at, created_at, updated_at`

func scanProvider(s scanner) (ProviderRecord, error) {
	var p ProviderRecord
	var cost int64
	var bal sql.NullInt64
	var balAt sql.NullTime
	err := s.Scan(&p.ID, &p.Name, &p.Type, &p.Active, &p.Default, &p.Settings, &p.Secrets, &cost, &bal, &balAt,
		&p.CreatedAt, &p.UpdatedAt)
	p.CostPerSegment = sms.Money(cost)
	if bal.Valid {
		b := sms.Money(bal.Int64)
		p.Balance = &b
	}
	p.BalanceAt = nullTime(balAt)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// CreateProvider stores a provider. The first provider stored becomes the
// default, whatever p.Default says; a new default unsets the old one.
func (db *DB) CreateProvider(ctx context.Context, p ProviderRecord) (ProviderRecord, error) {
	err := db.InTx(ctx, func(tx *Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM providers`).Scan(&n); err != nil {
			return wrapDBErr("create provider", err)
		}
		if n == 0 {
			p.Default = true
		}
		if p.Default {
			if _, err := tx.ExecContext(ctx, `UPDATE providers SET is_default = FALSE WHERE is_default`); err != nil {
				return wrapDBErr("create provider", err)
			}
		}
		now := db.now()
		err := tx.QueryRowContext(ctx, db.dialect.rebind(`
INSERT INTO providers (name, type, active, is_default, settings, secrets, cost_per_segment, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`),
			p.Name, p.Type, p.Active, p.Default, p.Settings, p.Secrets, int64(p.CostPerSegment), now).Scan(&p.ID)
		if err != nil {
			if isUniqueViolation(err) {
				return sms.Invalid("provider name taken", sms.FieldError{Field: "name", Message: "already in use", Value: p.Name})
			}
			return wrapDBErr("create provider", err)
		}
		p.CreatedAt, p.UpdatedAt = now, now
		return nil
	})
	return p, err
}

// UpdateProvider writes a provider's settings, flags and price. Making it the
// default unsets the previous default.
func (db *DB) UpdateProvider(ctx context.Context, p ProviderRecord) (ProviderRecord, error) {
	err := db.InTx(ctx, func(tx *Tx) error {
		if p.Default {
			if _, err := tx.ExecContext(ctx, db.dialect.rebind(`UPDATE providers SET is_default = FALSE WHERE is_default AND id <> $1`), p.ID); err != nil {
				return wrapDBErr("update provider", err)
			}
		}
		res, err := tx.ExecContext(ctx, db.dialect.rebind(`
UPDATE providers SET active = $2, is_default = $3, settings = $4, secrets = $5, cost_per_segment = $6, updated_at = $7
WHERE id = $1`), p.ID, p.Active, p.Default, p.Settings, p.Secrets, int64(p.CostPerSegment), db.now())
		if err != nil {
			return wrapDBErr("update provider", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sms.Errorf(sms.KindNotFound, "provider %d not found", p.ID)
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	return db.GetProvider(ctx, p.Name)
}

// SetProviderBalance records a provider's balance as of at.
func (db *DB) SetProviderBalance(ctx context.Context, name string, bal sms.Money, at time.Time) error {
	_, err := db.write.ExecContext(ctx, db.dialect.rebind(`UPDATE providers SET balance = $2, balance_at = $3 WHERE name = $1`),
		name, int64(bal), at.UTC())
	return wrapDBErr("set balance", err)
}

// DeleteProvider removes a provider. Its messages keep its name.
func (db *DB) DeleteProvider(ctx context.Context, name string) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM providers WHERE name = $1`), name)
	if err != nil {
		return wrapDBErr("delete provider", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "provider %q not found", name)
	}
	return nil
}

// GetProvider returns a provider by name, with its message count.
func (db *DB) GetProvider(ctx context.Context, name string) (ProviderRecord, error) {
	p, err := db.ProviderRecord(ctx, name)
	if err != nil {
		return p, err
	}
	err = db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT count(*) FROM messages WHERE provider = $1`), name).Scan(&p.MessageCount)
	return p, wrapDBErr("get provider", err)
}

// ProviderRecord returns a provider by name without counting its messages,
// for the send path.
func (db *DB) ProviderRecord(ctx context.Context, name string) (ProviderRecord, error) {
	p, err := scanProvider(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+providerColumns+` FROM providers WHERE name = $1`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, sms.Errorf(sms.KindNotFound, "provider %q not found", name)
	}
	return p, wrapDBErr("get provider", err)
}

// DefaultProviderRecord returns the default provider without counting its
// messages.
func (db *DB) DefaultProviderRecord(ctx context.Context) (ProviderRecord, error) {
	p, err := scanProvider(db.read.QueryRowContext(ctx, `SELECT `+providerColumns+` FROM providers WHERE is_default`))
	if errors.Is(err, sql.ErrNoRows) {
		return p, sms.Errorf(sms.KindConflict, "no default provider is configured")
	}
	return p, wrapDBErr("default provider", err)
}

// ListProviders returns every provider by name, with message counts.
func (db *DB) ListProviders(ctx context.Context) ([]ProviderRecord, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+providerColumns+` FROM providers ORDER BY name`)
	if err != nil {
		return nil, wrapDBErr("list providers", err)
	}
	var out []ProviderRecord
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: list providers: %w", err)
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapDBErr("list providers", err)
	}
	counts, err := db.read.QueryContext(ctx, `SELECT provider, count(*) FROM messages GROUP BY provider`)
	if err != nil {
		return nil, wrapDBErr("list providers", err)
	}
	defer counts.Close()
	byName := map[string]int64{}
	for counts.Next() {
		var name string
		var n int64
		if err := counts.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("store: list providers: %w", err)
		}
		byName[name] = n
	}
	for i := range out {
		out[i].MessageCount = byName[out[i].Name]
	}
	return out, wrapDBErr("list providers", counts.Err())
}
