package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// smtpFaults: one update to n recipients through an SMTP server that
// misbehaves in every way the outbound issue names, all in the same run:
// 421 at connect (for the first seconds), 550 on some RCPTs (for good),
// 451 on others (once, then accepted), connections dropped in DATA, and a
// DATA reply that comes only after -stall, longer than mail.smtp.timeout.
// Each recipient must end sent or failed with the reason; none lost; a
// second copy only for recipients of a dropped or stalled transaction.
func smtpFaults(ctx context.Context, e *env, args []string) error {
	var n, drops int
	var stall, timeout, refuseFor time.Duration
	var db string
	if err := flags("smtp-faults", args, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "n", 1000, "recipients")
		fs.IntVar(&drops, "drops", 2, "DATA commands answered by dropping the connection")
		fs.DurationVar(&stall, "stall", 30*time.Second, "how long the stalled server takes to answer DATA")
		fs.DurationVar(&timeout, "timeout", 0, "mail.smtp.timeout (default: a third of -stall, at least 1s)")
		fs.DurationVar(&refuseFor, "refuse", 2*time.Second, "how long every connection gets 421 at the start (0: never; the deferred recipients then wait a second backoff)")
		fs.StringVar(&db, "db", "postgres", "database")
	}); err != nil {
		return err
	}
	if timeout == 0 {
		timeout = max(stall/3, time.Second)
	}
	people := reliability.People("f", n)
	hard := map[string]bool{} // 550 for good
	soft := map[string]bool{} // 451 once
	for i, p := range people {
		switch i % 20 {
		case 3:
			hard[p] = true
		case 7, 11:
			soft[p] = true
		}
	}
	var mu sync.Mutex
	softSeen := map[string]int{}
	sink, err := reliability.StartSink(false)
	if err != nil {
		return err
	}
	defer sink.Close()
	rcptFault := func(rcpt string) *smtp.SMTPError {
		if hard[rcpt] {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}
		if soft[rcpt] {
			mu.Lock()
			defer mu.Unlock()
			softSeen[rcpt]++
			if softSeen[rcpt] == 1 {
				return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "mailbox busy, try later"}
			}
		}
		return nil
	}
	sink.SetFaults(reliability.Faults{RefuseConnect: refuseFor > 0, DropData: drops, DataDelay: stall, DelayCount: 1, Rcpt: rcptFault})

	t, err := newTrial(ctx, e, db, reliability.Directory{Groups: map[string][]string{"everyone": people}},
		reliability.Config{SMTPPort: sink.Port(), Concurrency: 4, BatchSize: 20, Timeout: timeout, ClaimLease: timeout + 5*time.Second})
	if err != nil {
		return err
	}
	defer t.close()
	hub, err := t.start()
	if err != nil {
		return err
	}
	defer hub.Stop()
	ref, err := t.api.Declare(ctx, "SMTP faults", "SEV2", "comms@example.test", "lead@example.test")
	if err != nil {
		return err
	}
	began := time.Now()
	up, err := t.api.SendUpdate(ctx, ref, "Faults test update.", "", "everyone")
	if err != nil {
		return err
	}
	time.Sleep(refuseFor)
	sink.SetFaults(reliability.Faults{DropData: drops, DataDelay: stall, DelayCount: 1, Rcpt: rcptFault})
	fmt.Printf("421 at connect for %s, then: 550 on %d recipients, 451 once on %d, %d DATA dropped, one DATA answered after %s (mail.smtp.timeout %s)\n",
		refuseFor, len(hard), len(soft), drops, stall, timeout)

	// Deferred deliveries wait the outbox's backoff (30 s, then 1 min ...).
	deadline := time.Now().Add(6 * time.Minute)
	for {
		pending := t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state IN ('queued', 'sending', 'deferred')`, up.Message.ID)
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			dumpLog(hub)
			return fmt.Errorf("%d deliveries still pending after 6 minutes", pending)
		}
		time.Sleep(250 * time.Millisecond)
	}
	settled := time.Since(began)

	type outcome struct{ state, reason string }
	got := map[string]outcome{}
	rows, err := t.check.QueryContext(ctx, `SELECT email, state, last_error FROM delivery_states WHERE message_id = $1`, up.Message.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var email, state, reason string
		if err := rows.Scan(&email, &state, &reason); err != nil {
			rows.Close()
			return err
		}
		got[email] = outcome{state, reason}
	}
	rows.Close()

	copies := sink.Copies()
	type classRow struct {
		recipients, sent, failed, other, missing, extra, extraNotInFlight, wrongReason int
		reason                                                                         string
	}
	classes := map[string]*classRow{"550 on RCPT": {}, "451 once on RCPT": {}, "others (421, drops, stall)": {}}
	for _, p := range people {
		var c *classRow
		switch {
		case hard[p]:
			c = classes["550 on RCPT"]
		case soft[p]:
			c = classes["451 once on RCPT"]
		default:
			c = classes["others (421, drops, stall)"]
		}
		c.recipients++
		o, ok := got[p]
		switch {
		case !ok:
			c.missing++
		case o.state == "sent":
			c.sent++
			if len(copies[p]) == 0 {
				c.missing++ // recorded sent, never accepted: a loss
			}
		case o.state == "failed":
			c.failed++
			if c.reason == "" {
				c.reason = o.reason
			}
			if !hard[p] || !strings.Contains(o.reason, "550") {
				c.wrongReason++
			}
		default:
			c.other++
		}
		if hard[p] && len(copies[p]) > 0 {
			c.wrongReason++ // refused for good yet delivered
		}
		if extra := len(copies[p]) - 1; extra > 0 {
			c.extra += extra
			if !sink.InFlight(p) {
				c.extraNotInFlight += extra
			}
		}
		for _, id := range copies[p] {
			if id != up.Message.MessageID {
				c.wrongReason++
			}
		}
	}
	tab := &table{header: []string{"class", "recipients", "sent", "failed", "other state", "missing", "extra copies", "extra outside in-flight", "failed reason"}}
	bad := false
	for _, name := range []string{"550 on RCPT", "451 once on RCPT", "others (421, drops, stall)"} {
		c := classes[name]
		reason := c.reason
		if reason == "" {
			reason = "-"
		}
		tab.add(name, c.recipients, c.sent, c.failed, c.other, c.missing, c.extra, c.extraNotInFlight, reason)
		if c.missing > 0 || c.other > 0 || c.extraNotInFlight > 0 || c.wrongReason > 0 {
			bad = true
		}
	}
	tab.print()
	fmt.Printf("faults that happened: %d connections refused with 421, %d DATA dropped, %d DATA stalled\n", sink.Refused.Load(), sink.Dropped.Load(), sink.Stalled.Load())
	fmt.Printf("all %d recipients settled %s after the update (sent or failed); deferred ones waited the outbox's 30 s backoff\n", n, settled.Round(time.Second))
	if (refuseFor > 0 && sink.Refused.Load() == 0) || (drops > 0 && sink.Dropped.Load() == 0) || (stall > 0 && sink.Stalled.Load() == 0) {
		return fmt.Errorf("a fault never happened: the run proves less than it claims")
	}
	if bad {
		return errLoss
	}
	return nil
}
