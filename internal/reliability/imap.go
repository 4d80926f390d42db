package reliability

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Reply is a stakeholder's answer to an incident's status email.
type Reply struct {
	From, To, Subject, MessageID, InReplyTo, Body string
	Date                                          time.Time
}

// Raw is the message as RFC 5322 text with CRLF line ends.
func (r Reply) Raw() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\n", r.From, r.To, r.Subject, r.Date.Format(time.RFC1123Z), r.MessageID)
	if r.InReplyTo != "" {
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: %s\r\n", r.InReplyTo, r.InReplyTo)
	}
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", r.Body)
	return []byte(b.String())
}

// Replies makes n replies to an incident's reply address, each with its own
// Message-ID, from senders cycling through from.
func Replies(n int, to, subject string, from []string, tag string) []Reply {
	out := make([]Reply, n)
	now := time.Now()
	for i := range out {
		out[i] = Reply{
			From: from[i%len(from)], To: to, Subject: subject, Date: now,
			MessageID: fmt.Sprintf("<%s-%06d@client.example.test>", tag, i),
			Body:      fmt.Sprintf("Reply %d (%s): we see errors on our side too, order %06d failed.", i, tag, i),
		}
	}
	return out
}

// Append adds messages to a mailbox over IMAP, pipelining up to batch
// APPEND commands (RFC 3501 6.3.11; Dovecot's LITERAL+ makes them
// non-synchronising) before waiting for their replies.
func Append(addr, username, password, mailbox string, raws [][]byte, date time.Time, batch int) error {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return fmt.Errorf("reliability: imap dial: %w", err)
	}
	defer c.Close()
	if err := c.Login(username, password).Wait(); err != nil {
		return fmt.Errorf("reliability: imap login: %w", err)
	}
	var opts *imap.AppendOptions
	if !date.IsZero() {
		opts = &imap.AppendOptions{Time: date}
	}
	for s := 0; s < len(raws); s += batch {
		var cmds []*imapclient.AppendCommand
		for _, raw := range raws[s:min(s+batch, len(raws))] {
			cmd := c.Append(mailbox, int64(len(raw)), opts)
			if _, err := cmd.Write(raw); err != nil {
				return fmt.Errorf("reliability: imap append: %w", err)
			}
			if err := cmd.Close(); err != nil {
				return fmt.Errorf("reliability: imap append: %w", err)
			}
			cmds = append(cmds, cmd)
		}
		for _, cmd := range cmds {
			if _, err := cmd.Wait(); err != nil {
				return fmt.Errorf("reliability: imap append: %w", err)
			}
		}
	}
	return c.Logout().Wait()
}

// WriteMaildir puts messages straight into a Dovecot Maildir's cur/ as
// already-seen mail received at date (the file's mtime is the internal
// date, RFC 3501 2.3.3): 50,000 old messages in seconds, where APPEND
// into a growing mailbox takes minutes. The files are owned by the mail
// user, as Dovecot's own deliveries are.
func WriteMaildir(maildir string, raws [][]byte, date time.Time) error {
	mu, err := user.Lookup("mail")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(mu.Uid)
	gid, _ := strconv.Atoi(mu.Gid)
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(maildir, d), 0o700); err != nil {
			return err
		}
	}
	for p := maildir; ; p = filepath.Dir(p) {
		// The Maildir and the user's home above it belong to the user.
		os.Chown(p, uid, gid)
		if filepath.Base(p) == "mail" || p == "/" {
			break
		}
	}
	for _, d := range []string{"cur", "new", "tmp"} {
		os.Chown(filepath.Join(maildir, d), uid, gid)
	}
	host, _ := os.Hostname()
	for i, raw := range raws {
		// Maildir names: time.unique.host, then :2,S for \Seen.
		name := filepath.Join(maildir, "cur", fmt.Sprintf("%d.R%d.%s:2,S", date.Unix(), i, host))
		if err := os.WriteFile(name, raw, 0o600); err != nil {
			return err
		}
		os.Chown(name, uid, gid)
		if err := os.Chtimes(name, date, date); err != nil {
			return err
		}
	}
	return nil
}

// UIDValidity selects mailbox and returns its UIDVALIDITY (RFC 3501 2.3.1.1).
func UIDValidity(addr, username, password, mailbox string) (uint32, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return 0, fmt.Errorf("reliability: imap dial: %w", err)
	}
	defer c.Close()
	if err := c.Login(username, password).Wait(); err != nil {
		return 0, fmt.Errorf("reliability: imap login: %w", err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return 0, fmt.Errorf("reliability: imap select: %w", err)
	}
	c.Logout().Wait()
	return sel.UIDValidity, nil
}
