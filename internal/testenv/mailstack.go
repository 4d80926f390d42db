package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// TestDomain is the mail domain StartMailStack serves.
const TestDomain = "example.test"

// mailPassword is every user's password: the stack is a private loopback
// fixture, and one known password keeps thousands of users cheap.
const mailPassword = "secret"

// MailStack is a real Postfix accepting SMTP on loopback and delivering over
// LMTP into a real Dovecot that serves the mailboxes over IMAP. Nothing leaves
// the machine: mail for any domain not served here is refused.
type MailStack struct {
	SMTPAddr string // Postfix smtpd, no auth, accepts from 127.0.0.0/8
	IMAPAddr string // Dovecot IMAP, plaintext LOGIN/AUTHENTICATE PLAIN
	LMTPAddr string // Dovecot LMTP, where Postfix delivers
	// SubmissionAddr is a second Postfix smtpd that takes mail only after
	// SMTP AUTH (RFC 4954), which it asks Dovecot's auth service to check
	// (Dovecot SASL): with MailStackOptions.OAuth2, XOAUTH2 and OAUTHBEARER.
	SubmissionAddr string
	Domain         string // default domain for users given without one
	Dir            string // config, queue, mailboxes and logs

	opts        MailStackOptions
	baseDir     string // Dovecot's base_dir: short, fresh, ours alone
	users       map[string]bool
	dovecot     *exec.Cmd
	dovecotDone <-chan struct{}
	postfixPID  int
	watchdog    *exec.Cmd
	watchDone   <-chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// StartMailStack starts a mail stack for the users (local parts, or full
// addresses for other domains) in a directory under t.TempDir() and stops it
// on cleanup. Missing servers or a non-root run make it Unavailable.
func StartMailStack(t testing.TB, users ...string) *MailStack {
	t.Helper()
	return StartMailStackWith(t, MailStackOptions{}, users...)
}

// MailStackOptions changes the default stack.
type MailStackOptions struct {
	// OAuth2, when set, makes Dovecot accept XOAUTH2 and OAUTHBEARER
	// (RFC 7628) for IMAP and for a submission service, checking each
	// bearer token locally as a JWT signed with the given key.
	OAuth2 *DovecotOAuth2
	// PlusAddressingOff breaks the stack the way real routes break: it
	// turns recipient_delimiter off, "relay" in Postfix (status+tok@ is
	// refused at RCPT), "mailbox" in Dovecot (Postfix accepts it, Dovecot's
	// LMTP refuses it and Postfix bounces).
	PlusAddressingOff string
	// Vacation lists users (local parts or addresses) whose mailbox
	// answers every message with a Sieve vacation reply (RFC 5230,
	// Dovecot Pigeonhole in LMTP), sent back through the stack's Postfix:
	// the out-of-office a real recipient has on. Needs dovecot-sieve.
	Vacation []string
}

// DovecotOAuth2 is what Dovecot's oauth2 passdb checks a token against
// (introspection_mode = local).
type DovecotOAuth2 struct {
	// PublicKeyPEM verifies RS256 signatures (a PKIX "PUBLIC KEY" block).
	PublicKeyPEM []byte
	// KeyID is the kid tokens carry; "" means tokens carry none.
	KeyID string
	// Issuer is the only iss accepted.
	Issuer string
	// Audience, when set, must be in the token's aud (Dovecot's client_id).
	Audience string
	// UsernameClaim names the claim holding the mailbox (default "email").
	UsernameClaim string
	// Mechanisms Dovecot offers for tokens (default XOAUTH2 and
	// OAUTHBEARER).
	Mechanisms []string
}

// StartMailStackWith is StartMailStack with options.
func StartMailStackWith(t testing.TB, opts MailStackOptions, users ...string) *MailStack {
	t.Helper()
	if missing := missingMailBinaries(); len(missing) > 0 {
		Unavailable(t, "testenv: mail stack: %s not installed", strings.Join(missing, ", "))
		return nil
	}
	if _, err := os.Stat(sievePlugin); err != nil && len(opts.Vacation) > 0 {
		Unavailable(t, "testenv: mail stack: vacation needs Pigeonhole's sieve plugin (dovecot-sieve, %s): %v", InstallHint, err)
		return nil
	}
	if os.Geteuid() != 0 {
		Unavailable(t, "testenv: mail stack: Dovecot and Postfix must be started as root (they drop privileges themselves); run the tests as root")
		return nil
	}
	start := time.Now()
	var ms *MailStack
	var err error
	// The free ports are free when chosen, not when the servers bind them: a
	// test running alongside may take one in between. Try again with new ones.
	for attempt := 1; ; attempt++ {
		ms, err = NewMailStackWith(filepath.Join(t.TempDir(), "mail"), TestDomain, users, opts)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("testenv: %v", err)
		}
		t.Logf("testenv: mail stack start-up failed, trying again: %v", err)
	}
	t.Logf("testenv: mail stack for %d users up in %s (SMTP %s, IMAP %s)", len(users), time.Since(start).Round(time.Millisecond), ms.SMTPAddr, ms.IMAPAddr)
	t.Cleanup(func() {
		if err := ms.Close(); err != nil {
			t.Errorf("testenv: %v", err)
		}
	})
	return ms
}

func missingMailBinaries() []string {
	var missing []string
	for _, p := range []string{"/usr/sbin/dovecot", "/usr/sbin/postfix", "/usr/lib/dovecot/lmtp"} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	return missing
}

// NewMailStack writes the configuration for Postfix and Dovecot into dir
// (created if needed), starts both and waits until they answer. Users are
// local parts in domain or full addresses; all have the password
// Password returns. It must run as root. Call Close to stop the servers.
func NewMailStack(dir, domain string, users []string) (*MailStack, error) {
	return NewMailStackWith(dir, domain, users, MailStackOptions{})
}

// NewMailStackWith is NewMailStack with options.
func NewMailStackWith(dir, domain string, users []string, opts MailStackOptions) (*MailStack, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("mail stack: must run as root: Dovecot and Postfix start as root and drop privileges (run the tests as root, or skip them)")
	}
	if missing := missingMailBinaries(); len(missing) > 0 {
		return nil, fmt.Errorf("mail stack: %s not installed (run %s)", strings.Join(missing, ", "), InstallHint)
	}
	domain = strings.ToLower(domain)
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("mail stack: %w", err)
	}
	ms := &MailStack{Domain: domain, Dir: abs, users: make(map[string]bool, len(users)), opts: opts}
	domains := map[string]bool{domain: true}
	for _, u := range users {
		addr := ms.Address(u)
		at := strings.LastIndexByte(addr, '@')
		if at <= 0 || at == len(addr)-1 || strings.ContainsAny(addr, " \t\r\n:+") {
			return nil, fmt.Errorf("mail stack: bad user %q", u)
		}
		ms.users[addr] = true
		domains[addr[at+1:]] = true
	}

	mailUser, err := user.Lookup("mail")
	if err != nil {
		return nil, fmt.Errorf("mail stack: the mail user Dovecot delivers as: %w", err)
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)

	ports, err := freePorts(5)
	if err != nil {
		return nil, fmt.Errorf("mail stack: %w", err)
	}
	ms.SMTPAddr = fmt.Sprintf("127.0.0.1:%d", ports[0])
	ms.IMAPAddr = fmt.Sprintf("127.0.0.1:%d", ports[1])
	ms.LMTPAddr = fmt.Sprintf("127.0.0.1:%d", ports[2])
	if opts.OAuth2 != nil {
		ms.SubmissionAddr = fmt.Sprintf("127.0.0.1:%d", ports[3])
	}

	// Postfix's config directory must hold nothing else: its start-up check
	// wants everything under it owned by root, and the queue is not.
	for _, d := range []string{"postfix/etc", "postfix/queue", "postfix/data", "dovecot/state", "dovecot/keys", "mail"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("mail stack: %w", err)
		}
	}
	if err := makeTraversable(abs); err != nil {
		return nil, fmt.Errorf("mail stack: %w", err)
	}
	if err := os.Chown(filepath.Join(abs, "mail"), uid, gid); err != nil {
		return nil, fmt.Errorf("mail stack: %w", err)
	}
	// The master takes its lock in data_directory as mail_owner.
	pfUser, err := user.Lookup("postfix")
	if err != nil {
		return nil, fmt.Errorf("mail stack: the postfix user: %w", err)
	}
	pfUID, _ := strconv.Atoi(pfUser.Uid)
	pfGID, _ := strconv.Atoi(pfUser.Gid)
	if err := os.Chown(filepath.Join(abs, "postfix", "data"), pfUID, pfGID); err != nil {
		return nil, fmt.Errorf("mail stack: %w", err)
	}
	// Dovecot's base_dir holds its unix sockets, whose paths must stay under
	// 108 bytes, and a stale socket there stalls authentication for seconds: a
	// fresh short directory avoids both.
	ms.baseDir, err = os.MkdirTemp("", "sitrep-dc-")
	if err != nil {
		return nil, fmt.Errorf("mail stack: %w", err)
	}
	if err := os.Chmod(ms.baseDir, 0o755); err != nil {
		return nil, fmt.Errorf("mail stack: %w", err)
	}

	sortedUsers := make([]string, 0, len(ms.users))
	for u := range ms.users {
		sortedUsers = append(sortedUsers, u)
	}
	sort.Strings(sortedUsers)
	sortedDomains := make([]string, 0, len(domains))
	for d := range domains {
		sortedDomains = append(sortedDomains, d)
	}
	sort.Strings(sortedDomains)

	if err := ms.writeConfigs(sortedUsers, sortedDomains, ports, uid, gid); err != nil {
		os.RemoveAll(ms.baseDir)
		return nil, fmt.Errorf("mail stack: %w", err)
	}
	if err := ms.start(); err != nil {
		_ = ms.Close()
		return nil, fmt.Errorf("mail stack: %w\n%s", err, ms.LogTail())
	}
	return ms, nil
}

// Address is the mail address of a user given as a local part or an address.
func (ms *MailStack) Address(user string) string {
	user = strings.ToLower(strings.TrimSpace(user))
	if strings.Contains(user, "@") {
		return user
	}
	return user + "@" + ms.Domain
}

// Password is the IMAP password of user (the same for every user).
func (ms *MailStack) Password(user string) string { return mailPassword }

// DropMailbox removes a user from Dovecot but not from Postfix: Postfix
// still accepts mail for the address at RCPT time, Dovecot's LMTP then
// refuses it (550 5.1.1), and Postfix returns a delivery status
// notification to the envelope sender, as a real mail system does for a
// mailbox removed behind its MX. Dovecot rereads its users file on the
// next lookup.
func (ms *MailStack) DropMailbox(user string) error {
	delete(ms.users, ms.Address(user))
	var passwd strings.Builder
	for _, u := range ms.Users() {
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s\n", u, mailPassword)
	}
	if err := os.WriteFile(filepath.Join(ms.Dir, "dovecot", "users"), []byte(passwd.String()), 0o644); err != nil {
		return fmt.Errorf("mail stack: drop %s: %w", user, err)
	}
	return nil
}

// Users lists the mailbox addresses the stack serves.
func (ms *MailStack) Users() []string {
	out := make([]string, 0, len(ms.users))
	for u := range ms.users {
		out = append(out, u)
	}
	sort.Strings(out)
	return out
}

func (ms *MailStack) writeConfigs(users, domains []string, ports []int, uid, gid int) error {
	var passwd, vmailbox strings.Builder
	for _, u := range users {
		// passwd-file: user:password:uid:gid:... ; uid/gid come from the static
		// userdb, so only the password is given.
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s\n", u, mailPassword)
		fmt.Fprintf(&vmailbox, "%s OK\n", u)
	}
	vmailboxPath := filepath.Join(ms.Dir, "postfix", "vmailbox")
	if err := os.WriteFile(vmailboxPath, []byte(vmailbox.String()), 0o644); err != nil {
		return err
	}
	usersPath := filepath.Join(ms.Dir, "dovecot", "users")
	if err := os.WriteFile(usersPath, []byte(passwd.String()), 0o644); err != nil {
		return err
	}

	dovecotConf := fmt.Sprintf(`# Written by internal/testenv; a private Dovecot for one test.
protocols = imap lmtp
listen = 127.0.0.1
base_dir = %[1]s
state_dir = %[2]s/dovecot/state
log_path = %[2]s/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
# A failed login (tests make them on purpose) must not slow the next one.
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = %[5]d
first_valid_gid = %[6]d
mail_location = maildir:~/Maildir
# Test mail need not survive a power cut; fsync is most of LMTP's cost.
mail_fsync = never
# status+tok@ lands in status@'s INBOX, not a mailbox named "tok".
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no

passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%Lu %[2]s/dovecot/users
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[6]d home=%[2]s/mail/%%Ld/%%Ln
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = %[3]d
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = %[4]d
  }
}
# Without this one failed login from 127.0.0.1 slows every later login from
# it by 2–15 s (login_trusted_networks does not stop it in 2.3.19).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
`, ms.baseDir, ms.Dir, ports[1], ports[2], uid, gid)
	if ms.opts.OAuth2 != nil {
		extra, err := ms.writeOAuth2(ports)
		if err != nil {
			return err
		}
		mechs := "xoauth2 oauthbearer"
		if len(ms.opts.OAuth2.Mechanisms) > 0 {
			mechs = strings.ToLower(strings.Join(ms.opts.OAuth2.Mechanisms, " "))
		}
		dovecotConf = strings.Replace(dovecotConf, "auth_mechanisms = plain login\n", "auth_mechanisms = plain login "+mechs+"\n", 1)
		// The password passdb stays unrestricted: a token does not match a
		// password, and restricting it by mechanism would hide the users
		// from LMTP's userdb lookups ("All password databases were skipped").
		dovecotConf += extra
	}
	if len(ms.opts.Vacation) > 0 {
		extra, err := ms.writeVacation(ports[0], uid, gid)
		if err != nil {
			return err
		}
		dovecotConf += extra
	}
	if ms.opts.PlusAddressingOff == "mailbox" {
		dovecotConf = strings.Replace(dovecotConf, "recipient_delimiter = +", "recipient_delimiter =", 1)
	}
	if err := os.WriteFile(filepath.Join(ms.Dir, "dovecot", "dovecot.conf"), []byte(dovecotConf), 0o644); err != nil {
		return err
	}

	mainCF := fmt.Sprintf(`# Written by internal/testenv; a private Postfix for one test.
compatibility_level = 3.6
queue_directory = %[1]s/postfix/queue
data_directory = %[1]s/postfix/data
# There is no syslog here; a maillog_file outside maillog_file_prefixes makes
# Postfix fail without a word.
maillog_file = %[1]s/postfix.log
maillog_file_prefixes = %[1]s
myhostname = %[2]s
mydomain = %[2]s
myorigin = $mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
# Tests send to bad addresses on purpose; no tar-pit for that.
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
message_size_limit = 52428800
# Unknown users are refused with 550 at RCPT time.
virtual_mailbox_domains = %[3]s
virtual_mailbox_maps = texthash:%[1]s/postfix/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:%[4]d
recipient_delimiter = +
# Nothing leaves the machine.
default_transport = error:sitrep test stack delivers nowhere else
relay_transport = error:sitrep test stack delivers nowhere else
local_transport = error:sitrep test stack delivers nowhere else
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
# If Dovecot hiccups, retry within the test's lifetime, not in five minutes.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
biff = no
`, ms.Dir, ms.Domain, strings.Join(domains, ", "), ports[2])
	if ms.opts.PlusAddressingOff == "relay" {
		mainCF = strings.Replace(mainCF, "recipient_delimiter = +", "recipient_delimiter =", 1)
	}
	if err := os.WriteFile(filepath.Join(ms.Dir, "postfix", "etc", "main.cf"), []byte(mainCF), 0o644); err != nil {
		return err
	}

	// The services Postfix needs, from Debian's master.cf with chroot off
	// everywhere (the private queue has no chroot jail set up) and smtpd bound
	// to our loopback port only.
	masterCF := fmt.Sprintf(`# Written by internal/testenv.
# service      type  private unpriv chroot wakeup maxproc command
127.0.0.1:%d   inet  n       -      n      -      -       smtpd
pickup         unix  n       -      n      60     1       pickup
cleanup        unix  n       -      n      -      0       cleanup
qmgr           unix  n       -      n      300    1       qmgr
tlsmgr         unix  -       -      n      1000?  1       tlsmgr
rewrite        unix  -       -      n      -      -       trivial-rewrite
bounce         unix  -       -      n      -      0       bounce
defer          unix  -       -      n      -      0       bounce
trace          unix  -       -      n      -      0       bounce
verify         unix  -       -      n      -      1       verify
flush          unix  n       -      n      1000?  0       flush
proxymap       unix  -       -      n      -      -       proxymap
proxywrite     unix  -       -      n      -      1       proxymap
smtp           unix  -       -      n      -      -       smtp
relay          unix  -       -      n      -      -       smtp
showq          unix  n       -      n      -      -       showq
error          unix  -       -      n      -      -       error
retry          unix  -       -      n      -      -       error
discard        unix  -       -      n      -      -       discard
lmtp           unix  -       -      n      -      -       lmtp
anvil          unix  -       -      n      -      1       anvil
scache         unix  -       -      n      -      1       scache
postlog        unix-dgram n  -      n      -      1       postlogd
`, ports[0])
	if ms.SubmissionAddr != "" {
		// Only an authenticated client may even start a transaction here,
		// so a half-authenticated sender cannot slip a message through.
		masterCF += fmt.Sprintf(`127.0.0.1:%d   inet  n       -      n      -      -       smtpd
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_sasl_type=dovecot
  -o smtpd_sasl_path=inet:127.0.0.1:%d
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
`, ports[3], ports[4])
	}
	if err := os.WriteFile(filepath.Join(ms.Dir, "postfix", "etc", "master.cf"), []byte(masterCF), 0o644); err != nil {
		return err
	}
	// Postfix waits for a map or config file modified in the last ~2 s to
	// settle before it starts (1.5–2 s lost for each of main.cf and the
	// vmailbox map, measured); backdated files are taken at once.
	old := time.Now().Add(-time.Minute)
	for _, f := range []string{"etc/main.cf", "etc/master.cf", "vmailbox"} {
		if err := os.Chtimes(filepath.Join(ms.Dir, "postfix", f), old, old); err != nil {
			return err
		}
	}
	return nil
}

func (ms *MailStack) start() error {
	var err error
	// Dovecot in the foreground (-F) stays our child, so stopping it is one
	// signal and a wait; it is ready in well under 0.1 s.
	ms.dovecot, ms.dovecotDone, err = startLogged(filepath.Join(ms.Dir, "dovecot.out"),
		"/usr/sbin/dovecot", "-F", "-c", filepath.Join(ms.Dir, "dovecot", "dovecot.conf"))
	if err != nil {
		return fmt.Errorf("start dovecot: %w", err)
	}

	// Postfix's "start" runs integrity checks that cost ~0.5 s and more on a
	// busy machine; a quick-start file skips them. The queue is laid out
	// here instead (prepareQueue) exactly as post-install would.
	if err := prepareQueue(filepath.Join(ms.Dir, "postfix", "queue")); err != nil {
		return fmt.Errorf("postfix queue: %w", err)
	}
	// "start" detaches the master; its output goes to a file for the reason
	// startLogged gives.
	out, err := os.Create(filepath.Join(ms.Dir, "postfix.out"))
	if err != nil {
		return err
	}
	cmd := exec.Command("/usr/sbin/postfix", "-c", filepath.Join(ms.Dir, "postfix", "etc"), "start")
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	out.Close()
	pidFile := filepath.Join(ms.Dir, "postfix", "queue", "pid", "master.pid")
	if pid, perr := readPID(pidFile); perr == nil {
		ms.postfixPID = pid
	}
	if err != nil {
		return fmt.Errorf("postfix start: %w", err)
	}
	if ms.watchdog, ms.watchDone, err = startWatchdog(pidFile); err != nil {
		return fmt.Errorf("postfix watchdog: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitTCP(ctx, ms.IMAPAddr, "* OK", ms.dovecotDone); err != nil {
		return fmt.Errorf("dovecot imap: %w", err)
	}
	if err := waitTCP(ctx, ms.LMTPAddr, "220", ms.dovecotDone); err != nil {
		return fmt.Errorf("dovecot lmtp: %w", err)
	}
	if err := waitTCP(ctx, ms.SMTPAddr, "220", nil); err != nil {
		return fmt.Errorf("postfix smtpd: %w", err)
	}
	if ms.SubmissionAddr != "" {
		if err := waitTCP(ctx, ms.SubmissionAddr, "220", ms.dovecotDone); err != nil {
			return fmt.Errorf("dovecot submission: %w", err)
		}
	}
	return nil
}

// Close stops Postfix and Dovecot. The directory is left for the caller (a
// t.TempDir() goes by itself).
func (ms *MailStack) Close() error {
	ms.closeOnce.Do(func() {
		var wg sync.WaitGroup
		var perr, derr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			// SIGTERM is what "postfix stop" sends; polling the pid avoids the
			// whole seconds that script sleeps between checks.
			if err := terminate(ms.postfixPID, 10*time.Second); err != nil {
				perr = fmt.Errorf("stop postfix: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			// A clean Dovecot stop takes 1.0–1.2 s (the master waits on its
			// children); with the mailboxes thrown away afterwards there is
			// nothing for it to save, so the whole group is killed at once.
			if err := killGroup(ms.dovecot, ms.dovecotDone, 10*time.Second); err != nil {
				derr = fmt.Errorf("stop dovecot: %w", err)
			}
		}()
		wg.Wait()
		_ = killGroup(ms.watchdog, ms.watchDone, 5*time.Second)
		if ms.baseDir != "" {
			os.RemoveAll(ms.baseDir)
		}
		ms.closeErr = errors.Join(perr, derr)
		if ms.closeErr != nil {
			ms.closeErr = fmt.Errorf("mail stack: %w", ms.closeErr)
		}
	})
	return ms.closeErr
}

// LogTail returns the end of Postfix's and Dovecot's logs, for a failure
// message that says why mail did not arrive.
func (ms *MailStack) LogTail() string {
	var b strings.Builder
	for _, f := range []string{"postfix.out", "postfix.log", "dovecot.out", "dovecot.log"} {
		p := filepath.Join(ms.Dir, f)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s ---\n%s", p, tailFile(p, 4096))
	}
	return b.String()
}

// DialIMAP logs user in over IMAP. The caller closes the client.
func (ms *MailStack) DialIMAP(user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(ms.IMAPAddr, nil)
	if err != nil {
		return nil, fmt.Errorf("imap dial %s: %w", ms.IMAPAddr, err)
	}
	if err := c.Login(ms.Address(user), ms.Password(user)).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("imap login %s: %w", ms.Address(user), err)
	}
	return c, nil
}

// Messages returns the raw messages now in user's INBOX, oldest first.
func (ms *MailStack) Messages(ctx context.Context, user string) ([][]byte, error) {
	return ms.WaitForMessages(ctx, user, 0)
}

// WaitForMessages polls user's INBOX until it holds at least n messages, then
// returns all of them raw, oldest first. It polls with STATUS every 20 ms:
// Dovecot tells an IDLE client about new mail only after ~0.5 s, while a poll
// sees it within milliseconds. It reads with EXAMINE and BODY.PEEK[] so that
// flags stay as the code under test left them.
func (ms *MailStack) WaitForMessages(ctx context.Context, user string, n int) ([][]byte, error) {
	c, err := ms.DialIMAP(user)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// imapclient has no contexts: closing the connection ends a blocked call.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	have := uint32(0)
	for {
		st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("wait for %d messages for %s: %w", n, user, ctx.Err())
			}
			return nil, fmt.Errorf("imap status %s: %w", user, err)
		}
		if st.NumMessages != nil {
			have = *st.NumMessages
		}
		if int(have) >= n {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %d messages for %s: have %d: %w", n, user, have, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return nil, fmt.Errorf("imap examine %s: %w", user, err)
	}
	if have == 0 {
		return nil, nil
	}
	var all imap.SeqSet
	all.AddRange(1, 0) // 1:*
	bufs, err := c.Fetch(all, &imap.FetchOptions{
		UID:         true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap fetch %s: %w", user, err)
	}
	sort.Slice(bufs, func(i, j int) bool { return bufs[i].UID < bufs[j].UID })
	out := make([][]byte, 0, len(bufs))
	for _, b := range bufs {
		if len(b.BodySection) == 0 {
			return nil, fmt.Errorf("imap fetch %s: uid %d: no body", user, b.UID)
		}
		out = append(out, b.BodySection[0].Bytes)
	}
	return out, nil
}

// prepareQueue creates Postfix's queue directories with the owners and modes
// Debian's postfix-files gives them, and the quick-start marker that tells
// postfix-script to skip its checks.
func prepareQueue(queue string) error {
	pf, err := user.Lookup("postfix")
	if err != nil {
		return err
	}
	postdrop, err := user.LookupGroup("postdrop")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(pf.Uid)
	pdGID, _ := strconv.Atoi(postdrop.Gid)
	dirs := []struct {
		name     string
		uid, gid int
		mode     os.FileMode
	}{
		{"pid", 0, 0, 0o755},
		{"public", uid, pdGID, 0o710},
		{"maildrop", uid, pdGID, 0o730},
	}
	for _, d := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"} {
		dirs = append(dirs, struct {
			name     string
			uid, gid int
			mode     os.FileMode
		}{d, uid, 0, 0o700})
	}
	for _, d := range dirs {
		p := filepath.Join(queue, d.name)
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := os.Chown(p, d.uid, d.gid); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(queue, "quick-start"), nil, 0o644)
}
