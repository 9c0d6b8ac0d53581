-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('user', 'manager')),
    password_hash TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   DATETIME NOT NULL,
    last_used_at DATETIME,
    revoked_at   DATETIME
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE providers (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    type             TEXT NOT NULL,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    is_default       BOOLEAN NOT NULL DEFAULT FALSE,
    settings         TEXT NOT NULL DEFAULT '{}',
    secrets          TEXT NOT NULL DEFAULT '',
    cost_per_segment INTEGER NOT NULL DEFAULT 0,
    balance          INTEGER,
    balance_at       DATETIME,
    created_at       DATETIME NOT NULL,
    updated_at       DATETIME NOT NULL
);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    phone        TEXT NOT NULL UNIQUE,
    line_type    TEXT NOT NULL DEFAULT '',
    owner_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    fields       TEXT NOT NULL DEFAULT '{}',
    tags         TEXT NOT NULL DEFAULT '[]',
    opted_out    BOOLEAN NOT NULL DEFAULT FALSE,
    deceased     BOOLEAN NOT NULL DEFAULT FALSE,
    sms_total    INTEGER NOT NULL DEFAULT 0,
    sms_sent     INTEGER NOT NULL DEFAULT 0,
    sms_received INTEGER NOT NULL DEFAULT 0,
    last_sms_at  DATETIME,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);
CREATE INDEX contacts_name ON contacts (name COLLATE NOCASE);

-- A send batch is the unit of work of one queue job: up to the provider's
-- batch limit of messages. Its lease keeps two workers from sending it at once
-- (a rescued job whose first run is still alive).
CREATE TABLE send_batches (
    id          INTEGER PRIMARY KEY,
    provider    TEXT NOT NULL,
    reference   TEXT NOT NULL UNIQUE,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_until DATETIME,
    created_at  DATETIME NOT NULL
);

CREATE TABLE messages (
    id                  INTEGER PRIMARY KEY,
    contact_id          INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    phone               TEXT NOT NULL,
    body                TEXT NOT NULL,
    direction           TEXT NOT NULL,
    kind                TEXT NOT NULL,
    state               TEXT NOT NULL,
    provider            TEXT NOT NULL,
    provider_message_id TEXT,
    provider_job_id     TEXT,
    reference           TEXT NOT NULL UNIQUE,
    segments            INTEGER NOT NULL DEFAULT 0,
    encoding            TEXT NOT NULL DEFAULT 'gsm7',
    cost                INTEGER NOT NULL DEFAULT 0,
    error_code          TEXT NOT NULL DEFAULT '',
    error_text          TEXT NOT NULL DEFAULT '',
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     DATETIME,
    batch_id            INTEGER REFERENCES send_batches (id),
    campaign_id         INTEGER,
    template_id         INTEGER,
    reply_to            INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    created_by          INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at          DATETIME NOT NULL,
    updated_at          DATETIME NOT NULL,
    sent_at             DATETIME,
    delivered_at        DATETIME
);
CREATE INDEX messages_batch ON messages (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX messages_provider_id ON messages (provider, provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_contact ON messages (contact_id, id) WHERE contact_id IS NOT NULL;
CREATE INDEX messages_state ON messages (state, id);

-- One row per change of state. The key orders a message's events in time
-- and makes recording the same event twice a no-op; on SQLite the table is
-- the key's b-tree itself (WITHOUT ROWID), one write per event.
CREATE TABLE message_events (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    at         DATETIME NOT NULL,
    state      TEXT NOT NULL,
    source     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, at, state)
) WITHOUT ROWID;

-- Answers to POST requests that carried an Idempotency-Key, kept so that a
-- repeat gets the first answer. status 0 marks a request still running.
CREATE TABLE idempotency_keys (
    user_id      INTEGER NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL DEFAULT '',
    response     BLOB,
    created_at   DATETIME NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE message_events;
DROP TABLE messages;
DROP TABLE send_batches;
DROP TABLE contacts;
DROP TABLE providers;
DROP TABLE api_tokens;
DROP TABLE users;
