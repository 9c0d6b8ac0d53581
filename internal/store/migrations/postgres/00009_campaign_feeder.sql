-- +goose Up
-- The queue job that holds a campaign's feeder lease: it keeps the lease
-- while it waits (a closed window, a full queue) and takes it back when it
-- wakes; a sweeper starts a new feeder for a running campaign whose lease ran
-- out, as when its job died with its process.
ALTER TABLE campaigns ADD COLUMN feed_owner BIGINT;

-- +goose Down
ALTER TABLE campaigns DROP COLUMN feed_owner;
