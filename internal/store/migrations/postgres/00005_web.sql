-- +goose Up
-- Web UI sessions (alexedwards/scs): the token is the cookie's value, data
-- the session's encoded values, expiry when it stops being valid.
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BYTEA NOT NULL,
    expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- Failed sign-ins per key ("user:<name>" or "addr:<ip>"), counted in a window,
-- so that guessing passwords is throttled across every instance.
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

-- The language a user chose for the web UI ("pt-BR", "en"); empty: the
-- browser's.
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT '';

-- The inbox badge counts unread replies without walking the read ones.
CREATE INDEX messages_unread ON messages (contact_id) WHERE direction = 'inbound' AND read_at IS NULL;

-- +goose Down
DROP INDEX messages_unread;
ALTER TABLE users DROP COLUMN locale;
DROP TABLE login_failures;
DROP TABLE sessions;
