package mailmsg

import (
	"bufio"
	"bytes"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
)

// Peeked is what people need to recognise a message that is not parsed
// (over a limit, or a parse that failed or ran out of time).
type Peeked struct {
	Sender     string // the From address, lower-cased; "" when there is none
	SenderName string // the From display name
	Subject    string // RFC 2047 decoded, at most maxSubject bytes
}

// maxSubject is RFC 5322 2.1.1's limit on a line, which a subject read
// for people needs no more than.
const maxSubject = 998

// PeekHeader reads From and Subject from the top-level header block
// alone (at most maxBytes of it), for a message that is not parsed. It
// never fails: a partial or broken header gives what could be read.
func PeekHeader(raw []byte, maxBytes int) Peeked {
	h := topHeader(raw, maxBytes)
	var p Peeked
	p.Subject = cut(strings.ToValidUTF8(enmime.DecodeRFC2047(h.Get("Subject")), "\uFFFD"), maxSubject)
	if from := h.Get("From"); from != "" {
		if a, err := mail.ParseAddress(from); err == nil {
			p.Sender, p.SenderName = strings.ToLower(a.Address), a.Name
		} else {
			p.Sender = strings.ToLower(bareAddress(from))
		}
	}
	p.Sender = strings.ToValidUTF8(p.Sender, "\uFFFD")
	p.SenderName = strings.ToValidUTF8(p.SenderName, "\uFFFD")
	return p
}

// PeekMessageID reads the Message-ID, without angle brackets, from the
// header block only, without parsing the body: the IMAP ingester must be
// cheap and never fail on a broken message.
func PeekMessageID(raw []byte) string {
	return firstMsgID(topHeader(raw, len(raw)).Get("Message-Id"))
}

// topHeader reads the top-level header block, up to the first blank line
// and at most maxBytes of it; a partial header is fine.
func topHeader(raw []byte, maxBytes int) textproto.MIMEHeader {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		end = bytes.Index(raw, []byte("\n\n"))
	}
	if end < 0 {
		end = len(raw)
	}
	end = min(end, maxBytes)
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(raw[:end:end], "\r\n\r\n"...))))
	h, _ := r.ReadMIMEHeader() // a partial header is fine
	return h
}

// cut trims s and cuts it to at most n bytes on a rune boundary, marking
// the cut with "…" (as inbox's snippet does for what it stores).
func cut(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
