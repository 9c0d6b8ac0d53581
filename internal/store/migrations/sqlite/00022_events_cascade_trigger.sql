-- +goose Up
-- A message's events went with it through a foreign key, checked on every
-- event written (three per message sent) for a rule that the code keeps
-- anyway: events are written only for messages the same transaction has
-- just stored or read. What the key did on a delete, a trigger does now.
-- SQLite cannot drop a foreign key, so the table is copied into one
-- without it (postgres/00022 drops the key).
CREATE TABLE message_events_new (
    message_id INTEGER NOT NULL,
    at         DATETIME NOT NULL,
    state      TEXT NOT NULL,
    source     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, at, state)
) WITHOUT ROWID;
INSERT INTO message_events_new (message_id, at, state, source, detail)
SELECT message_id, at, state, source, detail FROM message_events;
DROP TABLE message_events;
ALTER TABLE message_events_new RENAME TO message_events;

-- +goose StatementBegin
CREATE TRIGGER messages_delete_events AFTER DELETE ON messages
BEGIN
    DELETE FROM message_events WHERE message_id = OLD.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_delete_events;
CREATE TABLE message_events_old (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    at         DATETIME NOT NULL,
    state      TEXT NOT NULL,
    source     TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, at, state)
) WITHOUT ROWID;
INSERT INTO message_events_old (message_id, at, state, source, detail)
SELECT message_id, at, state, source, detail FROM message_events e
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.id = e.message_id);
DROP TABLE message_events;
ALTER TABLE message_events_old RENAME TO message_events;
