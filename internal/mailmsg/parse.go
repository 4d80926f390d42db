package mailmsg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Message is an inbound mail as sitrep needs it. It is built by Parse and is
// read-only afterwards.
type Message struct {
	MessageID  string   // without angle brackets
	InReplyTo  string   // the first msg-id of In-Reply-To, without angle brackets
	References []string // in header order (oldest first), without angle brackets

	From        Address
	ReplyTo     []Address
	To, Cc      []Address
	DeliveredTo []string // Delivered-To then X-Original-To, bare addresses, deduplicated

	Subject string
	Date    time.Time // zero when missing or unparseable (a warning says which)

	// Text is the plain-text body: the text/plain part, or, for HTML-only
	// mail, enmime's rendering of the HTML as text.
	Text string
	// HTML is the text/html body exactly as received. It is never rendered
	// by this package; whoever shows it must sanitise it first.
	HTML string
	// NewText is what the sender wrote in this message: Text with the quoted
	// history and the signature removed (see ExtractReply).
	NewText string

	Attachments []Attachment
	Calendar    *CalendarPart // the first text/calendar part, if any
	Bounce      *Bounce       // set when the message is a delivery failure report

	// ParseWarnings are the problems met while parsing that did not stop
	// it (enmime's errors, a bad Date, a bad address list). The message is
	// still usable; the warnings are for whoever debugs it later.
	ParseWarnings []string

	header header
}

// header holds the top-level header fields by lower-cased name, each with
// its values in the order they appear (topmost first). Our own type rather
// than enmime's or net/textproto's, whose key canonicalisations differ for
// unusual names.
type header map[string][]string

func headerOf(h map[string][]string) header {
	out := make(header, len(h))
	for k, v := range h {
		k = strings.ToLower(k)
		out[k] = append(out[k], v...)
	}
	return out
}

func (h header) Get(name string) string {
	if v := h[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h header) Values(name string) []string { return h[strings.ToLower(name)] }

// Address is one mailbox from an address header.
type Address struct {
	Name  string // display name, RFC 2047 decoded
	Email string // addr-spec as received
}

// Domain is the part of Email after the last "@", lower-cased; "" when
// there is none.
func (a Address) Domain() string {
	i := strings.LastIndexByte(a.Email, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(a.Email[i+1:])
}

// Attachment describes a file that came with the message. The content is
// not kept here: the caller has the raw message.
type Attachment struct {
	Filename    string
	ContentType string
	Size        int // decoded size in bytes
}

// CalendarPart is a text/calendar body part (RFC 5545), kept for iMIP
// (RFC 6047) processing.
type CalendarPart struct {
	Method string // iTIP method, upper case: REQUEST, REPLY, CANCEL...; "" if not stated
	Raw    []byte // the decoded calendar object
}

// HeaderValue returns the first value of the named header field, RFC 2047
// decoded, or "" if the field is absent. The name is case-insensitive.
func (m *Message) HeaderValue(name string) string {
	v := m.header.Get(name)
	if v == "" {
		return ""
	}
	return enmime.DecodeRFC2047(v)
}

// HeaderValues returns every value of the named header field in the order
// they appear in the message, topmost first. Trace fields such as Received
// and Authentication-Results are prepended by each server, so the first
// value is the one added last. Values are returned as received (not RFC
// 2047 decoded).
func (m *Message) HeaderValues(name string) []string {
	return m.header.Values(name)
}

// Parse reads a raw RFC 5322 message under DefaultLimits; see
// ParseLimited.
func Parse(raw []byte, maxBytes int64) (*Message, error) {
	return ParseLimited(raw, maxBytes, DefaultLimits())
}

// ParseLimited reads a raw RFC 5322 message. It is tolerant: malformed
// MIME, an unknown charset or a missing body give a Message with
// ParseWarnings, not an error. It returns an error only when nothing
// usable is there (no header at all, or a header that cannot be read);
// the error wraps the reason and has code errs.Invalid. A message longer
// than maxBytes (when maxBytes > 0), or over one of lim (checked by
// CheckStructure before enmime sees the message, and for the decoded size
// after), is refused with errs.TooLarge and a reason for people.
func ParseLimited(raw []byte, maxBytes int64, lim Limits) (m *Message, err error) {
	if maxBytes > 0 && int64(len(raw)) > maxBytes {
		return nil, errs.E(errs.TooLarge, "mailmsg: message of %d bytes is over the limit of %d bytes", len(raw), maxBytes)
	}
	lim = lim.WithDefaults()
	if _, err := CheckStructure(raw, lim); err != nil {
		return nil, err
	}
	// enmime is well fuzzed, but mail from the Internet is hostile and the
	// caller stores the raw message anyway: a bug in a parser must cost one
	// message, not the ingest loop. FuzzInbound calls parse directly, so it
	// still sees any panic.
	defer func() {
		if r := recover(); r != nil {
			m = nil
			err = fmt.Errorf("%w: panic: %v", errs.E(errs.Invalid, "mailmsg: parse: message could not be parsed"), r)
		}
	}()
	return parse(raw, lim)
}

// mimeParser is configured to keep going past broken parts: a reply with a
// corrupt attachment is still a reply.
var mimeParser = enmime.NewParser(
	enmime.SkipMalformedParts(true),
	enmime.SetReadPartErrorPolicy(enmime.AllowCorruptTextPartErrorPolicy),
	enmime.MaxStoredPartErrors(50),
)

// parse runs enmime on a message CheckStructure let through.
func parse(raw []byte, lim Limits) (*Message, error) {
	env, err := mimeParser.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		// enmime gives up on some structural damage (for example an
		// unreadable top-level Content-Type). The header may still be
		// fine, and the header is what matching needs.
		return parseFallback(raw, err)
	}
	if n := decodedSize(env.Root); n > lim.MaxDecodedBytes {
		return nil, overLimit("the decoded parts come to %d bytes; the limit is %d", n, lim.MaxDecodedBytes)
	}
	if len(env.Root.Header) == 0 {
		return nil, errs.E(errs.Invalid, "mailmsg: parse: no header fields")
	}

	m := &Message{
		header: headerOf(env.Root.Header),
		// Declared charsets lie and encodings break; what we store and show
		// must be valid UTF-8 (PostgreSQL refuses anything else).
		Text: strings.ToValidUTF8(env.Text, "\uFFFD"),
		HTML: strings.ToValidUTF8(env.HTML, "\uFFFD"),
	}
	for _, e := range env.Errors {
		m.ParseWarnings = append(m.ParseWarnings, e.Error())
	}
	salvaged := m.Text == "" && m.HTML == "" && env.Root.FirstChild == nil && len(env.Root.Content) > 0 &&
		(env.Root.ContentType == "" || strings.HasPrefix(env.Root.ContentType, "text/"))
	if salvaged {
		// A broken Content-Type makes enmime file a single-part body as an
		// attachment; it is still what the person wrote.
		m.Text = strings.ToValidUTF8(string(env.Root.Content), "\uFFFD")
		m.ParseWarnings = append(m.ParseWarnings, "mime: unreadable Content-Type; body kept as plain text")
	}
	m.readHeader()

	for _, p := range env.Attachments {
		if salvaged && p == env.Root {
			continue
		}
		m.Attachments = append(m.Attachments, attachmentOf(p))
	}
	for _, p := range env.Inlines {
		// Inline parts with a file name are images and the like; inline
		// text parts without one are just body text.
		if p.FileName != "" {
			m.Attachments = append(m.Attachments, attachmentOf(p))
		}
	}
	if p := env.Root.DepthMatchFirst(func(p *enmime.Part) bool { return p.ContentType == "text/calendar" }); p != nil {
		m.Calendar = calendarOf(p)
	}

	m.Bounce = bounceOf(m, env.Root)
	m.NewText = ExtractReply(m.Text)
	return m, nil
}

// parseFallback salvages what net/mail can read when enmime refuses the
// message: the header fields and the body as plain text.
func parseFallback(raw []byte, cause error) (*Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errs.E(errs.Invalid, "mailmsg: parse: unreadable message"), errors.Join(cause, err))
	}
	if len(msg.Header) == 0 {
		return nil, fmt.Errorf("%w: %w", errs.E(errs.Invalid, "mailmsg: parse: no header fields"), cause)
	}
	body, _ := io.ReadAll(io.LimitReader(msg.Body, int64(len(raw))))
	m := &Message{
		header:        headerOf(msg.Header),
		Text:          string(bytes.ToValidUTF8(body, []byte("\uFFFD"))),
		ParseWarnings: []string{"mime: " + cause.Error() + "; body kept as plain text"},
	}
	m.readHeader()
	m.NewText = ExtractReply(m.Text)
	return m, nil
}

// readHeader fills the fields that come from the top-level header.
func (m *Message) readHeader() {
	m.MessageID = firstMsgID(m.header.Get("Message-Id"))
	m.InReplyTo = firstMsgID(m.header.Get("In-Reply-To"))
	m.References = msgIDs(strings.Join(m.header.Values("References"), " "))
	m.Subject = strings.ToValidUTF8(strings.TrimSpace(m.HeaderValue("Subject")), "\uFFFD")

	if from := m.addressList("From"); len(from) > 0 {
		m.From = from[0]
	} else if sender := m.addressList("Sender"); len(sender) > 0 {
		// RFC 5322 3.6.2: Sender is the mailbox that sent it on From's
		// behalf; better than nothing when From is missing or broken.
		m.From = sender[0]
	}
	m.ReplyTo = m.addressList("Reply-To")
	m.To = m.addressList("To")
	m.Cc = m.addressList("Cc")

	seen := map[string]bool{}
	for _, name := range []string{"Delivered-To", "X-Original-To"} {
		for _, v := range m.header.Values(name) {
			a := bareAddress(v)
			if a == "" || seen[strings.ToLower(a)] {
				continue
			}
			seen[strings.ToLower(a)] = true
			m.DeliveredTo = append(m.DeliveredTo, a)
		}
	}

	if d := m.header.Get("Date"); d != "" {
		t, err := mail.ParseDate(d)
		if err != nil {
			m.ParseWarnings = append(m.ParseWarnings, fmt.Sprintf("date: %v", err))
		} else {
			m.Date = t
		}
	}
}

// addressList parses every occurrence of an address header. A broken list
// gives a warning and whatever mailboxes could be read.
func (m *Message) addressList(name string) []Address {
	var out []Address
	for _, v := range m.header.Values(name) {
		if strings.TrimSpace(v) == "" {
			continue
		}
		list, err := enmime.ParseAddressList(v)
		if err != nil {
			m.ParseWarnings = append(m.ParseWarnings, fmt.Sprintf("%s: %v", strings.ToLower(name), err))
			if a := bareAddress(v); a != "" {
				out = append(out, Address{Email: a})
			}
			continue
		}
		for _, a := range list {
			if a == nil || a.Address == "" {
				continue
			}
			out = append(out, Address{Name: strings.ToValidUTF8(a.Name, "\uFFFD"), Email: strings.ToValidUTF8(a.Address, "\uFFFD")})
		}
	}
	return out
}

// bareAddress pulls an addr-spec out of "Name <a@b>", "<a@b>" or "a@b".
func bareAddress(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		if j := strings.IndexByte(s[i:], '>'); j > 0 {
			return strings.TrimSpace(s[i+1 : i+j])
		}
	}
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	if strings.Contains(s, "@") && !strings.ContainsAny(s, " \t<>") {
		return s
	}
	return ""
}

// msgIDs returns the msg-ids in a header value, without angle brackets.
// RFC 5322 3.6.4: msg-id = [CFWS] "<" id-left "@" id-right ">" [CFWS].
// Values without brackets (seen from broken clients) are taken word by word.
func msgIDs(v string) []string {
	var ids []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(v[i+1 : i+j]); id != "" {
			ids = append(ids, storable(id))
		}
		v = v[i+j+1:]
	}
	if ids == nil {
		for _, f := range strings.Fields(v) {
			if strings.Contains(f, "@") {
				ids = append(ids, storable(strings.Trim(f, "<>,")))
			}
		}
	}
	return ids
}

// storable keeps a Message-ID that is UTF-8 without NUL as it is (RFC
// 6532 allows UTF-8 in it), and writes any other as a quoted Go string
// ("\xff…"): still one distinct key per distinct ID, but text every
// database takes. PostgreSQL refuses such bytes in a text column, and an
// email that carried them stopped the ingest of everything after it.
func storable(id string) string {
	if utf8.ValidString(id) && !strings.ContainsRune(id, 0) {
		return id
	}
	return strconv.Quote(id)
}

func firstMsgID(v string) string {
	if ids := msgIDs(v); len(ids) > 0 {
		return ids[0]
	}
	return ""
}

func attachmentOf(p *enmime.Part) Attachment {
	return Attachment{Filename: p.FileName, ContentType: p.ContentType, Size: len(p.Content)}
}

func calendarOf(p *enmime.Part) *CalendarPart {
	c := &CalendarPart{Raw: p.Content, Method: strings.ToUpper(strings.TrimSpace(mediaParam(p, "method")))}
	if c.Method == "" {
		// RFC 6047 2.4 says the Content-Type method parameter must match
		// the METHOD property; some senders only set the property.
		sc := bufio.NewScanner(bytes.NewReader(p.Content))
		for sc.Scan() {
			line := sc.Text()
			if len(line) > 7 && strings.EqualFold(line[:7], "METHOD:") {
				c.Method = strings.ToUpper(strings.TrimSpace(line[7:]))
				break
			}
		}
	}
	return c
}

// mediaParam returns a parameter of a part's Content-Type. enmime keeps
// only some parameters in ContentTypeParams, so the header is read again.
func mediaParam(p *enmime.Part, name string) string {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return params[name]
}
