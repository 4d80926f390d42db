package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
)

// The post-mortem page: who comes, when and where (proposed slots to pick
// from, the booking's progress, the answers to the invitation), and the
// Issues and Improvements board in two columns as on the whiteboard.

type issueForm struct {
	Text     string
	Override bool
	Refused  []blameless.Finding // the lint's findings when it was refused
}

type improvementForm struct {
	Text, Owner, Due, Issue string
}

type postmortemData struct {
	Inc         *incident.Incident
	PM          *postmortem.Postmortem
	Board       *postmortem.Board
	People      []directory.Person
	Issue       issueForm
	Improvement improvementForm
	Nearest     []postmortem.Slot // no slot in the window: the nearest outside it
	Published   *postmortem.PublishResult
	Editable    bool // attendees change before booking
	CanBook     bool
	RSVP        map[string]int
}

func (s *Server) needPostmortem() error {
	if s.Postmortem == nil {
		return errs.E(errs.NotFound, "the post-mortem is not configured on this server")
	}
	return nil
}

func (s *Server) postmortemPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, fill func(*postmortemData, *page)) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	ctx := r.Context()
	inc, err := s.Incidents.Get(ctx, r.PathValue("ref"))
	if err != nil {
		return err
	}
	d := &postmortemData{Inc: inc, People: s.Directory.Current().People, RSVP: map[string]int{}}
	p := s.newPage(r, sess, "Post-mortem of "+inc.Ref, "incidents")
	if inc.State.Active() {
		p.Error = fmt.Sprintf("%s is %s: the post-mortem follows the resolution. Resolve it first.", inc.Ref, inc.State)
	} else {
		if d.PM, err = s.Postmortem.Get(ctx, inc.Ref); err != nil {
			return err
		}
		d.Editable = d.PM.State != postmortem.StateBooking && d.PM.State != postmortem.StateBooked
		d.CanBook = d.Editable && inc.State != incident.Closed
		for _, a := range d.PM.Attendees {
			d.RSVP[a.PartStat]++
		}
		if d.PM.State == postmortem.StateBooking {
			p.Refresh = 2 // the booking job's progress, without JavaScript
		}
	}
	if d.Board, err = s.Postmortem.Board(ctx, inc.Ref); err != nil {
		return err
	}
	sort.Slice(d.People, func(i, j int) bool { return strings.ToLower(d.People[i].Name) < strings.ToLower(d.People[j].Name) })
	switch q := r.URL.Query(); {
	case q.Get("booking") != "":
		p.Notice = "Booking: the calendar work runs in the background; this page follows it."
	case q.Get("added") != "":
		p.Notice = "Recorded on the board."
	case q.Get("proposed") != "":
		p.Notice = "Slots proposed; pick one below."
	}
	if fill != nil {
		fill(d, p)
	}
	p.Data = d
	return s.render(w, status, "postmortem", p)
}

func (s *Server) uiPostmortem(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	return s.postmortemPage(w, r, sess, http.StatusOK, nil)
}

// pmBack redirects to the post-mortem page (GET after POST).
func pmBack(w http.ResponseWriter, r *http.Request, query, anchor string) {
	u := "/incidents/" + url.PathEscape(strings.ToUpper(r.PathValue("ref"))) + "/postmortem"
	if query != "" {
		u += "?" + query
	}
	http.Redirect(w, r, u+anchor, http.StatusSeeOther)
}

// pmRefused shows a refused form on the page with its message.
func (s *Server) pmRefused(w http.ResponseWriter, r *http.Request, sess *auth.Session, err error, fill func(*postmortemData)) error {
	if errs.CodeOf(err) == errs.Internal {
		return err
	}
	return s.postmortemPage(w, r, sess, statusOf[errs.CodeOf(err)], func(d *postmortemData, p *page) {
		p.Error, p.Field = errMessage(err), errField(err)
		if fill != nil {
			fill(d)
		}
	})
}

func (s *Server) uiPMAttendee(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	in := postmortem.AttendeeInput{Email: r.PostFormValue("email"), Optional: r.PostFormValue("optional") == "yes"}
	if _, err := s.Postmortem.SetAttendee(r.Context(), sess.Account.Email, r.PathValue("ref"), in); err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	pmBack(w, r, "", "#attendees-h")
	return nil
}

func (s *Server) uiPMRemoveAttendee(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	if _, err := s.Postmortem.RemoveAttendee(r.Context(), sess.Account.Email, r.PathValue("ref"), r.PathValue("email")); err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	pmBack(w, r, "", "#attendees-h")
	return nil
}

func (s *Server) uiPMPropose(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	var in postmortem.ProposeInput
	switch r.PostFormValue("where") {
	case "remote":
		in.Remote = new(bool)
		*in.Remote = true
	case "room":
		in.Remote = new(bool)
	}
	if _, err := s.Postmortem.Propose(r.Context(), r.PathValue("ref"), in); err != nil {
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		// No slot in the window names the nearest outside it; no room
		// big enough says which is the largest: both are in the message.
		return s.postmortemPage(w, r, sess, statusOf[errs.CodeOf(err)], func(d *postmortemData, p *page) {
			p.Error, d.Nearest = err.Error(), postmortem.NearestOutsideWindow(err)
		})
	}
	pmBack(w, r, "proposed=1", "#slots-h")
	return nil
}

func (s *Server) uiPMBook(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	slot := strings.TrimSpace(r.PostFormValue("slot"))
	if slot == "" {
		return s.pmRefused(w, r, sess, errs.InvalidField("slot", "pick one of the proposed slots"), nil)
	}
	if _, err := s.Postmortem.Book(r.Context(), sess.Account.Email, r.PathValue("ref"), postmortem.BookInput{Slot: slot}); err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	pmBack(w, r, "booking=1", "#booking-h")
	return nil
}

// uiPMIssue records an Issue; the blameless lint refuses names and blame,
// and the page then shows the findings and the override.
func (s *Server) uiPMIssue(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	f := issueForm{Text: r.PostFormValue("text"), Override: r.PostFormValue("override") == "yes"}
	if _, err := s.Postmortem.AddIssue(r.Context(), sess.Account.Email, r.PathValue("ref"), postmortem.IssueInput{Text: f.Text, Override: f.Override}); err != nil {
		var blocked *blameless.Blocked
		if errors.As(err, &blocked) {
			f.Refused = blocked.Findings
			err = &errs.Error{Code: errs.Conflict, Field: "issue_text", Message: fmt.Sprintf(
				"The Issue was not recorded: the blameless lint found %d problem(s). Describe what failed in the system or the process, not who; or tick the override (it is recorded with the Issue and on the timeline).", len(blocked.Findings))}
		} else if errField(err) == "text" {
			err = &errs.Error{Code: errs.CodeOf(err), Field: "issue_text", Message: errMessage(err)}
		}
		return s.pmRefused(w, r, sess, err, func(d *postmortemData) { d.Issue = f })
	}
	pmBack(w, r, "added=issue", "#issues-h")
	return nil
}

func (s *Server) uiPMImprovement(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	f := improvementForm{Text: r.PostFormValue("text"), Owner: r.PostFormValue("owner"), Due: r.PostFormValue("due"), Issue: r.PostFormValue("issue")}
	if _, err := s.Postmortem.AddImprovement(r.Context(), sess.Account.Email, r.PathValue("ref"),
		postmortem.ImprovementInput{Text: f.Text, Owner: f.Owner, Due: f.Due, Issue: f.Issue}); err != nil {
		if fld := errField(err); fld != "" {
			err = &errs.Error{Code: errs.CodeOf(err), Field: "improvement_" + fld, Message: errMessage(err)}
		}
		return s.pmRefused(w, r, sess, err, func(d *postmortemData) { d.Improvement = f })
	}
	pmBack(w, r, "added=improvement", "#improvements-h")
	return nil
}

func (s *Server) uiPMPublish(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	res, err := s.Postmortem.Publish(r.Context(), sess.Account.Email, r.PathValue("ref"))
	if err != nil {
		return s.pmRefused(w, r, sess, err, nil)
	}
	return s.postmortemPage(w, r, sess, http.StatusOK, func(d *postmortemData, p *page) {
		d.Published = res
		p.Notice = fmt.Sprintf("Results sent to %d people.", len(res.Notified))
	})
}

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

func improvementFilter(r *http.Request) postmortem.ImprovementFilter {
	q := r.URL.Query()
	return postmortem.ImprovementFilter{Owner: q.Get("owner"), Incident: q.Get("incident"), Overdue: q.Get("overdue") == "yes", Open: q.Get("open") == "yes"}
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

// uiImprovementsCSV is the export with the page's filters, for a backlog
// tool or a spreadsheet (the API's export needs a token; this, a session).
func (s *Server) uiImprovementsCSV(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	list, err := s.Postmortem.Improvements(r.Context(), improvementFilter(r))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := postmortem.WriteCSV(&buf, list); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="improvements-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}

// uiUpdateImprovement assigns an owner or marks an improvement done.
func (s *Server) uiUpdateImprovement(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	id, err := pathID(r, "improvement")
	if err != nil {
		return err
	}
	var in postmortem.ImprovementPatch
	if _, ok := r.PostForm["owner"]; ok {
		v := r.PostFormValue("owner")
		in.Owner = &v
	}
	if v := r.PostFormValue("state"); v != "" {
		in.State = &v
	}
	_, err = s.Postmortem.UpdateImprovement(r.Context(), sess.Account.Email, id, in)
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.improvementsPage(w, r, sess, statusOf[errs.CodeOf(err)], func(p *page) { p.Error = errMessage(err) })
	}
	back := "/improvements"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path == "/improvements" {
		back = ref.RequestURI()
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}
