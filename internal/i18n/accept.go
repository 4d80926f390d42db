package i18n

import "golang.org/x/text/language"

// MaxAcceptLanguage bounds the Accept-Language header AcceptLanguage
// reads: a browser's is a few dozen bytes; a longer one is no reader's
// preference, and is not parsed at all.
const MaxAcceptLanguage = 1000

// AcceptLanguage is the first language of an Accept-Language header
// (RFC 9110 12.5.4), by preference, that sitrep writes, as its canonical
// tag ("de-AT", "ja"); "" when none is, and for a header that is longer
// than MaxAcceptLanguage or malformed: the page is then written in
// English. The parse is bounded, so that a hostile header costs nothing.
func AcceptLanguage(h string) string {
	if h == "" || len(h) > MaxAcceptLanguage {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(h)
	if err != nil {
		return ""
	}
	for _, t := range tags {
		if canon, ok := Supported(t.String()); ok {
			return canon
		}
	}
	return ""
}
