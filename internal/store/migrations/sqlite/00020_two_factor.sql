-- +goose Up
-- Two-factor sign-in (TOTP). totp_secret is sealed (secrets.Box); it is set
-- when a user starts enrolling and counts only once totp_enabled. The last
-- time step used refuses a code seen before; recovery codes are stored as
-- SHA-256 hashes, each good once.
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';

-- Settings the administrator changes while Recado runs, such as whether
-- managers must use two-factor sign-in.
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at DATETIME NOT NULL
);

-- +goose Down
DROP TABLE app_settings;
ALTER TABLE users DROP COLUMN recovery_codes;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_enabled;
ALTER TABLE users DROP COLUMN totp_secret;
