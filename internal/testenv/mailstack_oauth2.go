package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// writeOAuth2 writes the oauth2 passdb's settings and key, and returns the
// dovecot.conf lines that use them: the passdb for XOAUTH2 and OAUTHBEARER
// (the password passdb keeps PLAIN and LOGIN for the test's own checks) and
// the auth listener Postfix's submission smtpd asks.
func (ms *MailStack) writeOAuth2(ports []int) (string, error) {
	o := ms.opts.OAuth2
	if len(o.PublicKeyPEM) == 0 || o.Issuer == "" {
		return "", errors.New("oauth2: a public key and an issuer are needed")
	}
	claim := o.UsernameClaim
	if claim == "" {
		claim = "email"
	}
	// Dovecot 2.3 looks the key up in the dict under
	// <azp>/<alg>/<kid>, with "default" for a missing azp or kid; with
	// fs:posix that is a file path under the prefix.
	kid := o.KeyID
	if kid == "" {
		kid = "default"
	}
	keyDir := filepath.Join(ms.Dir, "dovecot", "keys", "default", "RS256")
	if err := os.MkdirAll(keyDir, 0o755); err != nil {
		return "", err
	}
	if err := makeTraversable(filepath.Join(ms.Dir, "dovecot", "keys")); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(keyDir, kid), o.PublicKeyPEM, 0o644); err != nil {
		return "", err
	}
	mechs := "xoauth2 oauthbearer"
	if len(o.Mechanisms) > 0 {
		mechs = strings.ToLower(strings.Join(o.Mechanisms, " "))
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "introspection_mode = local\n")
	fmt.Fprintf(&conf, "local_validation_key_dict = fs:posix:prefix=%s/\n", filepath.Join(ms.Dir, "dovecot", "keys"))
	fmt.Fprintf(&conf, "issuers = %s\n", o.Issuer)
	fmt.Fprintf(&conf, "username_attribute = %s\n", claim)
	if o.Audience != "" {
		fmt.Fprintf(&conf, "client_id = %s\n", o.Audience)
	}
	confPath := filepath.Join(ms.Dir, "dovecot", "oauth2.conf.ext")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf(`
# OAuth2 (MailStackOptions.OAuth2): bearer tokens checked locally as JWTs.
passdb {
  driver = oauth2
  mechanisms = %[3]s
  args = %[1]s
}
# Postfix's submission smtpd asks this listener (Dovecot SASL).
service auth {
  inet_listener {
    address = 127.0.0.1
    port = %[2]d
  }
}
`, confPath, ports[4], mechs), nil
}

// Kick ends user's IMAP sessions, as a server restart or a load balancer
// would: the client must sign in again.
func (ms *MailStack) Kick(user string) error {
	out, err := exec.Command("/usr/bin/doveadm", "-c", filepath.Join(ms.Dir, "dovecot", "dovecot.conf"), "kick", ms.Address(user)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("doveadm kick %s: %v: %s", user, err, out)
	}
	return nil
}
