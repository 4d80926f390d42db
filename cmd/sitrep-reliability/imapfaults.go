package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// imapFaults: the hub reads its Dovecot mailbox through a TCP proxy the
// driver cuts mid-FETCH (what a Dovecot restart or a network blip looks
// like to the client); then Dovecot's UIDVALIDITY is changed under it (the
// uidlist and indexes deleted while the hub is stopped, so Dovecot numbers
// the mailbox afresh); then a fresh hub meets a mailbox of 50,000 old
// messages at first start and must ingest only those newer than
// mail.imap.horizon.
func imapFaults(ctx context.Context, e *env, args []string) error {
	var n, cuts, old, fresh int
	var db string
	if err := flags("imap-faults", args, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "n", 2000, "replies ingested across the cuts")
		fs.IntVar(&cuts, "cuts", 3, "times the IMAP connection is cut")
		fs.IntVar(&old, "old", 50000, "old messages in the mailbox at first start")
		fs.IntVar(&fresh, "fresh", 100, "messages within the horizon beside them")
		fs.StringVar(&db, "db", "postgres", "database")
	}); err != nil {
		return err
	}
	ms, err := mailStack(e, []string{"hub", "hubold"})
	if err != nil {
		return err
	}
	defer ms.Close()
	proxy, err := reliability.StartProxy(ms.IMAPAddr)
	if err != nil {
		return err
	}
	defer proxy.Close()
	sink, err := reliability.StartSink(true)
	if err != nil {
		return err
	}
	defer sink.Close()
	stakeholders := reliability.People("s", 20)
	hubUser := ms.Address("hub")
	t, err := newTrial(ctx, e, db, reliability.Directory{Groups: map[string][]string{"stakeholders": stakeholders}},
		reliability.Config{SMTPPort: sink.Port(), IMAPPort: proxy.Port(), IMAPUser: hubUser, IMAPPassword: ms.Password(hubUser)})
	if err != nil {
		return err
	}
	defer t.close()
	hub, err := t.start()
	if err != nil {
		return err
	}
	defer func() { hub.Stop() }()
	ref, err := t.api.Declare(ctx, "IMAP faults", "SEV2", "comms@example.test", "lead@example.test")
	if err != nil {
		return err
	}
	tok, err := t.replyToken(ctx, ref)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(ref, "INC-")
	events := func() int {
		return t.count(ctx, `SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND kind = 'reply_received'`, id)
	}
	tab := &table{header: []string{"fault", "replies", "on timeline", "missing", "doubled", "note"}}
	bad := false
	check := func(name string, want []reliability.Reply, note string) error {
		deadline := time.Now().Add(3 * time.Minute)
		total := len(want)
		for time.Now().Before(deadline) {
			if t.count(ctx, `SELECT COUNT(*) FROM inbound_messages WHERE state = 'stored'`) == 0 && events() >= total {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second)
		all, distinct, err := timelineReplies(ctx, t.api, ref)
		if err != nil {
			return err
		}
		ids, err := replyIDs(ctx, t.api, ref)
		if err != nil {
			return err
		}
		missing, dup := 0, 0
		for _, r := range want {
			switch c := ids[strings.Trim(r.MessageID, "<>")]; {
			case c == 0:
				missing++
			case c > 1:
				dup += c - 1
			}
		}
		tab.add(name, len(want), distinct, missing, dup+all-distinct, note)
		bad = bad || missing > 0 || dup > 0 || all != distinct
		return nil
	}
	mk := func(k int, tag string) []reliability.Reply {
		return reliability.Replies(k, "status+"+tok+"@example.test", "Re: ["+ref+"] IMAP faults", stakeholders, fmt.Sprintf("%s-%d", tag, time.Now().UnixNano()))
	}
	appendAll := func(rs []reliability.Reply) error {
		raws := make([][]byte, len(rs))
		for i, r := range rs {
			raws[i] = r.Raw()
		}
		return reliability.Append(ms.IMAPAddr, hubUser, ms.Password(hubUser), "INBOX", raws, time.Time{}, 100)
	}

	// 1. Cuts mid-FETCH.
	var all []reliability.Reply
	batch := mk(n, "cut")
	all = append(all, batch...)
	// The hub ingests while the replies arrive (IDLE), so cutting during
	// the APPEND (which goes straight to Dovecot) cuts it mid-FETCH.
	appended := make(chan error, 1)
	go func() { appended <- appendAll(batch) }()
	closed := 0
	for c := 1; c <= cuts; c++ {
		time.Sleep(time.Duration(300+rand.IntN(500)) * time.Millisecond)
		closed += proxy.Cut()
		time.Sleep(time.Second)
		proxy.Restore()
	}
	if err := <-appended; err != nil {
		return err
	}
	if err := check(fmt.Sprintf("%d cuts mid-FETCH", cuts), all, fmt.Sprintf("%d IMAP connections closed", closed)); err != nil {
		return err
	}

	// 2. UIDVALIDITY changed while the hub is stopped, plus new mail.
	hub.Stop()
	uvBefore, err := reliability.UIDValidity(ms.IMAPAddr, hubUser, ms.Password(hubUser), "INBOX")
	if err != nil {
		return err
	}
	maildir := filepath.Join(ms.Dir, "mail", testenv.TestDomain, "hub", "Maildir")
	removed := 0
	for _, pat := range []string{"dovecot-uidlist", "dovecot.index*", "dovecot-uidvalidity*"} {
		files, _ := filepath.Glob(filepath.Join(maildir, pat))
		for _, f := range files {
			if os.Remove(f) == nil {
				removed++
			}
		}
	}
	batch = mk(n/10, "uidv")
	all = append(all, batch...)
	if err := appendAll(batch); err != nil {
		return err
	}
	if hub, err = t.start(); err != nil {
		return err
	}
	uvAfter, err := reliability.UIDValidity(ms.IMAPAddr, hubUser, ms.Password(hubUser), "INBOX")
	if err != nil {
		return err
	}
	note := fmt.Sprintf("UIDVALIDITY %d → %d (%d index files removed); %d new", uvBefore, uvAfter, removed, len(batch))
	// The hub logs the change at its first catch-up, which may come a
	// moment after /readyz: wait for it before calling it missed.
	seen := func() bool { return strings.Contains(hub.Log(), "UIDVALIDITY changed") }
	for deadline := time.Now().Add(30 * time.Second); !seen() && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if !seen() {
		note += "; the hub did NOT see a new UIDVALIDITY"
	}
	if err := check("UIDVALIDITY changed", all, note); err != nil {
		return err
	}
	hub.Stop()

	// 3. 50,000 old messages at first start of a hub on another mailbox.
	oldUser := ms.Address("hubold")
	oldRaws := make([][]byte, old)
	for i, r := range mk(old, "old") {
		oldRaws[i] = r.Raw()
	}
	// A first login makes Dovecot create the mailbox before files go in.
	if err := reliability.Append(ms.IMAPAddr, oldUser, ms.Password(oldUser), "INBOX", nil, time.Time{}, 1); err != nil {
		return err
	}
	wrote := time.Now()
	if err := reliability.WriteMaildir(filepath.Join(ms.Dir, "mail", testenv.TestDomain, "hubold", "Maildir"), oldRaws, time.Now().Add(-30*24*time.Hour)); err != nil {
		return err
	}
	wroteIn := time.Since(wrote)
	newer := mk(fresh, "fresh")
	newRaws := make([][]byte, len(newer))
	for i, r := range newer {
		newRaws[i] = r.Raw()
	}
	if err := reliability.Append(ms.IMAPAddr, oldUser, ms.Password(oldUser), "INBOX", newRaws, time.Time{}, 100); err != nil {
		return err
	}
	t2, err := newTrial(ctx, e, db, reliability.Directory{Groups: map[string][]string{"stakeholders": stakeholders}},
		reliability.Config{SMTPPort: sink.Port(), IMAPPort: proxy.Port(), IMAPUser: oldUser, IMAPPassword: ms.Password(oldUser), Horizon: 168 * time.Hour})
	if err != nil {
		return err
	}
	defer t2.close()
	started := time.Now()
	hub, err = t2.start()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	stored := 0
	for time.Now().Before(deadline) {
		stored = t2.count(ctx, `SELECT COUNT(*) FROM inbound_messages`)
		if stored >= fresh && t2.count(ctx, `SELECT COUNT(*) FROM inbox_checkpoints`) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	caught := time.Since(started)
	time.Sleep(2 * time.Second)
	stored = t2.count(ctx, `SELECT COUNT(*) FROM inbound_messages`)
	tab.add(fmt.Sprintf("%d old (30 days) + %d new at first start", old, fresh), fresh, stored, max(fresh-stored, 0), max(stored-fresh, 0),
		fmt.Sprintf("horizon 168h; old ones written in %s; start→caught up %s", wroteIn.Round(time.Millisecond), caught.Round(time.Millisecond)))
	bad = bad || stored != fresh
	tab.print()
	if bad {
		return errLoss
	}
	return nil
}
