package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/inbox"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// TestFullLoopOverRealMail: the hub sends a status update through Postfix
// into Dovecot; ana reads it over IMAP and answers through SMTP to the
// Reply-To; the hub reads its own Dovecot inbox: the reply is on the
// timeline once, forwarded to the comms lead only, and flagged done.
func TestFullLoopOverRealMail(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Payments fail for all EU customers; failing over to the backup provider.")
	stop := h.run(h.ingester(""))
	defer stop()

	// ana's mail client: the update arrived; she answers it.
	got := h.mailOf("ana", 1)
	if len(got) != 1 || !strings.Contains(bodyOf(got[0]), "failing over") {
		t.Fatalf("ana: want the update, got %d messages", len(got))
	}
	h.answer(got[0], reply{from: "ana", body: "When will EU customers be able to pay again?\nAna"})

	h.waitActed(1)
	replies, err := h.store.Replies(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(replies) != 1 {
		t.Fatalf("want 1 reply, got %+v", replies)
	}
	r := replies[0]
	if r.Class != "reply" || r.Sender != "ana@example.test" || r.MatchedBy != mailmsg.MatchToken || r.State != mailmsg.StateProcessed {
		t.Errorf("reply %+v", r)
	}
	if !strings.HasPrefix(r.Text, "When will EU customers be able to pay again?") || strings.Contains(r.Text, "quoted") {
		t.Errorf("reply text must be the new text only, got %q", r.Text)
	}
	if ev := h.replyEvents(inc); len(ev) != 1 || ev[float64(r.ID)] != 1 {
		t.Errorf("want the reply on the timeline once, got %v", ev)
	}

	// The comms lead gets it; nobody else does.
	vp := h.mailOf("vp", 1)
	if len(vp) != 1 || !strings.Contains(bodyOf(vp[0]), "When will EU customers be able to pay again?") {
		t.Fatalf("vp: want the forwarded question, got %d messages", len(vp))
	}
	time.Sleep(300 * time.Millisecond) // anything misrouted would have arrived by now
	if n := len(h.mailOf("r1", 0)); n != 1 {
		t.Errorf("the responder must have only the heads-up, has %d messages", n)
	}
	if n := len(h.mailOf("lead", 0)); n != 0 {
		t.Errorf("the incident lead must not get stakeholder replies, has %d messages", n)
	}
	if n := len(h.mailOf("ben", 0)); n != 1 {
		t.Errorf("ben must have only the update, has %d", n)
	}

	// The message is flagged done in the hub's mailbox.
	h.eventually(10*time.Second, func() (bool, string) {
		fl := h.flags("INBOX")
		return len(fl) == 1 && slices.Contains(fl[0], inbox.KeywordDone) && slices.Contains(fl[0], imap.FlagSeen), fmt.Sprint(fl)
	})
}

// TestKillMidIngestEveryReplyOnce: the ingester dies after fetching and
// before the checkpoint, and again after storing and before acting; after
// restarts every reply is on the timeline exactly once.
func TestKillMidIngestEveryReplyOnce(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Investigating.")
	orig := h.mailOf("ana", 1)[0]
	h.stopWorker() // nothing is acted on until the end

	const n = 12
	h.appendQuestions(orig, "ana", "Question number %d?", n)

	// 1. Crash after fetching, before the transaction commits.
	g := h.ingester("")
	g.ChunkSize = 5
	ctx, cancel := context.WithCancel(context.Background())
	inbox.SetHooks(g, func([]uint32) error { cancel(); return errors.New("killed before commit") }, nil)
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	<-done
	if got := h.count(`SELECT COUNT(*) FROM inbound_messages`); got != 0 {
		t.Fatalf("a rolled-back chunk left %d rows", got)
	}

	// 2. Crash after the first chunk is stored, before anything is acted on.
	g = h.ingester("")
	g.ChunkSize = 5
	ctx, cancel = context.WithCancel(context.Background())
	inbox.SetHooks(g, nil, func([]uint32) { cancel() })
	done = make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	<-done
	if got := h.count(`SELECT COUNT(*) FROM inbound_messages`); got != 5 {
		t.Fatalf("want the first chunk of 5 stored, got %d", got)
	}

	// 3. Restart: the rest is fetched, the worker acts on all of them.
	h.run(h.ingester(""))
	h.startWorker()
	h.waitActed(n)
	ev := h.replyEvents(inc)
	if len(ev) != n {
		t.Fatalf("want %d replies on the timeline, got %d: %v", n, len(ev), ev)
	}
	for id, c := range ev {
		if c != 1 {
			t.Errorf("inbound %v is on the timeline %d times", id, c)
		}
	}
	// Each question forwarded once.
	h.eventually(30*time.Second, func() (bool, string) {
		got := h.messagesOfKind(compose.KindStakeholderReply)
		return got == n, fmt.Sprintf("%d forwards", got)
	})
}

// TestUIDValidityChangeResyncsWithoutDoubles: the mailbox is recreated
// (new UIDVALIDITY, every UID reused) with the old messages and one new
// one: the new one is ingested, the old ones are not doubled.
func TestUIDValidityChangeResyncsWithoutDoubles(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Investigating.")
	orig := h.mailOf("ana", 1)[0]

	c, err := h.ms.DialIMAP("status")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Create("Replies", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	old := [][]byte{
		h.compose(orig, reply{from: "ana", body: "First?"}),
		h.compose(orig, reply{from: "ben", body: "Second?"}),
		h.compose(orig, reply{from: "ana", body: "Third?"}),
	}
	h.appendRaw("Replies", old...)
	stop := h.run(h.ingester("Replies"))
	h.waitActed(3)
	stop()
	st1, _ := c.Status("Replies", &imap.StatusOptions{UIDValidity: true}).Wait()

	if err := c.Delete("Replies").Wait(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // Dovecot's UIDVALIDITY is a time in seconds
	if err := c.Create("Replies", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	h.appendRaw("Replies", append(old, h.compose(orig, reply{from: "ben", body: "Fourth?"}))...)
	st2, _ := c.Status("Replies", &imap.StatusOptions{UIDValidity: true}).Wait()
	if st1.UIDValidity == st2.UIDValidity {
		t.Fatalf("the mailbox kept UIDVALIDITY %d", st1.UIDValidity)
	}

	h.run(h.ingester("Replies"))
	h.waitActed(4)
	time.Sleep(500 * time.Millisecond)
	if got := h.count(`SELECT COUNT(*) FROM inbound_messages`); got != 4 {
		t.Fatalf("want 4 messages stored once each, got %d", got)
	}
	ev := h.replyEvents(inc)
	if len(ev) != 4 {
		t.Fatalf("want 4 replies on the timeline, got %v", ev)
	}
	// The old copies in the new mailbox are flagged done too.
	h.eventually(10*time.Second, func() (bool, string) {
		fl := h.flags("Replies")
		done := 0
		for _, f := range fl {
			if slices.Contains(f, inbox.KeywordDone) {
				done++
			}
		}
		return done == 4, fmt.Sprint(fl)
	})
}

// TestCopiesOfRepliesAreActedOnOnce: the same replies arrive several
// times, byte for byte and redelivered with another trace header, within
// one transaction's batch and across batches; one of them has a Message-ID
// in UTF-8 with a quote and a backslash (RFC 6532 allows it). A byte-for-
// byte copy is not stored again; a redelivery is stored as a duplicate and
// not acted on; each reply is on the timeline once.
func TestCopiesOfRepliesAreActedOnOnce(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Investigating.")
	orig := h.mailOf("ana", 1)[0]

	a := h.compose(orig, reply{from: "ana", body: "Is checkout back?"})
	b := h.compose(orig, reply{from: "ben", body: "Which regions are affected?"})
	mid := regexp.MustCompile(`(?m)^Message-ID: <[^>]*>\r\n`)
	b = mid.ReplaceAll(b, []byte("Message-ID: <r\u00e9ponse-\"\\1@client.example.test>\r\n"))
	redelivered := func(raw []byte, relay string) []byte {
		return append([]byte("Received: from "+relay+".example.test by mx.example.test; Mon, 1 Jan 2024 10:00:00 +0000\r\n"), raw...)
	}
	// Three per transaction (ChunkSize 3).
	h.appendRaw("INBOX",
		a, a, redelivered(a, "relay1"), // a copy and a duplicate of a stored in the same transaction
		b, redelivered(a, "relay1"), redelivered(a, "relay2"), // copies of what the first stored
		redelivered(b, "relay1"), b, a)
	g := h.ingester("")
	g.ChunkSize = 3
	h.run(g)
	h.waitActed(5)
	time.Sleep(500 * time.Millisecond) // anything stored twice would be by now

	if got := h.count(`SELECT COUNT(*) FROM inbound_messages`); got != 5 {
		t.Errorf("want 5 messages stored (2 replies, 3 redeliveries), got %d", got)
	}
	if got := h.count(`SELECT COUNT(*) FROM inbound_messages WHERE state = $1`, mailmsg.StateDuplicate); got != 3 {
		t.Errorf("want the 3 redeliveries stored as duplicates, got %d", got)
	}
	if got := h.count(`SELECT COUNT(*) FROM inbound_messages WHERE message_key = $1`, "r\u00e9ponse-\"\\1@client.example.test"); got != 1 {
		t.Errorf("want b's Message-ID as the key of one message, got %d", got)
	}
	ev := h.replyEvents(inc)
	if len(ev) != 2 {
		t.Fatalf("want 2 replies on the timeline, got %v", ev)
	}
	for id, c := range ev {
		if c != 1 {
			t.Errorf("inbound %v is on the timeline %d times", id, c)
		}
	}
}

// TestOneIngesterPerMailbox: two replicas on one database; one reads, and
// the other takes over when it stops.
func TestOneIngesterPerMailbox(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Investigating.")
	orig := h.mailOf("ana", 1)[0]

	var storedBy [2]atomic.Int32
	a, b := h.ingester(""), h.ingester("")
	a.Owner, b.Owner = "replica-a", "replica-b"
	// A lease long enough that a renewal late by seconds on a loaded
	// machine (two suites on 2 cores) does not hand it over: a 2-s lease
	// once went to b while a was still reading. a hands it back when it
	// stops, so b takes over at once all the same.
	a.Lease, b.Lease = 10*time.Second, 10*time.Second
	inbox.SetHooks(a, nil, func(u []uint32) { storedBy[0].Add(int32(len(u))) })
	inbox.SetHooks(b, nil, func(u []uint32) { storedBy[1].Add(int32(len(u))) })
	stopA := h.run(a)
	// a takes the lease first: wait until it holds it, however loaded the
	// machine, before b starts.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var owner string
		h.db.QueryRow(`SELECT owner FROM inbox_leases`).Scan(&owner)
		if owner == "replica-a" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica a never took the lease (owner %q)", owner)
		}
	}
	h.run(b)

	h.appendRaw("INBOX", h.compose(orig, reply{from: "ana", body: "One?"}))
	h.waitActed(1)
	if storedBy[0].Load() != 1 || storedBy[1].Load() != 0 {
		t.Fatalf("replica a holds the lease: stored a=%d b=%d", storedBy[0].Load(), storedBy[1].Load())
	}
	var owner string
	h.db.QueryRow(`SELECT owner FROM inbox_leases`).Scan(&owner)
	if owner != "replica-a" {
		t.Fatalf("lease owner %q", owner)
	}

	stopA() // a stops (and hands the lease back); b takes over
	h.appendRaw("INBOX", h.compose(orig, reply{from: "ben", body: "Two?"}))
	h.waitActed(2)
	if storedBy[1].Load() != 1 {
		t.Fatalf("replica b must take over: stored a=%d b=%d", storedBy[0].Load(), storedBy[1].Load())
	}
	if ev := h.replyEvents(inc); len(ev) != 2 {
		t.Fatalf("want 2 replies, got %v", ev)
	}
}

// TestActJobsCarryTheirTransactionsMessages: each store transaction
// queues act jobs carrying its messages (not one job per message); those
// of a backlog are held back until all of it is stored; a job in the older
// one-message form still runs, and a message named by two jobs is acted
// on once.
func TestActJobsCarryTheirTransactionsMessages(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Investigating.")
	orig := h.mailOf("ana", 1)[0]
	h.stopWorker() // the jobs wait until the end

	const n = 12
	h.appendQuestions(orig, "ben", "Question %d?", n)
	g := h.ingester("")
	g.ChunkSize = 5
	var notHeld []int // act jobs that could run, after each transaction
	inbox.SetHooks(g, nil, func([]uint32) {
		notHeld = append(notHeld, h.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'inbox_act' AND state <> 'scheduled'`))
	})
	stop := h.run(g)
	h.eventually(30*time.Second, func() (bool, string) {
		got := h.count(`SELECT COUNT(*) FROM inbound_messages`)
		return got == n, fmt.Sprintf("%d of %d stored", got, n)
	})
	stop()
	if !slices.Equal(notHeld, []int{0, 0, 0}) {
		t.Errorf("act jobs must wait while the backlog is stored: available after each transaction %v", notHeld)
	}
	if got := h.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'inbox_act' AND state = 'available'`); got != 3 {
		t.Errorf("want the 3 act jobs released once the backlog is stored, %d are available", got)
	}

	list, err := h.inserter.JobList(context.Background(), river.NewJobListParams().Kinds(inbox.ActArgs{}.Kind()).
		OrderBy(river.JobListOrderByID, river.SortOrderAsc).First(100))
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var all []int64
	var perJob [][]int64
	for _, job := range list.Jobs {
		var args inbox.ActArgs
		if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
			t.Fatalf("act job args %s: %v", job.EncodedArgs, err)
		}
		sizes = append(sizes, len(args.InboundIDs))
		if !slices.IsSorted(args.InboundIDs) {
			t.Errorf("a job's messages out of their order of arrival: %v", args.InboundIDs)
		}
		all = append(all, args.InboundIDs...)
		perJob = append(perJob, args.InboundIDs)
	}
	slices.Sort(sizes) // on PostgreSQL two transactions of a backlog store side by side
	if !slices.Equal(sizes, []int{2, 5, 5}) {
		t.Fatalf("want act jobs of 5, 5 and 2 messages (one per transaction), got %v", sizes)
	}
	// Across transactions the ids may interleave (PostgreSQL hands out the
	// second one's while the first is still inserting); each stored
	// message is named once.
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != n || len(all) != n {
		t.Fatalf("want the %d stored ids once each, got %v", n, all)
	}

	// Jobs queued by an older version name one message each: the first
	// transaction's job is replaced by such jobs, and one more names a
	// message that the second transaction's job carries too.
	ctx := context.Background()
	if _, err := h.inserter.JobDelete(ctx, list.Jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(slices.Clone(perJob[0]), perJob[1][0]) {
		if _, err := h.inserter.Insert(ctx, inbox.ActArgs{InboundID: id}, nil); err != nil {
			t.Fatal(err)
		}
	}
	h.startWorker()
	h.waitActed(n)
	h.eventually(10*time.Second, func() (bool, string) {
		left := h.count(`SELECT COUNT(*) FROM river_job WHERE kind = 'inbox_act' AND state <> 'completed'`)
		return left == 0, fmt.Sprintf("%d act jobs not completed", left)
	})
	ev := h.replyEvents(inc)
	if len(ev) != n {
		t.Fatalf("want %d replies on the timeline, got %v", n, ev)
	}
	for id, c := range ev {
		if c != 1 {
			t.Errorf("inbound %v is on the timeline %d times", id, c)
		}
	}
}

// unreleasing queues jobs but cannot release held ones: what the jobs of
// an ingester that died before the end of a backlog look like.
type unreleasing struct{ inbox.JobInserter }

func (unreleasing) JobRetry(context.Context, int64) (*rivertype.JobRow, error) {
	return nil, errors.New("the ingester died before releasing its held jobs")
}

// TestHeldActJobsRunWhenTheIngesterDies: a backlog's act jobs, held back
// while it is stored, run when their hold ends if nobody releases them;
// every reply once.
func TestHeldActJobsRunWhenTheIngesterDies(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.startWorker()
	inc := h.declare()
	h.update(inc, "Investigating.")
	orig := h.mailOf("ana", 1)[0]

	const n = 12
	h.appendQuestions(orig, "ben", "Question %d?", n)
	g := h.ingester("")
	g.ChunkSize = 5
	g.Jobs = unreleasing{h.inserter}
	inbox.SetBacklogHold(g, time.Second)
	h.run(g)
	h.waitActed(n)
	ev := h.replyEvents(inc)
	if len(ev) != n {
		t.Fatalf("want %d replies on the timeline, got %v", n, ev)
	}
	for id, c := range ev {
		if c != 1 {
			t.Errorf("inbound %v is on the timeline %d times", id, c)
		}
	}
}

// appendQuestions puts n replies from one person to orig in the INBOX,
// each with its number in format.
func (h *hub) appendQuestions(orig []byte, from, format string, n int) {
	h.t.Helper()
	raws := make([][]byte, n)
	for i := range raws {
		raws[i] = h.compose(orig, reply{from: from, body: fmt.Sprintf(format, i)})
	}
	h.appendRaw("INBOX", raws...)
}
