package ui

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/blameless"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// uiPMIssue records an Issue; the blameless lint refuses names and blame,
// and the page then shows the findings and the override.
func (s *Server) uiPMIssue(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	if err := s.needPostmortem(); err != nil {
		return err
	}
	f := readIssueForm(r)
	if _, err := s.Postmortem.AddIssue(r.Context(), sess.Account.Email, r.PathValue("ref"), f.input()); err != nil {
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
