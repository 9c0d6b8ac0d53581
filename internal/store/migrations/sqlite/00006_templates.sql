-- +goose Up
-- Named message bodies with placeholders ({{nome}}, {{vencimento|amanhã}}),
-- for the composer and campaigns.
CREATE TABLE templates (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('marketing', 'transactional')),
    description TEXT NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE templates;
