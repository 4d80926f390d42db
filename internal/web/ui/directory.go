package ui

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/i18n"
)

type dirGroup struct {
	directory.Group
	Expanded int
	File     bool
}

type dirPerson struct {
	directory.Person
	File bool
	// Lang is the language the person reads (their own, else their
	// nearest group's, else the organisation's, else English); LangFrom
	// says which: "own", "group", "organisation" or "default".
	Lang, LangFrom string
}

type dirEscalation struct {
	directory.Escalation
	File  bool
	Names map[string]string
}

type directoryData struct {
	Organization string
	Language     string // the organisation's default; "" is English
	Example      bool
	People       []dirPerson
	Groups       []dirGroup
	Escalations  []dirEscalation
	Audiences    map[string][]string
}

func (s *Server) uiDirectory(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	d := s.Directory.Current()
	out := &directoryData{Organization: d.Organization, Language: d.Language, Example: d.Example, Audiences: d.Audiences}
	names := map[string]string{}
	readers := s.readers().m
	noOrg := *d
	noOrg.Language = ""
	fromGroups := noOrg.Readers()
	for _, p := range d.People {
		names[p.Email] = p.Name
		dp := dirPerson{Person: p, File: s.Directory.SourceOf("person", p.Email) == "file"}
		email := strings.ToLower(p.Email)
		switch {
		case p.Language != "":
			dp.Lang, dp.LangFrom = p.Language, "own"
		case fromGroups[email].Language != "":
			dp.Lang, dp.LangFrom = fromGroups[email].Language, "group"
		case readers[email].Language != "":
			dp.Lang, dp.LangFrom = readers[email].Language, "organisation"
		default:
			dp.Lang, dp.LangFrom = i18n.Default, "default"
		}
		out.People = append(out.People, dp)
	}
	for _, g := range d.Groups {
		rs, _ := d.Expand(g.Name)
		out.Groups = append(out.Groups, dirGroup{g, len(rs), s.Directory.SourceOf("group", g.Name) == "file"})
	}
	for _, e := range d.Escalations {
		out.Escalations = append(out.Escalations, dirEscalation{e, s.Directory.SourceOf("escalation", e.System) == "file", names})
	}
	p := s.newPage(r, sess, "Directory", "directory")
	p.Data = out
	return s.render(w, http.StatusOK, "directory", p)
}
