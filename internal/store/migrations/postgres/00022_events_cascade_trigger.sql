-- +goose Up
-- A message's events went with it through a foreign key. The key was
-- checked on every event written — three per message sent, each a lookup
-- of the message and a share lock written on its row — for a rule that the
-- code keeps anyway: events are written only for messages the same
-- transaction has just stored or read (measured on the send path: a fifth
-- of PostgreSQL's CPU per message went to those checks). What the key did
-- on a delete, a trigger does now: the messages a statement deletes take
-- their events with them.
ALTER TABLE message_events DROP CONSTRAINT message_events_message_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION message_events_of_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM message_events WHERE message_id IN (SELECT id FROM deleted_messages);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER messages_delete_events AFTER DELETE ON messages
REFERENCING OLD TABLE AS deleted_messages
FOR EACH STATEMENT EXECUTE FUNCTION message_events_of_deleted();

-- +goose Down
DROP TRIGGER messages_delete_events ON messages;
DROP FUNCTION message_events_of_deleted();
DELETE FROM message_events e WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = e.message_id);
ALTER TABLE message_events ADD CONSTRAINT message_events_message_id_fkey
    FOREIGN KEY (message_id) REFERENCES messages (id) ON DELETE CASCADE;
