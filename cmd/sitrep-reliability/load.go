package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// load: `incidents` incidents, each posting an update to its own group of
// `per` recipients every `interval` (the "every minute", scaled
// down) for `duration`, into a discarding SMTP sink; then one update to a
// group of everyone (20 × 5,000 = 100,000 members). Reported: recipients
// accepted per second, latency from POST to the first SMTP accept of that
// update (p50, p95, max), peak RSS and CPU of the hub.
func load(ctx context.Context, e *env, args []string) error {
	var incidents, per int
	var interval, duration time.Duration
	var db string
	var big bool
	if err := flags("load", args, func(fs *flag.FlagSet) {
		fs.IntVar(&incidents, "incidents", 20, "concurrent incidents")
		fs.IntVar(&per, "per", 5000, "recipients of each incident's group")
		fs.DurationVar(&interval, "interval", 5*time.Second, "each incident updates this often (the issue's minute, scaled down 12×)")
		fs.DurationVar(&duration, "duration", 60*time.Second, "how long the incidents keep updating")
		fs.StringVar(&db, "db", "postgres", "database")
		fs.BoolVar(&big, "everyone", true, "then one update to the group of all incidents*per members")
	}); err != nil {
		return err
	}
	sink, err := reliability.StartSink(true)
	if err != nil {
		return err
	}
	defer sink.Close()
	groups := map[string][]string{}
	var everyone []string
	for i := 0; i < incidents; i++ {
		g := reliability.People(fmt.Sprintf("g%02d-", i), per)
		groups[fmt.Sprintf("g%02d", i)] = g
		everyone = append(everyone, g...)
	}
	if big {
		groups["everyone"] = everyone
	}
	t, err := newTrial(ctx, e, db, reliability.Directory{Groups: groups},
		reliability.Config{SMTPPort: sink.Port(), Concurrency: 4, BatchSize: 50, ClaimLease: 30 * time.Second, Timeout: 30 * time.Second})
	if err != nil {
		return err
	}
	defer t.close()
	startAt := time.Now()
	hub, err := t.start()
	if err != nil {
		return err
	}
	defer hub.Stop()
	fmt.Printf("hub ready in %s with a directory of %d people in %d groups (%s)\n", time.Since(startAt).Round(time.Millisecond), len(everyone), len(groups), db)
	api := t.api
	api.Client = nil
	refs := make([]string, incidents)
	for i := range refs {
		if refs[i], err = api.Declare(ctx, fmt.Sprintf("Load %d", i), "SEV2", "comms@example.test", "lead@example.test"); err != nil {
			return err
		}
	}

	type posted struct {
		at        time.Time
		took      time.Duration // the POST itself: audience expanded into rows
		messageID string
	}
	var mu sync.Mutex
	var all []posted
	var postErrs int
	u0 := hub.Usage()
	began := time.Now()
	acc0 := sink.Accepted()
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the incidents over the interval, as real ones would be.
			time.Sleep(time.Duration(i) * interval / time.Duration(incidents))
			for k := 0; time.Since(began) < duration; k++ {
				at := time.Now()
				up, err := api.SendUpdate(ctx, ref, fmt.Sprintf("Load update %d.", k), "", fmt.Sprintf("g%02d", i))
				mu.Lock()
				if err != nil {
					postErrs++
				} else {
					all = append(all, posted{at, time.Since(at), up.Message.MessageID})
				}
				mu.Unlock()
				if d := interval - time.Since(at); d > 0 {
					time.Sleep(d)
				}
			}
		}()
	}
	wg.Wait()
	postedFor := time.Since(began)
	// Drain: the backlog left when the updates stop.
	backlog := t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE state IN ('queued', 'sending', 'deferred')`)
	for t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE state IN ('queued', 'sending', 'deferred')`) > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(began)
	u1 := hub.Usage()
	accepted := sink.Accepted() - acc0
	var lat, postTook []time.Duration
	for _, p := range all {
		if fs := sink.FirstSeen(p.messageID); !fs.IsZero() {
			lat = append(lat, fs.Sub(p.at))
		}
		postTook = append(postTook, p.took)
	}
	tab := &table{header: []string{"phase", "updates", "recipients", "accepted/s", "update→first accept p50", "p95", "max", "POST p95", "backlog at stop", "peak RSS MB", "CPU (cores)"}}
	want := len(all) * per
	tab.add(fmt.Sprintf("%d incidents × %d every %s for %s", incidents, per, interval, duration), len(all), accepted,
		float64(accepted)/elapsed.Seconds(), pct(lat, 50), pct(lat, 95), pct(lat, 100), pct(postTook, 95), backlog, u1.PeakRSSMB,
		fmt.Sprintf("%.2f", (u1.CPU-u0.CPU).Seconds()/elapsed.Seconds()))
	bad := int(accepted) != want || postErrs > 0 || len(lat) != len(all)
	fmt.Printf("posted for %s, drained %s later; %d POST errors\n", postedFor.Round(time.Second), (elapsed - postedFor).Round(time.Second), postErrs)

	if big {
		acc0 = sink.Accepted()
		u0 = hub.Usage()
		ref, err := api.Declare(ctx, "Everyone", "SEV1", "comms@example.test", "lead@example.test")
		if err != nil {
			return err
		}
		at := time.Now()
		up, err := api.SendUpdate(ctx, ref, "Update to everyone.", "", "everyone")
		if err != nil {
			return err
		}
		took := time.Since(at)
		for t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state IN ('queued', 'sending', 'deferred')`, up.Message.ID) > 0 {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			time.Sleep(100 * time.Millisecond)
		}
		d := time.Since(at)
		u1 = hub.Usage()
		accepted := sink.Accepted() - acc0
		first := sink.FirstSeen(up.Message.MessageID).Sub(at)
		tab.add(fmt.Sprintf("one update to %d", len(everyone)), 1, accepted, float64(accepted)/d.Seconds(), first, first, first, took, 0, u1.PeakRSSMB,
			fmt.Sprintf("%.2f", (u1.CPU-u0.CPU).Seconds()/d.Seconds()))
		bad = bad || int(accepted) != len(everyone)
	}
	tab.print()
	fmt.Println("peak RSS is the hub process's VmHWM since start (the directory is loaded once); CPU is the hub's user+system time over wall time, 2 cores in all")
	if bad {
		fmt.Printf("expected %d recipients accepted in the incidents phase\n", want)
		return errLoss
	}
	return nil
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}
