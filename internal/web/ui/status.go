package ui

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/maintenance"
	"github.com/sitrep-dev/sitrep/internal/web"
	"github.com/sitrep-dev/sitrep/internal/web/statuspage"
)

// The internal status page (GET /status, /status/INC-42): what everyone in
// the company can open to see what is going on without asking, in the
// stakeholders' words (statuspage.Internal): the incidents of now with
// their latest update and the next-update promise (overdue when it is),
// the last 90 days, and one page per incident with its status updates
// and nothing else. Its feeds are in status_feed.go, following from the
// page in status_follow.go.
//
// Who reads it (statusAccess): everyone signed in (password or single
// sign-on); without signing in, anyone whose address is in StatusOpenTo
// (status_page.open_to); the feeds also take an API token, since a feed
// reader cannot fill in a sign-in form.

// statusReader is one who reads a status page or feed.
type statusReader struct {
	sess  *auth.Session   // signed in; nil otherwise
	token *auth.Principal // a feed's API token
	open  bool            // neither: an address of StatusOpenTo
}

// statusHandler serves a status page or feed to its reader.
type statusHandler func(w http.ResponseWriter, r *http.Request, rd statusReader) error

// statusRoute is a GET route of the status page; feed: a feed, which
// takes an API token and answers an unknown reader 401, not the sign-in page.
type statusRoute struct {
	path string
	feed bool
	h    statusHandler
}

func (s *Server) statusRoutes() []statusRoute {
	return []statusRoute{
		{"/status", false, s.uiStatus},
		{"/status/{ref}", false, s.uiStatusIncident},
		{"/status/feed.atom", true, s.uiStatusFeed},
		{"/status/{ref}/feed.atom", true, s.uiStatusIncidentFeed},
		{"/status/calendar.ics", true, s.uiStatusCalendar},
	}
}

// registerStatus adds the status page's GET routes to mux; its forms
// (following) are in the route table, behind the session and its token.
func (s *Server) registerStatus(mux *http.ServeMux) {
	for _, rt := range s.statusRoutes() {
		mux.HandleFunc("GET "+rt.path, s.wrapStatus(rt))
	}
	mux.HandleFunc("GET /status/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/status", http.StatusMovedPermanently)
	})
}

// wrapStatus is the status routes' middleware: metrics, the page
// headers, and who reads (statusAccess).
func (s *Server) wrapStatus(rt statusRoute) http.HandlerFunc {
	return s.Instrument("GET "+rt.path, func(w http.ResponseWriter, r *http.Request) {
		web.SetPageHeaders(w.Header())
		ep := &errorPage{s: s}
		if !rt.feed {
			r = web.WithErrorPage(r, ep) // a feed's errors are plain text (feedError)
		}
		rd, err := s.statusAccess(r, rt.feed)
		switch {
		case err == nil:
		case rt.feed:
			s.feedError(w, r, err)
			return
		case errs.CodeOf(err) == errs.Unauthorized:
			if q := r.URL.Query(); q.Has("token") {
				// A feed's token pasted on a page: not into the sign-in URL.
				q.Del("token")
				r.URL.RawQuery = q.Encode()
			}
			s.toLogin(w, r)
			return
		default:
			s.Error(w, r, err)
			return
		}
		ep.sess = rd.sess
		if rd.sess != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), rd.sess.Account.Principal()))
		} else if rd.token != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), rd.token))
		}
		if err := rt.h(w, r, rd); err != nil {
			if rt.feed {
				s.feedError(w, r, err)
				return
			}
			s.Error(w, r, err)
		}
	})
}

// statusAccess says who reads r: a live session, else (feeds) an API
// token, else an open network's address. Anything else is Unauthorized,
// before anything of an incident is looked at: whether INC-42 exists is
// no answer to someone who may not read the page.
func (s *Server) statusAccess(r *http.Request, feed bool) (statusReader, error) {
	sess, err := s.Session(r)
	if err == nil {
		return statusReader{sess: sess}, nil
	}
	if errs.CodeOf(err) != errs.Unauthorized {
		return statusReader{}, err
	}
	if feed {
		if token := feedToken(r); token != "" {
			p, err := s.Tokens.Verify(r.Context(), token)
			if err != nil {
				return statusReader{}, err
			}
			if !p.Role.Allows(auth.Viewer) {
				return statusReader{}, errs.E(errs.Forbidden, "this token may not read the status page")
			}
			return statusReader{token: p}, nil
		}
	}
	if s.openNetwork(r) {
		return statusReader{open: true}, nil
	}
	if feed {
		return statusReader{}, errs.E(errs.Unauthorized, "sign in, or give an API token: ?token=... or Authorization: Bearer ... (docs/status-page.md)")
	}
	return statusReader{}, errs.E(errs.Unauthorized, "sign in to read the status page")
}

// feedToken is the API token of a feed request: Authorization: Bearer,
// else ?token= (a feed reader that cannot set a header).
func feedToken(r *http.Request) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.TrimSpace(t) != "" {
		return strings.TrimSpace(t)
	}
	return strings.TrimSpace(r.URL.Query().Get("token"))
}

// openNetwork reports whether the client's address (the peer's, or
// X-Forwarded-For's when the peer is a trusted proxy: web.ClientIP) is in
// StatusOpenTo.
func (s *Server) openNetwork(r *http.Request) bool {
	if len(s.StatusOpenTo) == 0 {
		return false
	}
	a, err := netip.ParseAddr(s.ClientIP(r))
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.StatusOpenTo {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// feedError answers a feed's error as plain text: a feed reader shows no
// page. What is not one of sitrep's errors (the database's) goes to the
// log only.
func (s *Server) feedError(w http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	if !errors.As(err, &e) {
		s.Logger.Error("status feed failed", "path", r.URL.Path, "err", err)
		e = errs.E(errs.Internal, "the feed could not be made now; the server log has the details")
	}
	code, msg := e.Code, e.Message
	if code == errs.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sitrep status feed"`)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(web.Status(code))
	_, _ = w.Write([]byte(msg + "\n"))
}

func (s *Server) statusReaderOf() *statuspage.Reader {
	return &statuspage.Reader{Incidents: s.Incidents}
}

// statusCard is an incident on the status page, with its promise as the
// page shows it.
type statusCard struct {
	*statuspage.Incident
	Now     time.Time
	DueSoon time.Duration
	// Wordings is, by update id, the wording the update carried for the
	// groups the viewer is in (status_audience.go); the page shows it in
	// place of the status, the status a click away.
	Wordings map[int64][]viewerWording
}

// PromiseClass is the countdown's colour: on_time, due_soon, overdue or none.
func (c statusCard) PromiseClass() string {
	switch {
	case c.NextUpdateAt == nil || !c.Active:
		return "none"
	case c.Overdue:
		return "overdue"
	case c.NextUpdateAt.Sub(c.Now) <= c.DueSoon:
		return "due_soon"
	}
	return "on_time"
}

// CountdownText is the countdown as the server writes it; app.js ticks it.
func (c statusCard) CountdownText() string { return countdownText(c.NextUpdateAt, c.Now) }

// DueSoonSeconds is when app.js turns the countdown amber.
func (c statusCard) DueSoonSeconds() int { return int(c.DueSoon.Seconds()) }

// Lasted is how long it lasted (or has lasted so far).
func (c statusCard) Lasted() time.Duration { return c.Duration(c.Now) }

type statusData struct {
	Current, History []statusCard
	Since            time.Time
	Now              time.Time
	// Open: the reader is not signed in (an open network).
	Open   bool
	Follow *followView // nil: no following here
	// Maintenance: the planned maintenance going on now or starting in
	// the next maintenanceAhead, soonest first; nil when none (or planned
	// maintenance is not wired).
	Maintenance []*maintenance.Window
}

// maintenanceAhead is how far ahead the status page lists planned
// maintenance: a week covers the announcements people plan around.
const maintenanceAhead = 7 * 24 * time.Hour

type statusIncidentData struct {
	Card   statusCard
	Open   bool
	Follow *followView
}

func (s *Server) card(inc *statuspage.Incident, now time.Time, groups *viewerGroups) statusCard {
	return statusCard{Incident: inc, Now: now, DueSoon: s.Incidents.DueSoon, Wordings: groups.wordings(inc)}
}

func (s *Server) uiStatus(w http.ResponseWriter, r *http.Request, rd statusReader) error {
	b, err := s.statusReaderOf().Overview(r.Context(), statuspage.Internal)
	if err != nil {
		return err
	}
	d := &statusData{Since: b.Since, Now: b.Now, Open: rd.sess == nil}
	groups := s.viewerGroupsOf(rd)
	for _, inc := range b.Current {
		d.Current = append(d.Current, s.card(inc, b.Now, groups))
	}
	for _, inc := range b.History {
		d.History = append(d.History, s.card(inc, b.Now, groups))
	}
	if d.Follow, err = s.followView(r.Context(), r, rd, "", nil); err != nil {
		return err
	}
	if s.Maintenance != nil {
		ws, err := s.Maintenance.List(r.Context(), b.Now, b.Now.Add(maintenanceAhead))
		if err != nil {
			return err
		}
		for _, w := range ws {
			// Cancelled windows are not planned any more; ended ones are
			// the past, and the calendar feed keeps them.
			if w.State != maintenance.Cancelled && w.State != maintenance.Ended && w.End.After(b.Now) {
				d.Maintenance = append(d.Maintenance, w)
			}
		}
	}
	p := s.statusPage(r, rd, "Status")
	p.Feed, p.Data = "/status/feed.atom", d
	return s.render(w, http.StatusOK, "status", p)
}

func (s *Server) uiStatusIncident(w http.ResponseWriter, r *http.Request, rd statusReader) error {
	inc, err := s.statusReaderOf().Incident(r.Context(), statuspage.Internal, r.PathValue("ref"))
	if err != nil {
		return err
	}
	now := s.now()
	d := &statusIncidentData{Card: s.card(inc, now, s.viewerGroupsOf(rd)), Open: rd.sess == nil}
	if d.Follow, err = s.followView(r.Context(), r, rd, inc.Ref, inc.Systems); err != nil {
		return err
	}
	p := s.statusPage(r, rd, inc.Ref+" · "+inc.Title)
	p.Feed, p.Data = "/status/"+inc.Ref+"/feed.atom", d
	return s.render(w, http.StatusOK, "status_incident", p)
}

// statusPage is the page of a status request: the menu of the signed-in,
// or a sign-in link for a reader on an open network.
func (s *Server) statusPage(r *http.Request, rd statusReader, title string) *page {
	p := s.newPage(r, rd.sess, title, "status")
	if rd.sess == nil {
		p.SignIn = "/login?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	return p
}

// statusNotice is the message of a follow or unfollow just done (?done=).
func statusNotice(r *http.Request, email string) string {
	switch r.URL.Query().Get("done") {
	case "followed":
		return "Followed. Status updates come to " + email + " in their own thread."
	case "pending":
		return "Almost there: follow the confirmation link mailed to " + email + "."
	case "unfollowed":
		return "Unfollowed: nothing more comes to " + email + " for it. Groups you are in still receive their emails."
	}
	return ""
}
