package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/recado-sms/recado/internal/sms"
)

const templateColumns = `id, name, body, kind, description, created_by, created_at, updated_at`

func scanTemplate(s scanner) (sms.Template, error) {
	var t sms.Template
	var by sql.NullInt64
	err := s.Scan(&t.ID, &t.Name, &t.Body, &t.Kind, &t.Description, &by, &t.CreatedAt, &t.UpdatedAt)
	t.CreatedBy = nullInt(by)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

func templateErr(op string, t sms.Template, err error) error {
	if isUniqueViolation(err) {
		return sms.Invalid("template name taken", sms.FieldError{Field: "name", Message: "already in use", Value: t.Name})
	}
	return wrapDBErr(op, err)
}

// CreateTemplate stores a new template; its name must be unused. The caller
// has validated it (package templates).
func (db *DB) CreateTemplate(ctx context.Context, t sms.Template) (sms.Template, error) {
	now := db.now()
	err := db.write.QueryRowContext(ctx, db.dialect.rebind(`
INSERT INTO templates (name, body, kind, description, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`), t.Name, t.Body, string(t.Kind), t.Description, t.CreatedBy, now).Scan(&t.ID)
	if err != nil {
		return t, templateErr("create template", t, err)
	}
	t.CreatedAt, t.UpdatedAt = now, now
	return t, nil
}

// GetTemplate returns one template.
func (db *DB) GetTemplate(ctx context.Context, id int64) (sms.Template, error) {
	t, err := scanTemplate(db.read.QueryRowContext(ctx, db.dialect.rebind(`SELECT `+templateColumns+` FROM templates WHERE id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, sms.Errorf(sms.KindNotFound, "template %d not found", id)
	}
	if err != nil {
		return t, wrapDBErr("get template", err)
	}
	return t, nil
}

// TemplateFilter selects templates: Query is part of the name (any case),
// Kind one kind; results are ordered by name.
type TemplateFilter struct {
	Query string
	Kind  sms.MessageKind
	Limit int
}

// ListTemplates returns the templates matching f, ordered by name.
func (db *DB) ListTemplates(ctx context.Context, f TemplateFilter) ([]sms.Template, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, db.dialect.rebind(`SELECT `+templateColumns+` FROM templates
WHERE lower(name) LIKE $1 ESCAPE '\' AND ($2 = '' OR kind = $2) ORDER BY lower(name), id LIMIT $3`),
		"%"+escapeLike(strings.ToLower(strings.TrimSpace(f.Query)))+"%", string(f.Kind), min(limit, 1000))
	if err != nil {
		return nil, wrapDBErr("list templates", err)
	}
	defer rows.Close()
	out := []sms.Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list templates: %w", err)
		}
		out = append(out, t)
	}
	return out, wrapDBErr("list templates", rows.Err())
}

// UpdateTemplate writes a template's name, body, kind and description.
func (db *DB) UpdateTemplate(ctx context.Context, t sms.Template) (sms.Template, error) {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`
UPDATE templates SET name = $2, body = $3, kind = $4, description = $5, updated_at = $6 WHERE id = $1`),
		t.ID, t.Name, t.Body, string(t.Kind), t.Description, db.now())
	if err != nil {
		return t, templateErr("update template", t, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return t, sms.Errorf(sms.KindNotFound, "template %d not found", t.ID)
	}
	return db.GetTemplate(ctx, t.ID)
}

// DeleteTemplate removes a template. Messages made from it keep its id.
func (db *DB) DeleteTemplate(ctx context.Context, id int64) error {
	res, err := db.write.ExecContext(ctx, db.dialect.rebind(`DELETE FROM templates WHERE id = $1`), id)
	if err != nil {
		return wrapDBErr("delete template", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return sms.Errorf(sms.KindNotFound, "template %d not found", id)
	}
	return nil
}
