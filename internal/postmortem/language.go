package postmortem

import (
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// prose writes the post-mortem's shared texts (the calendar event, the
// timeline every attendee reads) in one language, the organisation's:
// one calendar object and one timeline go to everyone. The keys are
// postmortem_doc.*; people's words are never translated.
type prose struct{ l *i18n.Localizer }

func newProse(lang string) prose {
	c, err := i18n.Embedded()
	if err != nil {
		// The i18n tests catch a broken catalog; t writes keys then.
		return prose{}
	}
	return prose{c.Localizer(lang)}
}

func (p prose) t(id string, args ...any) string {
	if p.l == nil {
		return id
	}
	return p.l.T("postmortem_doc."+id, args...)
}

// english reports whether the texts are English, in which sitrep's own
// event texts are retold as they were written.
func (p prose) english() bool { return p.l == nil || p.l.Lang() == i18n.Default }

// withWords is a line followed by words: "Status update 2 to exec: ...".
func (p prose) withWords(what, words string) string {
	if words == "" {
		return what
	}
	return p.t("with_words", "What", what, "Words", words)
}

// state is a state word: as the event wrote it in English, else the
// catalog's (state.*).
func (p prose) state(s string) string {
	if p.english() || !p.l.Has("state."+s) {
		return s
	}
	return p.l.T("state." + s)
}

// day is "Tue 3 Mar" as the language writes it.
func (p prose) day(t time.Time) string {
	if p.l == nil {
		return t.Format("Mon 2 Jan")
	}
	return p.l.Day(t)
}
