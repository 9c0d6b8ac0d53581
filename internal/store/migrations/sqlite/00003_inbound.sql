-- +goose Up
-- Replies arrive as inbound messages whose provider_message_id is the
-- provider's reply id: unique per provider, so a reply seen twice is stored once.
CREATE UNIQUE INDEX messages_inbound_reply ON messages (provider, provider_message_id) WHERE direction = 'inbound';
-- Replies are linked to the latest message sent to their phone when the
-- provider does not say which message they answer.
CREATE INDEX messages_phone ON messages (phone, id);
-- The inbox: inbound messages, newest first, without walking the outbound ones.
CREATE INDEX messages_inbound ON messages (id) WHERE direction = 'inbound';
-- When an operator read an inbound message (the inbox's unread state).
ALTER TABLE messages ADD COLUMN read_at DATETIME;

-- Numbers that receive no marketing message, whatever their contact says.
-- Recado's list is the truth: providers' lists are fed from it.
CREATE TABLE blacklist (
    phone      TEXT PRIMARY KEY,
    reason     TEXT NOT NULL DEFAULT '',
    source     TEXT NOT NULL,
    created_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE blacklist;
ALTER TABLE messages DROP COLUMN read_at;
DROP INDEX messages_inbound;
DROP INDEX messages_phone;
DROP INDEX messages_inbound_reply;
