package ui

import (
	"net/http"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/outbox"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// Resolving from the incident page: the resolve form (resolveForm) and
// what it sent, shown on the page right after. The other cards of the
// resolution side (confirmations, reports, recent changes) are filled by
// resolutionData (incident.go); the summary editor is summary.go.

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
	who, err := s.Resolution.Audience(r.Context(), ref, directory.KindResolved)
	if err != nil {
		return err
	}
	if err := checkConfirmed(f.Confirmed, len(who)); err != nil {
		return s.incidentPage(w, r, sess, web.StatusOf(err), ref, nil, func(d *incidentData, p *page) {
			d.Resolve = f
			p.Error, p.Field = errMessage(err), errField(err)
		})
	}
	res, err := s.Resolution.Resolve(r.Context(), sess.Account.Email, ref, resolution.ResolveInput{
		RootCause: f.RootCause, Fix: f.Fix, Impact: f.Impact, RootCauseUnknown: f.Unknown, Public: f.Public})
	if err != nil {
		if c := errs.CodeOf(err); c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, web.StatusOf(err), ref, nil, func(d *incidentData, p *page) {
			d.Resolve = f
			p.Error, p.Field = errMessage(err), errField(err)
		})
	}
	v := &resolvedView{Unknown: f.Unknown, WriteUpBy: res.WriteUpBy}
	for _, m := range res.Messages {
		list, _, err := s.Outbox.Deliveries(r.Context(), m.ID, outbox.DeliveryPage{Limit: 500})
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
