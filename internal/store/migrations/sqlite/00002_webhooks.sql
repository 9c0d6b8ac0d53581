-- +goose Up
-- Endpoints of other systems that want Recado's events. events is a JSON
-- array of event types ("message.delivered"); secret is sealed (secrets.Box):
-- the key of the HMAC that signs every delivery.
CREATE TABLE webhook_endpoints (
    id          INTEGER PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL DEFAULT '[]',
    secret      TEXT NOT NULL,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

-- One row per event per subscribed endpoint, written in the transaction that
-- changed the message, and the log of its delivery. A pending delivery is
-- due at next_attempt_at; a worker that takes it pushes next_attempt_at past
-- its attempt (a lease), so a dead worker's delivery comes due again.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      INTEGER NOT NULL,
    event           TEXT NOT NULL,
    at              DATETIME NOT NULL,
    detail          TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at DATETIME,
    created_at      DATETIME NOT NULL,
    resent_at       DATETIME,
    delivered_at    DATETIME
);
-- The deliverer's question: which pending deliveries are due.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
-- An endpoint's delivery log, newest first.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
-- Order per message: is an older delivery of the same message still pending?
CREATE INDEX webhook_deliveries_message ON webhook_deliveries (message_id, endpoint_id, id) WHERE status = 'pending';

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
