package sandbox

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// The on-disk layout under Config.DataDir, one directory per account and one
// per mailbox, so that a person can look at the sandbox with ls and cat:
//
//	accounts/<url-escaped email>/account.json            {"email","name"}
//	accounts/<...>/<uidvalidity>/mailbox.json            name, UIDVALIDITY, UIDNEXT, ...
//	accounts/<...>/<uidvalidity>/flags.json              uid -> flags, only for flagged messages
//	accounts/<...>/<uidvalidity>/<uid>.eml               the message; its mtime is the INTERNALDATE
//	last-uidvalidity.json                                the last UIDVALIDITY handed out
//
// A mailbox directory is named by its UIDVALIDITY, not its name, so RENAME
// only rewrites mailbox.json and a re-created mailbox never inherits files.
// Every file is written to a temporary name, fsynced, renamed and the
// directory fsynced, so a crash leaves either the old or the new state.
const (
	accountsDir     = "accounts"
	accountFile     = "account.json"
	mailboxFile     = "mailbox.json"
	flagsFile       = "flags.json"
	uidValidityFile = "last-uidvalidity.json"
	tmpPrefix       = ".tmp-"
	deletedPrefix   = ".deleted-"
	inboxName       = "INBOX"
	mailboxDelim    = '/'
	messageFileExt  = ".eml"
	dirPermissions  = 0o700
	filePermissions = 0o600
)

// store holds every sandbox account in memory and mirrors it to dir when
// dir is set. Lock order: store.mu, then account.mu, then mailbox.mu, then
// store.uidMu.
type store struct {
	dir string // "" keeps everything in memory
	log *slog.Logger

	mu       sync.Mutex
	accounts map[string]*account // by normalised email

	uidMu           sync.Mutex
	lastUIDValidity uint32
}

// account is one person's (or the hub's) set of mailboxes.
type account struct {
	st    *store
	email string // normalised, immutable
	dir   string // "" in memory mode

	mu        sync.Mutex
	name      string
	mailboxes map[string]*mailbox
}

// mailbox is one IMAP mailbox. Messages are kept in memory even when
// persisted: a sandbox holds little mail, and it keeps FETCH simple.
type mailbox struct {
	tracker     *imapserver.MailboxTracker
	uidValidity uint32 // immutable
	dir         string // immutable; "" in memory mode

	mu         sync.Mutex
	name       string
	subscribed bool
	specialUse []imap.MailboxAttr
	msgs       []*message
	uidNext    imap.UID
	deleted    bool
	watchers   map[chan struct{}]struct{} // IDLE sessions to wake on any change
}

type message struct {
	// immutable
	uid imap.UID
	buf []byte
	t   time.Time

	// guarded by mailbox.mu
	flags map[imap.Flag]struct{}
}

type accountMeta struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type mailboxMeta struct {
	Name        string             `json:"name"`
	UIDValidity uint32             `json:"uidValidity"`
	UIDNext     uint32             `json:"uidNext"`
	Subscribed  bool               `json:"subscribed"`
	SpecialUse  []imap.MailboxAttr `json:"specialUse,omitempty"`
}

func newStore(dir string, log *slog.Logger) *store {
	return &store{dir: dir, log: log, accounts: make(map[string]*account)}
}

// nextUIDValidity returns a UIDVALIDITY never handed out before by this
// store, so that a mailbox deleted and re-created, or re-created empty
// after a restart, never repeats a value clients may have cached (RFC 9051
// 2.3.1.1). With a data directory the values start from the clock, as
// Dovecot's do, and the last one is kept on disk; in memory they start
// from a random number, as nothing survives a restart anyway.
func (st *store) nextUIDValidity() (uint32, error) {
	st.uidMu.Lock()
	defer st.uidMu.Unlock()
	if st.lastUIDValidity == 0 && st.dir == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		st.lastUIDValidity = binary.BigEndian.Uint32(b[:]) >> 2 // room to count up
	}
	v := max(uint32(time.Now().Unix()), st.lastUIDValidity+1)
	if st.dir == "" {
		v = st.lastUIDValidity + 1
	} else if err := writeJSON(filepath.Join(st.dir, uidValidityFile), v); err != nil {
		return 0, fmt.Errorf("sandbox: save last uidvalidity: %w", err)
	}
	st.lastUIDValidity = v
	return v, nil
}

func (st *store) account(email string) *account {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.accounts[email]
}

func (st *store) list() []*account {
	st.mu.Lock()
	defer st.mu.Unlock()
	l := make([]*account, 0, len(st.accounts))
	for _, a := range st.accounts {
		l = append(l, a)
	}
	slices.SortFunc(l, func(a, b *account) int { return strings.Compare(a.email, b.email) })
	return l
}

// ensure returns the account for email, creating it with an INBOX when
// missing. A non-empty name replaces the stored one. created reports
// whether the account is new. A new account is complete on disk before
// anyone else can see it: creation is rare (once per person), so it runs
// under the store lock.
func (st *store) ensure(email, name string) (a *account, created bool, err error) {
	st.mu.Lock()
	a = st.accounts[email]
	if a == nil {
		a = &account{st: st, email: email, name: name, mailboxes: make(map[string]*mailbox)}
		if st.dir != "" {
			a.dir = filepath.Join(st.dir, accountsDir, url.PathEscape(email))
		}
		err := a.create()
		if err == nil {
			st.accounts[email] = a
		}
		st.mu.Unlock()
		if err != nil {
			return nil, false, err
		}
		return a, true, nil
	}
	st.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	if name != "" && name != a.name {
		if a.dir != "" {
			if err := writeJSON(filepath.Join(a.dir, accountFile), accountMeta{Email: email, Name: name}); err != nil {
				return nil, false, fmt.Errorf("sandbox: rename account %s: %w", email, err)
			}
		}
		a.name = name
	}
	return a, false, nil
}

func (a *account) create() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dir != "" {
		if err := mkdirSynced(a.dir); err != nil {
			return fmt.Errorf("sandbox: create account %s: %w", a.email, err)
		}
		if err := writeJSON(filepath.Join(a.dir, accountFile), accountMeta{Email: a.email, Name: a.name}); err != nil {
			return fmt.Errorf("sandbox: create account %s: %w", a.email, err)
		}
	}
	_, err := a.createLocked(inboxName, nil)
	return err
}

// load reads every account under st.dir. It is called once, before any
// listener starts.
func (st *store) load() error {
	root := filepath.Join(st.dir, accountsDir)
	if err := os.MkdirAll(root, dirPermissions); err != nil {
		return fmt.Errorf("sandbox: load: %w", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("sandbox: load: %w", err)
	}
	if err := removeTemps(st.dir); err != nil {
		return fmt.Errorf("sandbox: load: %w", err)
	}
	if err := readJSON(filepath.Join(st.dir, uidValidityFile), &st.lastUIDValidity); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sandbox: load: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		var meta accountMeta
		if err := readJSON(filepath.Join(dir, accountFile), &meta); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// Crashed between mkdir and writing account.json:
				// nothing was ever delivered here.
				st.log.Warn("sandbox: skipping account directory without account.json", "dir", dir)
				continue
			}
			return fmt.Errorf("sandbox: load %s: %w", dir, err)
		}
		a := &account{st: st, email: meta.Email, name: meta.Name, dir: dir, mailboxes: make(map[string]*mailbox)}
		if err := a.load(); err != nil {
			return err
		}
		st.accounts[a.email] = a
	}
	// After every UIDVALIDITY on disk is known: an account cut short by a
	// crash before its INBOX was written gets one now.
	for _, a := range st.accounts {
		if a.mailboxes[inboxName] == nil {
			if _, err := a.createLocked(inboxName, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *account) load() error {
	entries, err := os.ReadDir(a.dir)
	if err != nil {
		return fmt.Errorf("sandbox: load %s: %w", a.email, err)
	}
	for _, e := range entries {
		path := filepath.Join(a.dir, e.Name())
		if strings.HasPrefix(e.Name(), deletedPrefix) || strings.HasPrefix(e.Name(), tmpPrefix) {
			// Left over from a DELETE or a write cut short by a crash.
			if err := os.RemoveAll(path); err != nil {
				return fmt.Errorf("sandbox: load %s: clean %s: %w", a.email, e.Name(), err)
			}
			continue
		}
		if !e.IsDir() {
			continue
		}
		mb, err := loadMailbox(path)
		if err != nil {
			return fmt.Errorf("sandbox: load %s: %w", a.email, err)
		}
		if mb == nil {
			continue
		}
		a.mailboxes[mb.name] = mb
		a.st.uidMu.Lock()
		a.st.lastUIDValidity = max(a.st.lastUIDValidity, mb.uidValidity)
		a.st.uidMu.Unlock()
	}
	return nil
}

func loadMailbox(dir string) (*mailbox, error) {
	var meta mailboxMeta
	if err := readJSON(filepath.Join(dir, mailboxFile), &meta); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Crashed while creating it: it never held a message.
			return nil, os.RemoveAll(dir)
		}
		return nil, err
	}
	flags := map[string][]imap.Flag{}
	if err := readJSON(filepath.Join(dir, flagsFile), &flags); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	mb := &mailbox{
		uidValidity: meta.UIDValidity,
		dir:         dir,
		name:        meta.Name,
		subscribed:  meta.Subscribed,
		specialUse:  meta.SpecialUse,
		uidNext:     imap.UID(max(meta.UIDNext, 1)),
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, err
			}
			continue
		}
		uidText, ok := strings.CutSuffix(name, messageFileExt)
		if !ok {
			continue
		}
		uid, err := strconv.ParseUint(uidText, 10, 32)
		if err != nil || uid == 0 {
			continue
		}
		path := filepath.Join(dir, name)
		buf, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		msg := &message{uid: imap.UID(uid), buf: buf, t: info.ModTime(), flags: make(map[imap.Flag]struct{})}
		for _, f := range flags[uidText] {
			msg.flags[canonicalFlag(f)] = struct{}{}
		}
		mb.msgs = append(mb.msgs, msg)
		// UIDNEXT is written to mailbox.json only before an expunge; in
		// between it is one past the highest message on disk.
		mb.uidNext = max(mb.uidNext, msg.uid+1)
	}
	slices.SortFunc(mb.msgs, func(a, b *message) int { return int(a.uid) - int(b.uid) })
	mb.tracker = imapserver.NewMailboxTracker(uint32(len(mb.msgs)))
	return mb, nil
}

// canonicalMailboxName folds INBOX, which is case-insensitive (RFC 9051
// 5.1), and drops a trailing hierarchy delimiter.
func canonicalMailboxName(name string) string {
	name = strings.TrimRight(name, string(mailboxDelim))
	if strings.EqualFold(name, inboxName) {
		return inboxName
	}
	return name
}

func (a *account) mailbox(name string) (*mailbox, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mailboxLocked(name)
}

func (a *account) mailboxLocked(name string) (*mailbox, error) {
	mb := a.mailboxes[canonicalMailboxName(name)]
	if mb == nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	}
	return mb, nil
}

func (a *account) displayName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.name
}

func (a *account) createLocked(name string, specialUse []imap.MailboxAttr) (*mailbox, error) {
	name = canonicalMailboxName(name)
	if name == "" {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Empty mailbox name"}
	}
	if a.mailboxes[name] != nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	uidValidity, err := a.st.nextUIDValidity()
	if err != nil {
		return nil, err
	}
	mb := &mailbox{
		tracker:     imapserver.NewMailboxTracker(0),
		uidValidity: uidValidity,
		name:        name,
		subscribed:  true,
		specialUse:  specialUse,
		uidNext:     1,
	}
	if a.dir != "" {
		mb.dir = filepath.Join(a.dir, strconv.FormatUint(uint64(mb.uidValidity), 10))
		if err := mkdirSynced(mb.dir); err != nil {
			return nil, fmt.Errorf("sandbox: create mailbox %q: %w", name, err)
		}
		if err := mb.saveMetaLocked(); err != nil {
			return nil, err
		}
	}
	a.mailboxes[name] = mb
	return mb, nil
}

func (a *account) delete(name string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	mb, err := a.mailboxLocked(name)
	if err != nil {
		return err
	}
	if mb.name == inboxName {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted"}
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.dir != "" {
		// Rename first so a crash half-way through RemoveAll does not
		// bring back a mailbox with some of its messages.
		gone := filepath.Join(a.dir, deletedPrefix+filepath.Base(mb.dir))
		if err := os.Rename(mb.dir, gone); err != nil {
			return fmt.Errorf("sandbox: delete mailbox %q: %w", name, err)
		}
		if err := syncDir(a.dir); err != nil {
			return fmt.Errorf("sandbox: delete mailbox %q: %w", name, err)
		}
		if err := os.RemoveAll(gone); err != nil {
			return fmt.Errorf("sandbox: delete mailbox %q: %w", name, err)
		}
	}
	mb.deleted = true
	delete(a.mailboxes, mb.name)
	return nil
}

func (a *account) rename(oldName, newName string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	mb, err := a.mailboxLocked(oldName)
	if err != nil {
		return err
	}
	newName = canonicalMailboxName(newName)
	if mb.name == inboxName || newName == inboxName {
		// RFC 9051 6.3.6 gives renaming INBOX special semantics; a
		// sandbox has no need for them.
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be renamed"}
	}
	if a.mailboxes[newName] != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	old := mb.name
	mb.name = newName
	if err := mb.saveMetaLocked(); err != nil {
		mb.name = old
		return err
	}
	delete(a.mailboxes, old)
	a.mailboxes[newName] = mb
	return nil
}

func (mb *mailbox) setSubscribed(v bool) error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.subscribed = v
	return mb.saveMetaLocked()
}

func (mb *mailbox) saveMetaLocked() error {
	if mb.dir == "" {
		return nil
	}
	meta := mailboxMeta{
		Name:        mb.name,
		UIDValidity: mb.uidValidity,
		UIDNext:     uint32(mb.uidNext),
		Subscribed:  mb.subscribed,
		SpecialUse:  mb.specialUse,
	}
	if err := writeJSON(filepath.Join(mb.dir, mailboxFile), meta); err != nil {
		return fmt.Errorf("sandbox: save mailbox %q: %w", mb.name, err)
	}
	return nil
}

func (mb *mailbox) saveFlagsLocked() error {
	if mb.dir == "" {
		return nil
	}
	flags := make(map[string][]imap.Flag)
	for _, msg := range mb.msgs {
		if len(msg.flags) > 0 {
			flags[strconv.FormatUint(uint64(msg.uid), 10)] = msg.flagList()
		}
	}
	if err := writeJSON(filepath.Join(mb.dir, flagsFile), flags); err != nil {
		return fmt.Errorf("sandbox: save flags of %q: %w", mb.name, err)
	}
	return nil
}

// append stores buf as a new message. When the mailbox is persisted, the
// message is on disk and fsynced before append returns: the SMTP server
// replies 250 only after that.
func (mb *mailbox) append(buf []byte, flags []imap.Flag, t time.Time) (*imap.AppendData, error) {
	if t.IsZero() {
		t = time.Now()
	}
	// Write and fsync outside the lock so deliveries to one mailbox overlap
	// their slowest part; only the rename that gives the file its UID is
	// serialised, which keeps UIDs ascending in mailbox order.
	var tmp string
	if mb.dir != "" {
		var err error
		if tmp, err = writeTemp(mb.dir, buf, t); err != nil {
			return nil, fmt.Errorf("sandbox: append to %q: %w", mb.name, err)
		}
	}

	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.deleted {
		if tmp != "" {
			_ = os.Remove(tmp)
		}
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	msg := &message{uid: mb.uidNext, buf: buf, t: t, flags: make(map[imap.Flag]struct{})}
	for _, f := range flags {
		msg.flags[canonicalFlag(f)] = struct{}{}
	}
	if tmp != "" {
		final := filepath.Join(mb.dir, strconv.FormatUint(uint64(msg.uid), 10)+messageFileExt)
		if err := os.Rename(tmp, final); err != nil {
			_ = os.Remove(tmp)
			return nil, fmt.Errorf("sandbox: append to %q: %w", mb.name, err)
		}
		if err := syncDir(mb.dir); err != nil {
			return nil, fmt.Errorf("sandbox: append to %q: %w", mb.name, err)
		}
	}
	mb.uidNext++
	mb.msgs = append(mb.msgs, msg)
	if len(msg.flags) > 0 {
		if err := mb.saveFlagsLocked(); err != nil {
			return nil, err
		}
	}
	mb.tracker.QueueNumMessages(uint32(len(mb.msgs)))
	mb.notifyLocked()
	return &imap.AppendData{UIDValidity: mb.uidValidity, UID: msg.uid}, nil
}

// expungeLocked removes the given messages, queueing EXPUNGE updates for
// every session, and returns nothing: sessions learn of it through Poll.
func (mb *mailbox) expungeLocked(gone map[*message]struct{}) error {
	if len(gone) == 0 {
		return nil
	}
	if mb.dir != "" {
		// UIDNEXT is otherwise derived from the highest file on disk:
		// record it before the files go, so UIDs are never reused
		// (RFC 9051 2.3.1.1).
		if err := mb.saveMetaLocked(); err != nil {
			return err
		}
	}
	// Walk backwards so the sequence numbers queued stay valid one after
	// the other (RFC 9051 7.5.1).
	kept := make([]*message, 0, len(mb.msgs))
	for i := len(mb.msgs) - 1; i >= 0; i-- {
		msg := mb.msgs[i]
		if _, ok := gone[msg]; !ok {
			kept = append(kept, msg)
			continue
		}
		if mb.dir != "" {
			path := filepath.Join(mb.dir, strconv.FormatUint(uint64(msg.uid), 10)+messageFileExt)
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("sandbox: expunge from %q: %w", mb.name, err)
			}
		}
		mb.tracker.QueueExpunge(uint32(i) + 1)
	}
	slices.Reverse(kept)
	mb.msgs = kept
	mb.notifyLocked()
	if mb.dir != "" {
		if err := syncDir(mb.dir); err != nil {
			return fmt.Errorf("sandbox: expunge from %q: %w", mb.name, err)
		}
	}
	return mb.saveFlagsLocked()
}

// watch returns a channel that receives a value after any change queued
// for the mailbox's sessions; unwatch must be called when done.
func (mb *mailbox) watch() chan struct{} {
	ch := make(chan struct{}, 1)
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.watchers == nil {
		mb.watchers = make(map[chan struct{}]struct{})
	}
	mb.watchers[ch] = struct{}{}
	return ch
}

func (mb *mailbox) unwatch(ch chan struct{}) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	delete(mb.watchers, ch)
}

// notifyLocked wakes every watcher; a watcher already due to wake loses
// nothing, as it polls the whole queue.
func (mb *mailbox) notifyLocked() {
	for ch := range mb.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (mb *mailbox) statusDataLocked(options *imap.StatusOptions) *imap.StatusData {
	data := imap.StatusData{Mailbox: mb.name}
	if options.NumMessages {
		n := uint32(len(mb.msgs))
		data.NumMessages = &n
	}
	if options.UIDNext {
		data.UIDNext = mb.uidNext
	}
	if options.UIDValidity {
		data.UIDValidity = mb.uidValidity
	}
	if options.NumUnseen {
		n := uint32(len(mb.msgs)) - mb.countByFlagLocked(imap.FlagSeen)
		data.NumUnseen = &n
	}
	if options.NumDeleted {
		n := mb.countByFlagLocked(imap.FlagDeleted)
		data.NumDeleted = &n
	}
	if options.Size {
		var size int64
		for _, msg := range mb.msgs {
			size += int64(len(msg.buf))
		}
		data.Size = &size
	}
	if options.NumRecent {
		n := uint32(0)
		data.NumRecent = &n
	}
	return &data
}

func (mb *mailbox) countByFlagLocked(flag imap.Flag) uint32 {
	var n uint32
	for _, msg := range mb.msgs {
		if _, ok := msg.flags[canonicalFlag(flag)]; ok {
			n++
		}
	}
	return n
}

func (msg *message) flagList() []imap.Flag {
	l := make([]imap.Flag, 0, len(msg.flags))
	for f := range msg.flags {
		l = append(l, f)
	}
	slices.Sort(l)
	return l
}

func (msg *message) hasFlag(f imap.Flag) bool {
	_, ok := msg.flags[canonicalFlag(f)]
	return ok
}

func canonicalFlag(flag imap.Flag) imap.Flag {
	return imap.Flag(strings.ToLower(string(flag)))
}

// File helpers. Each write is durable before it returns.

func writeTemp(dir string, data []byte, mtime time.Time) (string, error) {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	path := filepath.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePermissions)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(path, mtime, mtime)
	}
	if err != nil {
		_ = os.Remove(path)
		return "", err
	}
	return path, nil
}

func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, buf.Bytes(), time.Now())
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func readJSON(path string, v any) error {
	buf, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(buf, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func mkdirSynced(dir string) error {
	if err := os.MkdirAll(dir, dirPermissions); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
