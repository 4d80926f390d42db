-- +goose Up
-- Local accounts for the web UI. password_hash is an argon2id PHC string
-- ($argon2id$v=19$m=...,t=...,p=...$salt$hash); the password itself is
-- never stored.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE,                 -- lower case
    name          TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,                        -- admin | lead | viewer
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    disabled_at   TIMESTAMP
);

-- Browser sessions. id_hash is the SHA-256 of the cookie value, so that a
-- leaked database does not hand out live sessions. csrf is the
-- synchronizer token every state-changing form carries.
CREATE TABLE ui_sessions (
    id_hash      TEXT PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    csrf         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);
CREATE INDEX ui_sessions_account ON ui_sessions (account_id);
CREATE INDEX ui_sessions_expires ON ui_sessions (expires_at);

-- +goose Down
DROP TABLE ui_sessions;
DROP TABLE accounts;
