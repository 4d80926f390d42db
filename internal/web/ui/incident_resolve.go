package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/changes"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/resolution"
)

// The incident page's resolution side: the resolve form and what it sent,
// the reporters' confirmations, the reports, the recent changes; and the
// summary editor with the blameless lint's findings marked in the source.

// resolveForm is the resolve form as typed, kept when it is refused.
type resolveForm struct {
	RootCause, Fix, Impact string
	Unknown                bool
}

// resolvedView says what resolving sent: shown once, right after.
type resolvedView struct {
	Unknown   bool
	Messages  []resolvedMessage
	Asked     []string // "Name <email>" or email
	WriteUpBy *time.Time
}

type resolvedMessage struct {
	Msg        *outbox.Message
	Recipients []outbox.Delivery
}

// confirmView sorts the answers to "is it fixed for you?".
type confirmView struct {
	Confirmed, Waiting, StillBroken, Ambiguous []resolution.Confirmation
	Total                                      int
}

// reportsView is the reports card of an incident or a draft page.
type reportsView struct {
	List    []incident.Report
	Summary incident.ReportSummary
	Form    incident.ReportInput
	Action  string // where the card's form posts
}

// reportsCard is the data of layout.html's "reports" template: the page
// (for the role, the CSRF token and the field at fault) and the card.
type reportsCard struct {
	P *page
	V reportsView
}

func readResolveForm(r *http.Request) resolveForm {
	_ = r.ParseForm()
	return resolveForm{RootCause: r.PostFormValue("root_cause"), Fix: r.PostFormValue("fix"),
		Impact: r.PostFormValue("impact"), Unknown: r.PostFormValue("root_cause_unknown") == "yes"}
}

// resolutionData fills the incident page's resolution, reports and changes
// cards. A maintenance calendar that cannot be read is a warning on the
// changes card, not a broken page.
func (s *Server) resolutionData(ctx context.Context, d *incidentData) error {
	inc := d.Inc
	d.HasResolution = s.Resolution != nil
	d.HasChanges = s.Changes != nil
	d.HasPostmortem = s.Postmortem != nil
	if s.Resolution != nil {
		// The resolve form replaces the bare "Mark resolved": resolving
		// records the root cause, emails everyone and asks for confirmations.
		kept := d.Transitions[:0]
		for _, st := range d.Transitions {
			if st != incident.Resolved {
				kept = append(kept, st)
			}
		}
		d.Transitions = kept
		list, err := s.Resolution.Confirmations(ctx, inc.Ref)
		if err != nil {
			return err
		}
		c := &confirmView{Total: len(list)}
		for _, x := range list {
			switch x.State {
			case resolution.AnswerConfirmed:
				c.Confirmed = append(c.Confirmed, x)
			case resolution.AnswerStillBroken:
				c.StillBroken = append(c.StillBroken, x)
			case resolution.AnswerAmbiguous:
				c.Ambiguous = append(c.Ambiguous, x)
			default:
				c.Waiting = append(c.Waiting, x)
			}
		}
		d.Confirm = c
		d.CanReopen = inc.State.CanMoveTo(incident.Investigating) && !inc.State.Active()
	}
	reports, err := s.Incidents.Reports(ctx, inc.Ref)
	if err != nil {
		return err
	}
	d.Reports.List, d.Reports.Summary = reports, incident.SummarizeReports(reports)
	d.Reports.Action = "/incidents/" + url.PathEscape(inc.Ref) + "/reports"
	if s.Changes != nil {
		ch, err := s.Changes.ForIncident(ctx, inc.Ref, 0)
		if err != nil {
			if errs.CodeOf(err) == errs.Internal {
				return err
			}
			d.ChangesError = errMessage(err)
		}
		d.Changes = ch
	}
	return nil
}

// uiResolve resolves through the resolution flow (root cause, fix, impact;
// the resolved email and the confirmation requests), then shows what went
// out on the incident page itself.
func (s *Server) uiResolve(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Resolution == nil {
		return errs.E(errs.NotFound, "resolution is not configured on this server")
	}
	ref := r.PathValue("ref")
	f := readResolveForm(r)
	if from := r.PostFormValue("from"); from != "" {
		inc, err := s.Incidents.Get(r.Context(), ref)
		if err != nil {
			return err
		}
		if from != string(inc.State) {
			err := errs.E(errs.Conflict, "%s was moved to %s by someone else after your page loaded (it showed %s). Nothing was changed; the page below is current.", inc.Ref, inc.State, from)
			return s.incidentPage(w, r, sess, http.StatusConflict, ref, nil, func(d *incidentData, p *page) { d.Resolve = f; p.Error = errMessage(err) })
		}
	}
	res, err := s.Resolution.Resolve(r.Context(), sess.Account.Email, ref, resolution.ResolveInput{
		RootCause: f.RootCause, Fix: f.Fix, Impact: f.Impact, RootCauseUnknown: f.Unknown})
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, statusOf[errs.CodeOf(err)], ref, nil, func(d *incidentData, p *page) {
			d.Resolve = f
			p.Error, p.Field = errMessage(err), errField(err)
		})
	}
	v := &resolvedView{Unknown: f.Unknown, WriteUpBy: res.WriteUpBy}
	for _, m := range res.Messages {
		list, err := s.Outbox.Deliveries(r.Context(), m.ID, "", 500)
		if err != nil {
			return err
		}
		v.Messages = append(v.Messages, resolvedMessage{Msg: m, Recipients: list})
	}
	dir := s.Directory.Current()
	for _, e := range res.Asked {
		if p, ok := dir.Person(e); ok && p.Name != "" {
			e = p.Name + " <" + e + ">"
		}
		v.Asked = append(v.Asked, e)
	}
	return s.incidentPage(w, r, sess, http.StatusOK, res.Incident.Ref, nil, func(d *incidentData, p *page) {
		d.Resolved = v
		if f.Unknown {
			p.Notice = res.Incident.Ref + " stays in monitoring with the root cause unknown; the fix is announced."
		} else {
			p.Notice = res.Incident.Ref + " is resolved."
		}
	})
}

func (s *Server) uiAddReport(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	ref := r.PathValue("ref")
	_ = r.ParseForm()
	in := incident.ReportInput{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Location: r.PostFormValue("location"),
		Access: r.PostFormValue("access"), Observed: r.PostFormValue("observed"), Channel: "web"}
	if _, err := s.Incidents.AddReport(r.Context(), s.Incidents.DB, sess.Account.Email, ref, in); err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, statusOf[errs.CodeOf(err)], ref, nil, func(d *incidentData, p *page) {
			d.Reports.Form = in
			p.Error, p.Field = errMessage(err), "report_"+errField(err)
		})
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?reported=1#reports-h", http.StatusSeeOther)
	return nil
}

// uiMarkChange records that the lead suspects a change, or confirms it as
// the cause (the summary draft then names it).
func (s *Server) uiMarkChange(state string) uiHandler {
	return func(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
		if s.Changes == nil {
			return errs.E(errs.NotFound, "the change log is not configured on this server")
		}
		ref := r.PathValue("ref")
		id, err := pathID(r, "change")
		if err != nil {
			return err
		}
		if _, err := s.Changes.Mark(r.Context(), sess.Account.Email, ref, id, state); err != nil {
			if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
				return err
			}
			return s.incidentPage(w, r, sess, statusOf[errs.CodeOf(err)], ref, nil, func(d *incidentData, p *page) { p.Error = errMessage(err) })
		}
		http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?marked="+state+"#changes-h", http.StatusSeeOther)
		return nil
	}
}

// changeTitle is what a change is, in a few words.
func changeTitle(c changes.Change) string {
	what := c.Service
	if what == "" {
		what = c.Summary
	}
	if c.Version != "" {
		what += " " + c.Version
	}
	if c.Environment != "" {
		what += " to " + c.Environment
	}
	return what
}

// beforeText turns the changes view's Go duration ("3h0m0s") into words.
func beforeText(d string) string {
	v, err := time.ParseDuration(d)
	if err != nil {
		return d
	}
	if v < 0 {
		return humanDuration(v) + " after"
	}
	return humanDuration(v) + " before"
}

// The summary editor.

// srcLine is one line of the summary's source, cut where findings start
// and end, so that the template can mark the words in place.
type srcLine struct {
	N       int
	Segs    []srcSeg
	Finding bool
}

type srcSeg struct {
	Text    string
	Finding int // 1-based number in the findings list; 0: plain text
	Kind    string
	Message string
}

type findingView struct {
	N int
	blameless.Finding
}

// summaryCheck is the lint's findings in place and the rendered preview.
type summaryCheck struct {
	Findings []findingView
	Lines    []srcLine
	HTML     string
	Error    string
	Checked  bool
}

type summaryData struct {
	Inc      *incident.Incident
	Markdown string
	Override bool
	Check    *summaryCheck
	Archive  []resolution.SentSummary
	SentID   int64
	CanSend  bool
}

// markFindings cuts the source into lines and segments at the findings'
// columns (1-based, in runes, End exclusive). Overlapping findings mark
// the first; the list still names them all.
func markFindings(markdown string, findings []blameless.Finding) []srcLine {
	raw := strings.Split(strings.ReplaceAll(markdown, "\r\n", "\n"), "\n")
	byLine := map[int][]int{}
	for i, f := range findings {
		byLine[f.Line] = append(byLine[f.Line], i)
	}
	out := make([]srcLine, len(raw))
	for n, text := range raw {
		l := srcLine{N: n + 1}
		idx := byLine[n+1]
		sort.SliceStable(idx, func(a, b int) bool { return findings[idx[a]].Col < findings[idx[b]].Col })
		runes := []rune(text)
		pos := 0 // runes consumed
		for _, i := range idx {
			f := findings[i]
			from, to := f.Col-1, f.End-1
			if from < pos || from >= len(runes) || to <= from {
				continue
			}
			if to > len(runes) {
				to = len(runes)
			}
			if from > pos {
				l.Segs = append(l.Segs, srcSeg{Text: string(runes[pos:from])})
			}
			l.Segs = append(l.Segs, srcSeg{Text: string(runes[from:to]), Finding: i + 1, Kind: f.Kind, Message: f.Message})
			l.Finding = true
			pos = to
		}
		if pos < len(runes) || len(l.Segs) == 0 {
			l.Segs = append(l.Segs, srcSeg{Text: string(runes[pos:])})
		}
		out[n] = l
	}
	return out
}

// checkSummary lints and renders the Markdown (without sending).
func (s *Server) checkSummary(ctx context.Context, ref, markdown string) (*summaryCheck, error) {
	c := &summaryCheck{Checked: true}
	res, err := s.Resolution.SendSummary(ctx, "", ref, resolution.SummaryInput{Markdown: markdown, DryRun: true})
	if err != nil {
		if code := errs.CodeOf(err); code == errs.Internal || code == errs.NotFound {
			return nil, err
		}
		c.Error = errMessage(err)
		return c, nil
	}
	c.HTML = res.HTML
	c.Lines = markFindings(markdown, res.Findings)
	for i, f := range res.Findings {
		c.Findings = append(c.Findings, findingView{N: i + 1, Finding: f})
	}
	return c, nil
}

func (s *Server) summaryPage(w http.ResponseWriter, r *http.Request, sess *auth.Session, status int, d *summaryData, fill func(*page)) error {
	archive, err := s.Resolution.Summaries(r.Context(), d.Inc.Ref)
	if err != nil {
		return err
	}
	d.Archive = archive
	d.CanSend = !d.Inc.State.Active()
	p := s.newPage(r, sess, "Summary of "+d.Inc.Ref, "incidents")
	if fill != nil {
		fill(p)
	}
	p.Data = d
	return s.render(w, status, "summary", p)
}

func (s *Server) needResolution() error {
	if s.Resolution == nil {
		return errs.E(errs.NotFound, "resolution is not configured on this server")
	}
	return nil
}

// uiSummary opens the editor on the draft written from the incident's own
// data, already checked: the findings are there before the first keystroke.
func (s *Server) uiSummary(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needResolution(); err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	md, err := s.Resolution.DraftSummary(r.Context(), inc.Ref)
	if err != nil {
		return err
	}
	d := &summaryData{Inc: inc, Markdown: md}
	if d.Check, err = s.checkSummary(r.Context(), inc.Ref, md); err != nil {
		return err
	}
	var id int64
	if _, err := fmt.Sscan(r.URL.Query().Get("sent"), &id); err == nil {
		d.SentID = id
	}
	return s.summaryPage(w, r, sess, http.StatusOK, d, func(p *page) {
		if d.SentID > 0 {
			p.Notice = "The summary was sent; it is archived below."
		}
	})
}

// uiSummaryCheck lints and previews the text being edited: a fragment for
// app.js, the whole page without JavaScript.
func (s *Server) uiSummaryCheck(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needResolution(); err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	md := r.PostFormValue("markdown")
	c, err := s.checkSummary(r.Context(), inc.Ref, md)
	if err != nil {
		return err
	}
	if r.Header.Get(fetchHeader) == "fetch" {
		return s.renderFragment(w, http.StatusOK, "summary", "summary-check", c)
	}
	return s.summaryPage(w, r, sess, http.StatusOK, &summaryData{Inc: inc, Markdown: md, Check: c, Override: r.PostFormValue("override") == "yes"}, nil)
}

// uiSendSummary sends the summary; findings refuse it unless the explicit
// override is ticked, and the override goes on the timeline.
func (s *Server) uiSendSummary(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needResolution(); err != nil {
		return err
	}
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	md, override := r.PostFormValue("markdown"), r.PostFormValue("override") == "yes"
	res, err := s.Resolution.SendSummary(r.Context(), sess.Account.Email, inc.Ref, resolution.SummaryInput{Markdown: md, Override: override})
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		check, cerr := s.checkSummary(r.Context(), inc.Ref, md)
		if cerr != nil {
			return cerr
		}
		msg := errMessage(err)
		var blocked *blameless.Blocked
		if errors.As(err, &blocked) {
			msg = fmt.Sprintf("Not sent: the blameless lint found %d problem(s), marked in the text below. Rewrite them, or tick the override (it is recorded on the timeline) and send again.", len(blocked.Findings))
		}
		return s.summaryPage(w, r, sess, statusOf[errs.CodeOf(err)], &summaryData{Inc: inc, Markdown: md, Check: check, Override: override}, func(p *page) {
			p.Error, p.Field = msg, errField(err)
		})
	}
	http.Redirect(w, r, fmt.Sprintf("/incidents/%s/summary?sent=%d", url.PathEscape(inc.Ref), res.ID), http.StatusSeeOther)
	return nil
}
