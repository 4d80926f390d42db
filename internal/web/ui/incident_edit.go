package ui

import (
	"net/http"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/auth"
)

func (s *Server) uiEditPage(w http.ResponseWriter, r *http.Request, sess *auth.Session) error {
	inc, err := s.Incidents.Get(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	f := scopeForm{Title: inc.Title, Severity: string(inc.Severity), DetectedVia: inc.Scope.DetectedVia,
		DetectionDetail: inc.Scope.DetectionDetail, Verified: inc.Scope.Verified, VerificationDetail: inc.Scope.VerificationDetail,
		Extent: inc.Scope.Extent, Segments: strings.Join(inc.Scope.Segments, "\n"), Systems: inc.Scope.Systems, Teams: inc.Scope.Teams,
		IncidentLead: inc.Roles.IncidentLead, CommsLead: inc.Roles.CommsLead, Facilitator: inc.Roles.Facilitator,
		Zone: "UTC", Version: inc.Version}
	if inc.FirstFailureAt != nil {
		f.FirstFailure = inc.FirstFailureAt.UTC().Format("2006-01-02T15:04")
	}
	d := s.scopeFormData(f)
	d.Ref = inc.Ref
	p := s.newPage(r, sess, "Edit "+inc.Ref, "incidents")
	p.Data = d
	return s.render(w, http.StatusOK, "declare", p)
}
