package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// -postfix measures the fan-out into a real Postfix (internal/testenv's
// mail stack: Postfix on loopback delivering over LMTP into Dovecot, both
// started as root) instead of the counting sink. The time is the client's
// view of "Postfix has taken everyone", since from there on Postfix's own
// queue owns the mail: for sitrep, from the POST until the API counts
// every delivery of the update as sent (sitrep records a delivery sent on
// Postfix's 250 after DATA); for the baselines, until their last
// transaction got its 250. Between sides Postfix's queue is left to empty
// into Dovecot, so one side's local delivery does not run during the next
// one's measurement, and each person's mailbox is then checked to hold
// exactly one more message: exactly once, counted at the mailbox.

// postfixUsers are the mailboxes: the groups.yaml's people and its two
// leads (declaring an incident mails them).
func postfixUsers(n int) []string {
	users := make([]string, 0, n+2)
	for i := 0; i < n; i++ {
		users = append(users, address(i))
	}
	return append(users, "comms@example.test", "lead@example.test")
}

func runPostfix(ctx context.Context, o options, only string) error {
	tmp, err := os.MkdirTemp("", "sitrep-load-postfix")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var ms *testenv.MailStack
	// The stack picks free ports that another process may take before
	// Postfix binds them (the tests retry likewise).
	for attempt := 1; ; attempt++ {
		ms, err = testenv.NewMailStack(filepath.Join(tmp, fmt.Sprintf("mail%d", attempt)), testenv.TestDomain, postfixUsers(o.n))
		if err == nil {
			break
		}
		if attempt == 3 {
			return fmt.Errorf("Postfix and Dovecot (run as root; install with %s): %w", testenv.InstallHint, err)
		}
	}
	defer ms.Close()
	queue := filepath.Join(ms.Dir, "postfix", "queue")

	sides := []string{"sitrep", "pipelining"}
	if only != "" {
		sides = strings.Split(only, ",")
	}
	db := cmpOr(o.db, "sqlite")
	if strings.HasPrefix(db, "postgres") {
		db = "postgres"
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("postfix: one update to %d recipients into a real Postfix (%s, delivering to Dovecot); sitrep: `sitrep serve` on %s; baselines: %d connections × %d per transaction; load average %s",
		o.n, ms.SMTPAddr, db, o.conns, o.batch, load)

	// Warm-up, not measured: Dovecot creates each mailbox on its first
	// message (10,000 directory trees), which would otherwise load the
	// machine during whichever side came first.
	warm := filepath.Join(tmp, "warm.eml")
	if err := os.WriteFile(warm, []byte(fallbackMessage()), 0o600); err != nil {
		return err
	}
	if _, err := runChild("pipelining", o, ms.SMTPAddr, warm); err != nil {
		return fmt.Errorf("warm-up: %w\n%s", err, ms.LogTail())
	}
	drain, err := waitQueueEmpty(queue, o.timeout)
	if err != nil {
		return fmt.Errorf("warm-up: %w\n%s", err, ms.LogTail())
	}
	if err := checkMailboxes(ms.Dir, o.n, 1); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	fmt.Printf("warm-up (not measured): every mailbox created by one message, queue empty %.1fs after\n", drain.Seconds())

	var msg []byte
	secs := map[string]float64{}
	for round, side := range sides {
		// With -postfix-hold, Postfix holds what comes from the moment a
		// side starts sending (after sitrep's declaration has gone).
		hold := func() error { return nil }
		if o.postfixHold {
			hold = func() error { return holdDeliveries(ms, true) }
		}
		var r *result
		switch side {
		case "sitrep":
			r, err = sitrepIntoPostfix(ctx, o, ms, hold)
		case "pipelining", "gomail":
			if msg == nil {
				msg = []byte(fallbackMessage())
			}
			f := filepath.Join(tmp, "message.eml")
			if err = os.WriteFile(f, msg, 0o600); err == nil {
				if err = hold(); err == nil {
					r, err = runChild(side, o, ms.SMTPAddr, f)
				}
			}
		default:
			err = fmt.Errorf("unknown side %q", side)
		}
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", side, err, ms.LogTail())
		}
		if o.postfixHold {
			if err := holdDeliveries(ms, false); err != nil {
				return err
			}
		}
		drain, err := waitQueueEmpty(queue, o.timeout)
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", side, err, ms.LogTail())
		}
		if err := checkMailboxes(ms.Dir, o.n, round+2); err != nil {
			return fmt.Errorf("%s: %w", side, err)
		}
		if side == "sitrep" {
			// The baselines send sitrep's message as it arrived, less
			// what Postfix and Dovecot added on the way.
			if msg, err = deliveredMessage(ms.Dir, address(0)); err != nil {
				return err
			}
		}
		secs[side] = r.Seconds
		fmt.Printf("%-10s %7d recipients accepted by Postfix in %6.2fs = %7.0f/s, CPU %5.2fs%s; Postfix's queue empty (delivered into Dovecot) %.1fs later\n",
			side, r.Recipients, r.Seconds, r.PerSecond, r.CPUSeconds, r.Note, drain.Seconds())
	}
	if msg != nil {
		fmt.Printf("message: %d bytes as delivered, less the Return-Path, Delivered-To and Received lines\n", len(msg))
	}
	if secs["sitrep"] > 0 && secs["pipelining"] > 0 {
		fmt.Printf("time sitrep/pipelining: %.2f× (aim: ≤ 1.10×)\n", secs["sitrep"]/secs["pipelining"])
	}
	fmt.Println("every recipient's mailbox got exactly one message from each side")
	return nil
}

// holdDeliveries makes Postfix put what it accepts on hold (hold) or
// releases and delivers everything held (release): with -postfix-hold the
// acceptance measured does not share the 2 cores with the delivery into
// Dovecot, as it would not where the relay is a machine of its own. The
// hold is a header check, decided by cleanup while it writes the queue
// file: the queue manager never sees the mail until it is released
// (defer_transports had it defer every recipient, which cost Postfix more
// than the delivery).
func holdDeliveries(ms *testenv.MailStack, hold bool) error {
	etc := filepath.Join(ms.Dir, "postfix", "etc")
	checks := filepath.Join(etc, "hold_checks")
	if err := os.WriteFile(checks, []byte("/^Subject:/ HOLD sitrep-load -postfix-hold\n"), 0o644); err != nil {
		return err
	}
	setting := "header_checks ="
	if hold {
		setting = "header_checks = regexp:" + checks
	}
	steps := [][]string{{"/usr/sbin/postconf", "-c", etc, "-e", setting}, {"/usr/sbin/postfix", "-c", etc, "reload"}}
	if !hold {
		steps = append(steps, []string{"/usr/sbin/postsuper", "-c", etc, "-H", "ALL"}, []string{"/usr/sbin/postqueue", "-c", etc, "-f"})
	}
	for _, args := range steps {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	// The reload restarts cleanup with the new setting: give it a moment
	// before mail arrives.
	time.Sleep(time.Second)
	return nil
}

// sitrepIntoPostfix declares an incident and posts one update to
// everyone (beforeUpdate runs just before), then polls the API until every
// delivery of it is sent.
func sitrepIntoPostfix(ctx context.Context, o options, ms *testenv.MailStack, beforeUpdate func() error) (*result, error) {
	_, port, _ := strings.Cut(ms.SMTPAddr, ":")
	sv, err := startServed(ctx, o, port, func(path string) error { return writeDirectory(path, o.n) })
	if err != nil {
		return nil, err
	}
	defer sv.Close(o)
	ref, err := sv.api.Declare(ctx, incidentTitle, "SEV1", "comms@example.test", "lead@example.test")
	if err != nil {
		return nil, err
	}
	// Let declaring's mail go first (and out of Postfix's queue).
	time.Sleep(500 * time.Millisecond)
	if _, err := waitQueueEmpty(filepath.Join(ms.Dir, "postfix", "queue"), time.Minute); err != nil {
		return nil, err
	}
	if err := beforeUpdate(); err != nil {
		return nil, err
	}
	cpu0 := sv.hub.Usage().CPU
	start := time.Now()
	u, err := sv.api.SendUpdate(ctx, ref, statusText, "", "everyone")
	if err != nil {
		return nil, err
	}
	answered := time.Since(start)
	_, rows := u.MessageIDs()
	deadline := start.Add(o.timeout)
	for {
		// Polled every second, to take little of the hub's CPU: the time
		// is the last recipient's sent_at, read once every one is sent.
		sent, failed := 0, 0
		for _, id := range rows {
			c := sv.api.Counts(ctx, ref, id)
			sent += c["sent"]
			failed += c["failed"]
		}
		if failed > 0 {
			return nil, fmt.Errorf("%d deliveries failed", failed)
		}
		if sent >= o.n {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d of %d sent after %s", sent, o.n, o.timeout)
		}
		time.Sleep(time.Second)
	}
	cpu := (sv.hub.Usage().CPU - cpu0).Seconds()
	var last time.Time
	n := 0
	for _, id := range rows {
		list, err := sv.api.Deliveries(ctx, ref, id, "sent")
		if err != nil {
			return nil, err
		}
		for _, d := range list {
			if d.SentAt == nil {
				return nil, fmt.Errorf("%s is sent without a time", d.Email)
			}
			n++
			if d.SentAt.After(last) {
				last = *d.SentAt
			}
		}
	}
	if n != o.n {
		return nil, fmt.Errorf("%d deliveries listed as sent, want %d", n, o.n)
	}
	d := last.Sub(start).Seconds()
	return &result{Mode: "sitrep", Recipients: n, Seconds: d, PerSecond: float64(n) / d, CPUSeconds: cpu,
		Note: fmt.Sprintf(" (POST answered in %.2fs; the time is the last recipient's sent_at)", answered.Seconds())}, nil
}

// waitQueueEmpty waits until Postfix's queue holds no message (no file
// under incoming, active, deferred, hold or maildrop) and says how long.
func waitQueueEmpty(queue string, timeout time.Duration) (time.Duration, error) {
	t0 := time.Now()
	for {
		n := 0
		for _, d := range []string{"maildrop", "incoming", "active", "deferred", "hold"} {
			filepath.WalkDir(filepath.Join(queue, d), func(_ string, e fs.DirEntry, err error) error {
				if err == nil && e.Type().IsRegular() {
					n++
				}
				return nil
			})
		}
		if n == 0 {
			return time.Since(t0), nil
		}
		if time.Since(t0) > timeout {
			return 0, fmt.Errorf("Postfix's queue still holds %d messages after %s", n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// maildir is where the stack's Dovecot keeps a user's mail.
func maildir(stackDir, addr string) string {
	local, domain, _ := strings.Cut(addr, "@")
	return filepath.Join(stackDir, "mail", domain, local, "Maildir")
}

// checkMailboxes: each of the n people holds exactly want messages.
func checkMailboxes(stackDir string, n, want int) error {
	var bad []string
	for i := 0; i < n; i++ {
		have := 0
		for _, sub := range []string{"new", "cur"} {
			es, _ := os.ReadDir(filepath.Join(maildir(stackDir, address(i)), sub))
			have += len(es)
		}
		if have != want {
			bad = append(bad, fmt.Sprintf("%s has %d", address(i), have))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("NOT exactly once: %d mailboxes do not hold %d messages (%s)", len(bad), want, strings.Join(bad[:min(len(bad), 5)], ", "))
	}
	return nil
}

// deliveredMessage reads the message in addr's mailbox that is not the
// warm-up's (fallbackMessage, whose Message-ID is <load@example.test>)
// and drops the trace lines delivery put on top.
func deliveredMessage(stackDir, addr string) ([]byte, error) {
	dir := filepath.Join(maildir(stackDir, addr), "new")
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(raw, []byte("<load@example.test>")) {
			return stripTrace(raw), nil
		}
	}
	return nil, fmt.Errorf("no message but the warm-up's for %s in %s", addr, dir)
}

// stripTrace removes the leading Return-Path, Delivered-To and Received
// fields (with their continuation lines), which Postfix and Dovecot add.
func stripTrace(raw []byte) []byte {
	trace := false
	for len(raw) > 0 {
		line, rest, _ := bytes.Cut(raw, []byte("\n"))
		switch {
		case len(line) > 0 && (line[0] == ' ' || line[0] == '\t'):
			if !trace {
				return raw
			}
		default:
			name, _, _ := bytes.Cut(line, []byte(":"))
			switch strings.ToLower(string(name)) {
			case "return-path", "delivered-to", "received":
				trace = true
			default:
				return raw
			}
		}
		raw = rest
	}
	return raw
}
