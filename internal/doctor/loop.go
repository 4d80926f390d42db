package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sitrep-dev/sitrep/internal/mailmsg"
)

// checkLoop sends a probe to <local>+probe-<token>@<domain> through the
// relay and waits for it in the ingest mailbox: the one check that proves
// plus-addressing and aliases end to end, before a question from an
// executive is the first message that goes missing.
func (d *Doctor) checkLoop(ctx context.Context, r *Report, smtpOK, imapOK bool) {
	const name = "loop"
	switch {
	case d.NoProbe:
		r.add(Result{Area: "loop", Name: name, Status: Skip, Detail: "probe not sent (--no-probe)"})
		return
	case !smtpOK || !imapOK:
		r.add(Result{Area: "loop", Name: name, Status: Skip, Detail: "SMTP or IMAP failed above; fix those first"})
		return
	}
	token := newProbeToken()
	to := d.Mail.ReplyLocalPart + "+" + mailmsg.ProbeTag + token + "@" + d.Mail.Domain
	msgID := "<probe-" + token + "@" + d.Mail.Domain + ">"
	sent := time.Now()
	if err := d.sendProbe(ctx, to, token, msgID); err != nil {
		r.add(Result{Area: "loop", Name: name, Status: Fail, Detail: "the relay did not take the probe to <" + to + ">: " + oneLine(err.Error()),
			Fix: "see the SMTP checks; the relay must accept " + d.Mail.ReplyLocalPart + "+anything@" + d.Mail.Domain})
		return
	}
	bound := d.ProbeTimeout
	if bound <= 0 {
		bound = 60 * time.Second
	}
	waitCtx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	found, err := d.waitForProbe(waitCtx, token)
	took := time.Since(sent).Round(time.Millisecond)
	switch {
	case err != nil && found == nil:
		r.add(Result{Area: "loop", Name: name, Status: Fail, Detail: "reading the mailbox while waiting for the probe: " + oneLine(err.Error()), Fix: "see the IMAP checks"})
	case found == nil:
		detail := "the probe to <" + to + "> did not arrive in " + d.mailbox() + " within " + bound.String()
		if why := d.probeBounce(ctx, token); why != "" {
			detail += "; it bounced: " + why
		}
		r.add(Result{Area: "loop", Name: name, Status: Fail, Detail: detail,
			Fix: "mail to " + d.Mail.ReplyLocalPart + "+anything@" + d.Mail.Domain + " must reach the mailbox sitrep reads: turn plus-addressing on at every hop " +
				"(Postfix and Dovecot recipient_delimiter = +; Microsoft 365 Set-OrganizationConfig -DisablePlusAddressInRecipients $false) and check aliases; " +
				"look for Message-ID " + msgID + " in the relay's logs (a slow relay: raise doctor.probe_timeout)"})
	case found.class != mailmsg.ClassProbe:
		r.add(Result{Area: "loop", Name: name, Status: Fail, Detail: "the probe arrived in " + found.mailbox + " after " + took.String() + " but reads as " + string(found.class) + ", not a probe",
			Fix: "something on the way rewrote the To header or removed " + mailmsg.ProbeHeader + ": check the relay's rules for the reply address"})
	default:
		r.add(Result{Area: "loop", Name: name, Status: OK, Detail: "the probe to <" + to + "> arrived in " + found.mailbox + " after " + took.String() + " and was recognised as a probe"})
	}
}

func newProbeToken() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// sendProbe hands the probe to the relay, logged in as the outbox is.
func (d *Doctor) sendProbe(ctx context.Context, to, token, msgID string) error {
	s := d.Mail.SMTP
	sess, _, err := d.dialSMTP(ctx, s)
	if err != nil {
		return err
	}
	defer sess.c.Close()
	if s.Username != "" || s.OAuth != nil {
		if err := sess.login(ctx, s); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	// RFC 3834 5: auto-generated, so no responder answers it.
	fmt.Fprintf(&b, "From: sitrep doctor <%s>\r\nTo: <%s>\r\nSubject: sitrep doctor probe %s\r\nDate: %s\r\nMessage-ID: %s\r\n"+
		"Auto-Submitted: auto-generated\r\n%s: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"This message proves that mail to the reply address reaches the mailbox sitrep reads.\r\n"+
		"sitrep files it as a probe; it can be deleted.\r\n",
		d.Mail.From, to, token, time.Now().Format(time.RFC1123Z), msgID, mailmsg.ProbeHeader, token)
	if err := sess.c.Mail(d.Mail.From); err != nil {
		return err
	}
	if err := sess.c.Rcpt(to); err != nil {
		return err
	}
	w, err := sess.c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	_ = sess.c.Quit()
	return nil
}

type foundProbe struct {
	mailbox string
	class   mailmsg.Class
}

// waitForProbe searches the ingest mailbox (and the folder the ingester
// moves processed mail to, should a running hub have been quicker) for
// the probe's header until ctx ends; the probe found is classified as the
// ingester would, then deleted.
func (d *Doctor) waitForProbe(ctx context.Context, token string) (*foundProbe, error) {
	var seen tlsSeen
	c, _, err := d.dialIMAP(ctx, d.Mail.IMAP, &seen)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := loginIMAP(ctx, c, d.Mail.IMAP); err != nil {
		return nil, err
	}
	folders := []string{d.mailbox()}
	if d.Mail.MoveTo != "" {
		folders = append(folders, d.Mail.MoveTo)
	}
	criteria := &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: mailmsg.ProbeHeader, Value: token}}}
	for {
		for _, folder := range folders {
			if _, err := c.Select(folder, nil).Wait(); err != nil {
				if ctx.Err() != nil {
					return nil, nil
				}
				return nil, fmt.Errorf("select %s: %w", folder, err)
			}
			data, err := c.UIDSearch(criteria, nil).Wait()
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil
				}
				return nil, fmt.Errorf("search %s: %w", folder, err)
			}
			if uids := data.AllUIDs(); len(uids) > 0 {
				return d.classifyProbe(c, folder, uids)
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (d *Doctor) classifyProbe(c *imapclient.Client, folder string, uids []imap.UID) (*foundProbe, error) {
	set := imap.UIDSetNum(uids...)
	msgs, err := c.Fetch(set, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) == 0 || len(msgs[0].BodySection) == 0 {
		return nil, fmt.Errorf("fetch the probe from %s: %v", folder, err)
	}
	f := &foundProbe{mailbox: folder}
	m, err := mailmsg.Parse(msgs[0].BodySection[0].Bytes, 0)
	if err != nil {
		return nil, fmt.Errorf("parse the probe: %w", err)
	}
	f.class = mailmsg.Classify(m)
	// Leave the mailbox as it was: the probe goes (where UID EXPUNGE, RFC
	// 4315, removes it alone; else it stays, flagged deleted).
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err == nil &&
		(c.Caps().Has(imap.CapUIDPlus) || c.Caps().Has(imap.CapIMAP4rev2)) {
		_ = c.UIDExpunge(set).Close()
	}
	return f, nil
}

// probeBounce looks for a delivery report about the probe in the ingest
// mailbox (the relay returns a failed probe to the From address, which is
// often the same mailbox) and returns its diagnostic.
func (d *Doctor) probeBounce(ctx context.Context, token string) string {
	ctx, cancel := context.WithTimeout(ctx, d.timeout())
	defer cancel()
	var seen tlsSeen
	c, _, err := d.dialIMAP(ctx, d.Mail.IMAP, &seen)
	if err != nil {
		return ""
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if loginIMAP(ctx, c, d.Mail.IMAP) != nil {
		return ""
	}
	if _, err := c.Select(d.mailbox(), &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return ""
	}
	data, err := c.UIDSearch(&imap.SearchCriteria{Text: []string{mailmsg.ProbeTag + token}}, nil).Wait()
	if err != nil || len(data.AllUIDs()) == 0 {
		return ""
	}
	msgs, err := c.Fetch(imap.UIDSetNum(data.AllUIDs()...), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil {
		return ""
	}
	for _, msg := range msgs {
		if len(msg.BodySection) == 0 {
			continue
		}
		m, err := mailmsg.Parse(msg.BodySection[0].Bytes, 0)
		if err != nil || m.Bounce == nil {
			continue
		}
		for _, rcpt := range m.Bounce.Recipients {
			if rcpt.Diagnostic != "" {
				return oneLine(rcpt.Address + ": " + rcpt.Status + " " + rcpt.Diagnostic)
			}
		}
		return "a delivery report about it is in " + d.mailbox()
	}
	return ""
}
