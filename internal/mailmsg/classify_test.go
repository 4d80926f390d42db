package mailmsg

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFile(t *testing.T, path string) *Message {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(raw, 0)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return m
}

func TestClassifyCorpus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		want   Class
		bounce *Bounce // checked when want is ClassBounce
	}{
		{file: "postfix_dsn", want: ClassBounce, bounce: &Bounce{
			OriginalMessageID: "inc42.u3.postfix1@sitrep.example.com",
			Recipients: []BouncedRecipient{
				{Address: "nobody@example.org", Action: "failed", Status: "5.1.1", Diagnostic: "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table", Permanent: true},
				{Address: "full@example.org", Action: "failed", Status: "5.2.2", Diagnostic: "552 5.2.2 <full@example.org>: Mailbox full", Permanent: true},
			},
		}},
		{file: "exchange_ndr", want: ClassBounce, bounce: &Bounce{
			OriginalMessageID: "inc42.u3.exch1@sitrep.example.com",
			Recipients: []BouncedRecipient{
				{Address: "ghost@contoso.com", Action: "failed", Status: "5.1.10", Diagnostic: "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", Permanent: true},
			},
		}},
		{file: "gmail_bounce", want: ClassBounce, bounce: &Bounce{
			OriginalMessageID: "inc42.u3.gmail1@sitrep.example.com",
			Recipients: []BouncedRecipient{
				{Address: "no.such.user.4711@gmail.com", Action: "failed", Status: "5.1.1", Diagnostic: "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-abc123 - gsmtp", Permanent: true},
			},
		}},
		{file: "headers_only_dsn", want: ClassBounce, bounce: &Bounce{
			OriginalMessageID: "inc42.u3.hdrs1@sitrep.example.com",
			Recipients: []BouncedRecipient{
				{Address: "left@example.net", Action: "failed", Status: "5.2.1", Diagnostic: "550 5.2.1 Mailbox disabled for this recipient", Permanent: true},
			},
		}},
		{file: "delayed_dsn", want: ClassBounce, bounce: &Bounce{
			OriginalMessageID: "inc42.u3.delay1@sitrep.example.com",
			Recipients: []BouncedRecipient{
				{Address: "slow@example.org", Action: "delayed", Status: "4.4.1", Diagnostic: "connect to mail.example.org[192.0.2.26]:25: Connection timed out", Permanent: false},
			},
		}},
		{file: "qmail_failure_notice", want: ClassBounce, bounce: &Bounce{
			OriginalMessageID: "inc42.u3.qmail1@sitrep.example.com",
			Recipients: []BouncedRecipient{
				{Address: "gone@example.info", Action: "failed", Status: "5.1.1", Diagnostic: "Sorry, no mailbox here by that name. (#5.1.1)", Permanent: true},
			},
		}},
		{file: "ooo_outlook", want: ClassAutoReply},
		{file: "ooo_gmail", want: ClassAutoReply},
		{file: "ooo_exchange_de", want: ClassAutoReply},
		{file: "ooo_french_subject", want: ClassAutoReply},
		{file: "ooo_spanish_subject", want: ClassAutoReply},
		{file: "mailing_list", want: ClassAutoReply},
		{file: "human_reply", want: ClassReply},
		{file: "calendar_reply", want: ClassCalendarReply},
	}
	files, _ := filepath.Glob("testdata/classify/*.eml")
	if len(files) != len(tests) {
		t.Errorf("testdata/classify has %d messages, the table %d: keep them in step", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := parseFile(t, filepath.Join("testdata/classify", tt.file+".eml"))
			if got := Classify(m); got != tt.want {
				t.Fatalf("Classify = %s, want %s (subject %q)", got, tt.want, m.Subject)
			}
			if tt.want != ClassBounce {
				if m.Bounce != nil {
					t.Errorf("Bounce = %+v, want nil", m.Bounce)
				}
				return
			}
			if !reflect.DeepEqual(m.Bounce, tt.bounce) {
				t.Errorf("Bounce\n got %+v\nwant %+v", m.Bounce, tt.bounce)
			}
		})
	}
}

func TestClassifyCalendarMethod(t *testing.T) {
	t.Parallel()
	m := parseFile(t, "testdata/classify/calendar_reply.eml")
	if m.Calendar == nil || m.Calendar.Method != "REPLY" || !strings.Contains(string(m.Calendar.Raw), "PARTSTAT=ACCEPTED") {
		t.Fatalf("Calendar = %+v", m.Calendar)
	}
	// A REQUEST (an invitation someone forwarded) is not a calendar reply.
	m.Calendar.Method = "REQUEST"
	if got := Classify(m); got != ClassReply {
		t.Errorf("Classify with METHOD:REQUEST = %s, want %s", got, ClassReply)
	}
}

// TestClassifyHeaders covers the header rules one by one on a plain message.
func TestClassifyHeaders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, headers string
		want          Class
	}{
		{"plain", "", ClassReply},
		{"auto-submitted auto-replied", "Auto-Submitted: auto-replied\r\n", ClassAutoReply},
		{"auto-submitted auto-generated with params", "Auto-Submitted: auto-generated; owner-email=x@y\r\n", ClassAutoReply},
		{"auto-submitted no", "Auto-Submitted: no\r\n", ClassReply},
		{"auto-submitted NO upper case", "Auto-Submitted: NO\r\n", ClassReply},
		{"x-autoreply", "X-Autoreply: yes\r\n", ClassAutoReply},
		{"x-autorespond", "X-Autorespond: 1\r\n", ClassAutoReply},
		{"precedence bulk", "Precedence: bulk\r\n", ClassAutoReply},
		{"precedence auto_reply", "Precedence: auto_reply\r\n", ClassAutoReply},
		{"precedence junk", "Precedence: junk\r\n", ClassAutoReply},
		{"precedence list", "Precedence: list\r\n", ClassAutoReply},
		{"precedence first-class", "Precedence: first-class\r\n", ClassReply},
		{"x-auto-response-suppress only", "X-Auto-Response-Suppress: OOF, AutoReply\r\n", ClassReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: a@example.org\r\nTo: status@example.com\r\nSubject: Re: [INC-1] down\r\n" + tt.headers + "\r\nhello\r\n"
			m, err := Parse([]byte(raw), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := Classify(m); got != tt.want {
				t.Errorf("Classify = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClassifySubjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		subject string
		want    Class
	}{
		{"Out of Office: [INC-1] down", ClassAutoReply},
		{"Out of the office", ClassAutoReply},
		{"Automatic reply: [INC-1] down", ClassAutoReply},
		{"Autoreply: [INC-1] down", ClassAutoReply},
		{"Auto-Reply: [INC-1] down", ClassAutoReply},
		{"[Auto-Reply] [INC-1] down", ClassAutoReply},
		{"Abwesenheitsnotiz: [INC-1] down", ClassAutoReply},
		{"Automatische Antwort: [INC-1] down", ClassAutoReply},
		{"Réponse automatique : [INC-1] down", ClassAutoReply},
		{"Respuesta automática: [INC-1] down", ClassAutoReply},
		{"Respuesta automatica: [INC-1] down", ClassAutoReply},
		{"Absent : [INC-1] down", ClassAutoReply},
		{"Absente du bureau : [INC-1] down", ClassAutoReply},
		{"Ausente: [INC-1] down", ClassAutoReply},
		{"Fuera de la oficina: [INC-1] down", ClassAutoReply},
		{"自動応答: [INC-1] down", ClassAutoReply},
		{"自動返信：[INC-1] down", ClassAutoReply},
		{"不在: [INC-1] down", ClassAutoReply},
		{"[不在] [INC-1] down", ClassAutoReply},
		{"不在通知: [INC-1] down", ClassAutoReply},
		{"Absent users cannot log in", ClassReply},
		{"Ausente el proveedor, seguimos sin pagos", ClassReply},
		{"不在時の対応について", ClassReply},
		{"RE: [INC-1] 自動応答が止まらない", ClassReply},
		{"Réf. : [INC-1] down", ClassReply},
		{"Re: [INC-1] down", ClassReply},
		{"Re: Out of office wifi is down", ClassReply},
		{"AW: [INC-1] down", ClassReply},
		{"Automation pipeline broken", ClassReply},
	}
	for _, tt := range tests {
		m := &Message{Subject: tt.subject}
		if got := Classify(m); got != tt.want {
			t.Errorf("Classify(subject %q) = %s, want %s", tt.subject, got, tt.want)
		}
	}
}

// TestClassifyAutoReplyBody: an out-of-office answer with neither the
// headers nor a telling subject is known by its body, when it quotes
// nothing; a person's reply that mentions being away is not.
func TestClassifyAutoReplyBody(t *testing.T) {
	t.Parallel()
	quote := "\r\n\r\nOn Tue, 3 Mar 2026 at 15:30, Sitrep <status@example.com> wrote:\r\n> Is it fixed for you?\r\n"
	tests := []struct {
		name, body string
		want       Class
	}{
		{"en", "Thank you for your email. I am out of the office until Monday 9 March.", ClassAutoReply},
		{"en automated", "This is an automated response. Your message has been received.", ClassAutoReply},
		{"de", "Vielen Dank für Ihre Nachricht. Ich bin bis zum 13.03. nicht im Büro.", ClassAutoReply},
		{"de urlaub", "Ich befinde mich bis einschließlich 20. März im Urlaub. In dringenden Fällen wenden Sie sich an ops@example.de.", ClassAutoReply},
		{"fr", "Bonjour,\r\nJe suis absente du bureau jusqu'au 9 mars inclus.", ClassAutoReply},
		{"es", "Gracias por su mensaje. Estoy fuera de la oficina hasta el lunes.", ClassAutoReply},
		{"ja", "お世話になっております。\r\n3月9日まで不在にしております。", ClassAutoReply},
		{"ja automatic", "このメールは自動送信されています。", ClassAutoReply},
		{"en person quoting", "I'm out of the office until Monday, but checked from my phone: works again." + quote, ClassReply},
		{"de person quoting", "Ich bin bis Freitag im Urlaub, aber bei mir geht es wieder." + quote, ClassReply},
		{"away without a return", "I'm on vacation, but it works for me again.", ClassReply},
		{"plain answer", "Ja, funktioniert wieder bis auf Weiteres.", ClassReply},
	}
	for _, tt := range tests {
		raw := "From: a@example.org\r\nTo: status@example.com\r\nSubject: Re: [INC-1] down\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + tt.body + "\r\n"
		m, err := Parse([]byte(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := Classify(m); got != tt.want {
			t.Errorf("%s: Classify = %s, want %s (new text %q)", tt.name, got, tt.want, m.NewText)
		}
	}
}

// A human reply from a daemon-looking address without bounce signals is
// not a bounce, and a bounce-like subject from a person is not either.
func TestNotBounce(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"From: Postmaster Team <postmaster@example.org>\r\nSubject: Re: [INC-1] mail down\r\n\r\nWe see it too.\r\n",
		"From: Alice <alice@example.org>\r\nSubject: Undeliverable mail since 13:00?\r\n\r\nIs that the incident?\r\n",
	} {
		m, err := Parse([]byte(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Bounce != nil || Classify(m) != ClassReply {
			t.Errorf("Classify = %s, Bounce = %+v for %q", Classify(m), m.Bounce, raw)
		}
	}
}

// TestClassifyProbe: sitrep doctor's probe is known by its header and the
// same token in the plus address together; either sign alone is a person.
func TestClassifyProbe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, to, headers string
		want              Class
	}{
		{"probe", "status+probe-k3x9@example.com", "X-Sitrep-Probe: k3x9\r\nAuto-Submitted: auto-generated\r\n", ClassProbe},
		{"probe via Delivered-To", "status@example.com", "Delivered-To: status+probe-k3x9@example.com\r\nX-Sitrep-Probe: k3x9\r\n", ClassProbe},
		{"header, other token", "status+probe-k3x9@example.com", "X-Sitrep-Probe: zzzz\r\n", ClassReply},
		{"header only", "status@example.com", "X-Sitrep-Probe: k3x9\r\n", ClassReply},
		{"address only", "status+probe-k3x9@example.com", "", ClassReply},
	}
	for _, tt := range tests {
		raw := "From: sitrep <status@example.com>\r\nTo: " + tt.to + "\r\nSubject: sitrep doctor probe\r\n" + tt.headers + "\r\nhello\r\n"
		m, err := Parse([]byte(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := Classify(m); got != tt.want {
			t.Errorf("%s: Classify = %s, want %s", tt.name, got, tt.want)
		}
	}
}
