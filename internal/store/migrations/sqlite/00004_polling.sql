-- +goose Up
-- What Recado keeps about each provider besides its settings: how far the
-- reply poll got, how far the provider's blacklist is in step with Recado's,
-- and the last errors of those jobs and of the balance check, for the UI.
CREATE TABLE provider_sync (
    provider              TEXT PRIMARY KEY REFERENCES providers (name) ON DELETE CASCADE,
    -- Replies received up to this time are in (the start of the last
    -- successful reply poll); the next poll asks from a little before it.
    replies_polled_at     DATETIME,
    replies_error         TEXT NOT NULL DEFAULT '',
    -- The last blacklist change pushed to the provider (blacklist_changes.id);
    -- NULL: the provider has never received the whole list.
    blacklist_cursor      INTEGER,
    blacklist_synced_at   DATETIME,
    blacklist_error       TEXT NOT NULL DEFAULT '',
    blacklist_error_at    DATETIME,
    -- One sync per provider at a time, across instances.
    blacklist_lease_until DATETIME,
    balance_error         TEXT NOT NULL DEFAULT '',
    balance_error_at      DATETIME
);

-- Every change of the blacklist, in order: the outbox the blacklist sync
-- pushes to providers from. Written in the transaction that changes the list.
CREATE TABLE blacklist_changes (
    id    INTEGER PRIMARY KEY,
    phone TEXT NOT NULL,
    op    TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    at    DATETIME NOT NULL
);

-- When the status poll last asked a provider about one of its jobs, and when
-- it asks next (the poll backs off as the job ages).
CREATE TABLE status_polls (
    provider     TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    polled_at    DATETIME NOT NULL,
    next_poll_at DATETIME NOT NULL,
    polls        INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (provider, job_id)
);
CREATE INDEX status_polls_polled ON status_polls (polled_at);

-- +goose Down
DROP TABLE status_polls;
DROP TABLE blacklist_changes;
DROP TABLE provider_sync;
