package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

// uiSendHold sends a holding update from the incident page's overdue
// banner: no news, the promise renewed, to the status audience. It is
// the same Comms.SendUpdate as `sitrep update --hold` and a lead's "hold"
// reply, so the email, the timeline and the promise are theirs.
func (s *Server) uiSendHold(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "no outbox: updates cannot be sent")
	}
	ref := r.PathValue("ref")
	f := readHold(r)
	res, err := s.Comms.SendUpdate(r.Context(), sess.Account.Email, ref, f.input())
	if err != nil {
		c := errs.CodeOf(err)
		// The same form sent twice (a double click): it went out once.
		if c == errs.Conflict && f.Key != "" && strings.Contains(errMessage(err), "already sent") {
			http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?dup=1", http.StatusSeeOther)
			return nil
		}
		if c == errs.Internal || c == errs.NotFound {
			return err
		}
		return s.incidentPage(w, r, sess, web.Status(c), ref, nil, func(d *incidentData, p *page) { p.Error, p.Field = errMessage(err), errField(err) })
	}
	http.Redirect(w, r, "/incidents/"+url.PathEscape(res.Message.Incident)+"?held="+strconv.FormatInt(res.Message.ID, 10), http.StatusSeeOther)
	return nil
}
