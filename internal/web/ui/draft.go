package web

import (
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/intake"
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
	return s.draftPage(w, r, sess, statusOf[errs.CodeOf(err)], func(d *draftData, p *page) {
		p.Error = errMessage(err)
		if fill != nil {
			fill(d, p)
		}
	})
}

func (s *Server) uiDeclareDraft(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Intake == nil {
		return errs.E(errs.NotFound, "monitoring intake is not configured on this server")
	}
	_ = r.ParseForm()
	in := intake.DeclareInput{Title: r.PostFormValue("title"), Severity: r.PostFormValue("severity")}
	inc, _, err := s.Intake.Declare(r.Context(), sess.Account.Email, r.PathValue("id"), in)
	if err != nil {
		return s.draftFormError(w, r, sess, err, func(d *draftData, p *page) { d.Declare, p.Field = in, "declare_"+errField(err) })
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(inc.Ref)+"?declared=1", http.StatusSeeOther)
	return nil
}

func (s *Server) uiDismissDraft(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Intake == nil {
		return errs.E(errs.NotFound, "monitoring intake is not configured on this server")
	}
	_ = r.ParseForm()
	reason := r.PostFormValue("reason")
	d, err := s.Intake.Dismiss(r.Context(), sess.Account.Email, r.PathValue("id"), reason)
	if err != nil {
		return s.draftFormError(w, r, sess, err, func(d *draftData, p *page) { d.Reason, p.Field = reason, "reason" })
	}
	http.Redirect(w, r, "/drafts/"+url.PathEscape(intake.FormatID(d.ID))+"?dismissed=1", http.StatusSeeOther)
	return nil
}

// uiDraftReport files a report on the draft, or on its incident once
// declared (and then shows the incident).
func (s *Server) uiDraftReport(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Intake == nil {
		return errs.E(errs.NotFound, "monitoring intake is not configured on this server")
	}
	_ = r.ParseForm()
	in := incident.ReportInput{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Location: r.PostFormValue("location"),
		Access: r.PostFormValue("access"), Observed: r.PostFormValue("observed"), Channel: "web"}
	filed, err := s.Intake.AddReport(r.Context(), sess.Account.Email, r.PathValue("id"), in)
	if err != nil {
		return s.draftFormError(w, r, sess, err, func(d *draftData, p *page) { d.Reports.Form, p.Field = in, "report_"+errField(err) })
	}
	if filed.Incident != "" {
		http.Redirect(w, r, "/incidents/"+url.PathEscape(filed.Incident)+"?reported=1#reports-h", http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/drafts/"+url.PathEscape(filed.Draft)+"?reported=1#reports-h", http.StatusSeeOther)
	return nil
}
