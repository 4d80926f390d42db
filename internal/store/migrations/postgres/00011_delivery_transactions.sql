-- +goose Up
-- One row per SMTP transaction of the outbox: its bounce token and the
-- deliveries it carried (a JSON array of ids). Each transaction has its
-- own envelope sender, <reply part>+b-<message row>-<token>@<domain>; a
-- bounce changes a delivery only when it came back to a transaction that
-- carried it. The row is written in the database transaction that claims
-- the deliveries, before anything is sent, and never changed: a copy
-- resent after a crash goes out in a new transaction with a new token, and
-- the old transaction's bounce still finds its delivery.
CREATE TABLE delivery_transactions (
    message_id BIGINT NOT NULL REFERENCES messages (id),
    token      TEXT NOT NULL,
    deliveries TEXT NOT NULL,
    PRIMARY KEY (message_id, token)
);

-- +goose Down
DROP TABLE delivery_transactions;
