package ui

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// previewTimeout bounds the rendering of a live preview: a slow directory
// or template must not hold the lead's typing.
const previewTimeout = 10 * time.Second

// uiPreview renders each group's copy of the update being written, without
// sending: the fragment for app.js's live preview, or the whole page for a
// browser without JavaScript.
func (s *Server) uiPreview(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "no outbox: updates cannot be sent")
	}
	f := readCompose(r)
	pd := &previewData{}
	if strings.TrimSpace(f.Status) == "" {
		pd.Hint = "Write what is known now to see the email each group will receive."
	} else {
		ctx, cancel := context.WithTimeout(r.Context(), previewTimeout)
		defer cancel()
		res, err := s.Comms.SendUpdate(ctx, sess.Account.Email, r.PathValue("ref"), f.input(true))
		if errs.CodeOf(err) == errs.Internal {
			return err
		}
		if err != nil {
			pd.Error = errMessage(err)
		}
		pd.Result = res
	}
	if r.Header.Get(fetchHeader) == "fetch" {
		return s.renderFragment(w, http.StatusOK, "incident", "preview", s.viewerFor(r, sess), pd)
	}
	return s.incidentPage(w, r, sess, http.StatusOK, r.PathValue("ref"), &f, func(d *incidentData, p *page) { d.Preview = pd })
}
