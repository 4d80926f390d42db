package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// VacationSubject is the subject of the out-of-office replies the
// MailStackOptions.Vacation mailboxes send.
const VacationSubject = "Out of office"

// sievePlugin is Pigeonhole's LMTP plugin, from Debian's dovecot-sieve.
const sievePlugin = "/usr/lib/dovecot/modules/lib90_sieve_plugin.so"

// writeVacation writes each vacation user's active Sieve script into
// their home and returns the dovecot.conf lines that run it at LMTP
// delivery and send the replies to Postfix on smtpPort.
func (ms *MailStack) writeVacation(smtpPort, uid, gid int) (string, error) {
	if _, err := os.Stat(sievePlugin); err != nil {
		return "", fmt.Errorf("vacation: Pigeonhole's sieve plugin: %w (install dovecot-sieve: %s)", err, InstallHint)
	}
	// :days 1 is RFC 5230's shortest period: one reply per sender a day.
	script := fmt.Sprintf("require \"vacation\";\nvacation :days 1 :subject %q \"I am away.\";\n", VacationSubject)
	for _, u := range ms.opts.Vacation {
		addr := ms.Address(u)
		if !ms.users[addr] {
			return "", fmt.Errorf("vacation: %s is not a user of the stack", addr)
		}
		at := strings.LastIndexByte(addr, '@')
		if at <= 0 {
			return "", errors.New("vacation: bad user " + addr)
		}
		// The userdb's home: mail/<domain>/<local part>. Pigeonhole
		// compiles the script next to it, so the mail user must own both.
		home := filepath.Join(ms.Dir, "mail", addr[at+1:], addr[:at])
		for _, d := range []string{filepath.Dir(home), home} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return "", err
			}
			if err := os.Chown(d, uid, gid); err != nil {
				return "", err
			}
		}
		path := filepath.Join(home, ".dovecot.sieve")
		if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
			return "", err
		}
		if err := os.Chown(path, uid, gid); err != nil {
			return "", err
		}
	}
	// sieve_vacation_dont_check_recipient: Pigeonhole answers only mail
	// whose To or Cc names the recipient (RFC 5230 4.5); the hub sends to
	// groups and to people one envelope at a time, as a list would, so
	// the check would hide the replies a real mailbox with an alias sends.
	return fmt.Sprintf(`
# Out-of-office replies (RFC 5230) for the vacation users, sent through
# the stack's own Postfix so they land in the sender's mailbox.
submission_host = 127.0.0.1:%d
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_vacation_dont_check_recipient = yes
}
`, smtpPort), nil
}
