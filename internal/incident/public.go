package incident

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-dev/sitrep/internal/compose"
	"github.com/sitrep-dev/sitrep/internal/errs"
)

// The customers' side of an incident beside its stakeholders': the public
// email (an update's public wording, its promise, the resolution) and the
// dry run that shows it before anything is sent.

// publicRequest is an email of kind to the incident's public thread. No
// reply token: a customer's reply must not land in the incident's inbox
// as if a stakeholder had asked. Its recipients are the public page's
// subscribers (SetFollowers).
func (c *Comms) publicRequest(inc *Incident, kind compose.Kind, actor string, data compose.PublicStatusData) compose.Outgoing {
	thread := compose.Thread{Key: inc.ID, Audience: compose.Public, Ref: inc.Ref, ToName: c.PublicSite.Title}
	return compose.Outgoing{Thread: thread, Kind: kind, Data: data, Actor: actor}
}

// publicData is what a customers' email may say: the public components,
// the public wording, the public promise, the public page. It names the
// public components, never the title, severity, systems or anyone:
// customers read it.
func (c *Comms) publicData(inc *Incident, text string, next, now time.Time) compose.PublicStatusData {
	data := compose.PublicStatusData{Site: c.PublicSite.Title, Ref: inc.Ref, Components: c.PublicSite.componentsOf(inc.Scope.Systems),
		Status: text, NextUpdateAt: next, Now: now}
	if u := c.PublicSite.URL; u != "" {
		data.URL = strings.TrimSuffix(u, "/") + "/incidents/" + inc.Ref + ".html"
	}
	return data
}

// previewUpdate is SendUpdate's dry run: what each group would receive,
// what the incident's followers would (their own copies, through the code
// that renders them), and with public wording what the public page's
// subscribers would. Nothing is stored: the followers are read, not given
// links (each preview shows a placeholder).
func (c *Comms) previewUpdate(ctx context.Context, inc *Incident, req compose.Outgoing, actor, public string, publicNext, now time.Time) (*UpdateResult, error) {
	data, _ := req.Data.(compose.StatusData)
	subject := compose.ThreadSubject(inc.Ref, data.Incident.ThreadTitle)
	if c.Followers != nil {
		f, err := c.Followers.FollowersPreview(ctx, inc.Ref, inc.Scope.Systems)
		if err != nil {
			return nil, fmt.Errorf("incident: followers of %s: %w", inc.Ref, err)
		}
		req.SetFollowers(f)
	}
	previews, recipients, err := c.Mail.Preview(ctx, req, subject)
	if err != nil {
		return nil, err
	}
	res := &UpdateResult{DryRun: true, NextUpdateAt: data.NextUpdateAt, Previews: previews, Recipients: recipients}
	if public == "" {
		return res, nil
	}
	res.PublicNextUpdateAt = &publicNext
	if c.PublicFollowers == nil {
		return res, nil // the public page alone shows it: no email
	}
	f, err := c.PublicFollowers.PublicFollowersPreview(ctx, inc.Scope.Systems)
	if err != nil {
		return nil, fmt.Errorf("incident: public subscribers: %w", err)
	}
	preq := c.publicRequest(inc, compose.KindPublicStatus, actor, c.publicData(inc, public, publicNext, now))
	preq.SetFollowers(f)
	// The public thread keeps the subject it started with; before its
	// first message, the message's own.
	psubject, err := c.Mail.ThreadSubject(ctx, c.DB, preq.Thread)
	if err != nil {
		return nil, err
	}
	pp, n, err := c.Mail.Preview(ctx, preq, psubject)
	if err != nil {
		return nil, err
	}
	for i := range pp {
		pp[i].For = compose.PreviewPublic
	}
	res.Previews, res.PublicRecipients = append(res.Previews, pp...), n
	return res, nil
}

// PublicResolution is what resolving told customers.
type PublicResolution struct {
	// Told: the incident had public wording, so the public page shows its
	// resolution (and its subscribers were mailed, when there are any).
	Told bool
	// Text is the lead's public wording of the resolution; "" when they
	// gave none (sitrep's own words are shown and sent).
	Text string
	// Message is the email to the public page's subscribers; nil when
	// none went (no subscribers, or email subscriptions off).
	Message *compose.Message
}

// ResolvePublic tells customers that inc is over, in tx (the
// resolution's: both or neither, so that customers are never told twice
// nor a resolution left untold): it ends the public promise and, when
// the public page has email subscribers, mails them text (else sitrep's
// own words; monitoring: a fix is in place and the cause is watched) in
// the incident's public thread. An incident never told to customers
// tells them nothing; public wording for it is refused, since customers
// would read the end of what they never heard of.
func (c *Comms) ResolvePublic(ctx context.Context, tx *sql.Tx, inc *Incident, actor, text string, monitoring bool, now time.Time) (*PublicResolution, error) {
	text = strings.TrimSpace(text)
	if err := errs.CheckBlock("public", text, maxStatusBytes, false); err != nil {
		return nil, err
	}
	had, err := HadPublicWording(ctx, tx, inc.ID)
	if err != nil {
		return nil, err
	}
	if !had {
		if text != "" {
			return nil, errs.InvalidField("public", "%s never had public wording: customers were not told of it, so there is no end to tell them; leave the public text empty", inc.Ref)
		}
		return &PublicResolution{}, nil
	}
	if err := EndPublicPromise(ctx, tx, inc.ID); err != nil {
		return nil, err
	}
	out := &PublicResolution{Told: true, Text: text}
	if c.PublicFollowers == nil {
		return out, nil
	}
	f, err := c.PublicFollowers.PublicFollowers(ctx, tx, inc.Scope.Systems)
	if err != nil {
		return nil, fmt.Errorf("incident: public subscribers: %w", err)
	}
	if len(f.Emails) == 0 {
		return out, nil
	}
	data := c.publicData(inc, text, time.Time{}, now)
	data.Monitoring = monitoring
	req := c.publicRequest(inc, compose.KindPublicResolved, actor, data)
	req.SetFollowers(f)
	if out.Message, err = c.Mail.Queue(ctx, tx, req); err != nil {
		return nil, fmt.Errorf("incident: public resolution: %w", err)
	}
	return out, nil
}
