package postmortem

import (
	"time"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// prose writes the post-mortem's shared texts (the calendar event, the
// timeline every attendee reads) in one language, the organisation's:
// one calendar object and one timeline go to everyone. The keys are
// postmortem_doc.*; people's words are never translated.
type prose struct{ i18n.Section }

func newProse(lang string) prose { return prose{i18n.SectionIn(lang, "postmortem_doc")} }

func (p prose) t(id string, args ...any) string { return p.T(id, args...) }

// english reports whether the texts are English, in which sitrep's own
// event texts are retold as they were written.
func (p prose) english() bool { return p.English() }

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
	if p.english() || !p.Localizer().Has("state."+s) {
		return s
	}
	return p.Localizer().T("state." + s)
}

// day is "Tue 3 Mar" as the language writes it.
func (p prose) day(t time.Time) string {
	if p.Localizer() == nil {
		return t.Format("Mon 2 Jan")
	}
	return p.Localizer().Day(t)
}
