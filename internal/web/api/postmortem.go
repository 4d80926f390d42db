package api

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) registerPostmortem(mux *http.ServeMux) {
	if s.Postmortem == nil {
		return
	}
	const base = "/api/v1/incidents/{ref}/postmortem"
	s.Handle(mux, "GET "+base, auth.Viewer, s.getPostmortem)
	s.Handle(mux, "POST "+base+"/attendees", auth.Lead, s.setPostmortemAttendee)
	s.Handle(mux, "DELETE "+base+"/attendees/{email}", auth.Lead, s.removePostmortemAttendee)
	s.Handle(mux, "POST "+base+"/propose", auth.Lead, s.proposePostmortem)
	s.Handle(mux, "POST "+base+"/book", auth.Lead, s.bookPostmortem)
	s.Handle(mux, "POST "+base+"/reschedule", auth.Lead, s.reschedulePostmortem)
	s.Handle(mux, "POST "+base+"/cancel", auth.Lead, s.cancelPostmortem)
	s.Handle(mux, "GET "+base+"/board", auth.Viewer, s.getPostmortemBoard)
	s.Handle(mux, "POST "+base+"/issues", auth.Lead, s.addPostmortemIssue)
	s.Handle(mux, "POST "+base+"/improvements", auth.Lead, s.addImprovement)
	s.Handle(mux, "POST "+base+"/publish", auth.Lead, s.publishPostmortem)
	s.Handle(mux, "GET /api/v1/improvements", auth.Viewer, s.listImprovements)
	s.Handle(mux, "PATCH /api/v1/improvements/{id}", auth.Lead, s.patchImprovement)
}

func (s *Server) getPostmortem(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.Postmortem.Get(r.Context(), r.PathValue("ref"))
}

func (s *Server) setPostmortemAttendee(w http.ResponseWriter, r *http.Request) (any, error) {
	var in postmortem.AttendeeInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	return s.Postmortem.SetAttendee(r.Context(), actor(r), r.PathValue("ref"), in)
}

func (s *Server) removePostmortemAttendee(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.Postmortem.RemoveAttendee(r.Context(), actor(r), r.PathValue("ref"), r.PathValue("email"))
}

func (s *Server) proposePostmortem(w http.ResponseWriter, r *http.Request) (any, error) {
	var in postmortem.ProposeInput
	if err := decodeOptionalJSON(r, &in); err != nil {
		return nil, err
	}
	return s.Postmortem.Propose(r.Context(), r.PathValue("ref"), in)
}

func (s *Server) bookPostmortem(w http.ResponseWriter, r *http.Request) (any, error) {
	var in postmortem.BookInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	pm, err := s.Postmortem.Book(r.Context(), actor(r), r.PathValue("ref"), in)
	if err != nil {
		return nil, err
	}
	return web.Created(pm), nil
}

func (s *Server) reschedulePostmortem(w http.ResponseWriter, r *http.Request) (any, error) {
	var in postmortem.BookInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	return s.Postmortem.Reschedule(r.Context(), actor(r), r.PathValue("ref"), in)
}

func (s *Server) cancelPostmortem(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.Postmortem.Cancel(r.Context(), actor(r), r.PathValue("ref"))
}

func (s *Server) getPostmortemBoard(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.Postmortem.Board(r.Context(), r.PathValue("ref"))
}

func (s *Server) addPostmortemIssue(w http.ResponseWriter, r *http.Request) (any, error) {
	var in postmortem.IssueInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	is, err := s.Postmortem.AddIssue(r.Context(), actor(r), r.PathValue("ref"), in)
	if err != nil {
		return nil, err
	}
	return web.Created(is), nil
}

func (s *Server) addImprovement(w http.ResponseWriter, r *http.Request) (any, error) {
	var in postmortem.ImprovementInput
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	m, err := s.Postmortem.AddImprovement(r.Context(), actor(r), r.PathValue("ref"), in)
	if err != nil {
		return nil, err
	}
	return web.Created(m), nil
}

func (s *Server) publishPostmortem(w http.ResponseWriter, r *http.Request) (any, error) {
	res, err := s.Postmortem.Publish(r.Context(), actor(r), r.PathValue("ref"))
	if err != nil {
		return nil, err
	}
	return web.Created(res), nil
}

// listImprovements exports improvements: JSON, or CSV with format=csv;
// filtered by owner, incident, overdue=true, open=true.
func (s *Server) listImprovements(w http.ResponseWriter, r *http.Request) (any, error) {
	q := r.URL.Query()
	f := postmortem.ImprovementFilter{Owner: q.Get("owner"), Incident: q.Get("incident")}
	for name, dst := range map[string]*bool{"overdue": &f.Overdue, "open": &f.Open} {
		if v := q.Get(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, errs.InvalidField(name, "want true or false, got %q", v)
			}
			*dst = b
		}
	}
	list, err := s.Postmortem.Improvements(r.Context(), f)
	if err != nil {
		return nil, err
	}
	switch q.Get("format") {
	case "", "json":
		unowned := 0
		for _, m := range list {
			if m.Unowned {
				unowned++
			}
		}
		return map[string]any{"improvements": list, "unowned": unowned}, nil
	case "csv":
		var buf bytes.Buffer
		if err := postmortem.WriteCSV(&buf, list); err != nil {
			return nil, err
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="improvements-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
		w.Write(buf.Bytes())
		return nil, web.ErrWritten
	default:
		return nil, errs.InvalidField("format", "want json or csv, got %q", q.Get("format"))
	}
}

func (s *Server) patchImprovement(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errs.E(errs.NotFound, "no improvement %q", r.PathValue("id"))
	}
	var in postmortem.ImprovementPatch
	if err := DecodeJSON(r, &in); err != nil {
		return nil, err
	}
	return s.Postmortem.UpdateImprovement(r.Context(), actor(r), id, in)
}

// decodeOptionalJSON is DecodeJSON that takes an empty body as {}.
func decodeOptionalJSON(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return DecodeJSON(r, v)
}
