package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/postmortem"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// The post-mortem page: who comes, when and where (proposed slots to pick
// from, the booking's progress, the answers to the invitation), and the
// Issues and Improvements board in two columns as on the whiteboard.

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
	return s.postmortemPage(w, r, sess, web.StatusOf(err), func(d *postmortemData, p *page) {
		p.Error, p.Field = errMessage(err), errField(err)
		if fill != nil {
			fill(d)
		}
	})
}
