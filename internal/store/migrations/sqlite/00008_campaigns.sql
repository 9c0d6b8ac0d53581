-- +goose Up
-- A campaign: a template or body sent to an audience (lists, tags, segments,
-- imported files) within a sending window, at a speed, as a state machine:
-- draft, scheduled, running, paused, completed, canceled. The feeder turns
-- its pending recipients into messages a chunk at a time; feed_cursor is the last
-- contact fed, feed_lease keeps two feeders apart. The counters are kept by
-- the feeder, so that statistics need no scan of the recipients.
CREATE TABLE campaigns (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    template_id    INTEGER REFERENCES templates (id) ON DELETE SET NULL,
    body           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('marketing', 'transactional')),
    provider       TEXT NOT NULL DEFAULT '',
    audience       TEXT NOT NULL DEFAULT '{}',
    vars           TEXT NOT NULL DEFAULT '{}',
    schedule_at    DATETIME,
    send_window    TEXT,
    rate_per_minute INTEGER NOT NULL DEFAULT 0,
    cap_messages   INTEGER NOT NULL DEFAULT 0,
    cap_days       INTEGER NOT NULL DEFAULT 0,
    on_missing     TEXT NOT NULL DEFAULT 'skip' CHECK (on_missing IN ('skip', 'blank')),
    state          TEXT NOT NULL CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'canceled')),
    materialized   BOOLEAN NOT NULL DEFAULT FALSE,
    feed_cursor    INTEGER NOT NULL DEFAULT 0,
    feed_lease     DATETIME,
    recipients     INTEGER NOT NULL DEFAULT 0,
    skipped        INTEGER NOT NULL DEFAULT 0,
    skipped_by     TEXT NOT NULL DEFAULT '{}',
    fed            INTEGER NOT NULL DEFAULT 0,
    created_by     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    started_at     DATETIME,
    finished_at    DATETIME
);

-- Who a campaign goes to, written once when it starts (set-based, with the
-- reason each skipped contact is skipped), and what became of each.
CREATE TABLE campaign_recipients (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    contact_id  INTEGER NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'queued', 'skipped', 'canceled')),
    reason      TEXT NOT NULL DEFAULT '',
    message_id  INTEGER,
    PRIMARY KEY (campaign_id, contact_id)
) WITHOUT ROWID;

-- A campaign's messages by state: live statistics, the feeder's back
-- pressure, cancelling.
CREATE INDEX messages_campaign ON messages (campaign_id, state) WHERE campaign_id IS NOT NULL;
-- The batches of a campaign, for the send worker's check of its state.
ALTER TABLE send_batches ADD COLUMN campaign_id INTEGER;

-- +goose Down
ALTER TABLE send_batches DROP COLUMN campaign_id;
DROP INDEX messages_campaign;
DROP TABLE campaign_recipients;
DROP TABLE campaigns;
