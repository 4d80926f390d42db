// Package compose turns incident data into emails: a Go text/template per
// kind of email produces Markdown, goldmark renders it to HTML with inline
// styles that survive Gmail, Outlook and Apple Mail, and a plain-text
// alternative is derived from the same source. headers.go builds the
// complete RFC 5322 message with threading headers.
//
// Templates live in the templates package and can be overridden, one file
// at a time, from a directory the operator names. All of them are parsed
// and test-rendered at start-up, so a broken override stops the program
// then, not during an outage.
package compose

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"text/template"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/textfield"
	"github.com/sitrep-dev/sitrep/templates"
)

// Kind names one kind of email; its template is "<kind>.md.tmpl".
type Kind string

const (
	KindHeadsUp          Kind = "headsup"
	KindStatus           Kind = "status"
	KindReminder         Kind = "reminder"
	KindOverdue          Kind = "overdue"
	KindResolved         Kind = "resolved"
	KindConfirm          Kind = "confirm"
	KindSummary          Kind = "summary"
	KindTimeline         Kind = "timeline"
	KindCommandRefused   Kind = "command_refused"
	KindBounceNotice     Kind = "bounce_notice"
	KindUnverifiedBounce Kind = "unverified_bounce"
	KindStakeholderReply Kind = "stakeholder_reply"
	KindDraftAlert       Kind = "draft_alert"
	KindStillBroken      Kind = "still_broken"
	KindWriteUpDue       Kind = "writeup_due"
	KindPostmortemInvite Kind = "postmortem_invite"
	KindPostmortemReport Kind = "postmortem_report"
	KindImprovementDue   Kind = "improvement_due"
)

// dataTypes says which struct each kind's template receives; Render
// refuses anything else, so a mix-up fails with a clear message instead
// of a template error about a missing field.
var dataTypes = map[Kind]reflect.Type{
	KindHeadsUp:          reflect.TypeFor[HeadsUpData](),
	KindStatus:           reflect.TypeFor[StatusData](),
	KindReminder:         reflect.TypeFor[ReminderData](),
	KindOverdue:          reflect.TypeFor[ReminderData](),
	KindResolved:         reflect.TypeFor[ResolvedData](),
	KindConfirm:          reflect.TypeFor[ConfirmData](),
	KindSummary:          reflect.TypeFor[SummaryData](),
	KindTimeline:         reflect.TypeFor[TimelineData](),
	KindCommandRefused:   reflect.TypeFor[CommandRefusedData](),
	KindBounceNotice:     reflect.TypeFor[BounceNoticeData](),
	KindUnverifiedBounce: reflect.TypeFor[UnverifiedBounceData](),
	KindStakeholderReply: reflect.TypeFor[StakeholderReplyData](),
	KindDraftAlert:       reflect.TypeFor[DraftAlertData](),
	KindStillBroken:      reflect.TypeFor[StillBrokenData](),
	KindWriteUpDue:       reflect.TypeFor[ReminderData](),
	KindPostmortemInvite: reflect.TypeFor[PostmortemInviteData](),
	KindPostmortemReport: reflect.TypeFor[PostmortemReportData](),
	KindImprovementDue:   reflect.TypeFor[ImprovementDueData](),
}

// Kinds lists every kind, in a stable order.
func Kinds() []Kind {
	out := make([]Kind, 0, len(dataTypes))
	for k := range dataTypes {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (k Kind) file() string { return string(k) + ".md.tmpl" }

// Rendered is one email's content, before envelope headers.
type Rendered struct {
	Subject  string
	Markdown string // the source, with user Markdown inlined
	HTML     string // a complete HTML document
	Text     string // the plain-text alternative
}

// Renderer holds the parsed templates. It is safe for concurrent use.
type Renderer struct {
	tmpl map[Kind]*template.Template
	src  map[Kind]string // where each template came from, for errors
}

// New parses every embedded template, replacing any by the file of the
// same name in overrideDir (may be ""), and renders each once with sample
// data so that a misspelt field fails now. All problems are reported
// together, each naming its file.
func New(overrideDir string) (*Renderer, error) {
	r := &Renderer{tmpl: map[Kind]*template.Template{}, src: map[Kind]string{}}
	texts := map[Kind]string{}
	var problems []error
	for _, k := range Kinds() {
		b, err := fs.ReadFile(templates.FS, k.file())
		if err != nil {
			problems = append(problems, fmt.Errorf("compose: embedded template %s: %w", k.file(), err))
			continue
		}
		texts[k], r.src[k] = string(b), "embedded "+k.file()
	}
	if overrideDir != "" {
		entries, err := os.ReadDir(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("compose: template override directory: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".md.tmpl") {
				continue
			}
			path := filepath.Join(overrideDir, name)
			k := Kind(strings.TrimSuffix(name, ".md.tmpl"))
			if _, ok := dataTypes[k]; !ok {
				// A typo ("staus.md.tmpl") would otherwise be silently ignored.
				problems = append(problems, fmt.Errorf("compose: template %s: no email kind %q (known: %v)", path, k, Kinds()))
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				problems = append(problems, fmt.Errorf("compose: template %s: %w", path, err))
				continue
			}
			texts[k], r.src[k] = string(b), path
		}
	}
	for _, k := range Kinds() {
		text, ok := texts[k]
		if !ok {
			continue
		}
		t, err := template.New(k.file()).Option("missingkey=error").Funcs(funcs()).Parse(text)
		if err != nil {
			problems = append(problems, fmt.Errorf("compose: template %s: %w", r.src[k], err))
			continue
		}
		if t.Lookup("subject") == nil {
			problems = append(problems, fmt.Errorf(`compose: template %s: no {{define "subject"}} block`, r.src[k]))
			continue
		}
		r.tmpl[k] = t
		if _, err := r.Render(k, SampleData(k)); err != nil {
			problems = append(problems, fmt.Errorf("compose: template %s: rendering sample data: %w", r.src[k], err))
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return r, nil
}

// Render executes the template of kind with data (the kind's data struct,
// or a pointer to it) and renders the result to HTML and plain text.
func (r *Renderer) Render(kind Kind, data any) (*Rendered, error) {
	want, ok := dataTypes[kind]
	if !ok {
		return nil, errs.E(errs.Invalid, "compose: no email kind %q", kind)
	}
	t := r.tmpl[kind]
	if t == nil {
		return nil, fmt.Errorf("compose: template %s not loaded", kind.file())
	}
	if got := reflect.TypeOf(data); got != want && got != reflect.PointerTo(want) {
		return nil, fmt.Errorf("compose: template %s wants %s, got %v", kind.file(), want, got)
	}
	where := r.src[kind]

	var sb bytes.Buffer
	if err := t.ExecuteTemplate(&sb, "subject", data); err != nil {
		return nil, fmt.Errorf("compose: template %s: subject: %w", where, err)
	}
	subject := strings.TrimSpace(sb.String())
	if i, r := textfield.FirstControl(subject); i >= 0 {
		// Titles are checked when they are written; this catches one
		// stored before that check, or a template's own mistake.
		return nil, fmt.Errorf("compose: template %s: %w", where,
			errs.InvalidField("subject", "contains %s, a line break or control character; fix the incident title", textfield.CodePoint(r)))
	}
	if subject == "" {
		return nil, fmt.Errorf("compose: template %s: %w", where, errs.InvalidField("subject", "is empty"))
	}

	var bb bytes.Buffer
	if err := t.Execute(&bb, data); err != nil {
		return nil, fmt.Errorf("compose: template %s: %w", where, err)
	}
	source, body, plain, err := assemble(bb.String())
	if err != nil {
		return nil, fmt.Errorf("compose: template %s: %w", where, err)
	}
	return &Rendered{Subject: subject, Markdown: source, HTML: wrap(subject, body), Text: plain}, nil
}

// ThreadSubject is the subject every message of one thread carries:
// "[INC-42] Checkout unavailable". Gmail starts a new conversation when
// the subject changes, so callers pass the title the thread started with.
func ThreadSubject(id, title string) string {
	title = strings.TrimSpace(title)
	if id == "" {
		return title
	}
	return "[" + strings.TrimSpace(id) + "] " + title
}

// User Markdown (a status update, a summary) is not pasted into the
// template's Markdown: an unclosed ``` fence or a stray link reference
// definition in it would reach into the template's own text. The usermd
// helper leaves a marker instead, and assemble renders each piece on its
// own. The marker starts with NUL, which esc, list and quote strip, so
// user text passed through them cannot forge one (and a forged one would
// only render as more Markdown, which is no more than unescaped text can do).
const (
	markOpen  = "\x00sitrep-usermd:"
	markClose = "\x00"
)

func userMarkdown(s string) string {
	return "\n\n" + markOpen + base64.StdEncoding.EncodeToString([]byte(s)) + markClose + "\n\n"
}

// assemble splits the template output at the markers, renders each piece
// of Markdown on its own, and returns the whole Markdown source and the
// concatenated HTML body and plain text.
func assemble(out string) (source, body, plain string, err error) {
	var src, html, txt strings.Builder
	add := func(piece string) error {
		if strings.TrimSpace(piece) == "" {
			return nil
		}
		h, t, err := renderPiece(piece)
		if err != nil {
			return err
		}
		src.WriteString(strings.TrimSpace(piece))
		src.WriteString("\n\n")
		html.WriteString(h)
		if t = strings.TrimSpace(t); t != "" {
			if txt.Len() > 0 {
				txt.WriteString("\n\n")
			}
			txt.WriteString(t)
		}
		return nil
	}
	for {
		i := strings.Index(out, markOpen)
		if i < 0 {
			break
		}
		j := strings.Index(out[i+len(markOpen):], markClose)
		if j < 0 {
			return "", "", "", errors.New("unterminated user Markdown marker")
		}
		if err := add(out[:i]); err != nil {
			return "", "", "", err
		}
		enc := out[i+len(markOpen) : i+len(markOpen)+j]
		user, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return "", "", "", fmt.Errorf("bad user Markdown marker: %w", err)
		}
		if err := add(string(user)); err != nil {
			return "", "", "", err
		}
		out = out[i+len(markOpen)+j+len(markClose):]
	}
	if err := add(out); err != nil {
		return "", "", "", err
	}
	return src.String(), html.String(), txt.String() + "\n", nil
}

// NewData returns a pointer to a zero value of the data struct kind's
// template receives, for decoding a stored snapshot back before rendering.
func NewData(kind Kind) (any, error) {
	t, ok := dataTypes[kind]
	if !ok {
		return nil, errs.E(errs.Invalid, "unknown email kind %q", kind)
	}
	return reflect.New(t).Interface(), nil
}
