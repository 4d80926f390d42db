package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// replicas: two `sitrep serve` on one PostgreSQL database, both live.
// Updates posted to either are sent once per recipient; a large one is
// shared by both (outbox helpers), and the replica that took the POST is
// killed -9 while both send it: nobody is missed; the promise's
// reminders (reminder, due, overdue) go out once each though both replicas
// check promises; replies in the shared mailbox are ingested by one
// replica at a time, and when that one is killed -9 the other takes over:
// every reply on the timeline exactly once.
func replicas(ctx context.Context, e *env, args []string) error {
	var n, nShared, nReplies int
	var reminders bool
	if err := flags("replicas", args, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "n", 2000, "recipients of each update")
		fs.IntVar(&nShared, "shared", 6000, "recipients of the update both replicas send (at least the outbox's 5,000, from which replicas share a fan-out)")
		fs.IntVar(&nReplies, "replies", 500, "replies in the shared mailbox")
		fs.BoolVar(&reminders, "reminders", true, "wait for the promise's three reminders (about 80 s)")
	}); err != nil {
		return err
	}
	ms, err := mailStack(e, []string{"hub"})
	if err != nil {
		return err
	}
	defer ms.Close()
	_, imapPort := splitPort(ms.IMAPAddr)
	sink, err := reliability.StartSink(false)
	if err != nil {
		return err
	}
	defer sink.Close()
	people := reliability.People("r", n)
	many := reliability.People("m", nShared)
	stakeholders := reliability.People("s", 20)
	hubUser := ms.Address("hub")
	// The rate limit (the account's, over both replicas) makes the shared
	// update last a few seconds, long enough to kill a replica in it.
	t, err := newTrial(ctx, e, "postgres", reliability.Directory{Groups: map[string][]string{"everyone": people, "stakeholders": stakeholders, "all-staff": many}},
		reliability.Config{SMTPPort: sink.Port(), Concurrency: 4, BatchSize: 20, RatePerSecond: 2000, IMAPPort: imapPort, IMAPUser: hubUser, IMAPPassword: ms.Password(hubUser),
			ReminderBefore: 2 * time.Minute, OverdueAfter: 15 * time.Second})
	if err != nil {
		return err
	}
	defer t.close()
	// The second replica: the same file but its own listen port.
	cfgB := t.cfg
	configB, urlB, err := t.writeConfig("sitrep-b.yaml", cfgB)
	if err != nil {
		return err
	}
	a, err := t.start()
	if err != nil {
		return err
	}
	defer func() { a.Stop() }()
	b, err := reliability.StartHub(e.bin, configB, urlB)
	if err != nil {
		return err
	}
	defer func() { b.Stop() }()
	apiA, apiB := t.api, reliability.API{URL: urlB, Token: adminToken}
	fmt.Printf("replica A pid %d at %s, replica B pid %d at %s, one PostgreSQL database\n", a.PID(), t.url, b.PID(), urlB)

	tab := &table{header: []string{"check", "expected", "got", "missing", "doubled"}}
	bad := false

	// Updates through both replicas, each fanned out by whichever claims.
	ref, err := apiA.Declare(ctx, "Two replicas", "SEV2", "comms@example.test", "lead@example.test")
	if err != nil {
		return err
	}
	var ups []reliability.Update
	for i, api := range []reliability.API{apiA, apiB, apiA} {
		up, err := api.SendUpdate(ctx, ref, fmt.Sprintf("Update %d from replica %c.", i+1, "ABA"[i]), "", "everyone")
		if err != nil {
			return err
		}
		ups = append(ups, up)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE state IN ('queued', 'sending', 'deferred')`) != 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("updates not delivered in 3 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, up := range ups {
		got, extra := sink.CopiesOf(up.Message.MessageID)
		tab.add(fmt.Sprintf("update %d to %d recipients", i+1, n), n, got, n-got, extra)
		bad = bad || got != n || extra != 0
	}

	// A large update, shared: once B has joined A's fan-out (its helper
	// job runs), A is killed -9. B sends the rest, then what A had in
	// flight once its leases run out (3 s); A comes back for what follows.
	var sharedRow sharedUpdate
	a, sharedRow, err = sharedFanOut(ctx, t, sink, apiA, ref, a, nShared)
	if err != nil {
		return err
	}
	// At most two SMTP transactions per connection of A were in flight
	// when it died: those alone may arrive twice.
	tab.add(fmt.Sprintf("update 4 to %d, shared; A killed -9 at %d accepted (B had joined: %v)", nShared, sharedRow.killedAt, sharedRow.joined),
		nShared, sharedRow.got, nShared-sharedRow.got, sharedRow.extra)
	bound := 2 * t.cfg.Concurrency * t.cfg.BatchSize
	bad = bad || sharedRow.got != nShared || sharedRow.extra > bound || !sharedRow.joined
	if sharedRow.extra > bound {
		fmt.Printf("update 4: %d extra copies, more than A's %d unrecorded recipients at most\n", sharedRow.extra, bound)
	}

	if reminders {
		// The promise: next update in 1m (truncated to the minute, so due
		// in 0–60 s); reminder_before 2m makes the first reminder at once,
		// then "due" at the time, then "overdue" 15 s later.
		before := sink.Copies()
		if _, err := apiB.SendUpdate(ctx, ref, "Promise test.", "1m", "stakeholders"); err != nil {
			return err
		}
		id := strings.TrimPrefix(ref, "INC-")
		deadline := time.Now().Add(150 * time.Second)
		for t.count(ctx, `SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND kind = 'overdue'`, id) < 1 {
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		time.Sleep(3 * time.Second) // a doubled reminder would be queued by now
		for t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE state IN ('queued', 'sending', 'deferred')`) != 0 && time.Now().Before(deadline.Add(time.Minute)) {
			time.Sleep(100 * time.Millisecond)
		}
		after := sink.Copies()
		newTo := func(who string) (distinct, copies int) {
			seen := map[string]int{}
			for _, id := range after[who][len(before[who]):] {
				seen[id]++
			}
			for _, c := range seen {
				copies += c
			}
			return len(seen), copies
		}
		ev := t.count(ctx, `SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND kind IN ('reminder', 'overdue')`, id)
		cd, cc := newTo("comms@example.test")
		ld, lc := newTo("lead@example.test")
		tab.add("reminder events (reminder, due, overdue)", 3, ev, max(3-ev, 0), max(ev-3, 0))
		tab.add("reminder emails to the comms lead", 3, cd, max(3-cd, 0), cc-cd+max(cd-3, 0))
		tab.add("overdue email to the incident lead", 1, ld, max(1-ld, 0), lc-ld+max(ld-1, 0))
		bad = bad || ev != 3 || cd != 3 || cc != 3 || ld != 1 || lc != 1
	}

	// Replies: appended to the shared mailbox while both run; the replica
	// holding the mailbox's lease is killed -9 part-way.
	tok, err := t.replyToken(ctx, ref)
	if err != nil {
		return err
	}
	replies := reliability.Replies(nReplies, "status+"+tok+"@example.test", "Re: ["+ref+"] Two replicas", stakeholders, fmt.Sprintf("rep-%d", time.Now().UnixNano()))
	raws := make([][]byte, len(replies))
	for i, r := range replies {
		raws[i] = r.Raw()
	}
	if err := reliability.Append(ms.IMAPAddr, hubUser, ms.Password(hubUser), "INBOX", raws, time.Time{}, 100); err != nil {
		return err
	}
	id := strings.TrimPrefix(ref, "INC-")
	events := func() int {
		return t.count(ctx, `SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND kind = 'reply_received'`, id)
	}
	killAt := nReplies/10 + rand.IntN(nReplies/2)
	deadline = time.Now().Add(2 * time.Minute)
	for events() < killAt && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	var owner string
	if err := t.check.QueryRowContext(ctx, `SELECT owner FROM inbox_leases WHERE mailbox = $1`, strings.ToLower(hubUser)+"/INBOX").Scan(&owner); err != nil {
		return fmt.Errorf("the mailbox lease: %w", err)
	}
	killed, survivor := "?", "?"
	if pid := leasePID(owner); pid == a.PID() {
		a.Kill9()
		killed, survivor = "A", "B"
	} else if pid == b.PID() {
		b.Kill9()
		killed, survivor = "B", "A"
	}
	at := events()
	took := time.Now()
	deadline = time.Now().Add(3 * time.Minute)
	for (events() < nReplies || t.count(ctx, `SELECT COUNT(*) FROM inbound_messages WHERE state = 'stored'`) != 0) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("lease held by %s (%s): killed -9 at %d/%d replies on the timeline; %s finished the rest in %s (the lease is 30 s)\n",
		killed, owner, at, nReplies, survivor, time.Since(took).Round(time.Second))
	apiS := apiA
	if survivor == "B" {
		apiS = apiB
	}
	time.Sleep(time.Second)
	total, distinct, err := timelineReplies(ctx, apiS, ref)
	if err != nil {
		return err
	}
	ids, err := replyIDs(ctx, apiS, ref)
	if err != nil {
		return err
	}
	missing, dup := 0, 0
	for _, r := range replies {
		switch c := ids[strings.Trim(r.MessageID, "<>")]; {
		case c == 0:
			missing++
		case c > 1:
			dup += c - 1
		}
	}
	tab.add("replies stored, takeover after kill -9", nReplies, nReplies-missing, missing, dup)
	tab.add("replies on the timeline", nReplies, distinct, max(nReplies-distinct, 0), total-distinct)
	bad = bad || missing != 0 || dup != 0 || distinct != nReplies || total != distinct || killed == "?"
	tab.print()
	if killed == "?" {
		fmt.Printf("the lease owner %q is neither replica\n", owner)
	}
	if bad {
		return errLoss
	}
	return nil
}

// leasePID reads the pid out of an ingest lease owner, host-pid-random.
func leasePID(owner string) int {
	parts := strings.Split(owner, "-")
	if len(parts) < 3 {
		return 0
	}
	pid, _ := strconv.Atoi(parts[len(parts)-2])
	return pid
}

type sharedUpdate struct {
	killedAt   int64
	got, extra int
	joined     bool // B ran a helper of the update before A was killed
}

// sharedFanOut posts an update to the all-staff group through A, waits
// until B has joined its fan-out (a helper job running: only a replica
// not sending the message runs one) and a third of it is accepted, kills
// A -9, waits for every recipient, and starts A again.
func sharedFanOut(ctx context.Context, t *trial, sink *reliability.Sink, api reliability.API, ref string, a *reliability.Hub, n int) (*reliability.Hub, sharedUpdate, error) {
	var row sharedUpdate
	before := sink.Accepted()
	up, err := api.SendUpdate(ctx, ref, "Update 4, to everyone.", "", "all-staff")
	if err != nil {
		return a, row, err
	}
	deadline := time.Now().Add(time.Minute)
	for sink.Accepted()-before < int64(n/3) || !row.joined {
		if time.Now().After(deadline) {
			break
		}
		row.joined = row.joined || t.count(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'outbox_deliver' AND (args->>'share')::int = 1 AND state IN ('running', 'completed')`) > 0
		time.Sleep(5 * time.Millisecond)
	}
	a.Kill9()
	row.killedAt = sink.Accepted() - before
	deadline = time.Now().Add(2 * time.Minute)
	for {
		got, _ := sink.CopiesOf(up.Message.MessageID)
		pending := t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state IN ('queued', 'sending', 'deferred')`, up.Message.ID)
		if got >= n && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			break // counted as missing below
		}
		time.Sleep(50 * time.Millisecond)
	}
	row.got, row.extra = sink.CopiesOf(up.Message.MessageID)
	a, err = t.start()
	return a, row, err
}
