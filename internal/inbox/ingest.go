package inbox

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/sitrep-dev/sitrep/internal/mailauth"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// KeywordDone is the IMAP keyword (RFC 3501 2.3.2) set, beside \Seen, on
// a message the hub has acted on. A resynchronisation after a UIDVALIDITY
// change skips messages that carry it.
const KeywordDone imap.Flag = "$SitrepDone"

// IMAPConfig says where the hub's own mailbox is.
type IMAPConfig struct {
	Addr               string // host:port
	TLS                string // "tls" (implicit, RFC 8314), "starttls" or "none"
	InsecureSkipVerify bool
	Username, Password string
	// OAuth, when set, signs in as Username with an OAuth2 access token
	// (AUTHENTICATE OAUTHBEARER or XOAUTH2) instead of Password.
	OAuth   TokenSigner
	Mailbox string // default INBOX
	// MoveTo is a folder processed messages are moved into; "" leaves them
	// in Mailbox, flagged.
	MoveTo string
	// MaxMessageBytes caps what is fetched and stored of one message; the
	// rest is not downloaded and the row is marked truncated.
	MaxMessageBytes int64
	// Horizon: at first start (no checkpoint) only messages that arrived
	// within it are ingested.
	Horizon time.Duration
}

// TokenSigner runs an IMAP login with an OAuth2 access token, and again
// with a fresh one when the server refuses the first (mailauth.Tokens).
type TokenSigner interface {
	Do(ctx context.Context, server string, login func(token string) error) error
}

var _ TokenSigner = (*mailauth.Tokens)(nil)

// Watch modes: how the ingester learns of new mail between fetches.
const (
	// WatchIdle waits in IDLE (RFC 2177), falling back to WatchPoll when
	// the server lacks it.
	WatchIdle = "idle"
	// WatchPoll sends NOOP every PollInterval (RFC 3501 6.1.2: NOOP is
	// how a client polls for new messages).
	WatchPoll = "poll"
)

// JobInserter queues act jobs in the ingest transaction, many at a time,
// and releases the jobs held back during a backlog (JobRetry makes a
// scheduled job available at once); River's client satisfies it.
type JobInserter interface {
	InsertManyTx(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

var _ JobInserter = (*river.Client[*sql.Tx])(nil)

// Ingester reads the hub's mailbox: it stores new messages, their act jobs
// (each carrying up to actJobSize messages) and the checkpoint in one
// transaction per chunk. Run it on every replica: a lease lets one at a
// time read a mailbox, and another takes over when that one dies.
type Ingester struct {
	IMAP   IMAPConfig
	DB     *store.DB
	Jobs   JobInserter
	Logger *slog.Logger
	Now    func() time.Time

	// Owner names this replica in the lease; default host name, pid and a
	// random suffix.
	Owner string
	// Lease is how long the mailbox stays reserved without renewal
	// (default 30s): the takeover time when a replica dies.
	Lease time.Duration
	// Watch is WatchIdle (default) or WatchPoll.
	Watch string
	// PollInterval between NOOPs in poll mode (default 250ms).
	PollInterval time.Duration
	// Housekeeping is how often the watch is interrupted to flag processed
	// messages and renew the lease (default 2s, and at most Lease/3).
	Housekeeping time.Duration
	// ChunkSize is the UIDs per UID FETCH and the messages per store
	// transaction (default 1000). New mail comes in far smaller chunks;
	// the size matters for a backlog, where each transaction's fixed cost
	// is shared by more messages.
	ChunkSize int
	// MinBackoff and MaxBackoff bound the wait before reconnecting after
	// the connection drops (defaults 500ms and 1m).
	MinBackoff, MaxBackoff time.Duration

	wake chan struct{}
	once sync.Once

	// backlogHold is how long a backlog's act jobs wait at most (default
	// defaultBacklogHold; tests shorten it).
	backlogHold time.Duration

	// Test hooks: beforeCommit may fail a chunk's transaction (a crash
	// after fetching, before the checkpoint); afterCommit runs once a chunk
	// is stored.
	beforeCommit func(uids []uint32) error
	afterCommit  func(uids []uint32)
}

func (g *Ingester) init() {
	g.once.Do(func() {
		g.wake = make(chan struct{}, 1)
		if g.Logger == nil {
			g.Logger = slog.Default()
		}
		if g.Owner == "" {
			host, _ := os.Hostname()
			var b [4]byte
			_, _ = rand.Read(b[:])
			g.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
		}
		if g.Lease <= 0 {
			g.Lease = 30 * time.Second
		}
		if g.PollInterval <= 0 {
			g.PollInterval = 250 * time.Millisecond
		}
		if g.Housekeeping <= 0 {
			g.Housekeeping = 2 * time.Second
		}
		g.Housekeeping = min(g.Housekeeping, g.Lease/3)
		if g.backlogHold <= 0 {
			g.backlogHold = defaultBacklogHold
		}
		if g.ChunkSize <= 0 {
			g.ChunkSize = 1000
		}
		if g.MinBackoff <= 0 {
			g.MinBackoff = 500 * time.Millisecond
		}
		if g.MaxBackoff <= 0 {
			g.MaxBackoff = time.Minute
		}
		if g.IMAP.Mailbox == "" {
			g.IMAP.Mailbox = "INBOX"
		}
		if g.IMAP.MaxMessageBytes <= 0 {
			g.IMAP.MaxMessageBytes = 10 << 20
		}
	})
}

func (g *Ingester) now() time.Time {
	if g.Now != nil {
		return g.Now().UTC()
	}
	return time.Now().UTC()
}

// key names the mailbox in checkpoints, leases and stored rows.
func (g *Ingester) key() string {
	return strings.ToLower(g.IMAP.Username) + "/" + g.IMAP.Mailbox
}

// Wake asks the ingester to flag processed messages now rather than at
// the next housekeeping tick. It never blocks.
func (g *Ingester) Wake() {
	g.init()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// Run ingests until ctx ends: it takes the mailbox's lease, connects,
// catches up, watches, and reconnects with backoff when the connection
// drops. It returns nil when ctx ends.
func (g *Ingester) Run(ctx context.Context) error {
	g.init()
	log := g.Logger.With("mailbox", g.key(), "owner", g.Owner)
	backoff := g.MinBackoff
	for ctx.Err() == nil {
		now := g.now()
		ok, err := acquireLease(ctx, g.DB, g.key(), g.Owner, now, now.Add(g.Lease))
		if err != nil {
			log.Warn("ingest lease", "err", err)
		}
		if !ok {
			// Another replica reads the mailbox; try again when its lease
			// could have lapsed.
			sleep(ctx, g.Lease/3)
			continue
		}
		start := time.Now()
		err = g.session(ctx, log)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errLeaseLost) {
			log.Warn("ingest lease lost; another replica reads the mailbox now")
			continue
		}
		if time.Since(start) > 2*g.MaxBackoff {
			backoff = g.MinBackoff // it ran well for a while: this is a new outage
		}
		wait := jitter(backoff)
		log.Warn("imap session ended; reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		sleep(ctx, wait)
		backoff = min(2*backoff, g.MaxBackoff)
	}
	// Let another replica take over at once rather than after the lease.
	_ = releaseLease(context.WithoutCancel(ctx), g.DB, g.key(), g.Owner)
	return nil
}

// session is one IMAP connection, from login until it fails or ctx ends.
func (g *Ingester) session(ctx context.Context, log *slog.Logger) error {
	newMail := make(chan struct{}, 1)
	signal := func() {
		select {
		case newMail <- struct{}{}:
		default:
		}
	}
	c, err := g.connect(ctx, &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				signal() // RFC 3501 7.3.1: EXISTS announces new mail
			}
		},
	})
	if err != nil {
		return err
	}
	defer c.Close()
	sessCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sessCtx.Done():
			c.Close() // unblocks whatever command is waiting
		case <-c.Closed():
		}
	}()

	sel, err := c.Select(g.IMAP.Mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("inbox: imap select %s: %w", g.IMAP.Mailbox, err)
	}
	log.Info("imap mailbox selected", "uidvalidity", sel.UIDValidity, "messages", sel.NumMessages)
	watch := g.Watch
	if watch != WatchPoll && !c.Caps().Has(imap.CapIdle) && !c.Caps().Has(imap.CapIMAP4rev2) {
		log.Info("the IMAP server has no IDLE; polling with NOOP", "interval", g.PollInterval)
		watch = WatchPoll
	}

	house := time.NewTicker(g.Housekeeping)
	defer house.Stop()
	lastRenew := time.Now()
	for {
		if time.Since(lastRenew) >= g.Housekeeping {
			now := g.now()
			ok, err := acquireLease(ctx, g.DB, g.key(), g.Owner, now, now.Add(g.Lease))
			if err != nil {
				return err
			}
			if !ok {
				return errLeaseLost
			}
			lastRenew = time.Now()
		}
		if err := g.catchUp(ctx, c, sel, log); err != nil {
			return err
		}
		if err := g.flagProcessed(ctx, c, sel.UIDValidity); err != nil {
			return err
		}

		if watch == WatchPoll {
			t := time.NewTimer(g.PollInterval)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			if err := c.Noop().Wait(); err != nil {
				return fmt.Errorf("inbox: imap noop: %w", err)
			}
			continue
		}
		idle, err := c.Idle()
		if err != nil {
			return fmt.Errorf("inbox: imap idle: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-newMail:
		case <-g.wake:
		case <-house.C:
		case <-c.Closed():
		}
		if err := idle.Close(); err != nil {
			return fmt.Errorf("inbox: imap idle: %w", err)
		}
		if err := idle.Wait(); err != nil {
			return fmt.Errorf("inbox: imap idle: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// connect dials and signs in: with the password, or with an OAuth2 token
// by the mechanism the server offers, fetched again once when the server
// refuses it. A connection whose sign-in failed is closed.
func (g *Ingester) connect(ctx context.Context, h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	if g.IMAP.OAuth == nil {
		c, err := g.dial(h)
		if err != nil {
			return nil, err
		}
		if err := c.Login(g.IMAP.Username, g.IMAP.Password).Wait(); err != nil {
			c.Close()
			return nil, fmt.Errorf("inbox: imap login as %s: %w", g.IMAP.Username, err)
		}
		return c, nil
	}
	server := "IMAP server " + g.IMAP.Addr
	host, portStr, _ := net.SplitHostPort(g.IMAP.Addr)
	port, _ := strconv.Atoi(portStr)
	var c *imapclient.Client
	err := g.IMAP.OAuth.Do(ctx, server, func(token string) error {
		conn, err := g.dial(h)
		if err != nil {
			return err
		}
		if g.IMAP.TLS == "none" && !isLoopback(host) {
			conn.Close()
			return fmt.Errorf("inbox: refusing to send an OAuth2 token to %s without TLS", g.IMAP.Addr)
		}
		mech, err := mailauth.ChooseMechanism(server, conn.Caps().AuthMechanisms())
		if err != nil {
			conn.Close()
			return err
		}
		cl := mailauth.NewSASL(mech, g.IMAP.Username, token, host, port)
		if err := conn.Authenticate(cl); err != nil {
			conn.Close()
			var imapErr *imap.Error
			if cl.Refusal() != nil || errors.As(err, &imapErr) {
				return mailauth.Refused(fmt.Errorf("inbox: imap authenticate %s as %s: %w", mech, g.IMAP.Username, err))
			}
			return fmt.Errorf("inbox: imap authenticate %s as %s: %w", mech, g.IMAP.Username, err)
		}
		c = conn
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (g *Ingester) dial(h *imapclient.UnilateralDataHandler) (*imapclient.Client, error) {
	host, _, _ := net.SplitHostPort(g.IMAP.Addr)
	opts := &imapclient.Options{
		UnilateralDataHandler: h,
		TLSConfig:             &tls.Config{ServerName: host, InsecureSkipVerify: g.IMAP.InsecureSkipVerify},
		Dialer:                &net.Dialer{Timeout: 15 * time.Second},
	}
	var c *imapclient.Client
	var err error
	switch g.IMAP.TLS {
	case "none":
		c, err = imapclient.DialInsecure(g.IMAP.Addr, opts)
	case "starttls":
		c, err = imapclient.DialStartTLS(g.IMAP.Addr, opts)
	default:
		c, err = imapclient.DialTLS(g.IMAP.Addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: imap connect %s: %w", g.IMAP.Addr, err)
	}
	return c, nil
}

// catchUp fetches every message after the checkpoint and stores it. At
// first start it takes the messages within the horizon; after a
// UIDVALIDITY change every message not yet flagged done, relying on the
// content hash to skip the ones already stored.
func (g *Ingester) catchUp(ctx context.Context, c *imapclient.Client, sel *imap.SelectData, log *slog.Logger) error {
	cp, ok, err := checkpoint(ctx, g.DB, g.key())
	if err != nil {
		return err
	}
	var criteria imap.SearchCriteria
	floor := uint32(0) // UIDs at or below it are not wanted
	resync := false
	switch {
	case !ok:
		criteria.Since = g.now().Add(-g.IMAP.Horizon)
		resync = true
	case cp.UIDValidity != sel.UIDValidity:
		// RFC 3501 2.3.1.1: with a new UIDVALIDITY every UID we knew is
		// void. What was stored before is recognised by its hash.
		log.Warn("UIDVALIDITY changed; resynchronising the mailbox", "was", cp.UIDValidity, "now", sel.UIDValidity)
		criteria.NotFlag = []imap.Flag{KeywordDone}
		resync = true
	default:
		floor = cp.LastUID
		criteria.UID = []imap.UIDSet{{imap.UIDRange{Start: imap.UID(cp.LastUID + 1), Stop: 0}}}
	}
	data, err := c.UIDSearch(&criteria, nil).Wait()
	if err != nil {
		return fmt.Errorf("inbox: imap uid search: %w", err)
	}
	var uids []uint32
	for _, u := range data.AllUIDs() {
		// "n:*" always includes the highest UID, even below n (RFC 3501 6.4.8).
		if uint32(u) > floor {
			uids = append(uids, uint32(u))
		}
	}
	slices.Sort(uids)
	last := floor
	if len(uids) > 0 {
		n, err := g.ingest(ctx, c, sel.UIDValidity, uids)
		if err != nil {
			return err
		}
		last = max(last, n)
	}
	if resync {
		// Nothing below UIDNEXT that the search skipped is wanted (older
		// than the horizon, or done); start the checkpoint there.
		if sel.UIDNext > 0 {
			last = max(last, uint32(sel.UIDNext)-1)
		}
		return g.DB.InTx(ctx, func(tx *sql.Tx) error {
			now := g.now()
			if err := holdLease(ctx, tx, g.key(), g.Owner, now, now.Add(g.Lease)); err != nil {
				return err
			}
			return saveCheckpoint(ctx, tx, g.key(), Checkpoint{UIDValidity: sel.UIDValidity, LastUID: last}, now)
		})
	}
	return nil
}

// fetched is one message as read from the server, with what the store
// needs to know of it (worked out by the fetcher, while the previous batch
// is being stored).
type fetched struct {
	uid          uint32
	raw          []byte
	size         int64
	internalDate time.Time

	hash, messageID string
	truncated       bool
}

func newFetched(uid uint32, raw []byte, size int64, internalDate time.Time) fetched {
	f := fetched{uid: uid, raw: raw, size: size, internalDate: internalDate}
	f.identify()
	return f
}

// identify works out what the store needs to know of a message read from
// the server: its hash, its Message-ID, whether it was cut short.
func (f *fetched) identify() {
	f.truncated = f.size > int64(len(f.raw))
	f.messageID = mailmsg.PeekMessageID(f.raw)
	sum := sha256.New()
	sum.Write(f.raw)
	if f.truncated {
		// Two long messages with the same first bytes differ in size.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(f.size))
		sum.Write(n[:])
	}
	f.hash = hex.EncodeToString(sum.Sum(nil))
}

// maxChunkBytes bounds a batch: at most three are held in memory, the one
// being stored, the next one being identified and the one after being
// fetched (four on PostgreSQL during a backlog, which stores two at a time).
const maxChunkBytes = 16 << 20

// ingest fetches the UIDs, ChunkSize at a time, and stores them in
// batches of up to ChunkSize messages (fewer when maxChunkBytes is
// reached), each batch in one transaction, in UID order; it returns the
// highest UID stored. Fetching and storing overlap: while one batch is
// being stored the next is read from the server, so that a backlog takes
// about as long as the slower of the two rather than their sum.
//
// A backlog (more than one batch) is stored before it is acted on: its act
// jobs are held back, scheduled a little ahead, and released once the
// last batch is stored (or the session ends), so that the act workers do
// not compete with the store for the database (SQLite has one writer).
// Should the ingester die first, they run when the hold ends.
func (g *Ingester) ingest(ctx context.Context, c *imapclient.Client, uidValidity uint32, uids []uint32) (uint32, error) {
	var held heldJobs
	defer g.release(context.WithoutCancel(ctx), &held)
	backlog := len(uids) > g.ChunkSize
	fetchCtx, stopFetch := context.WithCancel(ctx)
	defer stopFetch()
	// Three stages: the fetcher reads the server's responses; the next
	// goroutine hashes each batch and reads its Message-IDs (a third of
	// the reader's CPU when it did it itself); the store. Unbuffered: one
	// batch read and one identified ahead of those being stored.
	read := make(chan []fetched)
	batches := make(chan []fetched)
	fetchErr := make(chan error, 1)
	go func() {
		defer close(read)
		fetchErr <- g.fetch(fetchCtx, c, uids, read)
	}()
	go func() {
		defer close(batches)
		for batch := range read {
			for i := range batch {
				batch[i].identify()
			}
			batches <- batch // always taken: the loop below drains it
		}
	}()
	var last uint32
	var storeErr error
	// On PostgreSQL a backlog is stored two transactions at a time, on two
	// connections (the server's inserts then use both cores); each commits
	// only after the one before it did (see storeAfter), and they are
	// collected here in order, so last only moves over committed batches.
	pipelined := backlog && g.DB.Dialect == store.Postgres
	var flight []*inFlight
	collect := func(p *inFlight) {
		<-p.done
		if p.err != nil {
			if storeErr == nil {
				storeErr = p.err
			}
			stopFetch() // and drain what the fetcher still hands over
			return
		}
		if !p.until.IsZero() {
			held.add(p.jobs, p.until)
		}
		last = p.last
	}
	for batch := range batches {
		if storeErr == nil {
			storeErr = ctx.Err()
		}
		if storeErr == nil {
			var until time.Time
			if backlog {
				until = time.Now().Add(g.backlogHold) // River's clock, not g.Now
			}
			p := &inFlight{last: batch[len(batch)-1].uid, until: until, sorted: make(chan struct{}), done: make(chan struct{})}
			if pipelined {
				if len(flight) == 2 {
					collect(flight[0])
					flight = flight[1:]
					if storeErr != nil {
						continue // the rest fails with it; nothing more is started
					}
				}
				var prev *inFlight // the batch just before, if still in flight
				if len(flight) > 0 {
					prev = flight[len(flight)-1]
				}
				flight = append(flight, p)
				go func() {
					defer close(p.done)
					p.jobs, p.err = g.storeAfter(ctx, uidValidity, batch, until, prev, p)
				}()
				continue
			}
			p.jobs, p.err = g.storeAfter(ctx, uidValidity, batch, until, nil, p)
			close(p.done)
			collect(p)
		}
		if storeErr != nil {
			stopFetch() // and drain what the fetcher still hands over
		}
	}
	for _, p := range flight {
		collect(p)
	}
	err := <-fetchErr
	if storeErr != nil {
		return last, storeErr
	}
	return last, err
}

// defaultBacklogHold is how long the act jobs of a backlog wait at most:
// the ingester releases them as soon as the backlog is stored; the hold
// only runs out when the ingester dies first.
const defaultBacklogHold = time.Minute

// heldJobs are act jobs held back until a backlog is stored.
type heldJobs struct {
	ids   []int64
	until []time.Time
}

func (h *heldJobs) add(ids []int64, until time.Time) {
	for _, id := range ids {
		h.ids = append(h.ids, id)
		h.until = append(h.until, until)
	}
}

// release makes the held act jobs available now. One whose hold has
// already run out is left to River: it may be running or done.
func (g *Ingester) release(ctx context.Context, held *heldJobs) {
	now := time.Now()
	for i, id := range held.ids {
		if !held.until[i].After(now) {
			continue
		}
		if _, err := g.Jobs.JobRetry(ctx, id); err != nil {
			// It runs when its hold ends.
			g.Logger.Warn("held act job not released; it runs when its hold ends", "job", id, "until", held.until[i], "err", err)
		}
	}
}

// fetch reads the UIDs from the server, ChunkSize per UID FETCH, and
// hands them to out in batches, in UID order. It stops when ctx ends
// (after the FETCH in progress, which cannot be cut short).
func (g *Ingester) fetch(ctx context.Context, c *imapclient.Client, uids []uint32, out chan<- []fetched) error {
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: g.IMAP.MaxMessageBytes}}
	var batch []fetched
	var batchBytes int
	send := func() error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
		batch, batchBytes = nil, 0
		return nil
	}
	for start := 0; start < len(uids); start += g.ChunkSize {
		set := imap.UIDSet{}
		for _, u := range uids[start:min(start+g.ChunkSize, len(uids))] {
			set.AddNum(imap.UID(u))
		}
		cmd := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section}})
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			buf, err := msg.Collect()
			if err != nil {
				cmd.Close()
				return fmt.Errorf("inbox: imap fetch: %w", err)
			}
			if buf.UID == 0 {
				continue
			}
			raw := buf.FindBodySection(section)
			// RFC 3501 2.3.1.1: UIDs ascend with sequence numbers, and FETCH
			// answers in sequence order, so the batch is in UID order.
			// identify is left to the next stage (see ingest): the reader
			// only reads.
			batch = append(batch, fetched{uid: uint32(buf.UID), raw: raw, size: buf.RFC822Size, internalDate: buf.InternalDate})
			batchBytes += len(raw)
			if len(batch) >= g.ChunkSize || batchBytes >= maxChunkBytes {
				if err := send(); err != nil {
					cmd.Close()
					return err
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("inbox: imap fetch: %w", err)
		}
	}
	return send()
}

// store writes a batch of fetched messages, their act jobs and the
// checkpoint in one transaction: after a crash either all of it is there
// or none, and the messages are fetched again. The work is done a batch at
// a time (one lookup of what is stored already, then the rows; one act
// job per actJobSize): this is what keeps a backlog's ingest close to the
// speed of the fetch itself.
//
// The act jobs are scheduled at holdUntil when it is set; store returns
// their ids.
func (g *Ingester) store(ctx context.Context, uidValidity uint32, batch []fetched, holdUntil time.Time) ([]int64, error) {
	return g.storeAfter(ctx, uidValidity, batch, holdUntil, nil, nil)
}

// inFlight is a batch's store transaction, while the next one may be
// running beside it.
type inFlight struct {
	last  uint32    // the batch's highest UID
	until time.Time // its act jobs' hold
	// sorted is closed once the batch's rows are decided: hashes then
	// holds every hash of the batch and mids the Message-IDs of the rows
	// it inserts, all of which are stored once it commits.
	sorted chan struct{}
	hashes map[string]bool
	mids   map[string]bool
	// done is closed once the transaction committed (err nil) or failed.
	done chan struct{}
	jobs []int64
	err  error
}

// errBatchBefore fails a batch whose predecessor did not commit: its
// checkpoint would pass messages that are not stored.
var errBatchBefore = errors.New("inbox: store: the batch before did not commit")

// storeAfter is store with, when prev is set, the batch before still in
// flight on another connection (PostgreSQL). This one then does its work
// beside it (the lookup, the rows, the act jobs) but takes the lease, the
// checkpoint and the commit only once prev has committed, and rolls back
// when prev failed: the checkpoint moves over committed batches only, in
// order, and a crash at any point leaves every batch either wholly stored
// or to be fetched again. What prev stores is not yet visible to this
// transaction's lookup; prev's hashes and Message-IDs stand in for it, as
// if prev had committed first (it must, or this one rolls back). self, if
// set, is told of this batch the same way for the next one.
func (g *Ingester) storeAfter(ctx context.Context, uidValidity uint32, batch []fetched, holdUntil time.Time, prev, self *inFlight) ([]int64, error) {
	var jobIDs []int64
	uids := make([]uint32, len(batch))
	for i, f := range batch {
		uids[i] = f.uid
	}
	markSorted := func() {}
	if self != nil {
		var once sync.Once
		markSorted = func() { once.Do(func() { close(self.sorted) }) }
		// On a failure before sortOut too; the next batch then waits for
		// this one's end and rolls back with it.
		defer markSorted()
		self.hashes, self.mids = map[string]bool{}, map[string]bool{}
		for _, f := range batch {
			self.hashes[f.hash] = true
		}
	}
	err := g.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := g.now()
		if prev == nil {
			if err := holdLease(ctx, tx, g.key(), g.Owner, now, now.Add(g.Lease)); err != nil {
				return err
			}
		}
		have, seenMID, err := g.lookupKnown(ctx, tx, batch)
		if err != nil {
			return err
		}
		if prev != nil {
			<-prev.sorted
			for h := range prev.hashes {
				if _, ok := have[h]; !ok {
					// Stored by prev in this UIDVALIDITY: skipped, as the
					// lookup would have found it had prev committed first.
					have[h] = known{uidValidity: uidValidity, mailbox: g.key()}
				}
			}
			for m := range prev.mids {
				seenMID[m] = true
			}
		}
		rows, renumber := g.sortOut(batch, uidValidity, have, seenMID, now)
		if self != nil {
			for _, r := range rows {
				if r.messageID != "" {
					self.mids[r.messageID] = true
				}
			}
			markSorted()
		}
		for _, r := range renumber {
			if _, err := tx.ExecContext(ctx, queries.Get("renumber-inbound"), int64(uidValidity), int64(r.uid), r.id); err != nil {
				return fmt.Errorf("inbox: store: %w", err)
			}
		}
		var toAct []int64
		if g.DB.Dialect == store.Postgres {
			toAct, err = g.insertArrays(ctx, tx, uidValidity, rows, now)
		} else {
			toAct, err = g.insertChunks(ctx, tx, uidValidity, rows, now)
		}
		if err != nil {
			return err
		}
		if len(toAct) > 0 {
			slices.Sort(toAct) // acted on in the order they came
			res, err := g.Jobs.InsertManyTx(ctx, tx, actJobs(toAct, holdUntil))
			if err != nil {
				return fmt.Errorf("inbox: queue act jobs: %w", err)
			}
			jobIDs = jobIDs[:0]
			for _, r := range res {
				jobIDs = append(jobIDs, r.Job.ID)
			}
		}
		if prev != nil {
			// Commit in order: wait for prev's end; when it did not
			// commit, neither does this batch (its checkpoint would pass
			// prev's messages).
			<-prev.done
			if prev.err != nil {
				return errBatchBefore
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			// The lease is checked (and the row locked until commit) here
			// rather than first, where it would wait for prev's commit,
			// which holds it: if it was lost meanwhile, this rolls back.
			now = g.now()
			if err := holdLease(ctx, tx, g.key(), g.Owner, now, now.Add(g.Lease)); err != nil {
				return err
			}
		}
		if err := saveCheckpoint(ctx, tx, g.key(), Checkpoint{UIDValidity: uidValidity, LastUID: uids[len(uids)-1]}, now); err != nil {
			return err
		}
		if g.beforeCommit != nil {
			return g.beforeCommit(uids)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if g.afterCommit != nil {
		g.afterCommit(uids)
	}
	return jobIDs, nil
}

// known is a stored message with the same bytes as one fetched.
type known struct {
	id          int64
	uidValidity uint32
	mailbox     string
}

// lookupKnown reads, in one statement for the whole batch, the stored
// messages with one of the batch's hashes (by hash) and which of its
// Message-IDs are taken already.
func (g *Ingester) lookupKnown(ctx context.Context, tx *sql.Tx, batch []fetched) (map[string]known, map[string]bool, error) {
	hashes := make([]string, 0, len(batch))
	mids := []string{}
	for _, f := range batch {
		hashes = append(hashes, f.hash)
		if f.messageID != "" {
			mids = append(mids, f.messageID)
		}
	}
	args := []any{hashes, mids}
	if g.DB.Dialect == store.Postgres {
		// Planned for these arguments each time (an unnamed statement), not
		// once per connection: a plan made while the table was nearly empty
		// scans it, and would be kept until the next ANALYZE.
		args = []any{pgx.QueryExecModeExec, hashes, mids}
	} else {
		// SQLite reads the lists as JSON arrays, the Message-IDs in hex: a
		// header may hold bytes a JSON string cannot (invalid UTF-8), and
		// the lookup must match them exactly.
		hexMids := make([]string, len(mids))
		for i, m := range mids {
			hexMids[i] = hex.EncodeToString([]byte(m))
		}
		h, err := json.Marshal(hashes)
		if err != nil {
			return nil, nil, fmt.Errorf("inbox: store: %w", err)
		}
		m, err := json.Marshal(hexMids)
		if err != nil {
			return nil, nil, fmt.Errorf("inbox: store: %w", err)
		}
		args = []any{string(h), string(m)}
	}
	q, err := tx.QueryContext(ctx, queries.SQL(g.DB, "known-inbound"), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("inbox: store: %w", err)
	}
	defer q.Close()
	have, seenMID := map[string]known{}, map[string]bool{}
	for q.Next() {
		var k known
		var h string
		var uv int64
		var key sql.NullString
		if err := q.Scan(&k.id, &h, &uv, &k.mailbox, &key); err != nil {
			return nil, nil, fmt.Errorf("inbox: store: %w", err)
		}
		k.uidValidity = uint32(uv)
		have[h] = k
		if key.Valid {
			seenMID[key.String] = true
		}
	}
	if err := q.Err(); err != nil {
		return nil, nil, fmt.Errorf("inbox: store: %w", err)
	}
	return have, seenMID, nil
}

// newRow is a fetched message to be stored, in its state; key is its
// Message-ID when it is the first copy stored.
type newRow struct {
	*fetched
	key      sql.NullString
	state    string
	received time.Time
}

// renumbered is a stored message seen again under a new UIDVALIDITY.
type renumbered struct {
	id  int64
	uid uint32
}

// sortOut decides, in UID order, what becomes of each message of a batch
// given what is stored already (have, by hash; seenMID, which it
// extends): the rows to insert, and the stored messages to point at
// their new UID.
func (g *Ingester) sortOut(batch []fetched, uidValidity uint32, have map[string]known, seenMID map[string]bool, now time.Time) ([]newRow, []renumbered) {
	var rows []newRow
	var renumber []renumbered
	inBatch := map[string]bool{}
	for i := range batch {
		r := &batch[i]
		// The same bytes again: after a UIDVALIDITY change, or copied back
		// into the mailbox. Point the row at the new UID so that it gets
		// its flags, and do nothing else.
		if k, ok := have[r.hash]; ok {
			if k.mailbox == g.key() && k.uidValidity != uidValidity {
				renumber = append(renumber, renumbered{id: k.id, uid: r.uid})
			}
			continue
		}
		if inBatch[r.hash] {
			continue
		}
		inBatch[r.hash] = true
		// Another copy of a message already stored (sent to two of our
		// addresses, or redelivered with new trace headers): keep it, act
		// on it once.
		row := newRow{fetched: r, state: mailmsg.StateStored, received: r.internalDate}
		if r.messageID != "" {
			if seenMID[r.messageID] {
				row.state = mailmsg.StateDuplicate
			} else {
				row.key = sql.NullString{String: r.messageID, Valid: true}
			}
			seenMID[r.messageID] = true
		}
		if row.received.IsZero() {
			row.received = now
		}
		row.received = row.received.UTC()
		rows = append(rows, row)
	}
	return rows, renumber
}

// insertArrays inserts the rows in one statement, a parameter per column
// holding every row's value (PostgreSQL): one round trip and one
// statement text, which pgx prepares once per connection, however many
// rows. It returns the ids of those to be acted on.
func (g *Ingester) insertArrays(ctx context.Context, tx *sql.Tx, uidValidity uint32, rows []newRow, now time.Time) ([]int64, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	n := len(rows)
	var (
		uids      = make([]int64, n)
		mids      = make([]string, n)
		keys      = make([]*string, n)
		hashes    = make([]string, n)
		raws      = make([][]byte, n)
		sizes     = make([]int64, n)
		truncated = make([]bool, n)
		received  = make([]time.Time, n)
		states    = make([]string, n)
	)
	for i, r := range rows {
		uids[i], mids[i], hashes[i], raws[i], sizes[i], truncated[i], received[i], states[i] =
			int64(r.uid), r.messageID, r.hash, r.raw, r.size, r.truncated, r.received, r.state
		if r.key.Valid {
			keys[i] = &r.key.String
		}
	}
	q, err := tx.QueryContext(ctx, queries.SQL(g.DB, "insert-inbound"),
		g.key(), int64(uidValidity), now, uids, mids, keys, hashes, raws, sizes, truncated, received, states)
	if err != nil {
		return nil, fmt.Errorf("inbox: store: %w", err)
	}
	return scanInserted(q)
}

// insertChunks inserts the rows insertChunk at a time (SQLite, which has
// no array parameters), and returns the ids of those to be acted on.
func (g *Ingester) insertChunks(ctx context.Context, tx *sql.Tx, uidValidity uint32, rows []newRow, now time.Time) ([]int64, error) {
	stmts := &txStmts{tx: tx}
	defer stmts.close()
	var toAct []int64
	for start := 0; start < len(rows); start += insertChunk {
		chunk := rows[start:min(start+insertChunk, len(rows))]
		var sb strings.Builder
		sb.WriteString(queries.SQL(g.DB, "insert-inbound"))
		args := make([]any, 0, len(chunk)*12)
		for i, r := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + g.DB.Placeholders(len(args)+1, 12) + ")")
			args = append(args, g.key(), int64(uidValidity), int64(r.uid), r.messageID, r.key, r.hash, r.raw, r.size, r.truncated, r.received, now, r.state)
		}
		// A row another mailbox's ingester stored meanwhile (same hash or
		// same first Message-ID) is skipped rather than failing the batch.
		sb.WriteString(` ON CONFLICT DO NOTHING RETURNING id, state`)
		st, err := stmts.prepare(ctx, sb.String())
		if err != nil {
			return nil, fmt.Errorf("inbox: store: %w", err)
		}
		q, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("inbox: store: %w", err)
		}
		ids, err := scanInserted(q)
		if err != nil {
			return nil, err
		}
		toAct = append(toAct, ids...)
	}
	return toAct, nil
}

// scanInserted reads what an insert returned, and closes it: the ids of
// the rows to be acted on.
func scanInserted(q *sql.Rows) ([]int64, error) {
	defer q.Close()
	var toAct []int64
	for q.Next() {
		var id int64
		var state string
		if err := q.Scan(&id, &state); err != nil {
			return nil, fmt.Errorf("inbox: store: %w", err)
		}
		if state == mailmsg.StateStored {
			toAct = append(toAct, id)
		}
	}
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("inbox: store: %w", err)
	}
	return toAct, nil
}

// insertChunk is rows per INSERT on SQLite: 12 parameters each stays far
// below its limit. Full chunks all use the same statement text, so a
// transaction prepares it once. Widths 10, 100 and 200 measured no
// better; 1 was 2x worse.
const insertChunk = 50

// txStmts prepares each distinct statement once per transaction.
type txStmts struct {
	tx    *sql.Tx
	cache map[string]*sql.Stmt
}

func (t *txStmts) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.cache[query]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if t.cache == nil {
		t.cache = map[string]*sql.Stmt{}
	}
	t.cache[query] = st
	return st, nil
}

func (t *txStmts) close() {
	for _, st := range t.cache {
		st.Close()
	}
}

// flagProcessed marks messages the hub is done with: \Seen and
// KeywordDone, then moves them to MoveTo when configured.
func (g *Ingester) flagProcessed(ctx context.Context, c *imapclient.Client, uidValidity uint32) error {
	rows, err := g.DB.QueryContext(ctx, queries.Get("unflagged"), g.key())
	if err != nil {
		return fmt.Errorf("inbox: flag: %w", err)
	}
	var ids []any
	set := imap.UIDSet{}
	for rows.Next() {
		var id, uid, uv int64
		if err := rows.Scan(&id, &uid, &uv); err != nil {
			rows.Close()
			return fmt.Errorf("inbox: flag: %w", err)
		}
		ids = append(ids, id)
		if uint32(uv) == uidValidity {
			set.AddNum(imap.UID(uid))
		} // else: a UID of a mailbox that no longer exists
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("inbox: flag: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	if len(set) > 0 {
		store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen, KeywordDone}}
		if err := c.Store(set, store, nil).Close(); err != nil {
			return fmt.Errorf("inbox: imap store flags: %w", err)
		}
		if g.IMAP.MoveTo != "" {
			if _, err := c.Move(set, g.IMAP.MoveTo).Wait(); err != nil {
				return fmt.Errorf("inbox: imap move to %s: %w", g.IMAP.MoveTo, err)
			}
		}
	}
	if _, err := g.DB.ExecContext(ctx, `UPDATE inbound_messages SET flagged = TRUE WHERE id IN (`+g.DB.Placeholders(1, len(ids))+`)`, ids...); err != nil {
		return fmt.Errorf("inbox: flag: %w", err)
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// jitter spreads reconnects of several replicas: d/2 to d.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	n, err := rand.Int(rand.Reader, big.NewInt(int64(d/2)))
	if err != nil {
		return d
	}
	return d/2 + time.Duration(n.Int64())
}

// ActArgs is the job that acts on stored inbound messages: those of one
// ingest transaction, at most actJobSize of them.
type ActArgs struct {
	InboundIDs []int64 `json:"inbound_ids,omitempty"`
	// InboundID is the one message of a job queued before jobs carried
	// several; still read so that such jobs run after an upgrade.
	InboundID int64 `json:"inbound_id,omitempty"`
}

// ids lists the messages the job acts on, in the order they were stored.
func (a ActArgs) ids() []int64 {
	if a.InboundID != 0 {
		return append([]int64{a.InboundID}, a.InboundIDs...)
	}
	return a.InboundIDs
}

// actJobSize bounds the messages of one act job: a job stays short (well
// within River's job timeout) and a backlog is still acted on by several
// workers at once where the database allows it.
const actJobSize = 100

// actJobs splits the ids of freshly stored messages into act jobs,
// scheduled at holdUntil when it is set.
func actJobs(ids []int64, holdUntil time.Time) []river.InsertManyParams {
	var opts *river.InsertOpts
	if !holdUntil.IsZero() {
		opts = &river.InsertOpts{ScheduledAt: holdUntil}
	}
	var jobs []river.InsertManyParams
	for start := 0; start < len(ids); start += actJobSize {
		jobs = append(jobs, river.InsertManyParams{Args: ActArgs{InboundIDs: ids[start:min(start+actJobSize, len(ids))]}, InsertOpts: opts})
	}
	return jobs
}

// Kind implements river.JobArgs.
func (ActArgs) Kind() string { return "inbox_act" }

var _ river.JobArgs = ActArgs{}
