package ui

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// The improvements across incidents.

type improvementsData struct {
	List    []postmortem.Improvement
	People  []directory.Person
	Owner   string
	Overdue bool
	Open    bool
	Unowned int
	CSV     string // the CSV link with the same filters
}

func (s *Server) uiImprovements(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.improvementsPage(w, r, sess, http.StatusOK, nil)
}

func (s *Server) improvementsPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*page)) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	f := improvementFilter(r)
	list, err := s.Postmortem.Improvements(r.Context(), f)
	if err != nil {
		return err
	}
	d := &improvementsData{List: list, People: s.Directory.Current().People, Owner: f.Owner, Overdue: f.Overdue, Open: f.Open}
	for _, m := range list {
		if m.Unowned {
			d.Unowned++
		}
	}
	csv := url.Values{}
	for k, v := range r.URL.Query() {
		csv[k] = v
	}
	d.CSV = "/improvements.csv"
	if len(csv) > 0 {
		d.CSV += "?" + csv.Encode()
	}
	p := s.newPage(r, sess, "Improvements", "improvements")
	if fill != nil {
		fill(p)
	}
	p.Data = d
	return s.render(w, status, "improvements", p)
}
