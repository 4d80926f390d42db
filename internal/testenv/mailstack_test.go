package testenv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/sitrep-dev/sitrep/internal/testenv"
)

func loginWith(ms *testenv.MailStack, user, password string) error {
	c, err := imapclient.DialInsecure(ms.IMAPAddr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Login(user, password).Wait()
}

func sendMail(t *testing.T, ms *testenv.MailStack, to []string, subject string) {
	t.Helper()
	msg := fmt.Sprintf("From: hub@example.test\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%d@example.test>\r\n\r\nbody of %s\r\n",
		strings.Join(to, ", "), subject, time.Now().UnixNano(), subject)
	if err := smtp.SendMail(ms.SMTPAddr, nil, "hub@example.test", to, []byte(msg)); err != nil {
		t.Fatalf("send %q: %v\n%s", subject, err, ms.LogTail())
	}
}

func TestMailStackDeliversToUsersAndPlusAddresses(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "alice", "status", "bob")
	sendMail(t, ms, []string{"alice@example.test"}, "for alice")
	sendMail(t, ms, []string{"status+abc123@example.test"}, "for a token")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, tc := range []struct{ user, subject string }{
		{"alice", "for alice"},
		// Plus-addressing: the detail must not make a separate mailbox or a
		// bounce; replies to status+<token>@ are read from status@'s INBOX.
		{"status", "for a token"},
	} {
		msgs, err := ms.WaitForMessages(ctx, tc.user, 1)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.user, err, ms.LogTail())
		}
		if len(msgs) != 1 {
			t.Fatalf("%s: got %d messages, want 1", tc.user, len(msgs))
		}
		if !bytes.Contains(msgs[0], []byte("Subject: "+tc.subject)) {
			t.Errorf("%s: message lacks subject %q:\n%s", tc.user, tc.subject, msgs[0])
		}
	}

	// Only what was sent to alice is in alice's INBOX, and nothing went to bob.
	msgs, err := ms.Messages(ctx, "alice")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("alice after delivery: %d messages, err %v; want 1", len(msgs), err)
	}
	msgs, err = ms.Messages(ctx, "bob")
	if err != nil || len(msgs) != 0 {
		t.Fatalf("bob: %d messages, err %v; want none", len(msgs), err)
	}
}

func TestMailStackRefusesUnknownRecipient(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "alice")
	c, err := smtp.Dial(ms.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("hub@example.test"); err != nil {
		t.Fatal(err)
	}
	err = c.Rcpt("nobody@example.test")
	var te *textproto.Error
	if !errors.As(err, &te) || te.Code != 550 {
		t.Fatalf("RCPT to an unknown user: got %v, want a 550 reply", err)
	}
	// Mail for a domain the stack does not serve must not be relayed anywhere.
	err = c.Rcpt("someone@elsewhere.invalid")
	if !errors.As(err, &te) || te.Code/100 != 5 {
		t.Fatalf("RCPT to a foreign domain: got %v, want a 5xx reply", err)
	}
	if err := c.Rcpt("alice@example.test"); err != nil {
		t.Fatalf("RCPT to a known user after refusals: %v", err)
	}
}

func TestMailStackWrongPasswordIsRefused(t *testing.T) {
	t.Parallel()
	ms := testenv.StartMailStack(t, "alice")
	c, err := ms.DialIMAP("alice")
	if err != nil {
		t.Fatalf("login with the stack's password: %v\n%s", err, ms.LogTail())
	}
	c.Close()

	start := time.Now()
	if err := loginWith(ms, "alice@example.test", "wrong"); err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	// After a failed login the next good one must still be quick (Dovecot's
	// anvil auth penalty is off), or every test with a bad-password case slows.
	if err := loginWith(ms, "alice@example.test", ms.Password("alice")); err != nil {
		t.Fatalf("login after a failed one: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failed + good login took %s; the auth penalty is on", d)
	}
}

// The fan-out tests give the stack thousands of mailboxes; start-up must not
// grow with them beyond writing two files.
func TestMailStackManyUsers(t *testing.T) {
	t.Parallel()
	users := make([]string, 2000)
	for i := range users {
		users[i] = fmt.Sprintf("member%04d", i)
	}
	users = append(users, "ops@partner.test") // a second domain, given in full
	start := time.Now()
	ms := testenv.StartMailStack(t, users...)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("start-up with %d users took %s", len(users), d)
	}
	sendMail(t, ms, []string{"member1999@example.test", "member0000+x@example.test", "ops@partner.test"}, "to many")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, u := range []string{"member1999", "member0000", "ops@partner.test"} {
		if _, err := ms.WaitForMessages(ctx, u, 1); err != nil {
			t.Fatalf("%s: %v\n%s", u, err, ms.LogTail())
		}
	}
}

// A test binary that dies without cleanup (a panic, go test -timeout) must
// not leave Postfix and Dovecot running: they would hold ports and CPU until
// the machine restarts.
func TestMailStackDiesWithTestBinary(t *testing.T) {
	t.Parallel()
	if dir := os.Getenv("SITREP_TESTENV_CRASH_DIR"); dir != "" {
		ms, err := testenv.NewMailStack(dir, testenv.TestDomain, []string{"alice"})
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		fmt.Println("PIDS", strings.Trim(fmt.Sprint(ms.ServerPIDs()), "[]"))
		os.Exit(3) // no Close: as if the binary panicked
	}
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "testenv: mail stack needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMailStackDiesWithTestBinary$")
	cmd.Env = append(os.Environ(), "SITREP_TESTENV_CRASH_DIR="+filepath.Join(t.TempDir(), "mail"))
	out, _ := cmd.Output()
	var pids []int
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "PIDS "); ok {
			for _, f := range strings.Fields(rest) {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("child printed %q", line)
				}
				pids = append(pids, pid)
			}
		}
	}
	if len(pids) != 2 || pids[0] <= 0 || pids[1] <= 0 {
		t.Fatalf("child did not start a stack:\n%s", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for testenv.Alive(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("server pid %d still running after its test binary died", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
