package i18n

import (
	"strings"

	"github.com/go-playground/locales"
	de "github.com/go-playground/locales/de"
	de_AT "github.com/go-playground/locales/de_AT"
	de_CH "github.com/go-playground/locales/de_CH"
	de_DE "github.com/go-playground/locales/de_DE"
	en_AU "github.com/go-playground/locales/en_AU"
	en_CA "github.com/go-playground/locales/en_CA"
	en_GB "github.com/go-playground/locales/en_GB"
	en_IE "github.com/go-playground/locales/en_IE"
	en_IN "github.com/go-playground/locales/en_IN"
	en_NZ "github.com/go-playground/locales/en_NZ"
	en_SG "github.com/go-playground/locales/en_SG"
	en_US "github.com/go-playground/locales/en_US"
	en_ZA "github.com/go-playground/locales/en_ZA"
	es "github.com/go-playground/locales/es"
	es_419 "github.com/go-playground/locales/es_419"
	es_AR "github.com/go-playground/locales/es_AR"
	es_ES "github.com/go-playground/locales/es_ES"
	es_MX "github.com/go-playground/locales/es_MX"
	es_US "github.com/go-playground/locales/es_US"
	fr "github.com/go-playground/locales/fr"
	fr_BE "github.com/go-playground/locales/fr_BE"
	fr_CA "github.com/go-playground/locales/fr_CA"
	fr_CH "github.com/go-playground/locales/fr_CH"
	fr_FR "github.com/go-playground/locales/fr_FR"
	ja "github.com/go-playground/locales/ja"
	ja_JP "github.com/go-playground/locales/ja_JP"
)

// cldrLocales are the CLDR conventions sitrep knows, by tag with "_":
// the catalog languages and the regions that write dates or clocks
// differently from their language's default (en-US and en-GB differ in
// both). A tag of another region uses its language's.
var cldrLocales = map[string]func() locales.Translator{
	"en_US":  en_US.New,
	"en_GB":  en_GB.New,
	"en_CA":  en_CA.New,
	"en_AU":  en_AU.New,
	"en_IN":  en_IN.New,
	"en_IE":  en_IE.New,
	"en_NZ":  en_NZ.New,
	"en_ZA":  en_ZA.New,
	"en_SG":  en_SG.New,
	"de":     de.New,
	"de_DE":  de_DE.New,
	"de_AT":  de_AT.New,
	"de_CH":  de_CH.New,
	"fr":     fr.New,
	"fr_FR":  fr_FR.New,
	"fr_CA":  fr_CA.New,
	"fr_CH":  fr_CH.New,
	"fr_BE":  fr_BE.New,
	"es":     es.New,
	"es_ES":  es_ES.New,
	"es_MX":  es_MX.New,
	"es_US":  es_US.New,
	"es_AR":  es_AR.New,
	"es_419": es_419.New,
	"ja":     ja.New,
	"ja_JP":  ja_JP.New,
}

// cldrFor is the CLDR translator for tag, else for its catalog language.
// Plain "en" has none: sitrep has always written English with a 24-hour
// clock (as en-GB and most of the world's English readers do); en-US
// readers get "3:30 PM". The order of a day's parts ("Tue 3 Mar") is the
// catalog's, per language.
func cldrFor(tag, lang string) locales.Translator {
	key := strings.ReplaceAll(tag, "-", "_")
	for key != "" {
		if f, ok := cldrLocales[key]; ok {
			return f()
		}
		i := strings.LastIndex(key, "_")
		if i < 0 {
			break
		}
		key = key[:i]
	}
	if f, ok := cldrLocales[lang]; ok {
		return f()
	}
	return nil
}
