package ui

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// Drafts in the UI: what monitoring opened, waiting for the comms lead.
// The incidents page lists the open ones; a draft's page shows what the
// monitor said and the reports filed on it, and declares or dismisses it.

type draftData struct {
	Draft      *intake.Draft
	Reports    reportsView
	Severities []incident.Severity
	Declare    intake.DeclareInput // the declare form, kept on an error
	Reason     string              // the dismiss form, kept on an error
}

// openDrafts lists the drafts waiting for a decision, for the incidents
// page; none when intake is not configured.
func (s *Server) openDrafts(r *http.Request) ([]*intake.Draft, error) {
	if s.Intake == nil {
		return nil, nil
	}
	return s.Intake.List(r.Context(), intake.StateDraft, 50)
}

func (s *Server) uiDraft(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.draftPage(w, r, sess, http.StatusOK, nil)
}

// draftPage renders the draft of the request's {id}; fill adjusts it (an
// error with the form kept).
func (s *Server) draftPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*draftData, *page)) error {
	if s.Intake == nil {
		return errs.E(errs.NotFound, "monitoring intake is not configured on this server")
	}
	d, err := s.Intake.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	reports, err := s.Intake.Reports(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	data := &draftData{Draft: d, Severities: incident.Severities, Declare: intake.DeclareInput{Severity: d.Severity},
		Reports: reportsView{List: reports, Summary: incident.SummarizeReports(reports), Action: "/drafts/" + url.PathEscape(intake.FormatID(d.ID)) + "/reports"}}
	p := s.newPage(r, sess, intake.FormatID(d.ID)+" · "+d.Title, "incidents")
	p.Data = data
	switch q := r.URL.Query(); {
	case q.Get("dismissed") == "1":
		p.Notice = "Dismissed. The alert firing again stays attached here, silently, until the monitor reports it recovered."
	case q.Get("reported") == "1":
		p.Notice = "Report filed."
	}
	if fill != nil {
		fill(data, p)
	}
	return s.render(w, status, "draft", p)
}

// draftFormError answers a refused form: internal errors and unknown drafts go
// to the error page, the rest back to the draft page with the message.
func (s *Server) draftFormError(w http.ResponseWriter, r *http.Request, sess *auth.Session, err error, fill func(*draftData, *page)) error {
	if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
		return err
	}
	return s.draftPage(w, r, sess, web.StatusOf(err), func(d *draftData, p *page) {
		p.Error = errMessage(err)
		if fill != nil {
			fill(d, p)
		}
	})
}
