package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/web"
)

func (s *Server) uiSendUpdate(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "no outbox: updates cannot be sent")
	}
	ref := r.PathValue("ref")
	f := readCompose(r)
	res, err := s.Comms.SendUpdate(r.Context(), sess.Account.Email, ref, f.input(false))
	if err != nil {
		c := errs.CodeOf(err)
		// The outbox refuses a second message with the same idempotency
		// key: this form was sent before (a double click, a resubmit).
		if c == errs.Conflict && f.Key != "" && strings.Contains(errMessage(err), "already sent") {
			http.Redirect(w, r, "/incidents/"+url.PathEscape(strings.ToUpper(ref))+"?dup=1", http.StatusSeeOther)
			return nil
		}
		if c == errs.Internal || c == errs.NotFound {
			return err
		}
		f.Key = "" // a refused form may be corrected and sent: it gets a new key
		return s.incidentPage(w, r, sess, web.Status(c), ref, &f, func(d *incidentData, p *page) { p.Error, p.Field = errMessage(err), errField(err) })
	}
	http.Redirect(w, r, fmt.Sprintf("/incidents/%s/messages/%d?sent=1", res.Message.Incident, res.Message.ID), http.StatusSeeOther)
	return nil
}
