package sandbox

// The IMAP backend. Its shape follows go-imap's imapmemserver (MIT License,
// Copyright (c) 2013 The Go-IMAP Authors, 2016 Proton Technologies AG,
// 2023 Simon Ser), changed to persist mailboxes, keep UIDVALIDITY stable
// across restarts, never write to the network while holding a mailbox lock,
// and never mention a message a session has not yet been told exists.

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// imapCaps are the capabilities the sandbox advertises. IMAP4rev2 implies
// IDLE, MOVE, UIDPLUS, NAMESPACE and ESEARCH; the IMAP4rev1 ones are listed
// for older clients such as mutt.
var imapCaps = imap.CapSet{
	imap.CapIMAP4rev1:        {},
	imap.CapIMAP4rev2:        {},
	imap.CapNamespace:        {},
	imap.CapUIDPlus:          {},
	imap.CapESearch:          {},
	imap.CapSearchRes:        {},
	imap.CapListExtended:     {},
	imap.CapListStatus:       {},
	imap.CapMove:             {},
	imap.CapStatusSize:       {},
	imap.CapBinary:           {},
	imap.CapSpecialUse:       {},
	imap.CapCreateSpecialUse: {},
}

var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Mailbox is read-only (EXAMINE)"}

// imapSession is one IMAP connection. imapserver calls its methods one at
// a time, except Idle, which runs in a goroutine of its own and, when the
// client hangs up mid-IDLE, may still be running as Close is called.
type imapSession struct {
	sb   *Sandbox
	acct *account     // nil until LOGIN
	view *mailboxView // nil unless a mailbox is selected

	mu     sync.Mutex
	closed bool
	idling sync.WaitGroup // the running Idle, if any
}

var (
	_ imapserver.SessionIMAP4rev2   = (*imapSession)(nil)
	_ imapserver.SessionAppendLimit = (*imapSession)(nil)
)

func (s *imapSession) Close() error {
	// Idle has been told to stop (imapserver closes its stop channel
	// before it returns); let it finish before its view goes away.
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.idling.Wait()
	if s.view != nil {
		s.view.close()
		s.view = nil
	}
	return nil
}

// Login accepts the full address or, for the sandbox domain, the local part
// alone, with the one sandbox password.
func (s *imapSession) Login(username, password string) error {
	email, ok := s.sb.loginAddress(username)
	var acct *account
	if ok {
		acct = s.sb.store.account(email)
	}
	passOK := subtle.ConstantTimeCompare([]byte(password), []byte(s.sb.cfg.Password)) == 1
	if acct == nil || !passOK {
		s.sb.log.Info("sandbox: imap login refused", "user", username, "known", acct != nil)
		return imapserver.ErrAuthFailed
	}
	s.acct = acct
	return nil
}

func (s *imapSession) AppendLimit() uint32 {
	return uint32(min(s.sb.cfg.MaxMessageBytes, int64(^uint32(0))))
}

func (s *imapSession) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	mb, err := s.acct.mailbox(name)
	if err != nil {
		return nil, err
	}
	if s.view != nil {
		s.view.close()
		s.view = nil
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	// The session tracker is created under the mailbox lock so that the
	// message count in the SELECT response and the tracker agree.
	s.view = &mailboxView{mailbox: mb, tracker: mb.tracker.NewSession(), readOnly: options != nil && options.ReadOnly}
	return mb.selectDataLocked(), nil
}

func (s *imapSession) Unselect() error {
	if s.view != nil {
		s.view.close()
		s.view = nil
	}
	return nil
}

func (s *imapSession) Create(name string, options *imap.CreateOptions) error {
	var specialUse []imap.MailboxAttr
	if options != nil {
		specialUse = options.SpecialUse
	}
	s.acct.mu.Lock()
	defer s.acct.mu.Unlock()
	_, err := s.acct.createLocked(name, specialUse)
	return err
}

func (s *imapSession) Delete(name string) error { return s.acct.delete(name) }

func (s *imapSession) Rename(name, newName string, _ *imap.RenameOptions) error {
	return s.acct.rename(name, newName)
}

func (s *imapSession) Subscribe(name string) error {
	mb, err := s.acct.mailbox(name)
	if err != nil {
		return err
	}
	return mb.setSubscribed(true)
}

func (s *imapSession) Unsubscribe(name string) error {
	mb, err := s.acct.mailbox(name)
	if err != nil {
		return err
	}
	return mb.setSubscribed(false)
}

func (s *imapSession) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: mailboxDelim}}}, nil
}

func (s *imapSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		// RFC 9051 6.3.9: an empty pattern asks for the delimiter.
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: mailboxDelim})
	}
	s.acct.mu.Lock()
	mailboxes := make([]*mailbox, 0, len(s.acct.mailboxes))
	for name, mb := range s.acct.mailboxes {
		for _, pattern := range patterns {
			if imapserver.MatchList(name, mailboxDelim, ref, pattern) {
				mailboxes = append(mailboxes, mb)
				break
			}
		}
	}
	s.acct.mu.Unlock()

	var l []imap.ListData
	for _, mb := range mailboxes {
		if data := mb.list(options); data != nil {
			l = append(l, *data)
		}
	}
	slices.SortFunc(l, func(a, b imap.ListData) int { return strings.Compare(a.Mailbox, b.Mailbox) })
	for i := range l {
		if err := w.WriteList(&l[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *imapSession) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	mb, err := s.acct.mailbox(name)
	if err != nil {
		return nil, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.statusDataLocked(options), nil
}

func (s *imapSession) Append(name string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	mb, err := s.acct.mailbox(name)
	if err != nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	if r.Size() > s.sb.cfg.MaxMessageBytes {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig, Text: "Message too large"}
	}
	buf, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var opts imap.AppendOptions
	if options != nil {
		opts = *options
	}
	return mb.append(buf, opts.Flags, opts.Time)
}

func (s *imapSession) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.view == nil {
		return nil
	}
	return s.view.tracker.Poll(w, allowExpunge)
}

// Idle reports mailbox changes until stop is closed (RFC 2177). It does
// not use SessionTracker.Idle, which only wakes for updates queued after it
// started and so misses one delivered between the "+ idling" reply and its
// start: here the waiter is registered first, then pending updates are
// sent, then each later change wakes it.
func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.idling.Add(1)
	v := s.view
	s.mu.Unlock()
	defer s.idling.Done()
	if v == nil {
		// Nothing selected, nothing to report: wait for DONE.
		<-stop
		return nil
	}
	wake := v.mailbox.watch()
	defer v.mailbox.unwatch(wake)
	for {
		if err := v.tracker.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-wake:
		case <-stop:
			return nil
		}
	}
}

func (s *imapSession) Expunge(_ *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	v := s.view
	if v.readOnly {
		return errReadOnly
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	gone := make(map[*message]struct{})
	for _, msg := range v.msgs {
		if uids != nil && !uids.Contains(msg.uid) {
			continue
		}
		if msg.hasFlag(imap.FlagDeleted) {
			gone[msg] = struct{}{}
		}
	}
	// The EXPUNGE responses reach this session, like every other, through
	// the tracker when the command ends.
	return v.expungeLocked(gone)
}

func (s *imapSession) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	return s.view.search(kind, criteria, options)
}

func (s *imapSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	return s.view.fetch(w, numSet, options)
}

func (s *imapSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, _ *imap.StoreOptions) error {
	v := s.view
	if v.readOnly {
		return errReadOnly
	}
	v.mu.Lock()
	v.forEachLocked(numSet, func(seqNum uint32, msg *message) {
		msg.store(flags)
		v.mailbox.tracker.QueueMessageFlags(seqNum, msg.uid, msg.flagList(), v.tracker)
	})
	v.notifyLocked()
	err := v.saveFlagsLocked()
	v.mu.Unlock()
	if err != nil {
		return err
	}
	if flags.Silent {
		return nil
	}
	return v.fetch(w, numSet, &imap.FetchOptions{Flags: true})
}

func (s *imapSession) Copy(numSet imap.NumSet, destName string) (*imap.CopyData, error) {
	dest, err := s.acct.mailbox(destName)
	if err != nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	data, _, err := s.view.copyTo(numSet, dest)
	return data, err
}

// Move copies then expunges (RFC 6851 3.3). The EXPUNGE responses are sent
// through the tracker after the COPYUID response, as the RFC orders.
func (s *imapSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, destName string) error {
	v := s.view
	if v.readOnly {
		return errReadOnly
	}
	dest, err := s.acct.mailbox(destName)
	if err != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	if dest == v.mailbox {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Source and destination mailboxes are identical"}
	}
	data, moved, err := v.copyTo(numSet, dest)
	if err != nil {
		return err
	}
	gone := make(map[*message]struct{}, len(moved))
	for _, msg := range moved {
		gone[msg] = struct{}{}
	}
	v.mu.Lock()
	err = v.expungeLocked(gone)
	v.mu.Unlock()
	if err != nil {
		return err
	}
	return w.WriteCopyData(data)
}

func (mb *mailbox) list(options *imap.ListOptions) *imap.ListData {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if options.SelectSubscribed && !mb.subscribed {
		return nil
	}
	if options.SelectSpecialUse && len(mb.specialUse) == 0 {
		return nil
	}
	data := imap.ListData{Mailbox: mb.name, Delim: mailboxDelim}
	if mb.subscribed {
		data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
	}
	if (options.ReturnSpecialUse || options.SelectSpecialUse) && len(mb.specialUse) > 0 {
		data.Attrs = append(data.Attrs, mb.specialUse...)
	}
	if options.ReturnStatus != nil {
		data.Status = mb.statusDataLocked(options.ReturnStatus)
	}
	return &data
}

var standardFlags = []imap.Flag{imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagDraft}

func (mb *mailbox) selectDataLocked() *imap.SelectData {
	flags := slices.Clone(standardFlags)
	seen := make(map[imap.Flag]bool)
	for _, f := range standardFlags {
		seen[canonicalFlag(f)] = true
	}
	var firstUnseen uint32
	for i, msg := range mb.msgs {
		for f := range msg.flags {
			if !seen[f] {
				seen[f] = true
				flags = append(flags, f)
			}
		}
		if firstUnseen == 0 && !msg.hasFlag(imap.FlagSeen) {
			firstUnseen = uint32(i) + 1
		}
	}
	return &imap.SelectData{
		Flags:             flags,
		PermanentFlags:    append(slices.Clone(flags), imap.FlagWildcard),
		NumMessages:       uint32(len(mb.msgs)),
		FirstUnseenSeqNum: firstUnseen,
		UIDNext:           mb.uidNext,
		UIDValidity:       mb.uidValidity,
	}
}

// mailboxView is a mailbox as one selected session sees it: its own queue
// of pending updates, its own sequence numbers.
type mailboxView struct {
	*mailbox
	tracker   *imapserver.SessionTracker
	searchRes imap.UIDSet
	readOnly  bool
}

func (v *mailboxView) close() { v.tracker.Close() }

type fetchItem struct {
	seqNum       uint32 // as this session knows it
	msg          *message
	flags        []imap.Flag
	flagsChanged bool
}

func (v *mailboxView) fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	markSeen := false
	if !v.readOnly {
		for _, bs := range options.BodySection {
			if !bs.Peek {
				markSeen = true
				break
			}
		}
	}

	// Snapshot under the lock, write to the network without it: a slow
	// client must not hold up delivery into the mailbox.
	var items []fetchItem
	changed := false
	v.mu.Lock()
	v.forEachLocked(numSet, func(seqNum uint32, msg *message) {
		item := fetchItem{seqNum: v.tracker.EncodeSeqNum(seqNum), msg: msg}
		if markSeen && !msg.hasFlag(imap.FlagSeen) {
			// RFC 9051 6.4.5: fetching BODY[] sets \Seen; the new flags
			// go with this response and to the other sessions.
			msg.flags[canonicalFlag(imap.FlagSeen)] = struct{}{}
			v.mailbox.tracker.QueueMessageFlags(seqNum, msg.uid, msg.flagList(), v.tracker)
			item.flagsChanged = true
			changed = true
		}
		item.flags = msg.flagList()
		items = append(items, item)
	})
	var err error
	if changed {
		v.notifyLocked()
		err = v.saveFlagsLocked()
	}
	v.mu.Unlock()
	if err != nil {
		return err
	}

	for _, item := range items {
		rw := w.CreateMessage(item.seqNum)
		opts := options
		if item.flagsChanged && !options.Flags {
			o := *options
			o.Flags = true
			opts = &o
		}
		if err := item.msg.fetch(rw, opts, item.flags); err != nil {
			return err
		}
	}
	return nil
}

func (v *mailboxView) search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.staticSearchCriteria(criteria)

	var (
		data   imap.SearchData
		seqSet imap.SeqSet
		uidSet imap.UIDSet
	)
	for i, msg := range v.msgs {
		seqNum := v.tracker.EncodeSeqNum(uint32(i) + 1)
		if seqNum == 0 {
			// Not yet announced to this session (RFC 9051 7.4.1): it
			// will learn of it, and can search again, after EXISTS.
			continue
		}
		if !msg.search(seqNum, criteria) {
			continue
		}
		uidSet.AddNum(msg.uid)
		var num uint32
		switch kind {
		case imapserver.NumKindSeq:
			seqSet.AddNum(seqNum)
			num = seqNum
		case imapserver.NumKindUID:
			num = uint32(msg.uid)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if data.Max == 0 || num > data.Max {
			data.Max = num
		}
		data.Count++
	}
	switch kind {
	case imapserver.NumKindSeq:
		data.All = seqSet
	case imapserver.NumKindUID:
		data.All = uidSet
	}
	if options != nil && options.ReturnSave {
		v.searchRes = uidSet
	}
	return &data, nil
}

// copyTo appends copies of the messages in numSet to dest, in UID order,
// and returns the source messages copied.
func (v *mailboxView) copyTo(numSet imap.NumSet, dest *mailbox) (*imap.CopyData, []*message, error) {
	type snapshot struct {
		msg   *message
		flags []imap.Flag
	}
	var msgs []snapshot
	v.mu.Lock()
	v.forEachLocked(numSet, func(_ uint32, msg *message) {
		msgs = append(msgs, snapshot{msg, msg.flagList()})
	})
	v.mu.Unlock()

	// dest's lock is taken only after the source's is released, so two
	// sessions moving in opposite directions cannot deadlock.
	data := &imap.CopyData{UIDValidity: dest.uidValidity}
	copied := make([]*message, 0, len(msgs))
	for _, m := range msgs {
		ad, err := dest.append(m.msg.buf, m.flags, m.msg.t)
		if err != nil {
			return nil, nil, err
		}
		data.SourceUIDs.AddNum(m.msg.uid)
		data.DestUIDs.AddNum(ad.UID)
		copied = append(copied, m.msg)
	}
	return data, copied, nil
}

// forEachLocked calls f with the server-side sequence number of each
// message in numSet that this session knows of.
func (v *mailboxView) forEachLocked(numSet imap.NumSet, f func(seqNum uint32, msg *message)) {
	numSet = v.staticNumSet(numSet)
	for i, msg := range v.msgs {
		seqNum := uint32(i) + 1
		clientSeqNum := v.tracker.EncodeSeqNum(seqNum)
		if clientSeqNum == 0 {
			// Arrived after this session's last update: a FETCH
			// response for it would need a sequence number the
			// client has not been given yet.
			continue
		}
		var contains bool
		switch numSet := numSet.(type) {
		case imap.SeqSet:
			contains = numSet.Contains(clientSeqNum)
		case imap.UIDSet:
			contains = numSet.Contains(msg.uid)
		}
		if contains {
			f(seqNum, msg)
		}
	}
}

// staticNumSet resolves "*" (the largest number in use) and "$" (the saved
// search result, RFC 5182) into a plain set.
func (v *mailboxView) staticNumSet(numSet imap.NumSet) imap.NumSet {
	if imap.IsSearchRes(numSet) {
		return v.searchRes
	}
	switch numSet := numSet.(type) {
	case imap.SeqSet:
		maxNum := uint32(len(v.msgs))
		for i := range numSet {
			r := &numSet[i]
			staticNumRange(&r.Start, &r.Stop, maxNum)
		}
	case imap.UIDSet:
		maxNum := uint32(v.uidNext) - 1
		for i := range numSet {
			r := &numSet[i]
			staticNumRange((*uint32)(&r.Start), (*uint32)(&r.Stop), maxNum)
		}
	}
	return numSet
}

func (v *mailboxView) staticSearchCriteria(criteria *imap.SearchCriteria) {
	seqNums := make([]imap.SeqSet, 0, len(criteria.SeqNum))
	for _, seqSet := range criteria.SeqNum {
		switch numSet := v.staticNumSet(seqSet).(type) {
		case imap.SeqSet:
			seqNums = append(seqNums, numSet)
		case imap.UIDSet: // with SEARCHRES
			criteria.UID = append(criteria.UID, numSet)
		}
	}
	criteria.SeqNum = seqNums
	for i, uidSet := range criteria.UID {
		criteria.UID[i] = v.staticNumSet(uidSet).(imap.UIDSet)
	}
	for i := range criteria.Not {
		v.staticSearchCriteria(&criteria.Not[i])
	}
	for i := range criteria.Or {
		for j := range criteria.Or[i] {
			v.staticSearchCriteria(&criteria.Or[i][j])
		}
	}
}

func staticNumRange(start, stop *uint32, maxNum uint32) {
	dyn := false
	if *start == 0 {
		*start = maxNum
		dyn = true
	}
	if *stop == 0 {
		*stop = maxNum
		dyn = true
	}
	if dyn && *start > *stop {
		*start, *stop = *stop, *start
	}
}

func (msg *message) store(store *imap.StoreFlags) {
	switch store.Op {
	case imap.StoreFlagsSet:
		clear(msg.flags)
		fallthrough
	case imap.StoreFlagsAdd:
		for _, f := range store.Flags {
			msg.flags[canonicalFlag(f)] = struct{}{}
		}
	case imap.StoreFlagsDel:
		for _, f := range store.Flags {
			delete(msg.flags, canonicalFlag(f))
		}
	}
}

// fetch writes one FETCH response. flags is the snapshot taken under the
// mailbox lock; everything else in msg is immutable.
func (msg *message) fetch(w *imapserver.FetchResponseWriter, options *imap.FetchOptions, flags []imap.Flag) error {
	w.WriteUID(msg.uid)
	if options.Flags {
		w.WriteFlags(flags)
	}
	if options.InternalDate {
		w.WriteInternalDate(msg.t)
	}
	if options.RFC822Size {
		w.WriteRFC822Size(int64(len(msg.buf)))
	}
	if options.Envelope {
		w.WriteEnvelope(msg.envelope())
	}
	if options.BodyStructure != nil {
		w.WriteBodyStructure(imapserver.ExtractBodyStructure(bytes.NewReader(msg.buf)))
	}
	for _, bs := range options.BodySection {
		buf := imapserver.ExtractBodySection(bytes.NewReader(msg.buf), bs)
		if err := writeSection(w.WriteBodySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bs := range options.BinarySection {
		buf := imapserver.ExtractBinarySection(bytes.NewReader(msg.buf), bs)
		if err := writeSection(w.WriteBinarySection(bs, int64(len(buf))), buf); err != nil {
			return err
		}
	}
	for _, bss := range options.BinarySectionSize {
		w.WriteBinarySectionSize(bss, imapserver.ExtractBinarySectionSize(bytes.NewReader(msg.buf), bss))
	}
	return w.Close()
}

func writeSection(wc io.WriteCloser, buf []byte) error {
	_, err := wc.Write(buf)
	return errors.Join(err, wc.Close())
}
