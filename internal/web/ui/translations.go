package ui

import (
	"net/http"
	"sort"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/i18n"
)

// The compose form's translations (issue 18): the lead's own versions of
// the status, one textarea per language added. Without JavaScript a
// language is added by posting the form to the preview, which renders the
// page again with one more textarea; a textarea left empty sends that
// language's readers the original.

// translationField is one language's textarea: its tag ("de", "de-CH")
// and the text as typed.
type translationField struct {
	Lang, Text string
}

// translationPrefix names a translation's textarea: translation_de.
const translationPrefix = "translation_"

// langOption is a language the form offers to add.
type langOption struct {
	Tag, Name string
}

// languageNames name the catalog languages in English and in their own
// words, for the lead choosing one; a language added to the catalogs but
// not here is shown by its tag.
var languageNames = map[string]string{
	"en": "English",
	"de": "German (Deutsch)",
	"es": "Spanish (Español)",
	"fr": "French (Français)",
	"ja": "Japanese (日本語)",
}

// langName is a tag as the form shows it: "German (Deutsch)", "German
// (Deutsch), de-CH" for a regional tag, the tag alone when unknown.
func langName(tag string) string {
	if n, ok := languageNames[tag]; ok {
		return n
	}
	base, _, _ := strings.Cut(tag, "-")
	if n, ok := languageNames[base]; ok {
		return n + ", " + tag
	}
	return tag
}

// readTranslations reads the form's translation textareas, in tag order,
// and the language the lead asked to add (add_translation), as a new
// empty textarea unless it has one already.
func readTranslations(r *http.Request) []translationField {
	var out []translationField
	seen := map[string]bool{}
	for key, vs := range r.PostForm {
		lang, ok := strings.CutPrefix(key, translationPrefix)
		if !ok || lang == "" || len(vs) == 0 {
			continue
		}
		out = append(out, translationField{Lang: lang, Text: vs[0]})
		seen[lang] = true
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Lang < out[j].Lang })
	if add := strings.TrimSpace(r.PostFormValue("add_translation")); add != "" {
		if tag, ok := i18n.Supported(add); ok && !seen[tag] {
			out = append(out, translationField{Lang: tag})
		}
	}
	return out
}

// translations are the written translations, by tag, for the update: an
// empty textarea is a language added but not written, and sends the
// original.
func (f composeForm) translations() map[string]string {
	var out map[string]string
	for _, t := range f.Translations {
		if strings.TrimSpace(t.Text) == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[t.Lang] = t.Text
	}
	return out
}

// Addable lists the languages the form offers to add: sitrep's, but for
// those with a textarea already.
func (f composeForm) Addable() []langOption {
	var out []langOption
	for _, tag := range i18n.Available() {
		has := false
		for _, t := range f.Translations {
			if t.Lang == tag {
				has = true
			}
		}
		if !has {
			out = append(out, langOption{Tag: tag, Name: langName(tag)})
		}
	}
	return out
}
