package ui

import (
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/directory"
)

type dirGroup struct {
	directory.Group
	Expanded int
	File     bool
}

type dirPerson struct {
	directory.Person
	File bool
}

type dirEscalation struct {
	directory.Escalation
	File  bool
	Names map[string]string
}

type directoryData struct {
	Organization string
	Example      bool
	People       []dirPerson
	Groups       []dirGroup
	Escalations  []dirEscalation
	Audiences    map[string][]string
}

func (s *Server) uiDirectory(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	d := s.Directory.Current()
	out := &directoryData{Organization: d.Organization, Example: d.Example, Audiences: d.Audiences}
	names := map[string]string{}
	for _, p := range d.People {
		names[p.Email] = p.Name
		out.People = append(out.People, dirPerson{p, s.Directory.SourceOf("person", p.Email) == "file"})
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
