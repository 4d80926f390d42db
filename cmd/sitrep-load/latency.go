package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-dev/sitrep/internal/reliability"
)

// -latency measures what a reader of a status update waits for while
// several incidents are running: the time from the POST of an update
// until the SMTP server has accepted the first copy of its message, with
// -incidents incidents each updating every -every, their updates
// staggered evenly (20 incidents, one a minute each: one POST every 3 s).
// Each incident mails its own group (50–500 people drawn from the
// groups.yaml of -n, overlapping with its neighbours' groups), so that the
// fan-outs run into each other as they would on a bad day.

type latencyOptions struct {
	incidents          int
	every, duration    time.Duration
	groupMin, groupMax int
}

// slot is one scheduled update: incident's round-th, at from the start.
type slot struct {
	at              time.Duration
	incident, round int
}

// schedule spreads the updates: incident k posts at k·every/incidents and
// then every `every`, until duration. Ordered by time.
func schedule(incidents int, every, duration time.Duration) []slot {
	if incidents <= 0 || every <= 0 {
		return nil
	}
	step := every / time.Duration(incidents)
	var out []slot
	for r := 0; ; r++ {
		for k := 0; k < incidents; k++ {
			at := time.Duration(r)*every + time.Duration(k)*step
			if at >= duration {
				return out
			}
			out = append(out, slot{at: at, incident: k, round: r})
		}
	}
}

// incidentAudiences picks each incident's group from the people 0..n-1:
// a size between lo and hi (fixed seed, so runs compare), starting hi/2
// after the previous group's start, so that neighbouring groups share
// people and their fan-outs overlap.
func incidentAudiences(n, incidents, lo, hi int) ([][]int, error) {
	if lo < 1 || hi < lo || hi > n {
		return nil, fmt.Errorf("group sizes %d–%d do not fit %d people", lo, hi, n)
	}
	r := rand.New(rand.NewPCG(22, 22))
	out := make([][]int, incidents)
	for k := range out {
		size := lo + r.IntN(hi-lo+1)
		start := k * max(hi/2, 1) % n
		for j := 0; j < size; j++ {
			out[k] = append(out[k], (start+j)%n)
		}
	}
	return out, nil
}

func incidentGroup(k int) string { return fmt.Sprintf("incident-%02d", k) }

// appendGroups adds the incidents' groups to the end of a groups.yaml
// that writeDirectory wrote (its groups list is last).
func appendGroups(path string, audiences [][]int) error {
	var b strings.Builder
	for k, members := range audiences {
		fmt.Fprintf(&b, "  - name: %s\n    display_name: Incident %d audience\n    members:\n", incidentGroup(k), k+1)
		for _, i := range members {
			fmt.Fprintf(&b, "      - %s\n", address(i))
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// percentile is the nearest-rank percentile (p in (0, 100]) of sorted
// durations: a value that was measured, never an interpolation.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// byMessage turns the sink's recipient → Message-IDs into Message-ID →
// recipient → copies.
func byMessage(copies map[string][]string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for rcpt, ids := range copies {
		for _, id := range ids {
			m := out[id]
			if m == nil {
				m = map[string]int{}
				out[id] = m
			}
			m[rcpt]++
		}
	}
	return out
}

// exactlyOnce compares the copies of one update (all its Message-IDs, one
// per language) with its audience: everyone once, no one else.
func exactlyOnce(want []string, got map[string]int) error {
	var missing, twice, stray []string
	in := make(map[string]bool, len(want))
	for _, w := range want {
		in[w] = true
		switch c := got[w]; {
		case c == 0:
			missing = append(missing, w)
		case c > 1:
			twice = append(twice, fmt.Sprintf("%s×%d", w, c))
		}
	}
	for r := range got {
		if !in[r] {
			stray = append(stray, r)
		}
	}
	if len(missing)+len(twice)+len(stray) == 0 {
		return nil
	}
	sort.Strings(stray)
	first := func(l []string) string {
		if len(l) > 3 {
			return strings.Join(l[:3], ", ") + ", …"
		}
		return strings.Join(l, ", ")
	}
	return fmt.Errorf("NOT exactly once: %d missing (%s), %d more than once (%s), %d not in the audience (%s)",
		len(missing), first(missing), len(twice), first(twice), len(stray), first(stray))
}

// merged adds up the copies of an update's Message-IDs.
func merged(msgs map[string]map[string]int, ids []string) map[string]int {
	out := map[string]int{}
	for _, id := range ids {
		for r, c := range msgs[id] {
			out[r] += c
		}
	}
	return out
}

// posted is one update as sent and answered.
type posted struct {
	slot
	sent     time.Time     // when the POST went out
	answered time.Duration // the POST's own answer time
	ids      []string      // Message-IDs of the update (one per language)
	err      error
}

// runLatency is the -latency mode: see the comment at the top.
func runLatency(ctx context.Context, o options, lo latencyOptions) error {
	if lo.incidents < 1 {
		return errors.New("-incidents must be at least 1")
	}
	audiences, err := incidentAudiences(o.n, lo.incidents, lo.groupMin, lo.groupMax)
	if err != nil {
		return err
	}
	sink, err := reliability.StartSink(false)
	if err != nil {
		return err
	}
	defer sink.Close()
	sv, err := startServed(ctx, o, sink.Port(), func(path string) error {
		if err := writeDirectory(path, o.n); err != nil {
			return err
		}
		return appendGroups(path, audiences)
	})
	if err != nil {
		return err
	}
	defer sv.Close(o)
	slots := schedule(lo.incidents, lo.every, lo.duration)
	sizes := make([]int, len(audiences))
	total := 0
	for k, a := range audiences {
		sizes[k] = len(a)
	}
	for _, s := range slots {
		total += sizes[s.incident]
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("latency: `sitrep serve` on %s, %d incidents each updating every %s for %s (one POST every %s): %d updates, %d recipients in all; groups of %d–%d (%d people in groups.yaml); load average %s",
		sv.db, lo.incidents, lo.every, lo.duration, lo.every/time.Duration(lo.incidents), len(slots), total, slices.Min(sizes), slices.Max(sizes), o.n+2, load)

	refs := make([]string, lo.incidents)
	for k := range refs {
		if refs[k], err = sv.api.Declare(ctx, fmt.Sprintf("%s (%d)", incidentTitle, k+1), "SEV1", "comms@example.test", "lead@example.test"); err != nil {
			return fmt.Errorf("declare: %w", err)
		}
	}
	// Whatever declaring sent is not an update's (and has other
	// Message-IDs, so it is not counted either way).
	time.Sleep(time.Second)

	cpu0 := sv.hub.Usage().CPU
	results := make([]posted, len(slots))
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range slots {
		time.Sleep(time.Until(start.Add(s.at)))
		wg.Add(1)
		// Each POST in its own goroutine: a slow answer must not delay the
		// next incident's update, as it would not in real life.
		go func() {
			defer wg.Done()
			p := posted{slot: s}
			text := fmt.Sprintf("Update %d. %s", s.round+1, statusText)
			p.sent = time.Now()
			u, err := sv.api.SendUpdate(ctx, refs[s.incident], text, "", incidentGroup(s.incident))
			p.answered = time.Since(p.sent)
			if err != nil {
				p.err = fmt.Errorf("%s update %d: %w", refs[s.incident], s.round+1, err)
			}
			byLang, _ := u.MessageIDs()
			for _, id := range byLang {
				if id != "" {
					p.ids = append(p.ids, id)
				}
			}
			if p.err == nil && len(p.ids) == 0 {
				p.err = fmt.Errorf("%s update %d: the API named no Message-ID", refs[s.incident], s.round+1)
			}
			results[i] = p
		}()
	}
	wg.Wait()
	for _, p := range results {
		if p.err != nil {
			return p.err
		}
	}

	// Everyone of every update, or fail after -timeout.
	want := func(k int) []string {
		out := make([]string, len(audiences[k]))
		for j, i := range audiences[k] {
			out[j] = address(i)
		}
		return out
	}
	deadline := time.Now().Add(o.timeout)
	for {
		msgs := byMessage(sink.Copies())
		var late []string
		for _, p := range results {
			if got := merged(msgs, p.ids); len(got) < sizes[p.incident] {
				late = append(late, fmt.Sprintf("%s update %d: %d of %d", refs[p.incident], p.round+1, len(got), sizes[p.incident]))
			}
		}
		if len(late) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d updates not delivered to everyone %s after the last POST: %s",
				len(late), len(results), o.timeout, strings.Join(late[:min(len(late), 5)], "; "))
		}
		time.Sleep(250 * time.Millisecond)
	}
	done := time.Since(start)
	cpu := sv.hub.Usage().CPU - cpu0
	// A second copy would come in the same fan-out; give it a moment.
	time.Sleep(time.Second)
	msgs := byMessage(sink.Copies())
	var firsts, answers []time.Duration
	for _, p := range results {
		if err := exactlyOnce(want(p.incident), merged(msgs, p.ids)); err != nil {
			return fmt.Errorf("%s update %d: %w", refs[p.incident], p.round+1, err)
		}
		var first time.Time
		for _, id := range p.ids {
			if t := sink.FirstSeen(id); !t.IsZero() && (first.IsZero() || t.Before(first)) {
				first = t
			}
		}
		firsts = append(firsts, first.Sub(p.sent))
		answers = append(answers, p.answered)
	}
	slices.Sort(firsts)
	slices.Sort(answers)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
	load, _ = os.ReadFile("/proc/loadavg")
	fmt.Printf("latency: %d updates on %s; POST → first recipient accepted: p50 %s, p95 %s, max %s (min %s)\n",
		len(results), sv.db, ms(percentile(firsts, 50)), ms(percentile(firsts, 95)), ms(firsts[len(firsts)-1]), ms(firsts[0]))
	fmt.Printf("latency: the POST's own answer: p50 %s, p95 %s, max %s\n",
		ms(percentile(answers, 50)), ms(percentile(answers, 95)), ms(answers[len(answers)-1]))
	fmt.Printf("latency: all %d recipients accepted %.1fs after the first POST; sitrep's CPU %.1fs over that time; every update's audience exactly once; load average now %s",
		total, done.Seconds(), cpu.Seconds(), load)
	return nil
}
