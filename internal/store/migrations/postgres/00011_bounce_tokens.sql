-- +goose Up
-- The VERP tokens of the SMTP transactions a delivery went out in (space
-- separated, oldest first). Each transaction has its own envelope sender,
-- <reply part>+b-<message row>-<token>@<domain>; a bounce changes a
-- delivery only when it came to one of the row's tokens. A token is
-- written when the row is claimed, before the transaction is sent, and
-- never removed: a copy resent after a crash gets a new one, and the old
-- transaction's bounce still finds its row.
ALTER TABLE deliveries ADD COLUMN bounce_tokens TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE deliveries DROP COLUMN bounce_tokens;
