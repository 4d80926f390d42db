package statuspage

import (
	"crypto/sha1"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// The Atom feed (RFC 4287) of status updates: one entry per update, its id
// made of the update's timeline event, so that a feed reader sees each
// update once however often it asks. encoding/xml escapes every text (and
// writes U+FFFD for a character XML cannot carry).

// AtomType is the feed's media type (RFC 4287 7).
const AtomType = "application/atom+xml; charset=utf-8"

// Feed is one Atom feed.
type Feed struct {
	// ID is the feed's permanent id (FeedID).
	ID    string
	Title string
	// Self is the feed's own URL; Alternate the page it follows.
	Self, Alternate string
	// Author names who publishes it (RFC 4287 4.1.1: a feed whose entries
	// have no author needs one).
	Author  string
	Entries []Entry
	// Updated is when it last changed; zero: the newest entry's time.
	Updated time.Time
}

// Entry is one update in a feed.
type Entry struct {
	ID        string
	Title     string
	Link      string
	Text      string // plain text (the update as written, Markdown)
	Published time.Time
	Updated   time.Time
	// Category is a term for readers that filter: the severity, the state.
	Categories []string
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   atomText    `xml:"title"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Gen     atomGen     `xml:"generator"`
	Entries []atomEntry `xml:"entry"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomGen struct {
	Body string `xml:",chardata"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomEntry struct {
	ID         string         `xml:"id"`
	Title      atomText       `xml:"title"`
	Updated    string         `xml:"updated"`
	Published  string         `xml:"published"`
	Links      []atomLink     `xml:"link"`
	Categories []atomCategory `xml:"category"`
	Content    atomText       `xml:"content"`
}

// atomTime is a date as RFC 3339 in UTC, as Atom wants (RFC 4287 3.3).
func atomTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// WriteAtom writes f as an Atom document.
func WriteAtom(w io.Writer, f Feed) error {
	updated := f.Updated
	for _, e := range f.Entries {
		if e.Updated.After(updated) {
			updated = e.Updated
		}
	}
	if updated.IsZero() {
		updated = time.Unix(0, 0) // nothing yet; a fixed time, so that the empty feed does not change
	}
	out := atomFeed{ID: f.ID, Title: atomText{Type: "text", Body: f.Title}, Updated: atomTime(updated),
		Author: atomPerson{Name: f.Author}, Gen: atomGen{Body: "sitrep"}}
	if f.Self != "" {
		out.Links = append(out.Links, atomLink{Rel: "self", Type: "application/atom+xml", Href: f.Self})
	}
	if f.Alternate != "" {
		out.Links = append(out.Links, atomLink{Rel: "alternate", Type: "text/html", Href: f.Alternate})
	}
	for _, e := range f.Entries {
		ae := atomEntry{ID: e.ID, Title: atomText{Type: "text", Body: e.Title}, Updated: atomTime(e.Updated),
			Published: atomTime(e.Published), Content: atomText{Type: "text", Body: e.Text}}
		if e.Link != "" {
			ae.Links = []atomLink{{Rel: "alternate", Type: "text/html", Href: e.Link}}
		}
		for _, c := range e.Categories {
			if c != "" {
				ae.Categories = append(ae.Categories, atomCategory{Term: c})
			}
		}
		out.Entries = append(out.Entries, ae)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("statuspage: atom: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// FeedID is a permanent id (an RFC 4122 name-based UUID URN) for name
// within site: the same on every request, different between
// installations (site) and audiences (name says which).
func FeedID(site, name string) string {
	h := sha1.Sum([]byte("sitrep status feed\x00" + strings.ToLower(site) + "\x00" + name))
	h[6] = (h[6] & 0x0f) | 0x50 // version 5
	h[8] = (h[8] & 0x3f) | 0x80 // RFC 4122 variant
	return fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// FeedOptions say how incidents become a feed.
type FeedOptions struct {
	// Site tells installations apart in ids: the public URL, else the host.
	Site string
	// LinkOf is the URL of an incident's page (absolute, or relative to
	// the feed's); nil: no links.
	LinkOf func(ref string) string
	// TitleOf is an incident's name in an entry's title.
	TitleOf func(inc *Incident) string
}

// Entries are the updates of incs for aud, newest first.
func Entries(incs []*Incident, aud Audience, o FeedOptions) []Entry {
	var out []Entry
	for _, inc := range incs {
		name := inc.Ref + " " + inc.Title
		if o.TitleOf != nil {
			name = o.TitleOf(inc)
		}
		link := ""
		if o.LinkOf != nil {
			link = o.LinkOf(inc.Ref)
		}
		for _, u := range inc.Updates {
			title := name + ": " + strings.ToLower(u.Label())
			if u.Kind == UpdateStatus && u.Number > 0 {
				title = fmt.Sprintf("%s: update %d", name, u.Number)
				if u.Holding {
					title += " (no change)"
				}
			}
			// What the update said, with its promise; the same on every
			// request (readers take a changed entry for a new one).
			text := u.Text
			if u.NextUpdateAt != nil {
				text += "\n\nNext update by " + u.NextUpdateAt.UTC().Format("Mon 2 Jan 2006 15:04") + " UTC."
			}
			e := Entry{ID: FeedID(o.Site, fmt.Sprintf("%s/%s/%d", aud, inc.Ref, u.ID)), Title: title, Link: link, Text: text,
				Published: u.At, Updated: u.At, Categories: []string{inc.Severity}}
			if link != "" {
				e.Link = fmt.Sprintf("%s#update-%d", link, u.ID)
			}
			out = append(out, e)
		}
	}
	// Newest first across incidents; ties by id, so the order is stable.
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Updated.Equal(out[j].Updated) {
			return out[i].Updated.After(out[j].Updated)
		}
		return out[i].ID > out[j].ID
	})
	if len(out) > MaxEntries {
		out = out[:MaxEntries]
	}
	return out
}

// MaxEntries bounds a feed: the newest updates.
const MaxEntries = 200
