package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/directory"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/resolution"
	"github.com/sitrep-dev/sitrep/internal/web"
)

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
	who, err := s.Resolution.Audience(r.Context(), inc.Ref, directory.KindSummary)
	if err != nil {
		return err
	}
	var res *resolution.SummaryResult
	if err = checkConfirmed(r.PostFormValue("confirm_recipients"), len(who)); err == nil {
		res, err = s.Resolution.SendSummary(r.Context(), sess.Account.Email, inc.Ref, resolution.SummaryInput{Markdown: md, Override: override})
	}
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
			n := fmt.Sprintf("%d problems", len(blocked.Findings))
			if len(blocked.Findings) == 1 {
				n = "1 problem"
			}
			msg = "Not sent: the blameless lint found " + n + ", marked in the text below. Rewrite them, or tick the override (it is recorded on the timeline) and send again."
		}
		return s.summaryPage(w, r, sess, web.StatusOf(err), &summaryData{Inc: inc, Markdown: md, Check: check, Override: override}, func(p *page) {
			p.Error, p.Field = msg, errField(err)
		})
	}
	total := 0
	for _, m := range res.Messages {
		total += m.Total
	}
	http.Redirect(w, r, fmt.Sprintf("/incidents/%s/summary?sent=%d&to=%d", url.PathEscape(inc.Ref), res.ID, total), http.StatusSeeOther)
	return nil
}
