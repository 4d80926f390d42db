-- +goose Up
-- /readyz writes a row here and deletes the one before it, to learn
-- whether the database can take a write (a full disk, a read-only file).
-- The store owns this table; nothing else reads it.
CREATE TABLE readiness_probe (
    id     INTEGER PRIMARY KEY,
    at     TIMESTAMP NOT NULL,
    filler BLOB NOT NULL
);

-- +goose Down
DROP TABLE readiness_probe;
