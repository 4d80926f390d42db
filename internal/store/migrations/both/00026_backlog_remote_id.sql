-- +goose Up
-- The tracker's stable id of an issue, beside its key (remote_ref): Jira's
-- issue id and Linear's issue UUID stay when the issue moves to another
-- project or team, its key (OPS-42, ENG-12) does not. A change reported
-- by the tracker is matched by this id when it carries one. GitHub: ''.
ALTER TABLE backlog_issues ADD COLUMN remote_id TEXT NOT NULL DEFAULT '';
CREATE INDEX backlog_issues_remote_id ON backlog_issues (tracker, remote_id);

-- From here to there: a change made in sitrep (the improvement done or
-- reopened, its owner or due date changed) is carried to the issue by a
-- job, once the issue is filed. push_seq counts the changes asked for,
-- pushed_seq the last one carried; push_state, push_assignee and push_due
-- say which fields to carry (1: yes); want_state is the state to carry
-- (open | closed); the assignee and due date are the row's own columns.
ALTER TABLE backlog_issues ADD COLUMN push_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backlog_issues ADD COLUMN pushed_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backlog_issues ADD COLUMN push_state INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backlog_issues ADD COLUMN push_assignee INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backlog_issues ADD COLUMN push_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backlog_issues ADD COLUMN want_state TEXT NOT NULL DEFAULT '';
ALTER TABLE backlog_issues ADD COLUMN push_error TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE backlog_issues DROP COLUMN push_error;
ALTER TABLE backlog_issues DROP COLUMN want_state;
ALTER TABLE backlog_issues DROP COLUMN push_due;
ALTER TABLE backlog_issues DROP COLUMN push_assignee;
ALTER TABLE backlog_issues DROP COLUMN push_state;
ALTER TABLE backlog_issues DROP COLUMN pushed_seq;
ALTER TABLE backlog_issues DROP COLUMN push_seq;
DROP INDEX backlog_issues_remote_id;
ALTER TABLE backlog_issues DROP COLUMN remote_id;
