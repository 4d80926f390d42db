-- +goose Up
-- The chat mirror reads the timeline by id. On PostgreSQL ids are handed
-- out before commit, so a transaction can commit event 41 after another
-- has committed event 42: a reader that moved past 42 would never see 41.
-- Every statement inserting events takes a shared transaction-level
-- advisory lock (writers never wait for each other); the mirror sweeps only
-- when it gets the same lock exclusively, that is when no transaction that
-- inserted events is still open. Key 7319001 is the timeline's.
-- +goose StatementBegin
CREATE FUNCTION timeline_write_lock() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(7319001);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER timeline_write_lock BEFORE INSERT ON timeline_events
    FOR EACH STATEMENT EXECUTE FUNCTION timeline_write_lock();

-- +goose Down
DROP TRIGGER timeline_write_lock ON timeline_events;
DROP FUNCTION timeline_write_lock();
