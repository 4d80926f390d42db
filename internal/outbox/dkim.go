package outbox

import (
	"bytes"
	"context"
	"crypto"
	"fmt"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMHeaders are the header fields a DKIM signature covers (RFC 6376
// 5.4.1): who it is from and to, what it is, the threading that places it
// in a conversation (a changed In-Reply-To would move an update into
// another thread), the reply address replies go to, the list and
// auto-response markers, and the MIME structure. From is listed twice so
// that a second From added on the way fails verification (RFC 6376 8.15).
// RFC 8058 4: the one-click unsubscribe headers must be signed too.
// A field absent from a message is signed as absent, so it cannot be
// added later either.
var DKIMHeaders = []string{
	"From", "From", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID",
	"In-Reply-To", "References", "Thread-Topic", "Thread-Index",
	"List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Auto-Submitted", "X-Auto-Response-Suppress",
	"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
}

// DKIMSender signs each message with DKIM (RFC 6376, relaxed/relaxed)
// before handing it to the Sender underneath.
type DKIMSender struct {
	Sender
	opts dkim.SignOptions
}

var _ Sender = (*DKIMSender)(nil)

// NewDKIMSender signs for domain (d=) with selector (s=) and key (RSA or
// Ed25519, as config.ParseDKIMKey reads it).
func NewDKIMSender(next Sender, domain, selector string, key crypto.Signer) (*DKIMSender, error) {
	s := &DKIMSender{Sender: next, opts: dkim.SignOptions{
		Domain: domain, Selector: selector, Signer: key, Hash: crypto.SHA256,
		// Relaxed survives the header refolding and trailing-space changes
		// relays make; simple breaks on them (RFC 6376 3.4).
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             DKIMHeaders,
	}}
	// A key or option go-msgauth refuses fails here, at start, not per message.
	if _, err := dkim.NewSigner(&s.opts); err != nil {
		return nil, fmt.Errorf("outbox: dkim: %w", err)
	}
	return s, nil
}

// Send signs msg and sends it; a message that cannot be signed is not
// sent unsigned.
func (s *DKIMSender) Send(ctx context.Context, from string, to []string, msg []byte) ([]error, error) {
	signed, err := s.Sign(msg)
	if err != nil {
		return nil, err
	}
	return s.Sender.Send(ctx, from, to, signed)
}

// Sign returns msg with a DKIM-Signature header in front.
func (s *DKIMSender) Sign(msg []byte) ([]byte, error) {
	opts := s.opts
	var out bytes.Buffer
	out.Grow(len(msg) + 1024)
	if err := dkim.Sign(&out, bytes.NewReader(msg), &opts); err != nil {
		return nil, fmt.Errorf("outbox: dkim sign: %w", err)
	}
	return out.Bytes(), nil
}
