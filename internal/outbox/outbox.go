// Package outbox turns "tell these people this" into delivered email that
// is never lost and never sent twice: a message row with one Message-ID
// for all its recipients, its audience expanded into one delivery row per
// recipient before the first byte is sent, and River jobs that work those
// rows through a pool of SMTP connections. A crash at any point resumes
// from the rows.
package outbox

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/i18n"
	"github.com/sitrep-dev/sitrep/internal/jobs"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// Directory is what the outbox needs of the directory.
type Directory interface {
	Current() *directory.Directory
}

// Outbox queues and delivers email. It delivers "this message to these
// recipients in this thread" and knows nothing of what the thread is
// about: the messages, deliveries, threads, delivery transactions and
// address status tables are its own, and no other package reads them.
type Outbox struct {
	DB        *store.DB
	Jobs      jobs.Inserter
	Renderer  *compose.Renderer
	Directory Directory
	Logger    *slog.Logger
	Now       func() time.Time

	Domain    string // ours: Message-IDs, List-Ids and reply addresses
	From      string // "sitrep <status@example.com>"
	ReplyPart string // local part of reply addresses: <ReplyPart>+<token>@<Domain>

	// Sender delivers; the SMTP pool in production.
	Sender Sender
	// BatchSize is recipients per SMTP transaction.
	BatchSize int
	// Lease is how long a claimed delivery is reserved for the worker that
	// claimed it; after a crash, another takes it over when it expires.
	Lease time.Duration
	// MaxAttempts before a deferred delivery is given up as failed.
	MaxAttempts int
	// Metrics, when set, counts deliveries.
	Metrics *Metrics
	// HelpFrom is the number of recipients from which a message's
	// fan-out is shared with the other replicas (helpers.go); 0: 5,000.
	HelpFrom int
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

func (o *Outbox) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}

// Message is one outgoing email, whatever the number of its recipients.
type Message = compose.Message

// Queue stores the message, its thread position and one delivery row per
// recipient, and queues the delivery job, all in tx. Nothing is sent until
// tx commits.
//
// Recipients who read different languages get different messages: one per
// catalog language, each with its own Message-ID, in its own thread per
// audience and language, so that a reader's thread never changes language
// and a resend after a crash repeats the one Message-ID of that reader's
// variant. The message returned is the first variant (English when some
// recipients read English); Total and Counts are over all variants, and
// Variants lists the others.
func (o *Outbox) Queue(ctx context.Context, tx *sql.Tx, req compose.Outgoing) (*Message, error) {
	if req.Thread.Audience == "" || req.Thread.Ref == "" {
		return nil, errs.E(errs.Internal, "outbox: a message needs its thread's audience and name")
	}
	recipients, err := o.expand(req)
	if err != nil {
		return nil, err
	}
	if len(recipients) == 0 {
		return nil, errs.E(errs.Invalid, "nobody to send to: the audience is empty")
	}
	snapshot, err := json.Marshal(req.Data)
	if err != nil {
		return nil, fmt.Errorf("outbox: snapshot: %w", err)
	}
	var first *Message
	for i, v := range o.variants(recipients) {
		idem := req.IdempotencyKey
		if i > 0 {
			idem = "" // the first variant's key stands for the update
		}
		msg, err := o.queueVariant(ctx, tx, req, v, snapshot, idem)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = msg
			continue
		}
		first.Variants = append(first.Variants, msg)
		first.Total += msg.Total
		for st, n := range msg.Counts {
			first.Counts[st] += n
		}
	}
	return first, nil
}

// variant is the recipients of one language's message.
type variant struct {
	lang       string // the catalog language: "de"
	recipients []directory.Recipient
}

// variants splits recipients by the catalog language they read, English
// first and then in the order of the languages' names, each keeping the
// recipients' order.
func (o *Outbox) variants(recipients []directory.Recipient) []variant {
	// The recipients are grouped in place (a stable sort by language, the
	// default first) and each variant is a slice of them: at 100,000 a copy
	// per language was ~15 MB more held through the queueing transaction.
	cat := o.Renderer.Catalog()
	langs := make([]string, len(recipients))
	seen := map[string]bool{}
	var order []string
	for i, r := range recipients {
		langs[i] = cat.Match(r.Language)
		if !seen[langs[i]] {
			seen[langs[i]] = true
			order = append(order, langs[i])
		}
	}
	if len(order) == 1 {
		return []variant{{lang: order[0], recipients: recipients}}
	}
	sort.SliceStable(order, func(i, j int) bool {
		if (order[i] == i18n.Default) != (order[j] == i18n.Default) {
			return order[i] == i18n.Default
		}
		return order[i] < order[j]
	})
	rank := make(map[string]int, len(order))
	for i, l := range order {
		rank[l] = i
	}
	sort.Stable(byRank{recipients, langs, rank})
	vs := make([]variant, 0, len(order))
	for start := 0; start < len(recipients); {
		end := start + 1
		for end < len(recipients) && langs[end] == langs[start] {
			end++
		}
		vs = append(vs, variant{lang: langs[start], recipients: recipients[start:end:end]})
		start = end
	}
	return vs
}

// byRank sorts recipients and their languages together.
type byRank struct {
	r     []directory.Recipient
	langs []string
	rank  map[string]int
}

func (b byRank) Len() int           { return len(b.r) }
func (b byRank) Less(i, j int) bool { return b.rank[b.langs[i]] < b.rank[b.langs[j]] }
func (b byRank) Swap(i, j int) {
	b.r[i], b.r[j] = b.r[j], b.r[i]
	b.langs[i], b.langs[j] = b.langs[j], b.langs[i]
}

// queueVariant stores one language's message, its thread position and its
// deliveries, and queues its delivery job.
func (o *Outbox) queueVariant(ctx context.Context, tx *sql.Tx, req compose.Outgoing, v variant, snapshot []byte, idemKey string) (*Message, error) {
	// Render one sample now: a template that fails must fail here, with
	// nothing queued, not later in the worker.
	first := v.recipients[0]
	sample, err := o.render(req.Kind, snapshot, first, displayFor(o.Directory.Current(), req, first))
	if err != nil {
		return nil, err
	}

	now := o.now()
	subject := sample.Subject
	if req.Thread.Subject != "" {
		subject = req.Thread.Subject
		if req.Thread.SubjectKey != "" {
			l := o.Renderer.Catalog().Localizer(v.lang)
			subject = compose.ThreadSubject(req.Thread.Ref, l.T(req.Thread.SubjectKey, "Title", req.Thread.Title))
		}
	}
	th, err := o.nextInThread(ctx, tx, req.Thread, v.lang, subject, now)
	if err != nil {
		return nil, err
	}
	var key sql.NullInt64 // none: a message of its own (Thread.Key 0)
	if req.Thread.Key != 0 {
		key = sql.NullInt64{Int64: req.Thread.Key, Valid: true}
	}
	msg := &Message{ThreadKey: req.Thread.Key, Incident: req.Thread.Ref, Audience: req.Thread.Audience, Kind: string(req.Kind),
		MessageID: th.messageID, Subject: th.subject, Groups: req.Groups, CreatedAt: now, NextUpdateAt: req.NextUpdateAt, Actor: req.Actor,
		Language: v.lang}
	if msg.Groups == nil {
		msg.Groups = []string{}
	}
	var idem sql.NullString
	if idemKey != "" {
		idem = sql.NullString{String: idemKey, Valid: true}
	}
	if len(req.Calendar) > 0 && req.CalendarMethod == "" {
		return nil, errs.E(errs.Internal, "outbox: a calendar part needs its method")
	}
	err = tx.QueryRowContext(ctx, queries.Get("insert-message"),
		key, msg.Audience, msg.Kind, msg.MessageID, th.inReplyTo, store.JSON(th.refs), th.threadIndex,
		msg.Subject, namedTo(req.Thread), store.JSON(msg.Groups), string(snapshot), store.NullTime(req.NextUpdateAt), idem, req.Actor, now,
		string(req.Calendar), strings.ToUpper(req.CalendarMethod), req.Thread.Ref, req.Thread.ReplyToken, v.lang,
	).Scan(&msg.ID)
	if store.IsUniqueViolation(err) && idem.Valid {
		return nil, errs.E(errs.Conflict, "this update was already sent (idempotency key %q)", idemKey)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: insert message: %w", err)
	}
	slices.SortStableFunc(v.recipients, sendingOrder)
	counts, err := o.insertDeliveries(ctx, tx, msg.ID, v.recipients, req.Unsubscribe, req.Follows)
	if err != nil {
		return nil, err
	}
	msg.Total, msg.Counts = len(v.recipients), counts
	if _, err := tx.ExecContext(ctx, queries.Get("set-message-total"), msg.Total, msg.ID); err != nil {
		return nil, fmt.Errorf("outbox: message total: %w", err)
	}
	if counts[StateQueued] > 0 {
		if _, err := o.Jobs.InsertTx(ctx, tx, DeliverArgs{MessageID: msg.ID, Urgent: urgent(req.Thread.Audience)}, nil); err != nil {
			return nil, fmt.Errorf("outbox: queue delivery job: %w", err)
		}
	} else if _, err := tx.ExecContext(ctx, queries.Get("settle-message"), now, msg.ID); err != nil {
		// Everyone skipped (bouncing, opted out): settled from the start.
		return nil, fmt.Errorf("outbox: settle message: %w", err)
	}
	return msg, nil
}

// expand turns the request's audience into recipients: groups through
// their nesting, de-duplicated, and then the followers no group reached;
// or named people.
func (o *Outbox) expand(req compose.Outgoing) ([]directory.Recipient, error) {
	d := o.Directory.Current()
	if len(req.People) > 0 {
		return named(d, req.People, req.Thread.Audience)
	}
	out, err := d.Expand(req.Groups...)
	if err != nil || len(req.Followers) == 0 {
		return out, err
	}
	members := make(map[string]bool, len(out))
	for _, r := range out {
		members[r.Email] = true
	}
	var fresh []string
	for _, email := range req.Followers {
		if e := strings.ToLower(strings.TrimSpace(email)); !members[e] {
			fresh = append(fresh, e)
		}
	}
	// A follower's copy goes through no group (Group ""), which is what
	// marks it as theirs alone, with their unsubscribe link.
	followers, err := named(d, fresh, "")
	if err != nil {
		return nil, err
	}
	return append(out, followers...), nil
}

// named is the recipients of mail to named people, each once, as group
// (the thread's audience for mail to people; "" for followers).
func named(d *directory.Directory, people []string, group string) ([]directory.Recipient, error) {
	seen := map[string]bool{}
	var out []directory.Recipient
	for _, email := range people {
		email = strings.ToLower(strings.TrimSpace(email))
		if email == "" || seen[email] {
			continue
		}
		seen[email] = true
		r := directory.Recipient{Email: email, Group: group}
		if p, ok := d.Reader(email); ok {
			// The language as for a group's member (their own, a
			// group's, the organisation's); the zone their own, as
			// before.
			r.Name, r.Language = p.Name, p.Language
			if own, ok := d.Person(email); ok {
				r.TimeZone = own.TimeZone
			}
		} else if _, err := mail.ParseAddress(email); err != nil {
			return nil, errs.InvalidField("to", "%q is not an email address", email)
		}
		out = append(out, r)
	}
	return out, nil
}

// namedTo is the To: of a thread's mail that goes through no group: its
// ToName, else "<Ref> <Audience>" ("INC-42 leads").
func namedTo(t compose.Thread) string {
	return cmp.Or(t.ToName, t.Ref+" "+t.Audience)
}

// displayFor is the visible To: of a recipient's copy: the group, never
// the members.
func displayFor(d *directory.Directory, req compose.Outgoing, r directory.Recipient) string {
	if len(req.People) > 0 {
		return namedTo(req.Thread)
	}
	if g, ok := d.Group(r.Group); ok && g.DisplayName != "" {
		return g.DisplayName
	}
	return r.Group
}

type threadPos struct {
	messageID, inReplyTo, threadIndex, subject string
	refs                                       []string
}

// nextInThread allocates the next message of the thread (creating the
// thread with its first message). A thread without a key (0) is a
// message of its own: it starts no thread and continues none.
func (o *Outbox) nextInThread(ctx context.Context, tx *sql.Tx, t compose.Thread, lang, subject string, now time.Time) (*threadPos, error) {
	pos := &threadPos{messageID: compose.NewMessageID(o.Domain), subject: subject, refs: []string{}}
	if t.Key == 0 {
		var guid [16]byte
		copy(guid[:], []byte(strings.Trim(pos.messageID, "<>")))
		pos.threadIndex = compose.ThreadIndexRoot(now, guid)
		return pos, nil
	}
	var refs, lastID, index, threadSubject string
	err := tx.QueryRowContext(ctx, queries.Get("thread"),
		t.Key, t.Audience, lang).Scan(&threadSubject, &lastID, &refs, &index)
	switch {
	case err == sql.ErrNoRows:
		var guid [16]byte
		copy(guid[:], []byte(strings.Trim(pos.messageID, "<>")))
		pos.threadIndex = compose.ThreadIndexRoot(now, guid)
		_, err = tx.ExecContext(ctx, queries.Get("insert-thread"), t.Key, t.Audience, subject, pos.messageID, store.JSON([]string{pos.messageID}), pos.threadIndex, now, lang)
		if err != nil {
			return nil, fmt.Errorf("outbox: new thread: %w", err)
		}
		return pos, nil
	case err != nil:
		return nil, fmt.Errorf("outbox: thread: %w", err)
	}
	// RFC 5322 3.6.4: In-Reply-To is the parent; References the parent's
	// References followed by the parent. The thread keeps that chain.
	var chain []string
	_ = json.Unmarshal([]byte(refs), &chain)
	pos.inReplyTo = lastID
	pos.refs = compose.References(chain[:max(0, len(chain)-1)], lastID)
	pos.subject = threadSubject // the same subject for every message: Gmail splits threads on a new one
	if pos.threadIndex, err = compose.ThreadIndexChild(index, now); err != nil {
		return nil, fmt.Errorf("outbox: thread index: %w", err)
	}
	_, err = tx.ExecContext(ctx, queries.Get("advance-thread"), pos.messageID, store.JSON(append(append([]string{}, pos.refs...), pos.messageID)), now, t.Key, t.Audience, lang)
	if err != nil {
		return nil, fmt.Errorf("outbox: thread: %w", err)
	}
	return pos, nil
}

// render renders one recipient's copy from the stored snapshot.
func (o *Outbox) render(kind compose.Kind, snapshot []byte, r directory.Recipient, audience string) (*compose.Rendered, error) {
	return o.renderCopy(kind, snapshot, r, audience, nil)
}

// readerLanguage is the tag r's copy is written in: a reader of no
// language reads the catalog language that serves them (the
// organisation's default was resolved by the directory), as their
// message's variant says, in previews and deliveries alike.
func (o *Outbox) readerLanguage(r directory.Recipient) string {
	if r.Language != "" {
		return r.Language
	}
	return o.Renderer.Catalog().Match("")
}

// renderCopy is render for a follower's copy when follower (their
// one-click link and what they follow) is set. A follower's copy names
// no audience in its text ("Sent to ..."): its last line says what they
// follow and why they got it.
func (o *Outbox) renderCopy(kind compose.Kind, snapshot []byte, r directory.Recipient, audience string, follower *compose.FollowerCopy) (*compose.Rendered, error) {
	data, err := compose.NewData(kind)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(snapshot, data); err != nil {
		return nil, fmt.Errorf("outbox: snapshot of %s: %w", kind, err)
	}
	lang := o.readerLanguage(r)
	if follower != nil {
		audience = ""
	}
	compose.Address(data, compose.Copy{Name: r.Name, Zone: compose.Zone(r.TimeZone), To: audience, Language: lang, Group: r.Group})
	if follower != nil {
		return o.Renderer.RenderFollowerIn(lang, kind, data, *follower)
	}
	return o.Renderer.RenderIn(lang, kind, data)
}

// ReplyAddress is the address replies to a thread go to: plus addressing
// with the thread's unguessable token routes them back to the hub and
// names the thread.
func (o *Outbox) ReplyAddress(token string) string {
	return o.ReplyPart + "+" + token + "@" + o.Domain
}

func (o *Outbox) fromAddress() (name, addr string) {
	a, err := mail.ParseAddress(o.From)
	if err != nil {
		return "sitrep", o.From
	}
	return a.Name, a.Address
}

//go:embed queries.sql
var queryFiles embed.FS

var queries = store.MustQueries(queryFiles)
