// Package i18n holds what sitrep needs to write to a person in their own
// language: message catalogs (one YAML file per language, with CLDR plural
// rules, through go-i18n), and dates, times and durations written as that
// language writes them (CLDR month and weekday names and 12- or 24-hour
// clocks, through go-playground/locales).
//
// The catalogs hold only what sitrep writes itself: the frame around the
// text people type, labels, severity and state words. Text typed by people
// (a status update, a root cause) is never translated here.
//
// English is the reference: every other catalog may lack a key (the
// English text is used, and TestCatalogsComplete lists what is missing per
// language), but a key English does not have, or a placeholder English
// does not pass, is an error at start-up, not a broken email at 3 a.m.
package i18n

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/template"
	"unicode"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Default is the language of the reference catalog, and of anyone whose
// language is not known.
const Default = "en"

// Catalog is the loaded set of catalogs. It is safe for concurrent use.
type Catalog struct {
	bundle  *goi18n.Bundle
	langs   []string                       // catalog languages, Default first
	keys    map[string]map[string]struct{} // language → message IDs it defines
	fields  map[string][]string            // message ID → placeholders in the English text
	english map[string]*goi18n.Message     // message ID → the English message, every form
	tags    []language.Tag
	match   language.Matcher

	mu         sync.Mutex
	localizers map[string]*Localizer
}

// Load reads every <lang>.yaml in dir of fsys. Problems are reported
// together, each naming its file and key.
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("i18n: catalogs: %w", err)
	}
	c := &Catalog{
		bundle:     goi18n.NewBundle(language.English),
		keys:       map[string]map[string]struct{}{},
		fields:     map[string][]string{},
		localizers: map[string]*Localizer{},
	}
	c.bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	raw := map[string]map[string]*goi18n.Message{}
	var problems []error
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".yaml" {
			continue
		}
		lang := strings.TrimSuffix(name, ".yaml")
		tag, err := language.Parse(lang)
		if err != nil || tag.String() != lang {
			problems = append(problems, fmt.Errorf("i18n: catalog %s: the file name must be a language tag such as de.yaml", name))
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			problems = append(problems, fmt.Errorf("i18n: catalog %s: %w", name, err))
			continue
		}
		mf, err := c.bundle.ParseMessageFileBytes(b, name)
		if err != nil {
			problems = append(problems, fmt.Errorf("i18n: catalog %s: %w", name, err))
			continue
		}
		raw[lang] = map[string]*goi18n.Message{}
		c.keys[lang] = map[string]struct{}{}
		for _, m := range mf.Messages {
			raw[lang][m.ID] = m
			c.keys[lang][m.ID] = struct{}{}
		}
		c.langs = append(c.langs, lang)
	}
	en, ok := raw[Default]
	if !ok {
		return nil, errors.Join(append(problems, fmt.Errorf("i18n: no %s.yaml: English is the reference catalog", Default))...)
	}
	c.english = en
	for id, m := range en {
		f, err := placeholders(m)
		// A placeholder English does not need (a month's number) is
		// offered to the other languages in the key's description.
		for _, sm := range fieldRE.FindAllStringSubmatch(m.Description, -1) {
			if !slices.Contains(f, sm[1]) {
				f = append(f, sm[1])
			}
		}
		sort.Strings(f)
		if err != nil {
			problems = append(problems, fmt.Errorf("i18n: catalog %s.yaml: %s: %w", Default, id, err))
		}
		c.fields[id] = f
	}
	for _, lang := range c.langs {
		if lang == Default {
			continue
		}
		for id, m := range raw[lang] {
			want, ok := c.fields[id]
			if !ok {
				problems = append(problems, fmt.Errorf("i18n: catalog %s.yaml: %s: no such key in %s.yaml (a typo?)", lang, id, Default))
				continue
			}
			got, err := placeholders(m)
			if err != nil {
				problems = append(problems, fmt.Errorf("i18n: catalog %s.yaml: %s: %w", lang, id, err))
				continue
			}
			for _, f := range got {
				if !slices.Contains(want, f) {
					problems = append(problems, fmt.Errorf("i18n: catalog %s.yaml: %s: placeholder {{.%s}} is not one of %s's (%s)", lang, id, f, Default, placeholderList(want)))
				}
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	sort.Slice(c.langs, func(i, j int) bool {
		if (c.langs[i] == Default) != (c.langs[j] == Default) {
			return c.langs[i] == Default
		}
		return c.langs[i] < c.langs[j]
	})
	for _, l := range c.langs {
		c.tags = append(c.tags, language.MustParse(l))
	}
	c.match = language.NewMatcher(c.tags)
	return c, nil
}

var fieldRE = regexp.MustCompile(`\{\{[^}]*?\.([A-Za-z_][A-Za-z0-9_]*)`)

// placeholders parses every form of m as a template (a broken one is an
// error) and lists the fields it uses.
func placeholders(m *goi18n.Message) ([]string, error) {
	var out []string
	for form, text := range map[string]string{"zero": m.Zero, "one": m.One, "two": m.Two, "few": m.Few, "many": m.Many, "other": m.Other} {
		if text == "" {
			continue
		}
		if _, err := template.New(m.ID).Parse(text); err != nil {
			return nil, fmt.Errorf("%s form: %w", form, err)
		}
		for _, sm := range fieldRE.FindAllStringSubmatch(text, -1) {
			if !slices.Contains(out, sm[1]) {
				out = append(out, sm[1])
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func placeholderList(fs []string) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = "{{." + f + "}}"
	}
	return strings.Join(parts, " ")
}

// Languages lists the catalog languages, English first.
func (c *Catalog) Languages() []string { return slices.Clone(c.langs) }

// Missing lists, per language, the English keys it does not translate.
func (c *Catalog) Missing() map[string][]string {
	out := map[string][]string{}
	for _, lang := range c.langs {
		if lang == Default {
			continue
		}
		for id := range c.fields {
			if _, ok := c.keys[lang][id]; !ok {
				out[lang] = append(out[lang], id)
			}
		}
		sort.Strings(out[lang])
	}
	return out
}

// Keys lists the English catalog's message IDs.
func (c *Catalog) Keys() []string {
	out := make([]string, 0, len(c.fields))
	for id := range c.fields {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Match is the catalog language that serves tag: "de-AT" → "de"; a tag of
// no catalog language (or "") → English.
func (c *Catalog) Match(tag string) string {
	t, err := language.Parse(tag)
	if err != nil || tag == "" {
		return Default
	}
	_, i, conf := c.match.Match(t)
	if conf == language.No {
		return Default
	}
	return c.langs[i]
}

// Localizer writes for a reader of tag (a BCP 47 tag such as "de" or
// "en-US"): catalog text in the matching language, dates in the tag's own
// conventions. Localizers are cached per tag.
func (c *Catalog) Localizer(tag string) *Localizer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.localizers[tag]; ok {
		return l
	}
	lang := c.Match(tag)
	l := &Localizer{cat: c, tag: tag, lang: lang, loc: goi18n.NewLocalizer(c.bundle, lang), cldr: cldrFor(tag, lang)}
	c.localizers[tag] = l
	return l
}

// catalogs are sitrep's own, one file per language.
//
//go:embed locales/*.yaml
var catalogs embed.FS

var embedded struct {
	once sync.Once
	cat  *Catalog
	err  error
}

// Embedded is the catalog set built into sitrep (internal/i18n/locales).
func Embedded() (*Catalog, error) {
	embedded.once.Do(func() { embedded.cat, embedded.err = Load(catalogs, "locales") })
	return embedded.cat, embedded.err
}

// Available lists the languages sitrep writes in, English first; with
// a broken catalog (a test catches it), English alone.
func Available() []string {
	c, err := Embedded()
	if err != nil {
		return []string{Default}
	}
	return c.Languages()
}

// Supported reports whether tag is a well-formed BCP 47 tag whose
// language sitrep has a catalog for ("de-AT" is, "pt-BR" is not), and
// the tag in its canonical form.
func Supported(tag string) (string, bool) {
	t, err := language.Parse(tag)
	if err != nil {
		return "", false
	}
	base, _ := t.Base()
	return t.String(), slices.Contains(Available(), base.String())
}

var placeholder = regexp.MustCompile(`\{\{[^}]*\}\}`)

// Prose lists the English catalog's own words under the key prefix
// ("summary_draft"): the literal text between placeholders, of every
// plural form, in runs of at least four characters, without what reads
// the same in every language (all capitals: "UTC"). It is for tests that
// no English prose is left in another language's output.
func (c *Catalog) Prose(prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range c.Keys() {
		if !strings.HasPrefix(id, prefix+".") {
			continue
		}
		m := c.english[id]
		for _, text := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
			for _, chunk := range placeholder.Split(text, -1) {
				chunk = strings.TrimFunc(chunk, func(r rune) bool { return !unicode.IsLetter(r) })
				if len([]rune(chunk)) < 4 || strings.ToUpper(chunk) == chunk || seen[chunk] {
					continue
				}
				seen[chunk] = true
				out = append(out, chunk)
			}
		}
	}
	return out
}
