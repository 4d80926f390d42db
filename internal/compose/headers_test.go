package compose

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

type parsedPart struct {
	contentType string
	params      map[string]string
	body        string
}

// parse reads a built message back with go-message, an independent
// parser, the way a receiving client would.
func parse(t *testing.T, raw []byte) (gomail.Header, []parsedPart) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatal("message has bare LF line endings")
	}
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	if ct, _, _ := mr.Header.ContentType(); ct != "multipart/alternative" {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
	var parts []parsedPart
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h, ok := p.Header.(*gomail.InlineHeader)
		if !ok {
			t.Fatalf("part is not inline: %T", p.Header)
		}
		ct, params, _ := h.ContentType()
		b, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, parsedPart{ct, params, string(b)})
	}
	return mr.Header, parts
}

func rendered(t *testing.T) *Rendered {
	t.Helper()
	out, err := newRenderer(t).Render(KindStatus, SampleData(KindStatus))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestThreadOfThreeMessages(t *testing.T) {
	r := rendered(t)
	guid := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	start := time.Date(2026, 3, 3, 14, 5, 0, 0, time.UTC)
	sent := []time.Time{start, start.Add(30 * time.Minute), start.Add(65 * time.Minute)}

	var (
		prevID    string
		prevRefs  []string
		prevIndex string
	)
	for i, at := range sent {
		env := Envelope{
			FromName: "sitrep (INC-42)", FromAddr: "sitrep@status.example.com",
			ToDisplay: "Exec team", ReplyTo: "Alex Chen <inc-42+replies@status.example.com>",
			MessageID: NewMessageID("status.example.com"), ThreadTopic: "Checkout unavailable",
			ListID: "INC-42 status <inc-42.status.example.com>", Date: at,
		}
		if i == 0 {
			env.ThreadIndex = ThreadIndexRoot(at, guid)
		} else {
			env.InReplyTo = prevID
			env.References = References(prevRefs, prevID)
			var err error
			if env.ThreadIndex, err = ThreadIndexChild(prevIndex, at); err != nil {
				t.Fatal(err)
			}
		}
		raw, err := Build(env, r)
		if err != nil {
			t.Fatal(err)
		}
		h, parts := parse(t, raw)

		if id, _ := h.MessageID(); "<"+id+">" != env.MessageID {
			t.Errorf("message %d: Message-ID %q, want %q", i, id, env.MessageID)
		}
		irt, _ := h.MsgIDList("In-Reply-To")
		refs, _ := h.MsgIDList("References")
		switch i {
		case 0:
			if len(irt) != 0 || len(refs) != 0 {
				t.Errorf("first message has In-Reply-To %v References %v", irt, refs)
			}
		default:
			if len(irt) != 1 || "<"+irt[0]+">" != prevID {
				t.Errorf("message %d: In-Reply-To %v, want %s", i, irt, prevID)
			}
			if len(refs) != i {
				t.Errorf("message %d: %d References, want %d: %v", i, len(refs), i, refs)
			} else if "<"+refs[len(refs)-1]+">" != prevID {
				t.Errorf("message %d: References should end with the parent: %v", i, refs)
			}
		}
		if i == 2 && len(refs) == 2 && "<"+refs[0]+">" != env.References[0] {
			t.Errorf("the thread root should stay first: %v", refs)
		}

		idx := h.Get("Thread-Index")
		if idx != env.ThreadIndex {
			t.Errorf("Thread-Index %q, want %q", idx, env.ThreadIndex)
		}
		root, g, replies, err := decodeThreadIndex(idx)
		if err != nil {
			t.Fatal(err)
		}
		if g != guid || len(replies) != i {
			t.Errorf("message %d: guid %x, %d reply blocks", i, g, len(replies))
		}
		if d := start.Sub(root); d < 0 || d > 2*time.Second { // 24 low FILETIME bits dropped: ~1.7 s
			t.Errorf("root time %v, want about %v", root, start)
		}
		for j, rt := range replies {
			if d := sent[j+1].Sub(rt); d < 0 || d > 2*time.Second {
				t.Errorf("reply %d time %v, want about %v", j+1, rt, sent[j+1])
			}
		}
		if b := mustB64(t, idx); len(b) != 22+5*i || (i > 0 && !bytes.HasPrefix(b, mustB64(t, prevIndex))) {
			t.Errorf("message %d: Thread-Index is %d bytes, want the parent's plus 5", i, len(b))
		}
		if h.Get("Thread-Topic") != "Checkout unavailable" {
			t.Errorf("Thread-Topic %q", h.Get("Thread-Topic"))
		}
		if h.Get("List-Id") != env.ListID {
			t.Errorf("List-Id %q", h.Get("List-Id"))
		}
		if rt, err := h.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Address != "inc-42+replies@status.example.com" {
			t.Errorf("Reply-To %v %v", rt, err)
		}
		if subj, _ := h.Subject(); subj != "[INC-42] Checkout unavailable" {
			t.Errorf("Subject %q", subj)
		}
		if d, _ := h.Date(); !d.Equal(at) {
			t.Errorf("Date %v, want %v", d, at)
		}
		checkGroupTo(t, h, "Exec team")

		if len(parts) != 2 || parts[0].contentType != "text/plain" || parts[1].contentType != "text/html" {
			t.Fatalf("parts: %+v", parts)
		}
		if !strings.Contains(parts[0].body, "Payments fail for *EU* cards.") ||
			!strings.Contains(parts[1].body, "Payments fail for <strong>EU</strong> cards.") {
			t.Error("the status text is not in both parts")
		}
		if !strings.Contains(parts[0].body, "Next update by 15:35 CET (14:35 UTC)") {
			t.Error("the promise is not in the text part")
		}
		prevID, prevRefs, prevIndex = env.MessageID, env.References, env.ThreadIndex
	}
}

// checkGroupTo asserts To is an empty group named name: no addresses.
func checkGroupTo(t *testing.T, h gomail.Header, name string) {
	t.Helper()
	raw := h.Get("To")
	if strings.Contains(raw, "@") || !strings.HasSuffix(raw, ":;") {
		t.Errorf("To %q is not an empty group", raw)
	}
	decoded, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(decoded, ":;")
	want = strings.TrimSuffix(strings.TrimPrefix(want, `"`), `"`)
	if want != name {
		t.Errorf("To shows %q, want %q", want, name)
	}
	if addrs, err := h.AddressList("To"); err != nil || len(addrs) != 0 {
		t.Errorf("To parses to %v, %v; want no addresses", addrs, err)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGroupNames(t *testing.T) {
	r := rendered(t)
	for _, name := range []string{"Sales, EMEA", `The "core" team`, "Équipe support", ""} {
		raw, err := Build(Envelope{FromAddr: "sitrep@example.com", ToDisplay: name, MessageID: NewMessageID("example.com")}, r)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		h, _ := parse(t, raw)
		if name == "" {
			if h.Get("To") != "undisclosed-recipients:;" {
				t.Errorf("empty group: To %q", h.Get("To"))
			}
			continue
		}
		raw2 := h.Get("To")
		if strings.Contains(raw2, "@") {
			t.Errorf("To %q", raw2)
		}
		if addrs, err := h.AddressList("To"); err != nil || len(addrs) != 0 {
			t.Errorf("%q: To %q parses to %v, %v", name, raw2, addrs, err)
		}
	}
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	r := rendered(t)
	base := func() Envelope {
		return Envelope{FromName: "sitrep", FromAddr: "sitrep@example.com", ToDisplay: "Exec team",
			MessageID: NewMessageID("example.com"), Subject: "[INC-42] Checkout"}
	}
	cases := []struct {
		field string
		edit  func(*Envelope)
	}{
		{"Subject", func(e *Envelope) { e.Subject = "[INC-42] Checkout\r\nBcc: everyone@example.com" }},
		{"Subject", func(e *Envelope) { e.Subject = "bare\nLF" }},
		{"Subject", func(e *Envelope) { e.Subject = "nul\x00byte" }},
		{"From", func(e *Envelope) { e.FromName = "sitrep\r\nX-Evil: 1" }},
		{"To", func(e *Envelope) { e.ToDisplay = "Exec\nteam" }},
		{"Reply-To", func(e *Envelope) { e.ReplyTo = "a@example.com\r\nBcc: b@example.com" }},
		{"In-Reply-To", func(e *Envelope) { e.InReplyTo = "<a@b>\r\nX: y" }},
		{"References", func(e *Envelope) { e.References = []string{"<a@b>", "<c@d>\nX: y"} }},
		{"Thread-Topic", func(e *Envelope) { e.ThreadTopic = "x\ry" }},
		{"List-Id", func(e *Envelope) { e.ListID = "x <a.b>\r\n" }},
		{"X-Incident", func(e *Envelope) { e.Extra = map[string]string{"X-Incident": "INC-42\r\nBcc: x@y"} }},
		{"Bcc", func(e *Envelope) { e.Extra = map[string]string{"Bcc": "x@example.com"} }},
		{"X Bad", func(e *Envelope) { e.Extra = map[string]string{"X Bad": "v"} }},
		{"Message-ID", func(e *Envelope) { e.MessageID = "" }},
		{"Message-ID", func(e *Envelope) { e.MessageID = "<no-at-sign>" }},
	}
	for _, c := range cases {
		env := base()
		c.edit(&env)
		raw, err := Build(env, r)
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.Invalid || e.Field != c.field {
			t.Errorf("%s: want invalid %s, got %v", c.field, c.field, err)
		}
		if raw != nil {
			t.Errorf("%s: bytes were built", c.field)
		}
	}
	// The subject from the renderer is checked too.
	bad := *r
	bad.Subject = "x\r\nBcc: y@example.com"
	env := base()
	env.Subject = ""
	if _, err := Build(env, &bad); !errs.Is(err, errs.Invalid) {
		t.Errorf("rendered subject with CRLF: %v", err)
	}
}

func TestAutoSubmittedAndExtra(t *testing.T) {
	raw, err := Build(Envelope{FromAddr: "sitrep@example.com", ToDisplay: "Alex Chen", MessageID: NewMessageID("example.com"),
		AutoSubmitted: AutoGenerated, Extra: map[string]string{"X-Sitrep-Incident": "INC-42"},
		Subject: "[INC-42] Zahlungen gestört – Café"}, rendered(t))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := parse(t, raw)
	if h.Get("Auto-Submitted") != "auto-generated" || h.Get("X-Auto-Response-Suppress") != "DR, RN, NRN, OOF, AutoReply" {
		t.Errorf("Auto-Submitted %q, X-Auto-Response-Suppress %q", h.Get("Auto-Submitted"), h.Get("X-Auto-Response-Suppress"))
	}
	if h.Get("X-Sitrep-Incident") != "INC-42" {
		t.Errorf("extra header %q", h.Get("X-Sitrep-Incident"))
	}
	if s, _ := h.Subject(); s != "[INC-42] Zahlungen gestört – Café" {
		t.Errorf("non-ASCII subject came back as %q", s)
	}
}

func TestBuildWithCalendar(t *testing.T) {
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//sitrep//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n" +
		"UID:pm-42@example.com\r\nSUMMARY:Post-mortem INC-42\r\nDTSTART:20260305T140000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	raw, err := BuildWithCalendar(Envelope{FromAddr: "sitrep@example.com", ToDisplay: "Post-mortem INC-42",
		MessageID: NewMessageID("example.com")}, rendered(t), []byte(ics), "request")
	if err != nil {
		t.Fatal(err)
	}
	_, parts := parse(t, raw)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	cal := parts[2]
	if cal.contentType != "text/calendar" || cal.params["method"] != "REQUEST" || !strings.EqualFold(cal.params["charset"], "utf-8") {
		t.Errorf("calendar part: %s %v", cal.contentType, cal.params)
	}
	if cal.body != ics {
		t.Errorf("calendar body changed:\n%q\nwant\n%q", cal.body, ics)
	}
	if _, err := BuildWithCalendar(Envelope{FromAddr: "a@b.c", MessageID: "<a@b>"}, rendered(t), []byte(ics), "REQUEST\r\nX: y"); !errs.Is(err, errs.Invalid) {
		t.Errorf("bad method: %v", err)
	}
}

func TestReferencesCapKeepsRootAndParent(t *testing.T) {
	var refs []string
	for i := range 30 {
		refs = append(refs, fmt.Sprintf("m%d@example.com", i)) // without brackets: normalised
	}
	got := References(refs, "<parent@example.com>")
	if len(got) != maxReferences || got[0] != "<m0@example.com>" || got[len(got)-1] != "<parent@example.com>" ||
		got[len(got)-2] != "<m29@example.com>" {
		t.Errorf("References = %v", got)
	}
	if got := References(nil, "p@x"); len(got) != 1 || got[0] != "<p@x>" {
		t.Errorf("References(nil, p) = %v", got)
	}
	if got := References([]string{"<a@x>", "<p@x>"}, "<p@x>"); len(got) != 2 {
		t.Errorf("duplicates kept: %v", got)
	}
}

func TestNewMessageID(t *testing.T) {
	re := regexp.MustCompile(`^<[a-z2-7]{29}@status\.example\.com>$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewMessageID("Status.Example.com.")
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or repeated Message-ID %q", id)
		}
		seen[id] = true
	}
	if id := NewMessageID("bad domain\r\n"); !strings.HasSuffix(id, "@sitrep.invalid>") {
		t.Errorf("bad domain kept: %q", id)
	}
}

func TestThreadIndex(t *testing.T) {
	start := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)
	root := ThreadIndexRoot(start, [16]byte{1})
	if len(root) != 32 { // 22 bytes in base64
		t.Errorf("root %q", root)
	}
	// Beyond ~1.7 years the delta switches to the coarse encoding (DC=1).
	later := start.Add(3 * 365 * 24 * time.Hour)
	child, err := ThreadIndexChild(root, later)
	if err != nil {
		t.Fatal(err)
	}
	_, _, replies, err := decodeThreadIndex(child)
	if err != nil || len(replies) != 1 {
		t.Fatal(replies, err)
	}
	if d := later.Sub(replies[0]); d < 0 || d > 3*time.Second {
		t.Errorf("coarse delta decoded to %v, want about %v", replies[0], later)
	}
	for _, bad := range []string{"", "not base64!", "AQID"} {
		if _, err := ThreadIndexChild(bad, later); !errs.Is(err, errs.Invalid) {
			t.Errorf("ThreadIndexChild(%q): %v", bad, err)
		}
	}
}

// A person's text that looks like an RFC 2047 encoded-word reaches the
// reader as the text that was typed, not decoded: a title
// "=?utf-8?q?=0D=0AX-Injected:...?=" passed through unchanged made clients
// show a line break and a made-up header line in the subject.
var encodedWord = regexp.MustCompile(`=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=`)

func TestEncodedWordsInPeoplesTextAreShownLiterally(t *testing.T) {
	r := rendered(t)
	dec := new(mime.WordDecoder) // lenient, as clients are: it decodes words inside quoted strings too
	for _, evil := range []string{
		"=?utf-8?q?=0D=0AX-Injected:_yes?=",
		"Checkout down =?UTF-8?B?DQpYLUluamVjdGVkOiB5ZXM=?= in EU",
		"Zahlung =?iso-8859-1?q?=E4?= gestört",
		"a=?b",
		strings.Repeat("=?utf-8?q?long?= ", 10),
	} {
		evil = strings.TrimSpace(evil)
		raw, err := Build(Envelope{FromName: evil, FromAddr: "sitrep@example.com", ToDisplay: evil, Subject: "[INC-42] " + evil,
			ThreadTopic: evil, ListID: evil + " <inc-42.status.example.com>", MessageID: NewMessageID("example.com")}, r)
		if err != nil {
			t.Fatalf("%q: %v", evil, err)
		}
		for _, line := range strings.Split(string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))]), "\r\n") {
			if len(line) > 998 {
				t.Errorf("%q: header line over 998 characters (RFC 5322 2.1.1): %q", evil, line)
			}
			for _, w := range encodedWord.FindAllString(line, -1) {
				if len(w) > 75 {
					t.Errorf("%q: encoded-word over 75 characters (RFC 2047 2): %q", evil, w)
				}
			}
			if strings.HasPrefix(strings.ToLower(line), "x-injected") {
				t.Errorf("%q: an injected header line: %q", evil, line)
			}
		}
		h, _ := parse(t, raw)
		decoded := func(name string) string {
			s, err := dec.DecodeHeader(h.Get(name))
			if err != nil {
				t.Errorf("%q: %s %q does not decode: %v", evil, name, h.Get(name), err)
			}
			return s
		}
		if got, want := decoded("Subject"), "[INC-42] "+evil; got != want {
			t.Errorf("Subject shows %q, want %q", got, want)
		}
		if got := decoded("Thread-Topic"); got != evil {
			t.Errorf("Thread-Topic shows %q, want %q", got, evil)
		}
		if got := decoded("To"); got != evil+":;" && got != `"`+evil+`":;` {
			t.Errorf("To shows %q, want the group %q", got, evil)
		}
		if got := decoded("List-Id"); got != evil+" <inc-42.status.example.com>" && got != `"`+evil+`" <inc-42.status.example.com>` {
			t.Errorf("List-Id shows %q, want %q", got, evil)
		}
		if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Name != evil || from[0].Address != "sitrep@example.com" {
			t.Errorf("From %q reads as %v, %v; want %q <sitrep@example.com>", h.Get("From"), from, err, evil)
		}
		if got := decoded("From"); strings.ContainsAny(got, "\r\n") || !strings.Contains(got, evil) {
			t.Errorf("From shows %q to a lenient decoder, want it to hold %q", got, evil)
		}
	}
}

// TestAutoSubmittedByKind: status emails, reminders and notices ask
// out-of-office responders to stay quiet (RFC 3834 5); a refusal answers
// a message (auto-replied); an invitation carries none, so that a room
// mailbox still accepts it automatically.
func TestAutoSubmittedByKind(t *testing.T) {
	t.Parallel()
	want := map[Kind]string{KindStatus: AutoGenerated, KindHeadsUp: AutoGenerated, KindReminder: AutoGenerated,
		KindOverdue: AutoGenerated, KindResolved: AutoGenerated, KindBounceNotice: AutoGenerated,
		KindCommandRefused: AutoReplied, KindPostmortemInvite: ""}
	for k, v := range want {
		if got := k.AutoSubmitted(); got != v {
			t.Errorf("%s: Auto-Submitted %q, want %q", k, got, v)
		}
	}
	raw, err := Build(Envelope{FromAddr: "sitrep@example.com", MessageID: NewMessageID("example.com"), AutoSubmitted: AutoReplied}, rendered(t))
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := parse(t, raw); h.Get("Auto-Submitted") != "auto-replied" || !strings.Contains(h.Get("X-Auto-Response-Suppress"), "OOF") || strings.Contains(h.Get("X-Auto-Response-Suppress"), "NDR") {
		t.Errorf("Auto-Submitted %q, X-Auto-Response-Suppress %q", h.Get("Auto-Submitted"), h.Get("X-Auto-Response-Suppress"))
	}
	if _, err := Build(Envelope{FromAddr: "sitrep@example.com", MessageID: NewMessageID("example.com"), AutoSubmitted: "yes"}, rendered(t)); !errs.Is(err, errs.Invalid) {
		t.Errorf("Auto-Submitted yes: %v, want invalid", err)
	}
	if _, err := Build(Envelope{FromAddr: "sitrep@example.com", MessageID: NewMessageID("example.com"), Extra: map[string]string{"X-Auto-Response-Suppress": "All"}}, rendered(t)); !errs.Is(err, errs.Invalid) {
		t.Errorf("X-Auto-Response-Suppress through Extra: %v, want invalid", err)
	}
}
