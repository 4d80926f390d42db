package compose

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wneessen/go-mail"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// NewMessageID returns a fresh "<random@domain>" Message-ID (RFC 5322
// 3.6.4). The left part is 144 bits from crypto/rand, so a reply that
// quotes it in In-Reply-To cannot be forged by guessing.
func NewMessageID(domain string) string {
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (Go 1.24+)
	left := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	domain = strings.Trim(strings.ToLower(strings.TrimSpace(domain)), ".")
	if domain == "" || !validIDPart(domain) {
		domain = "sitrep.invalid" // RFC 2606: a name that is never real
	}
	return "<" + left + "@" + domain + ">"
}

// maxReferences keeps References from growing without bound on a long
// incident (a status every 30 minutes for two days is ~100 messages).
// RFC 5537 3.4.4 suggests trimming this way: the first (thread root) and
// the most recent ones are what threading clients use.
const maxReferences = 20

// References returns the References of a reply to a message whose own
// References were parentRefs and whose Message-ID is parentID. RFC 5322
// 3.6.4: "the contents of the parent's References field (if any) followed
// by the contents of the parent's Message-ID field". If the parent had no
// References but a single In-Reply-To, pass that as parentRefs. IDs come
// back in "<...>" form, duplicates and empty ones removed, capped at
// maxReferences keeping the first.
func References(parentRefs []string, parentID string) []string {
	seen := map[string]bool{}
	var ids []string
	for _, id := range append(append([]string(nil), parentRefs...), parentID) {
		id = normalizeMsgID(id)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) > maxReferences {
		ids = append(ids[:1], ids[len(ids)-(maxReferences-1):]...)
	}
	return ids
}

// normalizeMsgID returns "<id>" whether or not id came with brackets, or
// "" for an empty one.
func normalizeMsgID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if id == "" {
		return ""
	}
	return "<" + id + ">"
}

// validMsgID checks "<left@right>" loosely against RFC 5322 3.6.4: one @,
// both sides non-empty, printable ASCII without brackets or spaces.
func validMsgID(id string) bool {
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, ">") {
		return false
	}
	left, right, ok := strings.Cut(id[1:len(id)-1], "@")
	return ok && validIDPart(left) && validIDPart(right) && !strings.Contains(right, "@")
}

func validIDPart(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r > '~' || r == '<' || r == '>' || r == '"' || r == '\\' {
			return false
		}
	}
	return true
}

// Outlook threads by Thread-Index (MS-OXOMSG 2.2.1.3,
// PidTagConversationIndex), not by References: a 22-byte header (one
// reserved byte 0x01, the 40 high bits of a FILETIME, a 16-byte GUID) and
// a 5-byte block per reply, base64-encoded.

// fileTimeEpoch is 1601-01-01 UTC in Unix 100ns ticks' terms.
const fileTimeEpoch = 116444736000000000

func fileTime(t time.Time) uint64 {
	ft := t.UnixNano()/100 + fileTimeEpoch
	if ft < 0 {
		return 0
	}
	return uint64(ft)
}

func fromFileTime(ft uint64) time.Time {
	return time.Unix(0, (int64(ft)-fileTimeEpoch)*100).UTC()
}

// ThreadIndexRoot returns the Thread-Index of the first message of a
// thread started at t. guid identifies the conversation; give every thread
// its own (a random UUID's bytes).
func ThreadIndexRoot(t time.Time, guid [16]byte) string {
	b := make([]byte, 22)
	b[0] = 0x01
	putUint40(b[1:6], fileTime(t)>>24) // the 24 low bits are dropped
	copy(b[6:], guid[:])
	return base64.StdEncoding.EncodeToString(b)
}

// ThreadIndexChild returns the Thread-Index of a reply, sent at t, to the
// message whose Thread-Index is parent: the parent's bytes plus one 5-byte
// response level. Per MS-OXOMSG the delta is from the time in the header
// block: bit 39 (DC) says whether the 31-bit delta drops 18 low bits (DC=0,
// deltas under ~1.7 years) or 23; the last byte is random.
func ThreadIndexChild(parent string, t time.Time) (string, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(parent))
	if err != nil || len(b) < 22 || (len(b)-22)%5 != 0 || b[0] != 0x01 {
		return "", errs.InvalidField("Thread-Index", "not a conversation index (22 bytes and 5 per reply, base64)")
	}
	start := uint40(b[1:6]) << 24
	var delta uint64
	if ft := fileTime(t); ft > start {
		delta = ft - start
	}
	var block uint64
	if delta>>(18+31) == 0 {
		block = (delta >> 18) << 8
	} else {
		block = 1<<39 | ((delta>>23)&0x7fffffff)<<8
	}
	var rnd [1]byte
	_, _ = rand.Read(rnd[:])
	block |= uint64(rnd[0])
	child := make([]byte, 5)
	putUint40(child, block)
	return base64.StdEncoding.EncodeToString(append(b, child...)), nil
}

// decodeThreadIndex reads a Thread-Index back: the thread's start, its
// GUID and the time of each reply (header time plus the delta).
func decodeThreadIndex(s string) (start time.Time, guid [16]byte, replies []time.Time, err error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) < 22 || (len(b)-22)%5 != 0 {
		return time.Time{}, guid, nil, fmt.Errorf("compose: bad Thread-Index %q", s)
	}
	ft := uint40(b[1:6]) << 24
	copy(guid[:], b[6:22])
	for off := 22; off < len(b); off += 5 {
		block := uint40(b[off : off+5])
		delta := (block >> 8) & 0x7fffffff
		if block>>39 == 0 {
			delta <<= 18
		} else {
			delta <<= 23
		}
		replies = append(replies, fromFileTime(ft+delta))
	}
	return fromFileTime(ft), guid, replies, nil
}

func putUint40(b []byte, v uint64) {
	for i := range 5 {
		b[i] = byte(v >> (8 * (4 - i)))
	}
}

func uint40(b []byte) uint64 {
	var v uint64
	for _, c := range b[:5] {
		v = v<<8 | uint64(c)
	}
	return v
}

// Envelope is everything about a message that is not its content.
type Envelope struct {
	FromName, FromAddr string
	// ToDisplay names the audience, e.g. "Exec team". It is written as an
	// RFC 5322 3.4 group with no members, "Exec team:;", so recipients see
	// who it went to and never the member list; the real recipients go to
	// the SMTP envelope (RCPT TO) only. Empty means "undisclosed-recipients:;".
	ToDisplay string
	ReplyTo   string // "Name <addr>" or "addr"; empty = no Reply-To
	Subject   string // empty = the Rendered subject

	MessageID  string   // required; NewMessageID makes one. With or without <>.
	InReplyTo  string   // the parent's Message-ID, for replies
	References []string // see References

	ThreadTopic string // Outlook: the subject without prefixes
	ThreadIndex string // Outlook: ThreadIndexRoot / ThreadIndexChild
	ListID      string // RFC 2919, e.g. "INC-42 status <inc-42.status.example.com>"

	Date time.Time // zero = now
	// AutoSubmitted is RFC 3834 5's Auto-Submitted: AutoGenerated for what
	// the hub sends by itself (status emails, reminders, notices),
	// AutoReplied for an answer to a message; "" sends none. Either asks
	// auto-responders (out-of-office) to stay quiet.
	AutoSubmitted string

	// Language is the body's BCP 47 tag, written as Content-Language
	// (RFC 3282); "" writes none.
	Language string

	Extra map[string]string // other headers; may not replace the ones above
}

// RFC 3834 5.1: the values of Auto-Submitted the hub sends.
const (
	// AutoGenerated: made by the hub itself, not in answer to a message.
	AutoGenerated = "auto-generated"
	// AutoReplied: made by the hub in answer to a message it received.
	AutoReplied = "auto-replied"
)

// AutoResponseSuppress is the X-Auto-Response-Suppress value sent with
// Auto-Submitted: out-of-office, other auto-replies, delivery and read
// receipts, but not NDR (bounces must still come back).
const AutoResponseSuppress = "DR, RN, NRN, OOF, AutoReply"

// managed are the headers Build sets itself; Extra may not touch them.
var managed = map[string]bool{
	"from": true, "sender": true, "to": true, "cc": true, "bcc": true, "reply-to": true, "subject": true,
	"message-id": true, "in-reply-to": true, "references": true, "date": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true, "thread-topic": true, "thread-index": true,
	"list-id": true, "auto-submitted": true, "x-auto-response-suppress": true,
}

// Build returns the complete RFC 5322 message: the headers, and a
// multipart/alternative body with the plain-text and HTML parts. Any
// header value with a line break or other control character is refused
// (errs.Invalid naming the header) before anything is built: that is how
// header injection through a title or a name is stopped.
func Build(env Envelope, r *Rendered) ([]byte, error) {
	return build(env, r, nil, "")
}

// iTIP methods (RFC 5546 1.4) an iMIP invitation may carry.
var itipMethods = map[string]bool{
	"PUBLISH": true, "REQUEST": true, "REPLY": true, "ADD": true, "CANCEL": true,
	"REFRESH": true, "COUNTER": true, "DECLINECOUNTER": true,
}

// BuildWithCalendar is Build plus a third alternative, "text/calendar;
// method=...; charset=UTF-8" carrying ics, as iMIP (RFC 6047 2.4) wants
// for invitations: Gmail, Outlook and Apple Mail show their invite UI for
// it. method must match the METHOD inside ics.
func BuildWithCalendar(env Envelope, r *Rendered, ics []byte, method string) ([]byte, error) {
	method = strings.ToUpper(strings.TrimSpace(method))
	if !itipMethods[method] {
		return nil, errs.InvalidField("method", "%q is not an iTIP method (RFC 5546)", method)
	}
	if len(bytes.TrimSpace(ics)) == 0 {
		return nil, errs.InvalidField("ics", "is empty")
	}
	return build(env, r, ics, method)
}

func build(env Envelope, r *Rendered, ics []byte, method string) ([]byte, error) {
	if r == nil {
		return nil, errs.E(errs.Invalid, "compose: nothing rendered to build a message from")
	}
	subject := env.Subject
	if subject == "" {
		subject = r.Subject
	}
	if err := checkHeaders(env, subject); err != nil {
		return nil, err
	}
	msgID := normalizeMsgID(env.MessageID)
	if !validMsgID(msgID) {
		return nil, errs.InvalidField("Message-ID", "%q is not <left@right>", env.MessageID)
	}

	m := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if looksEncoded(env.FromName) {
		// go-mail would write such a name as typed (net/mail even decodes
		// it first), so the name is encoded here; go-mail still checks the
		// address, on a message of its own.
		if err := mail.NewMsg().From(env.FromAddr); err != nil {
			return nil, errs.InvalidField("From", "%v", err)
		}
		m.SetGenHeaderPreformatted(mail.Header(mail.HeaderFrom), encodeWords(env.FromName)+" <"+env.FromAddr+">")
	} else if err := m.FromFormat(env.FromName, env.FromAddr); err != nil {
		return nil, errs.InvalidField("From", "%v", err)
	}
	m.SetGenHeaderPreformatted(mail.Header("To"), groupAddress(env.ToDisplay))
	if env.ReplyTo != "" {
		if err := m.ReplyTo(env.ReplyTo); err != nil {
			return nil, errs.InvalidField("Reply-To", "%v", err)
		}
	}
	setUnstructured(m, mail.HeaderSubject, subject)
	m.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(msgID, "<"), ">"))
	date := env.Date
	if date.IsZero() {
		date = time.Now()
	}
	m.SetDateWithValue(date)

	// RFC 5322 3.6.4: In-Reply-To and References hold msg-ids separated
	// by whitespace (go-mail would join several values with commas).
	if env.InReplyTo != "" {
		id := normalizeMsgID(env.InReplyTo)
		if !validMsgID(id) {
			return nil, errs.InvalidField("In-Reply-To", "%q is not <left@right>", env.InReplyTo)
		}
		m.SetGenHeader(mail.HeaderInReplyTo, id)
	}
	if len(env.References) > 0 {
		refs := make([]string, 0, len(env.References))
		for _, ref := range env.References {
			id := normalizeMsgID(ref)
			if id == "" {
				continue
			}
			if !validMsgID(id) {
				return nil, errs.InvalidField("References", "%q is not <left@right>", ref)
			}
			refs = append(refs, id)
		}
		if len(refs) > 0 {
			m.SetGenHeader(mail.HeaderReferences, strings.Join(refs, " "))
		}
	}
	if env.ThreadTopic != "" {
		setUnstructured(m, mail.Header("Thread-Topic"), env.ThreadTopic)
	}
	if env.ThreadIndex != "" {
		m.SetGenHeader(mail.Header("Thread-Index"), env.ThreadIndex)
	}
	if env.ListID != "" {
		m.SetGenHeaderPreformatted(mail.Header("List-Id"), listID(env.ListID))
	}
	if env.Language != "" {
		m.SetGenHeader(mail.Header("Content-Language"), env.Language)
	}
	if env.AutoSubmitted != "" {
		m.SetGenHeader(mail.Header("Auto-Submitted"), env.AutoSubmitted)
		// Exchange and Outlook do not read Auto-Submitted; they honour
		// X-Auto-Response-Suppress (MS-OXCMAIL 2.1.3.2.20). Not "All": that
		// would also suppress non-delivery reports (NDR), and the hub's
		// bounce notices depend on them.
		m.SetGenHeader(mail.HeaderXAutoResponseSuppress, AutoResponseSuppress)
	}
	for k, v := range env.Extra {
		m.SetGenHeader(mail.Header(k), v)
	}

	m.SetBodyString(mail.TypeTextPlain, r.Text)
	m.AddAlternativeString(mail.TypeTextHTML, r.HTML)
	if ics != nil {
		// go-mail appends "; charset=UTF-8" to the part's content type.
		m.AddAlternativeString(mail.ContentType("text/calendar; method="+method), string(ics))
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("compose: write message: %w", err)
	}
	return buf.Bytes(), nil
}

// checkHeaders refuses control characters in every header value, and
// Extra headers that are malformed or would replace a managed one.
func checkHeaders(env Envelope, subject string) error {
	fields := []struct{ name, value string }{
		{"From", env.FromName}, {"From", env.FromAddr}, {"To", env.ToDisplay}, {"Reply-To", env.ReplyTo},
		{"Subject", subject}, {"Message-ID", env.MessageID}, {"In-Reply-To", env.InReplyTo},
		{"Thread-Topic", env.ThreadTopic}, {"Thread-Index", env.ThreadIndex}, {"List-Id", env.ListID}, {"Content-Language", env.Language},
	}
	for _, ref := range env.References {
		fields = append(fields, struct{ name, value string }{"References", ref})
	}
	for k, v := range env.Extra {
		if !validFieldName(k) {
			return errs.InvalidField(k, "is not a valid header field name (RFC 5322 2.2)")
		}
		if managed[strings.ToLower(k)] {
			return errs.InvalidField(k, "is set through the Envelope, not Extra")
		}
		fields = append(fields, struct{ name, value string }{k, v})
	}
	for _, f := range fields {
		if strings.IndexFunc(f.value, unicode.IsControl) >= 0 {
			return errs.InvalidField(f.name, "contains a line break or control character; the message was not built")
		}
	}
	switch env.AutoSubmitted {
	case "", AutoGenerated, AutoReplied:
	default:
		return errs.InvalidField("Auto-Submitted", "want %q or %q (RFC 3834 5.1), got %q", AutoGenerated, AutoReplied, env.AutoSubmitted)
	}
	if len(env.ToDisplay) > 200 {
		return errs.InvalidField("To", "the group name is longer than 200 characters")
	}
	return nil
}

// validFieldName: RFC 5322 2.2, printable US-ASCII except colon.
func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 33 || k[i] > 126 || k[i] == ':' {
			return false
		}
	}
	return true
}

// groupAddress writes an empty RFC 5322 3.4 group: display-name ":" ";".
// The display name is an atom run when it can be, a quoted string when it
// has specials, and RFC 2047 encoded words (B, safe in a phrase) when it is
// not ASCII.
func groupAddress(name string) string {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return "undisclosed-recipients:;"
	}
	return phrase(name) + ":;"
}

func phrase(s string) string {
	atoms, ascii := true, true
	for _, r := range s {
		switch {
		case r > '~':
			ascii, atoms = false, false
		case r == ' ' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') ||
			strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r):
		default:
			atoms = false
		}
	}
	switch {
	case looksEncoded(s):
		return encodeWords(s)
	case atoms:
		return s
	case ascii:
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return mime.BEncoding.Encode("UTF-8", s)
}

// setUnstructured sets an unstructured header (RFC 5322 3.6.5: Subject) to
// text that people wrote: as it is, or Q-encoded by go-mail when it is not
// ASCII, or, when it holds something like an encoded-word, encoded by us.
func setUnstructured(m *mail.Msg, h mail.Header, v string) {
	if looksEncoded(v) {
		m.SetGenHeaderPreformatted(h, encodeWords(v))
		return
	}
	m.SetGenHeader(h, v)
}

// looksEncoded reports whether s holds "=?", which begins an RFC 2047
// encoded-word. Text a person wrote must never reach a header as one: go-mail
// leaves ASCII as it is, and a client would then decode a title such as
// "=?utf-8?q?=0D=0AX-Injected:_yes?=" and show a line break and a header line
// that sitrep never saw, let alone checked.
func looksEncoded(s string) bool { return strings.Contains(s, "=?") }

// encodeWords writes all of s as RFC 2047 B-encoded words (4.1), so that a
// client decodes them back to exactly s, "=?" and all. Each word holds whole
// characters (5) and is at most 75 characters long (2); words are folded
// with CRLF SP, white space that decoders drop between adjacent words (6.2),
// which keeps each header line short. B is safe in a phrase and in
// unstructured text alike (5(1), 5(3)).
func encodeWords(s string) string {
	const maxChunk = 45 // bytes: 60 in base64, plus "=?UTF-8?B?" and "?=" is 72
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, w := utf8.DecodeRuneInString(s[n:])
			if n+w > maxChunk {
				break
			}
			n += w
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

// listID writes RFC 2919's "phrase <list-label.domain>", encoding the
// phrase when needed so the <id> part is never inside an encoded word.
func listID(v string) string {
	v = strings.TrimSpace(v)
	i := strings.LastIndex(v, "<")
	if i <= 0 {
		return v
	}
	desc := strings.TrimSpace(v[:i])
	if desc == "" {
		return v[i:]
	}
	return phrase(desc) + " " + v[i:]
}
