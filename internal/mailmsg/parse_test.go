package mailmsg

import (
	"bytes"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func TestParseHeaders(t *testing.T) {
	t.Parallel()
	m := parseFile(t, "testdata/replies/gmail_en.eml")

	if m.MessageID != "CAF=gmail1x@mail.gmail.com" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if m.InReplyTo != "inc42.u3.7f3a@sitrep.example.com" {
		t.Errorf("InReplyTo = %q", m.InReplyTo)
	}
	wantRefs := []string{"inc42.u1.11aa@sitrep.example.com", "inc42.u3.7f3a@sitrep.example.com"}
	if !reflect.DeepEqual(m.References, wantRefs) {
		t.Errorf("References = %q, want %q", m.References, wantRefs)
	}
	if m.From != (Address{Name: "Alice Example", Email: "alice@example.net"}) {
		t.Errorf("From = %+v", m.From)
	}
	if len(m.To) != 1 || m.To[0].Email != "status+Ab3xK9@example.com" || m.To[0].Name != "Sitrep Status" {
		t.Errorf("To = %+v", m.To)
	}
	if !reflect.DeepEqual(m.DeliveredTo, []string{"status+Ab3xK9@example.com"}) {
		t.Errorf("DeliveredTo = %q", m.DeliveredTo)
	}
	if m.Subject != "Re: [INC-42] Checkout errors: update 3" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if want := time.Date(2026, 11, 24, 14, 9, 31, 0, time.UTC); !m.Date.Equal(want) {
		t.Errorf("Date = %v, want %v", m.Date, want)
	}
	if !strings.Contains(m.HTML, `class="gmail_quote`) {
		t.Errorf("HTML does not hold the raw HTML part: %q", m.HTML)
	}
	if !strings.HasPrefix(m.Text, "Still seeing the error on iOS") {
		t.Errorf("Text = %q", m.Text)
	}
	if got := m.HeaderValue("message-id"); got != "<CAF=gmail1x@mail.gmail.com>" {
		t.Errorf(`HeaderValue("message-id") = %q`, got)
	}
	if got := m.HeaderValue("X-Not-There"); got != "" {
		t.Errorf("HeaderValue of a missing field = %q", got)
	}
	if len(m.ParseWarnings) != 0 {
		t.Errorf("ParseWarnings = %q for a clean message", m.ParseWarnings)
	}
}

func TestParseCharsets(t *testing.T) {
	t.Parallel()
	// ISO-8859-1 quoted-printable body and an RFC 2047 Q-encoded From.
	m := parseFile(t, "testdata/replies/german_gmail.eml")
	if m.From.Name != "Jürgen Müller" {
		t.Errorf("From.Name = %q", m.From.Name)
	}
	if !strings.Contains(m.Text, "Workaround für Händler?") {
		t.Errorf("Text not decoded from ISO-8859-1: %q", m.Text)
	}
	// windows-1252 HTML only: the text comes from the HTML.
	m = parseFile(t, "testdata/replies/outlook_desktop_en.eml")
	if !strings.Contains(m.Text, "We’re seeing the same on our side – about 30%") {
		t.Errorf("Text not derived from windows-1252 HTML: %q", m.Text)
	}
	if !strings.Contains(m.HTML, "<b>From:</b>") {
		t.Errorf("HTML = %q", m.HTML)
	}
	if !hasWarning(m, "text/plain") {
		t.Errorf("no warning about the missing text/plain part: %q", m.ParseWarnings)
	}
}

func hasWarning(m *Message, substr string) bool {
	for _, w := range m.ParseWarnings {
		if strings.Contains(w, substr) {
			return true
		}
	}
	return false
}

func TestParseDeliveredTo(t *testing.T) {
	t.Parallel()
	raw := "Delivered-To: status+tok1@example.com\r\n" +
		"X-Original-To: <status+tok2@example.com>\r\n" +
		"Delivered-To: STATUS+tok1@example.com\r\n" +
		"From: a@example.org\r\nTo: undisclosed-recipients:;\r\nSubject: x\r\n\r\nbody\r\n"
	m, err := Parse([]byte(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"status+tok1@example.com", "status+tok2@example.com"}
	if !reflect.DeepEqual(m.DeliveredTo, want) {
		t.Errorf("DeliveredTo = %q, want %q", m.DeliveredTo, want)
	}
	if got := m.ReplyTokens("status"); !reflect.DeepEqual(got, []string{"tok1", "tok2"}) {
		t.Errorf("ReplyTokens = %q", got)
	}
}

func TestParseAttachments(t *testing.T) {
	t.Parallel()
	// 25 MB is what Gmail and Exchange allow; it must come through whole.
	const size = 25 << 20
	block := make([]byte, 256)
	for i := range block {
		block[i] = byte(i)
	}
	payload := bytes.Repeat(block, size/len(block))
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nTo: status@example.com\r\nSubject: logs\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n" +
		"--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLogs attached.\r\n" +
		"--XYZ\r\nContent-Type: application/gzip; name=\"logs.tar.gz\"\r\nContent-Disposition: attachment; filename=\"logs.tar.gz\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(payload)
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--XYZ\r\nContent-Type: image/png\r\nContent-Disposition: inline; filename=\"screen.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--XYZ--\r\n")

	m, err := Parse(b.Bytes(), 40<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := []Attachment{
		{Filename: "logs.tar.gz", ContentType: "application/gzip", Size: size},
		{Filename: "screen.png", ContentType: "image/png", Size: 8},
	}
	if !reflect.DeepEqual(m.Attachments, want) {
		t.Errorf("Attachments = %+v, want %+v", m.Attachments, want)
	}
	if m.NewText != "Logs attached." {
		t.Errorf("NewText = %q", m.NewText)
	}

	_, err = Parse(b.Bytes(), 10<<20)
	if !errs.Is(err, errs.TooLarge) {
		t.Errorf("Parse over maxBytes: err = %v, want code %s", err, errs.TooLarge)
	}
}

// TestParseDamaged: damaged mail gives a Message with warnings when there is
// anything to read, an Invalid error when there is not, and never panics.
func TestParseDamaged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		raw      string
		wantErr  bool
		wantText string // the start of Text, checked when no error
		warning  string // a substring of some warning, when one is expected
	}{
		{name: "empty", raw: "", wantErr: true},
		{name: "no header", raw: "\r\njust a body\r\n", wantErr: true},
		{name: "binary junk", raw: "\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n\x00\x00", wantErr: true},
		{
			name: "no body",
			raw:  "From: a@example.org\r\nSubject: empty\r\n",
		},
		{
			name:     "unknown charset",
			raw:      "From: a@example.org\r\nSubject: x\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nQapla'\r\n",
			wantText: "Qapla'",
			warning:  "klingon",
		},
		{
			name:     "multipart without boundary parameter",
			raw:      "From: a@example.org\r\nSubject: x\r\nContent-Type: multipart/mixed\r\n\r\nplain words\r\n",
			wantText: "plain words",
		},
		{
			name:     "empty boundary parameter",
			raw:      "From: a@example.org\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=\"\r\n\r\nhello\r\n",
			wantText: "hello",
			warning:  "body kept as plain text",
		},
		{
			name:     "garbage content type",
			raw:      "From: a@example.org\r\nSubject: x\r\nContent-Type: ;;;\r\n\r\nhello\r\n",
			wantText: "hello",
			warning:  "body kept as plain text",
		},
		{
			name:     "unclosed boundary",
			raw:      "From: a@example.org\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nstill here\r\n",
			wantText: "still here",
			warning:  "Boundary",
		},
		{
			name:     "bad base64 in text part",
			raw:      "From: a@example.org\r\nSubject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=!!!notbase64\r\n",
			wantText: "hello world",
		},
		{
			name:     "bad date and address list",
			raw:      "From: a@example.org\r\nTo: <<<broken\r\nDate: yesterday-ish\r\nSubject: x\r\n\r\ntext\r\n",
			wantText: "text",
			warning:  "date",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.raw), 1<<20)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Parse = %+v, want an error", m)
				}
				if !errs.Is(err, errs.Invalid) {
					t.Errorf("error code = %s, want %s (%v)", errs.CodeOf(err), errs.Invalid, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !utf8.ValidString(m.Text) || !utf8.ValidString(m.NewText) {
				t.Errorf("Text %q or NewText %q is not valid UTF-8", m.Text, m.NewText)
			}
			if tt.warning == "body kept as plain text" && len(m.Attachments) != 0 {
				t.Errorf("salvaged body also listed as attachment: %+v", m.Attachments)
			}
			if !strings.HasPrefix(strings.TrimSpace(m.Text), tt.wantText) {
				t.Errorf("Text = %q, want %q", m.Text, tt.wantText)
			}
			if tt.warning != "" && !hasWarning(m, tt.warning) {
				t.Errorf("ParseWarnings = %q, want one containing %q", m.ParseWarnings, tt.warning)
			}
		})
	}
}

func TestMsgIDs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@b> <c@d>", []string{"a@b", "c@d"}},
		{"<a@b>\t(comment) <c@d>", []string{"a@b", "c@d"}},
		{"a@b", []string{"a@b"}},
		{"", nil},
		{"<>", nil},
		{"<a@b", []string{"a@b"}},
	}
	for _, tt := range tests {
		if got := msgIDs(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("msgIDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
