-- +goose Up
-- /readyz writes a row here and deletes the one before it, to learn
-- whether the database can take a write (a full disk, a read-only
-- transaction). The store owns this table; nothing else reads it.
CREATE TABLE readiness_probe (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL,
    filler BYTEA NOT NULL
);

-- +goose Down
DROP TABLE readiness_probe;
