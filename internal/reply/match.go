package reply

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/sitrep-dev/sitrep/internal/errs"
	"github.com/sitrep-dev/sitrep/internal/incident"
	"github.com/sitrep-dev/sitrep/internal/mailmsg"
	"github.com/sitrep-dev/sitrep/internal/store"
)

// subjectRefRE finds "[INC-42]" as our subjects carry it.
var subjectRefRE = regexp.MustCompile(`(?i)\[\s*INC-(\d{1,18})\s*\]`)

// match finds the incident a message is about: first the reply token in
// the address it was sent to (only the incident's own emails carry it),
// then the thread it answers, then the reference in the subject. A nil
// incident means no match: the message goes to triage.
func (s *Service) match(ctx context.Context, q store.Querier, m *mailmsg.Message) (*incident.Incident, string, error) {
	for _, token := range m.ReplyTokens(s.LocalPart) {
		if s.Mail.IsBounceTag(token) {
			// A bounce address names a transaction, not an incident: only
			// actOnBounce may believe it, after checking it.
			continue
		}
		// <local>+report-<token>@ is an incident's report address.
		token = strings.TrimPrefix(token, mailmsg.ReportTag+"-")
		inc, err := s.Incidents.ByReplyToken(ctx, token)
		if errs.Is(err, errs.NotFound) {
			continue // an old or mistyped token: try the weaker signs
		}
		if err != nil {
			return nil, "", err
		}
		return inc, mailmsg.MatchToken, nil
	}

	// RFC 5322 3.6.4: In-Reply-To names the parent; References the
	// thread, oldest first. The nearest ancestor we sent decides.
	ids := []string{}
	if m.Bounce != nil && m.Bounce.OriginalMessageID != "" {
		ids = append(ids, m.Bounce.OriginalMessageID)
	}
	if m.InReplyTo != "" {
		ids = append(ids, m.InReplyTo)
	}
	refs := slices.Clone(m.References)
	slices.Reverse(refs)
	ids = append(ids, refs...)
	for _, id := range ids {
		incID, err := s.Mail.ThreadKeyOf(ctx, q, id)
		if err != nil {
			return nil, "", err
		}
		if incID == 0 {
			continue
		}
		inc, err := s.Incidents.GetByID(ctx, q, incID)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return inc, mailmsg.MatchThread, nil
	}

	if sm := subjectRefRE.FindStringSubmatch(m.Subject); sm != nil {
		id, err := strconv.ParseInt(sm[1], 10, 64)
		if err == nil && id > 0 {
			inc, err := s.Incidents.GetByID(ctx, q, id)
			if err == nil {
				return inc, mailmsg.MatchSubject, nil
			}
			if !errs.Is(err, errs.NotFound) {
				return nil, "", err
			}
		}
	}
	return nil, "", nil
}
