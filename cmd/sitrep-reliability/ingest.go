package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// mailStack starts Postfix+Dovecot with the users (local parts) in the
// scratch directory: the hub's mailboxes live in Dovecot.
func mailStack(e *env, users []string) (*testenv.MailStack, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var ms *testenv.MailStack
		ms, err = testenv.NewMailStack(filepath.Join(e.dir, fmt.Sprintf("mail%d", time.Now().UnixNano())), testenv.TestDomain, users)
		if err == nil {
			return ms, nil
		}
	}
	return nil, fmt.Errorf("mail stack (Postfix and Dovecot, as root; install with %s): %w", testenv.InstallHint, err)
}

// replyToken reads an incident's reply token from the database (the API
// never shows it: it is what makes a reply address unguessable).
func (t *trial) replyToken(ctx context.Context, ref string) (string, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(ref, "INC-"), 10, 64)
	if err != nil {
		return "", err
	}
	if err := t.openCheck(ctx); err != nil {
		return "", err
	}
	var tok string
	err = t.check.QueryRowContext(ctx, `SELECT reply_token FROM incidents WHERE id = $1`, id).Scan(&tok)
	return tok, err
}

// timelineReplies counts the incident's reply events: in all, and
// distinct by the inbound message they record.
func timelineReplies(ctx context.Context, api reliability.API, ref string) (total, distinct int, err error) {
	var out struct {
		Timeline []struct {
			Kind string         `json:"kind"`
			Data map[string]any `json:"data"`
		} `json:"timeline"`
	}
	if err := api.Do(ctx, "GET", "/incidents/"+ref+"/timeline", nil, &out); err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	for _, ev := range out.Timeline {
		if ev.Kind != "reply_received" {
			continue
		}
		total++
		seen[fmt.Sprint(ev.Data["inbound"])] = true
	}
	return total, len(seen), nil
}

// replyIDs returns the Message-IDs of the incident's replies per the API.
func replyIDs(ctx context.Context, api reliability.API, ref string) (map[string]int, error) {
	var out struct {
		Replies []struct {
			MessageID string `json:"message_id"`
		} `json:"replies"`
	}
	if err := api.Do(ctx, "GET", "/incidents/"+ref+"/replies", nil, &out); err != nil {
		return nil, err
	}
	m := map[string]int{}
	for _, r := range out.Replies {
		m[strings.Trim(r.MessageID, "<>")]++
	}
	return m, nil
}

// crashIngest: 1,000 replies waiting in the hub's Dovecot mailbox; the hub
// is killed -9 at a random point of ingesting them, restarted, and every
// reply must be on the timeline exactly once.
func crashIngest(ctx context.Context, e *env, args []string) error {
	var trials, n int
	var dbs string
	if err := flags("crash-ingest", args, func(fs *flag.FlagSet) {
		fs.IntVar(&trials, "trials", 2, "trials per database")
		fs.IntVar(&n, "n", 1000, "replies")
		fs.StringVar(&dbs, "db", "sqlite,postgres", "databases, comma-separated")
	}); err != nil {
		return err
	}
	kinds := dbList(dbs)
	var hubs []string
	for i := 0; i < trials*len(kinds); i++ {
		hubs = append(hubs, fmt.Sprintf("hub%03d", i))
	}
	ms, err := mailStack(e, hubs)
	if err != nil {
		return err
	}
	defer ms.Close()
	_, imapPort := splitPort(ms.IMAPAddr)
	sink, err := reliability.StartSink(true)
	if err != nil {
		return err
	}
	defer sink.Close()
	stakeholders := reliability.People("s", 20)

	tab := &table{header: []string{"db", "trial", "killed at (on timeline)", "replies", "missing", "doubled on timeline", "duplicate rows", "restart→done"}}
	lost := false
	next := 0
	for _, kind := range kinds {
		for i := 1; i <= trials; i++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			hubUser := ms.Address(hubs[next])
			next++
			t, err := newTrial(ctx, e, kind, reliability.Directory{Groups: map[string][]string{"stakeholders": stakeholders}},
				reliability.Config{SMTPPort: sink.Port(), IMAPPort: imapPort, IMAPUser: hubUser, IMAPPassword: ms.Password(hubUser)})
			if err != nil {
				return err
			}
			row, err := crashIngestTrial(ctx, t, ms, hubUser, stakeholders, n)
			t.close()
			if err != nil {
				return fmt.Errorf("%s trial %d: %w", kind, i, err)
			}
			tab.add(kind, i, row.killedAt, n, row.missing, row.doubled, row.dupRows, row.done)
			if row.missing > 0 || row.doubled > 0 || row.dupRows > 0 {
				lost = true
			}
		}
	}
	tab.print()
	if lost {
		return errLoss
	}
	return nil
}

type ingestRow struct {
	killedAt                  int
	missing, doubled, dupRows int
	done                      time.Duration
}

func crashIngestTrial(ctx context.Context, t *trial, ms *testenv.MailStack, hubUser string, from []string, n int) (ingestRow, error) {
	var row ingestRow
	hub, err := t.start()
	if err != nil {
		return row, err
	}
	ref, err := t.api.Declare(ctx, "Ingest crash test", "SEV2", "comms@example.test", "lead@example.test")
	if err != nil {
		hub.Kill9()
		return row, err
	}
	tok, err := t.replyToken(ctx, ref)
	if err != nil {
		hub.Kill9()
		return row, err
	}
	// Stopped cleanly, the hub gives up its mailbox lease at once.
	hub.Stop()
	replies := reliability.Replies(n, "status+"+tok+"@example.test", "Re: ["+ref+"] Ingest crash test", from, fmt.Sprintf("%s-%d", t.db.Kind, time.Now().UnixNano()))
	raws := make([][]byte, n)
	for i, r := range replies {
		raws[i] = r.Raw()
	}
	if err := reliability.Append(ms.IMAPAddr, hubUser, ms.Password(hubUser), "INBOX", raws, time.Time{}, 100); err != nil {
		return row, err
	}

	hub, err = t.start()
	if err != nil {
		return row, err
	}
	incID := strings.TrimPrefix(ref, "INC-")
	events := func() int {
		return t.count(ctx, `SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND kind = 'reply_received'`, incID)
	}
	killAt := n/20 + rand.IntN(n*17/20)
	deadline := time.Now().Add(2 * time.Minute)
	for events() < killAt {
		if time.Now().After(deadline) {
			dumpLog(hub)
			hub.Kill9()
			return row, fmt.Errorf("only %d replies on the timeline in 2 minutes", events())
		}
		time.Sleep(2 * time.Millisecond)
	}
	hub.Kill9()
	row.killedAt = events()

	restarted := time.Now()
	hub, err = t.start()
	if err != nil {
		return row, err
	}
	defer hub.Stop()
	// The dead process's mailbox lease must lapse (30 s) before the new
	// one reads the mailbox again.
	deadline = time.Now().Add(3 * time.Minute)
	for {
		pending := t.count(ctx, `SELECT COUNT(*) FROM inbound_messages WHERE state = 'stored'`)
		if events() >= n && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			dumpLog(hub)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	row.done = time.Since(restarted)
	time.Sleep(time.Second) // anything doubled late would show now
	total, distinct, err := timelineReplies(ctx, t.api, ref)
	if err != nil {
		return row, err
	}
	row.doubled = total - distinct
	ids, err := replyIDs(ctx, t.api, ref)
	if err != nil {
		return row, err
	}
	for _, r := range replies {
		switch c := ids[strings.Trim(r.MessageID, "<>")]; {
		case c == 0:
			row.missing++
		case c > 1:
			row.dupRows += c - 1
		}
	}
	if distinct < n-row.missing {
		row.missing = max(row.missing, n-distinct)
	}
	return row, nil
}

func splitPort(addr string) (host, port string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}
