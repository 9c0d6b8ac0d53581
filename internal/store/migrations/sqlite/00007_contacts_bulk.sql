-- +goose Up
-- Contacts imported from other systems keep those systems' ids: an import
-- updates the contact with the same external id, or else the same phone.
ALTER TABLE contacts ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX contacts_external_id ON contacts (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX contacts_owner ON contacts (owner_id) WHERE owner_id IS NOT NULL;

-- Named lists of contacts; a contact belongs to any number of them.
CREATE TABLE lists (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE TABLE list_members (
    list_id    INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    PRIMARY KEY (list_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX list_members_contact ON list_members (contact_id);

-- Saved filters over contacts ("segments"); filter is the JSON of an
-- sms.Segment, compiled to SQL with placeholders when used.
CREATE TABLE segments (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    filter      TEXT NOT NULL,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

-- A contact import: the uploaded file (import_chunks), its column mapping,
-- and its progress, written with each chunk of rows so that a job that dies
-- resumes after the last chunk stored. lease_until keeps two runs of its job
-- from working at once.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('uploading', 'pending', 'running', 'done', 'failed')),
    filename    TEXT NOT NULL DEFAULT '',
    options     TEXT NOT NULL DEFAULT '{}',
    list_id     INTEGER REFERENCES lists (id) ON DELETE SET NULL,
    size_bytes  INTEGER NOT NULL DEFAULT 0,
    bytes_done  INTEGER NOT NULL DEFAULT 0,
    rows_done   INTEGER NOT NULL DEFAULT 0,
    inserted    INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    merged      INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    rejected_by TEXT NOT NULL DEFAULT '{}',
    error       TEXT NOT NULL DEFAULT '',
    lease_until DATETIME,
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL,
    finished_at DATETIME
);
CREATE TABLE import_chunks (
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (import_id, seq)
);
CREATE TABLE import_rejects (
    import_id INTEGER NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_num   INTEGER NOT NULL,
    reason    TEXT NOT NULL,
    line      TEXT NOT NULL,
    PRIMARY KEY (import_id, row_num)
);

-- +goose Down
DROP TABLE import_rejects;
DROP TABLE import_chunks;
DROP TABLE imports;
DROP TABLE segments;
DROP TABLE list_members;
DROP TABLE lists;
DROP INDEX contacts_owner;
DROP INDEX contacts_external_id;
ALTER TABLE contacts DROP COLUMN external_id;
