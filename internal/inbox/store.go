package inbox

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Store reads and files stored inbound messages.
type Store struct {
	DB  *store.DB
	Now func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// scanInbound reads the columns of the inbox queries that return messages.
func scanInbound(row interface{ Scan(...any) error }) (*mailmsg.Inbound, error) {
	var in mailmsg.Inbound
	var uv, uid int64
	if err := row.Scan(&in.ID, &in.IncidentID, &in.Incident, &in.State, &in.Class, &in.Sender, &in.SenderName, &in.Subject, &in.Text,
		&in.ReceivedAt, &in.MatchedBy, &in.Action, &in.Error, &in.Size, &in.Truncated, &in.MessageID, &in.Mailbox, &uv, &uid); err != nil {
		return nil, err
	}
	in.UIDValidity, in.UID = uint32(uv), uint32(uid)
	in.ReceivedAt = in.ReceivedAt.UTC()
	return &in, nil
}

func (s *Store) list(ctx context.Context, query string, args ...any) ([]mailmsg.Inbound, error) {
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("inbox: list: %w", err)
	}
	defer rows.Close()
	out := []mailmsg.Inbound{}
	for rows.Next() {
		in, err := scanInbound(rows)
		if err != nil {
			return nil, fmt.Errorf("inbox: list: %w", err)
		}
		out = append(out, *in)
	}
	return out, rows.Err()
}

// Replies lists what came back on an incident, oldest first: replies,
// auto-replies, bounces and calendar replies, with their class.
func (s *Store) Replies(ctx context.Context, incidentID int64) ([]mailmsg.Inbound, error) {
	return s.list(ctx, queries.Get("replies"), incidentID)
}

// Triage lists the messages that matched no incident, newest first.
func (s *Store) Triage(ctx context.Context, limit int) ([]mailmsg.Inbound, error) {
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	return s.list(ctx, queries.Get("triage"), limit)
}

// Get returns one stored message.
func (s *Store) Get(ctx context.Context, id int64) (*mailmsg.Inbound, error) {
	in, err := scanInbound(s.DB.QueryRowContext(ctx, queries.Get("get-inbound"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no inbound message %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: get %d: %w", id, err)
	}
	return in, nil
}

// File records that a person filed a triaged message on the
// conversation key (named ref) in tx, and returns it as it was: the
// caller puts it on that conversation. It is a conflict when the message
// is not (or no longer) in triage.
func (s *Store) File(ctx context.Context, tx *sql.Tx, id, key int64, ref, actor string) (*mailmsg.Inbound, error) {
	in, err := scanInbound(tx.QueryRowContext(ctx, queries.Get("get-inbound"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no inbound message %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: file: %w", err)
	}
	if in.State != mailmsg.StateTriage {
		return nil, errs.E(errs.Conflict, "message %d is not in triage (it is %s)", id, in.State)
	}
	res, err := tx.ExecContext(ctx, queries.Get("file-from-triage"), mailmsg.StateProcessed, key, ref, mailmsg.MatchManual, "filed from triage by "+actor, s.now(), id, mailmsg.StateTriage)
	if err != nil {
		return nil, fmt.Errorf("inbox: file: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, errs.E(errs.Conflict, "message %d was filed meanwhile", id)
	}
	return in, nil
}

// raw returns the stored bytes of a message.
func (s *Store) raw(ctx context.Context, id int64) ([]byte, error) {
	var raw []byte
	if err := s.DB.QueryRowContext(ctx, queries.Get("raw"), id).Scan(&raw); err != nil {
		return nil, fmt.Errorf("inbox: raw %d: %w", id, err)
	}
	return raw, nil
}

// Checkpoint is where ingest stands in a mailbox.
type Checkpoint struct {
	UIDValidity uint32
	LastUID     uint32
}

// checkpoint reads a mailbox's checkpoint; ok is false before the first
// ingest.
func checkpoint(ctx context.Context, q store.Querier, mailbox string) (cp Checkpoint, ok bool, err error) {
	var uv, last int64
	err = q.QueryRowContext(ctx, queries.Get("checkpoint"), mailbox).Scan(&uv, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("inbox: checkpoint: %w", err)
	}
	return Checkpoint{UIDValidity: uint32(uv), LastUID: uint32(last)}, true, nil
}

func saveCheckpoint(ctx context.Context, tx *sql.Tx, mailbox string, cp Checkpoint, now time.Time) error {
	_, err := tx.ExecContext(ctx, queries.Get("save-checkpoint"),
		mailbox, int64(cp.UIDValidity), int64(cp.LastUID), now)
	if err != nil {
		return fmt.Errorf("inbox: save checkpoint: %w", err)
	}
	return nil
}

// errLeaseLost: another replica holds the mailbox now.
var errLeaseLost = errors.New("inbox: ingest lease lost to another replica")

// acquireLease takes or renews the mailbox's lease for owner until
// until. It fails (false) while another owner's lease runs.
func acquireLease(ctx context.Context, q store.Querier, mailbox, owner string, now, until time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, queries.Get("acquire-lease"), mailbox, owner, until, now)
	if err != nil {
		return false, fmt.Errorf("inbox: lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("inbox: lease: %w", err)
	}
	return n == 1, nil
}

// holdLease checks, inside a transaction that writes on the lease's
// behalf, that owner still holds it, and extends it: a replica that lost
// its lease while it was fetching cannot move the checkpoint.
func holdLease(ctx context.Context, tx *sql.Tx, mailbox, owner string, now, until time.Time) error {
	res, err := tx.ExecContext(ctx, queries.Get("hold-lease"),
		until, mailbox, owner, now)
	if err != nil {
		return fmt.Errorf("inbox: lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLeaseLost
	}
	return nil
}

func releaseLease(ctx context.Context, q store.Querier, mailbox, owner string) error {
	_, err := q.ExecContext(ctx, queries.Get("release-lease"), mailbox, owner)
	return err
}

// snippet cuts s to at most n bytes on a rune boundary.
func snippet(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
