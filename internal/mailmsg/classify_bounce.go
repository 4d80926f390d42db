package mailmsg

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"regexp"
	"strings"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/dsn"
)

// Bounce is what a delivery failure report says about a message sitrep sent.
type Bounce struct {
	Recipients []BouncedRecipient
	// OriginalMessageID is the Message-ID of the message that bounced,
	// without angle brackets, taken from the returned message or headers;
	// "" when the report did not include them. With it the hub finds the
	// delivery that failed.
	OriginalMessageID string
}

// BouncedRecipient is one recipient's fate in a Bounce.
type BouncedRecipient struct {
	Address    string // the recipient, bare addr-spec; "" when a non-standard report did not say
	Action     string // RFC 3464 2.3.3, lower case: failed, delayed, delivered, relayed, expanded
	Status     string // RFC 3463 enhanced status code, e.g. "5.1.1"
	Diagnostic string // the remote server's words, e.g. "550 5.1.1 user unknown"
	// Permanent is true when retrying will not help: Action failed or a
	// 5.x.x status. A delayed (4.x.x) report is not permanent.
	Permanent bool
}

// bounceOf reads a Bounce from a delivery status notification (RFC 3464),
// or, failing that, from the common non-standard bounce formats. It
// returns nil for anything that is not a bounce.
func bounceOf(m *Message, root *enmime.Part) *Bounce {
	if b := bounceFromDSN(root); b != nil {
		if b.OriginalMessageID == "" {
			b.OriginalMessageID = m.InReplyTo
		}
		return b
	}
	if !looksLikeBounce(m) {
		return nil
	}
	return bounceFromText(m, root)
}

// bounceFromDSN handles multipart/report; report-type=delivery-status
// (RFC 3464, container from RFC 6522). The report may sit anywhere in the
// tree: some gateways wrap it in a multipart/mixed.
func bounceFromDSN(root *enmime.Part) *Bounce {
	reportPart := root.DepthMatchFirst(func(p *enmime.Part) bool {
		return p.ContentType == "multipart/report" &&
			strings.Contains(strings.ToLower(mediaParam(p, "report-type")), "delivery-status")
	})
	if reportPart == nil {
		return nil
	}

	b := &Bounce{}
	report, err := dsn.ParseReport(reportPart)
	if err == nil && report != nil && len(report.DeliveryStatus.RecipientDSNs) > 0 {
		for _, f := range report.DeliveryStatus.RecipientDSNs {
			b.Recipients = append(b.Recipients, recipientFromFields(f.Get))
		}
	} else {
		// dsn.ParseReport expects exactly explanation, status, original in
		// that order and gives up otherwise; read the status part directly.
		statusPart := reportPart.DepthMatchFirst(func(p *enmime.Part) bool {
			return p.ContentType == "message/delivery-status" || p.ContentType == "message/global-delivery-status"
		})
		if statusPart != nil {
			for _, f := range recipientFieldGroups(statusPart.Content) {
				b.Recipients = append(b.Recipients, recipientFromFields(f.Get))
			}
		}
	}

	// The returned message: dsn takes only message/rfc822, but RFC 3462
	// (now 6522) also allows text/rfc822-headers, the headers-only form
	// many MTAs send.
	var original []byte
	if report != nil {
		original = report.OriginalMessage
	}
	if len(original) == 0 {
		if p := reportPart.DepthMatchFirst(isReturnedMessage); p != nil {
			original = p.Content
		}
	}
	b.OriginalMessageID = messageIDIn(original)
	return b
}

func isReturnedMessage(p *enmime.Part) bool {
	switch p.ContentType {
	case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
		return true
	}
	return false
}

// recipientFieldGroups parses a message/delivery-status body: groups of
// header-like fields separated by blank lines, the first per-message
// (RFC 3464 2.2), the others per-recipient (2.3).
func recipientFieldGroups(body []byte) []textproto.MIMEHeader {
	r := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(body), strings.NewReader("\r\n\r\n"))))
	var groups []textproto.MIMEHeader
	for range 1000 { // a bound against pathological input
		h, err := r.ReadMIMEHeader()
		if len(h) > 0 && h.Get("Reporting-Mta") == "" {
			groups = append(groups, h)
		}
		if err != nil {
			break
		}
	}
	return groups
}

func recipientFromFields(get func(string) string) BouncedRecipient {
	r := BouncedRecipient{
		Address:    typedValue(get("Final-Recipient")),
		Action:     strings.ToLower(strings.TrimSpace(get("Action"))),
		Status:     statusCode(get("Status")),
		Diagnostic: typedValue(get("Diagnostic-Code")),
	}
	if r.Address == "" {
		r.Address = typedValue(get("Original-Recipient"))
	}
	r.Address = strings.Trim(r.Address, "<>")
	// RFC 3464 2.3.3: "failed" means no further attempts; RFC 3463 2:
	// class 5 is a permanent failure, class 4 persistent transient.
	r.Permanent = r.Action == "failed" || (r.Action == "" && strings.HasPrefix(r.Status, "5."))
	return r
}

// typedValue strips the address-type or diagnostic-type of a DSN field
// (RFC 3464 2.3.2, 2.3.6): "rfc822; a@b" → "a@b", "smtp; 550 ..." → "550 ...".
func typedValue(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ';'); i >= 0 && !strings.ContainsAny(v[:i], " <@") {
		v = strings.TrimSpace(v[i+1:])
	}
	return v
}

var statusRE = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)

// statusCode returns the first RFC 3463 enhanced status code in s.
func statusCode(s string) string {
	return statusRE.FindString(s)
}

// messageIDIn reads the Message-ID from a returned message or header
// block; it tolerates a missing final blank line and a truncated body.
func messageIDIn(original []byte) string {
	if len(original) == 0 {
		return ""
	}
	r := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(original), strings.NewReader("\r\n\r\n"))))
	h, _ := r.ReadMIMEHeader()
	if id := firstMsgID(h.Get("Message-Id")); id != "" {
		return id
	}
	return messageIDInText(string(original))
}

var messageIDLineRE = regexp.MustCompile(`(?im)^\s*Message-ID:\s*(<[^>\s]+>)`)

func messageIDInText(s string) string {
	if mm := messageIDLineRE.FindStringSubmatch(s); mm != nil {
		return firstMsgID(mm[1])
	}
	return ""
}

var (
	bounceSenderRE = regexp.MustCompile(`(?i)^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@`)
	// Subjects of the usual non-DSN bounces, and of DSNs seen with a
	// broken structure: Postfix, Sendmail, qmail, Exim, Exchange, Gmail,
	// in English, German, French and Spanish.
	bounceSubjectRE = regexp.MustCompile(`(?i)^\s*(undeliverable|undelivered mail|delivery status notification \((failure|delay)\)|mail delivery failed|failure notice|returned mail|delivery failure|delivery has failed|message not delivered|warning: could not send|unzustellbar|nicht zustellbar|non remis|échec de la remise|impossible de remettre|no se puede entregar|no entregado|error en la entrega)`)
)

// looksLikeBounce recognises bounces that are not RFC 3464 reports: sent
// by the mail system (RFC 5321 4.5.5: with a null reverse-path) and titled
// like one.
func looksLikeBounce(m *Message) bool {
	fromDaemon := bounceSenderRE.MatchString(m.From.Email) ||
		strings.EqualFold(m.From.Name, "Mail Delivery Subsystem") ||
		strings.EqualFold(m.From.Name, "Mail Delivery System")
	subject := bounceSubjectRE.MatchString(m.Subject)
	nullSender := strings.TrimSpace(m.header.Get("Return-Path")) == "<>"
	return (fromDaemon && (subject || nullSender || statusRE.MatchString(m.Text))) || (subject && nullSender)
}

var (
	angleAddrRE = regexp.MustCompile(`<([^<>\s@]+@[^<>\s@]+)>`)
	bareAddrRE  = regexp.MustCompile(`[A-Za-z0-9._%+\-=]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	// The line after which non-DSN bounces quote the original message.
	copyMarkerRE = regexp.MustCompile(`(?im)^.*(below this line is a copy|this is a copy of the message|original message follows|returned message|original message headers|undelivered message follows|--- ?original message ?---).*$`)
	transientRE  = regexp.MustCompile(`(?i)\b(delay(ed)?|will (be )?retry|still trying|temporar(y|ily)|not yet been delivered)\b`)
)

// bounceFromText scrapes a non-standard bounce: the failed addresses and
// status codes from the explanation, and the original Message-ID from a
// returned message part or the quoted copy in the body.
func bounceFromText(m *Message, root *enmime.Part) *Bounce {
	b := &Bounce{}
	body := m.Text
	quoted := ""
	if loc := copyMarkerRE.FindStringIndex(body); loc != nil {
		body, quoted = body[:loc[0]], body[loc[1]:]
	}

	status := statusCode(body)
	diag := ""
	for _, line := range strings.Split(body, "\n") {
		if status != "" && strings.Contains(line, status) {
			diag = strings.TrimSpace(line)
			break
		}
	}
	permanent := strings.HasPrefix(status, "5.") || (status == "" && !transientRE.MatchString(body))
	action := "failed"
	if !permanent {
		action = "delayed"
	}

	seen := map[string]bool{strings.ToLower(m.From.Email): true}
	for _, a := range m.To {
		seen[strings.ToLower(a.Email)] = true // the bounce is addressed to us
	}
	addrs := angleAddrRE.FindAllStringSubmatch(body, -1)
	var found []string
	for _, a := range addrs {
		found = append(found, a[1])
	}
	if len(found) == 0 {
		found = bareAddrRE.FindAllString(body, -1)
	}
	for _, a := range found {
		key := strings.ToLower(a)
		if seen[key] || bounceSenderRE.MatchString(a) {
			continue
		}
		seen[key] = true
		b.Recipients = append(b.Recipients, BouncedRecipient{
			Address: a, Action: action, Status: status, Diagnostic: diag, Permanent: permanent,
		})
	}
	if len(b.Recipients) == 0 {
		b.Recipients = []BouncedRecipient{{Action: action, Status: status, Diagnostic: diag, Permanent: permanent}}
	}

	if p := root.DepthMatchFirst(isReturnedMessage); p != nil {
		b.OriginalMessageID = messageIDIn(p.Content)
	}
	if b.OriginalMessageID == "" {
		b.OriginalMessageID = messageIDInText(quoted)
	}
	if b.OriginalMessageID == "" {
		b.OriginalMessageID = m.InReplyTo
	}
	return b
}
