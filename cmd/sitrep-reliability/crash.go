package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// crashFanout: kill -9 of `sitrep serve` at a random point of a fan-out,
// restart, wait; count recipients missing and copies beyond one. The SMTP
// server is the driver's own recording sink, which outlives the hub, so the
// count is exact at the SMTP boundary (where the hub's duty ends).
func crashFanout(ctx context.Context, e *env, args []string) error {
	var trials, n int
	var dbs, langs string
	var rate float64
	if err := flags("crash-fanout", args, func(fs *flag.FlagSet) {
		fs.IntVar(&trials, "trials", 3, "trials per database")
		fs.IntVar(&n, "n", 2000, "recipients")
		fs.StringVar(&dbs, "db", "sqlite,postgres", "databases, comma-separated")
		fs.StringVar(&langs, "languages", "", "languages the recipients read in turn, comma-separated (en,de,fr,es,ja): one message per language, each its own Message-ID")
		fs.Float64Var(&rate, "rate", 400, "mail.smtp.rate_per_second, so that the fan-out lasts long enough to be cut (2,000 at 400/s: 5 s)")
	}); err != nil {
		return err
	}
	sink, err := reliability.StartSink(false)
	if err != nil {
		return err
	}
	defer sink.Close()
	people := reliability.People("p", n)

	tab := &table{header: []string{"db", "trial", "killed at (accepted)", "recipients", "missing", "extra copies", "other Message-ID", "restart→done"}}
	var lost bool
	totals := map[string][3]int{}
	for _, kind := range dbList(dbs) {
		for i := 1; i <= trials; i++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			sink.Reset()
			dir := reliability.Directory{Groups: map[string][]string{"all-staff": people}}
			if langs != "" {
				dir.Languages = strings.Split(langs, ",")
			}
			t, err := newTrial(ctx, e, kind, dir,
				reliability.Config{SMTPPort: sink.Port(), Concurrency: 4, BatchSize: 10, RatePerSecond: rate, ClaimLease: 3 * time.Second})
			if err != nil {
				return err
			}
			row, err := crashFanoutTrial(ctx, t, sink, dir, n)
			t.close()
			if err != nil {
				return fmt.Errorf("%s trial %d: %w", kind, i, err)
			}
			tab.add(kind, i, row.killedAt, n, row.missing, row.extra, row.wrongID, row.done)
			tot := totals[kind]
			tot[0]++
			tot[1] += row.missing
			tot[2] += row.extra
			totals[kind] = tot
			if row.missing > 0 || row.wrongID > 0 {
				lost = true
			}
		}
	}
	tab.print()
	for _, kind := range dbList(dbs) {
		tot := totals[kind]
		fmt.Printf("%s: %d trials, %d recipients missing in all, %d extra copies in all (every one with the Message-ID of the update in the recipient's language)\n", kind, tot[0], tot[1], tot[2])
	}
	if lost {
		return errLoss
	}
	return nil
}

type crashRow struct {
	killedAt                int64
	missing, extra, wrongID int
	done                    time.Duration
}

func crashFanoutTrial(ctx context.Context, t *trial, sink *reliability.Sink, dir reliability.Directory, n int) (crashRow, error) {
	var row crashRow
	hub, err := t.start()
	if err != nil {
		return row, err
	}
	ref, err := t.api.Declare(ctx, "Crash test", "SEV2", "comms@example.test", "lead@example.test")
	if err != nil {
		hub.Kill9()
		return row, err
	}
	up, err := t.api.SendUpdate(ctx, ref, "Crash test update.", "", "all-staff")
	if err != nil {
		hub.Kill9()
		return row, err
	}
	ids, rows := up.MessageIDs()
	if len(dir.Languages) > 0 && len(ids) != len(dir.Languages) {
		hub.Kill9()
		return row, fmt.Errorf("the update went out in %d languages (%v), want %d", len(ids), ids, len(dir.Languages))
	}
	// A random moment of the fan-out: between a tenth and nine tenths of
	// the recipients accepted.
	killAt := int64(n/10 + rand.IntN(n*8/10))
	deadline := time.Now().Add(2 * time.Minute)
	for sink.Accepted() < killAt {
		if time.Now().After(deadline) {
			dumpLog(hub)
			hub.Kill9()
			return row, fmt.Errorf("only %d accepted in 2 minutes", sink.Accepted())
		}
		time.Sleep(time.Millisecond)
	}
	hub.Kill9()
	row.killedAt = sink.Accepted()

	restarted := time.Now()
	hub, err = t.start()
	if err != nil {
		return row, err
	}
	defer hub.Stop()
	deadline = time.Now().Add(3 * time.Minute)
	for {
		got, pending := 0, 0
		for _, id := range ids {
			c, _ := sink.CopiesOf(id)
			got += c
		}
		for _, r := range rows {
			pending += t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state IN ('queued', 'sending', 'deferred')`, r)
		}
		if got >= n && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			dumpLog(hub)
			break // counted below as missing
		}
		time.Sleep(50 * time.Millisecond)
	}
	row.done = time.Since(restarted)
	copies := sink.Copies()
	for i, p := range reliability.People("p", n) {
		got := copies[p]
		if len(got) == 0 {
			row.missing++
			continue
		}
		row.extra += len(got) - 1
		// Every copy, the resent ones too, carries the Message-ID of the
		// update in the recipient's own language.
		want := ids[cmp.Or(dir.LanguageOf(i), "en")]
		for _, id := range got {
			if id != want {
				row.wrongID++
			}
		}
	}
	for _, r := range rows {
		if failed := t.count(ctx, `SELECT COUNT(*) FROM delivery_states WHERE message_id = $1 AND state = 'failed'`, r); failed > 0 {
			return row, fmt.Errorf("%d deliveries failed against a sink that accepts everything", failed)
		}
	}
	return row, nil
}
