package inbox_test

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/sitrep-dev/sitrep/internal/inbox"
)

// BenchmarkReplyLatency measures, against the real Postfix and Dovecot,
// the time from Postfix accepting a reply (250 after DATA; Dovecot has it
// ~10-20 ms later) to the reply being on the incident's timeline, over 100
// replies one after another, with each watch mode. Run with
//
//	SITREP_TEST_DB=sqlite go test -run '^$' -bench ReplyLatency -benchtime 1x ./internal/inbox/
func BenchmarkReplyLatency(b *testing.B) {
	for _, mode := range []struct {
		name  string
		watch string
		poll  time.Duration
	}{{"idle", inbox.WatchIdle, 0}, {"poll50ms", inbox.WatchPoll, 50 * time.Millisecond}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				h := newHub(b)
				h.startWorker()
				inc := h.declare()
				h.update(inc, "Investigating.")
				orig := h.mailOf("ana", 1)[0]
				g := h.ingester("")
				g.Watch, g.PollInterval = mode.watch, mode.poll
				g.Housekeeping = 2 * time.Second // the default: IDLE is not cut short by the tests' 200ms
				h.run(g)
				time.Sleep(300 * time.Millisecond) // logged in and watching

				const n = 100
				var lat []time.Duration
				for i := range n {
					raw := h.compose(orig, reply{from: "ben", body: fmt.Sprintf("Question %d?", i)})
					h.send("ben", []string{"status+" + inc.ReplyToken + "@example.test"}, raw)
					start := time.Now()
					for h.count(`SELECT COUNT(*) FROM timeline_events WHERE incident_id = $1 AND kind = 'reply_received'`, inc.ID) < i+1 {
						if time.Since(start) > 30*time.Second {
							b.Fatalf("reply %d not on the timeline after 30s", i)
						}
						time.Sleep(2 * time.Millisecond)
					}
					lat = append(lat, time.Since(start))
				}
				slices.Sort(lat)
				p50, p95 := lat[n/2], lat[n*95/100]
				b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
				b.ReportMetric(float64(p95.Milliseconds()), "p95-ms")
				b.ReportMetric(float64(lat[n-1].Milliseconds()), "max-ms")
				b.Logf("%s: reply accepted by Postfix → on the timeline, %d replies: p50 %s p95 %s max %s",
					mode.name, n, p50.Round(time.Millisecond), p95.Round(time.Millisecond), lat[n-1].Round(time.Millisecond))
			}
		})
	}
}

// BenchmarkBacklog fills the hub's Dovecot mailbox with 10,000 messages,
// then times a bare go-imap UID FETCH loop (chunks of 500, BODY.PEEK[])
// over it and the ingester storing all of it (fetch, hash, row, act job,
// checkpoint), on the same mailbox. Acting is not included: it is River's
// work, measured by the latency benchmark.
//
// The ingester starts on the mailbox for the first time: before fetching it
// searches for the messages within its horizon (UID SEARCH SINCE), which
// on a Maildir reads every message's date. The bare loop times neither
// that search nor its login.
func BenchmarkBacklog(b *testing.B) { benchmarkBacklog(b, false, false) }

// BenchmarkBacklogAfterDowntime is BenchmarkBacklog for the backlog of an
// outage of sitrep itself: the ingester had read the mailbox before, and
// the 10,000 messages arrived while it was stopped. It resumes from its
// checkpoint (UID SEARCH of the UIDs after it).
func BenchmarkBacklogAfterDowntime(b *testing.B) { benchmarkBacklog(b, false, true) }

// BenchmarkBacklogWhileActing is BenchmarkBacklog with the act workers
// running, as in `sitrep serve`: the ingester holds their jobs back until
// the backlog is stored. It also reports how long acting on all of it took
// after that.
func BenchmarkBacklogWhileActing(b *testing.B) { benchmarkBacklog(b, true, false) }

func benchmarkBacklog(b *testing.B, acting, resume bool) {
	const n = 10000
	for range b.N {
		h := newHub(b)
		if acting {
			h.startWorker()
		}
		if resume {
			readEmptyMailbox(b, h)
		}
		fillMaildir(b, h, n)

		c, err := h.ms.DialIMAP("status")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil { // Dovecot indexes the new files here
			b.Fatal(err)
		}
		start := time.Now()
		got := 0
		for lo := uint32(1); ; lo += 500 {
			var set imap.UIDSet
			set.AddRange(imap.UID(lo), imap.UID(lo+499))
			cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
			k := 0
			for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
				if _, err := msg.Collect(); err != nil {
					b.Fatal(err)
				}
				k++
			}
			if err := cmd.Close(); err != nil {
				b.Fatal(err)
			}
			got += k
			if k == 0 || got >= n {
				break
			}
		}
		bare := time.Since(start)
		c.Close()
		if got != n {
			b.Fatalf("bare loop fetched %d of %d", got, n)
		}

		g := h.ingester("") // the default ChunkSize
		// The end is taken from the ingester's commit hook, not by polling
		// the table: a COUNT(*) every 10 ms loaded the database being
		// measured (on SQLite it also waited for, and held up, its one
		// connection).
		var stored atomic.Int64
		all := make(chan struct{})
		inbox.SetHooks(g, nil, func(uids []uint32) {
			if stored.Add(int64(len(uids))) == n {
				close(all)
			}
		})
		start = time.Now()
		stop := h.run(g)
		select {
		case <-all:
		case <-time.After(5 * time.Minute):
			b.Fatalf("ingest: %d of %d after 5 min", stored.Load(), n)
		}
		ingest := time.Since(start)
		if got := h.count(`SELECT COUNT(*) FROM inbound_messages`); got != n {
			b.Fatalf("ingest: %d rows for %d messages", got, n)
		}
		if acting {
			for h.count(`SELECT COUNT(*) FROM inbound_messages WHERE state = 'stored'`) > 0 {
				if time.Since(start) > 10*time.Minute {
					b.Fatalf("acting: %d of %d still waiting after 10 min", h.count(`SELECT COUNT(*) FROM inbound_messages WHERE state = 'stored'`), n)
				}
				time.Sleep(100 * time.Millisecond)
			}
			acted := time.Since(start) - ingest
			b.ReportMetric(acted.Seconds(), "act-s")
			b.Logf("acting on the %d after they were stored: %s (%.0f msg/s)", n, acted.Round(time.Millisecond), float64(n)/acted.Seconds())
		}
		stop()
		bareRate, ingestRate := float64(n)/bare.Seconds(), float64(n)/ingest.Seconds()
		b.ReportMetric(bareRate, "bare-msg/s")
		b.ReportMetric(ingestRate, "ingest-msg/s")
		b.ReportMetric(ingestRate/bareRate, "ratio")
		b.Logf("backlog of %d: bare UID FETCH %s (%.0f msg/s), ingester %s (%.0f msg/s), ratio %.2f",
			n, bare.Round(time.Millisecond), bareRate, ingest.Round(time.Millisecond), ingestRate, ingestRate/bareRate)
	}
}

// createInbox signs in as status and selects its INBOX, which makes
// Dovecot create the Maildir.
func createInbox(b testing.TB, h *hub) {
	b.Helper()
	c, err := h.ms.DialIMAP("status")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	c.Close()
}

// readEmptyMailbox runs the ingester on the empty INBOX until it has saved
// its checkpoint, then stops it.
func readEmptyMailbox(b testing.TB, h *hub) {
	b.Helper()
	createInbox(b, h)
	stop := h.run(h.ingester(""))
	defer stop()
	for deadline := time.Now().Add(30 * time.Second); h.count(`SELECT COUNT(*) FROM inbox_checkpoints`) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the ingester saved no checkpoint in 30 s")
		}
	}
}

// fillMaildir writes n distinct replies straight into status's Maildir
// (as LMTP would, without its 5-8 ms a message), owned by the mail user.
func fillMaildir(b testing.TB, h *hub, n int) {
	b.Helper()
	createInbox(b, h)
	dir := filepath.Join(h.ms.Dir, "mail", "example.test", "status", "Maildir", "new")
	if _, err := os.Stat(dir); err != nil {
		b.Fatalf("maildir: %v", err)
	}
	u, err := user.Lookup("mail")
	if err != nil {
		b.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	now := time.Now()
	for i := range n {
		raw := fmt.Sprintf("From: Ben <ben@example.test>\r\nTo: status+tok@example.test\r\nSubject: Re: [INC-9] Backlog %d\r\n"+
			"Date: %s\r\nMessage-ID: <backlog-%d@client.example.test>\r\nContent-Type: text/plain\r\n\r\n"+
			"Reply number %d of the backlog, a few lines long like a real one.\r\nBen\r\n\r\n> quoted update\r\n> more quoted text\r\n",
			i, now.Format(time.RFC1123Z), i, i)
		path := filepath.Join(dir, fmt.Sprintf("%d.M%dP%d.bench", now.Unix(), i, os.Getpid()))
		if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Chown(path, uid, gid); err != nil {
			b.Fatal(err)
		}
	}
}
