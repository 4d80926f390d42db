package api

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// GroupView is a group with its members expanded through nested groups.
type GroupView struct {
	directory.Group
	Source     string                `json:"source"`
	Recipients []directory.Recipient `json:"recipients"`
}

func (s *Server) getDirectory(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.Directory.Current(), nil
}

func (s *Server) syncDirectory(w http.ResponseWriter, r *http.Request) (any, error) {
	if s.Groups == nil {
		return nil, errs.E(errs.Conflict, "no groups.yaml is configured (directory.file)")
	}
	return s.Groups.Sync(r.Context())
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) (any, error) {
	d := s.Directory.Current()
	out := []GroupView{}
	for _, g := range d.Groups {
		rec, _ := d.Expand(g.Name)
		out = append(out, GroupView{Group: g, Source: s.Directory.SourceOf("group", g.Name), Recipients: rec})
	}
	return map[string]any{"groups": out, "organization": d.Organization, "language": d.Language, "example": d.Example}, nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) (any, error) {
	d := s.Directory.Current()
	g, ok := d.Group(r.PathValue("name"))
	if !ok {
		return nil, errs.E(errs.NotFound, "no group %q; the groups are %s", r.PathValue("name"), strings.Join(d.GroupNames(), ", "))
	}
	rec, err := d.Expand(g.Name)
	if err != nil {
		return nil, err
	}
	return GroupView{Group: g, Source: s.Directory.SourceOf("group", g.Name), Recipients: rec}, nil
}

func (s *Server) putGroup(w http.ResponseWriter, r *http.Request) (any, error) {
	var g directory.Group
	if err := DecodeJSON(r, &g); err != nil {
		return nil, err
	}
	g.Name = r.PathValue("name")
	if err := s.Directory.PutGroup(r.Context(), g); err != nil {
		return nil, err
	}
	if stored, ok := s.Directory.Current().Group(g.Name); ok {
		return stored, nil // as stored: the language tag in canonical form
	}
	return g, nil
}

func (s *Server) listPeople(w http.ResponseWriter, r *http.Request) (any, error) {
	return map[string]any{"people": s.Directory.Current().People}, nil
}

func (s *Server) putPerson(w http.ResponseWriter, r *http.Request) (any, error) {
	var p directory.Person
	if err := DecodeJSON(r, &p); err != nil {
		return nil, err
	}
	p.Email = strings.ToLower(r.PathValue("email"))
	if err := s.Directory.PutPerson(r.Context(), p); err != nil {
		return nil, err
	}
	if stored, ok := s.Directory.Current().Person(p.Email); ok {
		return stored, nil // as stored: the language tag in canonical form
	}
	return p, nil
}

func (s *Server) listEscalations(w http.ResponseWriter, r *http.Request) (any, error) {
	return map[string]any{"escalations": s.Directory.Current().Escalations}, nil
}

func (s *Server) putEscalation(w http.ResponseWriter, r *http.Request) (any, error) {
	var e directory.Escalation
	if err := DecodeJSON(r, &e); err != nil {
		return nil, err
	}
	e.System = strings.ToLower(r.PathValue("system"))
	if err := s.Directory.PutEscalation(r.Context(), e); err != nil {
		return nil, err
	}
	return e, nil
}
