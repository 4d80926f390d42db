-- +goose Up
-- The tracker's stable id of an issue, beside its key (remote_ref): Jira's
-- issue id and Linear's issue UUID stay when the issue moves to another
-- project or team, its key (OPS-42, ENG-12) does not. A change reported
-- by the tracker is matched by this id when it carries one. GitHub: ''.
ALTER TABLE backlog_issues ADD COLUMN remote_id TEXT NOT NULL DEFAULT '';
CREATE INDEX backlog_issues_remote_id ON backlog_issues (tracker, remote_id);

-- +goose Down
DROP INDEX backlog_issues_remote_id;
ALTER TABLE backlog_issues DROP COLUMN remote_id;
