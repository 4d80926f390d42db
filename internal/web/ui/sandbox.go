package ui

import (
	"net/http"

	"github.com/microcosm-cc/bluemonday"

	"github.com/sitrep-dev/sitrep/internal/auth"
	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/sandbox"
)

// The mail sandbox pages let a newcomer read every mailbox of the embedded
// sandbox as a mail client would, and answer as any person, so that the
// whole loop (declare, update, reply) runs on one machine.

// mailPolicy is what survives of a message's HTML: formatting and inline
// styles (status emails are styled inline for Gmail and Outlook), no
// scripts, no forms, no remote images. The HTML is also served in a
// sandboxed iframe under its own strict CSP: two locks, not one.
var mailPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowStyles("color", "background-color", "background", "font-size", "font-weight", "font-family", "font-style",
		"text-align", "text-decoration", "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
		"padding", "padding-top", "padding-bottom", "padding-left", "padding-right", "border", "border-left",
		"border-bottom", "border-top", "border-right", "border-radius", "border-collapse", "width", "max-width",
		"line-height", "display", "vertical-align", "white-space").Globally()
	p.AllowAttrs("width", "height", "align", "valign", "bgcolor", "cellpadding", "cellspacing", "border").Globally()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

func (s *Server) needSandbox() (*sandbox.Sandbox, error) {
	if s.Sandbox == nil {
		return nil, errs.E(errs.NotFound, "the mail sandbox runs only in the embedded default (no SMTP server configured)")
	}
	return s.Sandbox, nil
}

type sandboxData struct {
	Mailboxes []sandbox.Mailbox
	Domain    string
}

func (s *Server) uiSandbox(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	sb, err := s.needSandbox()
	if err != nil {
		return err
	}
	p := s.newPage(r, sess, "Mail sandbox", "sandbox")
	p.Data = &sandboxData{Mailboxes: sb.Mailboxes(), Domain: sb.Domain()}
	return s.render(w, http.StatusOK, "sandbox", p)
}
