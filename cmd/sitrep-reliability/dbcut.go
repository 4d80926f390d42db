package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// dbCut: the hub reaches PostgreSQL through a TCP proxy that the driver
// cuts (every connection closed, new ones refused) and restores while a
// fan-out runs and more updates are posted: what a database restart or a
// failover looks like to the hub. The shared PostgreSQL of this machine
// serves others, so it is the path, not the server, that goes down.
// Work must resume by itself, errors must be reported (readyz, API), and
// no recipient may be lost.
func dbCut(ctx context.Context, e *env, args []string) error {
	var n, cuts int
	var down time.Duration
	if err := flags("db-cut", args, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "n", 2000, "recipients of each update")
		fs.IntVar(&cuts, "cuts", 3, "times the database path is cut")
		fs.DurationVar(&down, "down", 3*time.Second, "how long each cut lasts")
	}); err != nil {
		return err
	}
	sink, err := reliability.StartSink(false)
	if err != nil {
		return err
	}
	defer sink.Close()
	people := reliability.People("d", n)
	db, err := reliability.NewDatabase(ctx, "postgres", e.dir)
	if err != nil {
		return err
	}
	defer db.Drop()
	proxy, err := reliability.StartProxy(db.HostPort())
	if err != nil {
		return err
	}
	defer proxy.Close()
	t, err := newTrial(ctx, e, "sqlite", reliability.Directory{Groups: map[string][]string{"everyone": people}},
		reliability.Config{SMTPPort: sink.Port(), Concurrency: 4, BatchSize: 10, RatePerSecond: 400, DatabaseURL: db.Via(proxy.Addr), ClaimLease: 3 * time.Second})
	if err != nil {
		return err
	}
	t.db = db // checks go straight to PostgreSQL, not through the proxy
	defer func() { t.db = nil; t.close() }()
	hub, err := t.start()
	if err != nil {
		return err
	}
	defer hub.Stop()
	ref, err := t.api.Declare(ctx, "Database cut", "SEV2", "comms@example.test", "lead@example.test")
	if err != nil {
		return err
	}
	type sent struct {
		id        int64
		messageID string
	}
	var updates []sent
	post := func(i int) error {
		up, err := t.api.SendUpdate(ctx, ref, fmt.Sprintf("Update %d.", i), "", "everyone")
		if err != nil {
			return err
		}
		updates = append(updates, sent{up.Message.ID, up.Message.MessageID})
		return nil
	}
	if err := post(0); err != nil {
		return err
	}
	tab := &table{header: []string{"cut", "at (accepted)", "connections closed", "readyz while cut", "API while cut", "work resumed after"}}
	client := &http.Client{Timeout: 3 * time.Second}
	for c := 1; c <= cuts; c++ {
		time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
		at := sink.Accepted()
		closed := proxy.Cut()
		time.Sleep(down / 3)
		ready := "no answer"
		if resp, err := client.Get(t.url + "/readyz"); err == nil {
			ready = resp.Status
			resp.Body.Close()
		}
		apiErr := "accepted"
		if err := post(c); err != nil {
			apiErr = shorten(err.Error(), 60)
		}
		time.Sleep(down - down/3)
		proxy.Restore()
		restored := time.Now()
		before := sink.Accepted()
		resumed := "-"
		for time.Since(restored) < 2*time.Minute {
			if sink.Accepted() > before {
				resumed = time.Since(restored).Round(time.Millisecond).String()
				break
			}
			if pending := t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE state IN ('queued', 'sending', 'deferred')`); pending == 0 {
				resumed = "nothing left"
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		tab.add(c, at, closed, ready, apiErr, resumed)
		if apiErr != "accepted" {
			// Posted again once the database is back, as a person would.
			if err := post(100 + c); err != nil {
				return fmt.Errorf("update after the cut: %w", err)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		pending := t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE state IN ('queued', 'sending', 'deferred')`)
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) || hub.Exited() {
			dumpLog(hub)
			return fmt.Errorf("%d deliveries pending 5 minutes after the last cut (hub exited: %v)", pending, hub.Exited())
		}
		time.Sleep(200 * time.Millisecond)
	}
	tab.print()
	res := &table{header: []string{"update", "recipients", "missing", "extra copies (same Message-ID)", "failed"}}
	bad := false
	copies := sink.Copies()
	for i, u := range updates {
		missing, extra := 0, 0
		for _, p := range people {
			k := 0
			for _, id := range copies[p] {
				if id == u.messageID {
					k++
				}
			}
			if k == 0 {
				missing++
			}
			extra += max(k-1, 0)
		}
		failed := t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state = 'failed'`, u.id)
		res.add(i+1, n, missing, extra, failed)
		if missing > 0 || failed != 0 {
			bad = true
		}
	}
	res.print()
	errLines := strings.Count(hub.Log(), "level=ERROR") + strings.Count(hub.Log(), "level=WARN")
	fmt.Printf("the hub logged %d warnings and errors while cut off, stayed up (exited: %v)\n", errLines, hub.Exited())
	if bad || hub.Exited() {
		return errLoss
	}
	return nil
}

func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
