package sandbox

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// A person tidies their sandbox mailbox with Thunderbird: creates a folder,
// moves a message into it, files a copy of a sent message. All of it must
// survive a restart with the same UIDs.
func TestMoveAndAppendPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	alice := "alice@" + testDomain
	raws := [][]byte{[]byte("Subject: a\r\n\r\nfirst\r\n"), []byte("Subject: b\r\n\r\nsecond\r\n")}
	sent := []byte("Subject: my reply\r\n\r\nsent\r\n")

	sb := startSandbox(t, dir)
	for _, r := range raws {
		if err := sb.Deliver(t.Context(), "hub@"+testDomain, []string{alice}, r); err != nil {
			t.Fatal(err)
		}
	}
	c := dialIMAP(t, sb, alice, nil)
	if err := c.Create("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("archive/2026", nil).Wait(); err != nil {
		t.Fatalf("nested mailbox: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	md, err := c.Move(imap.UIDSetNum(1), "Archive").Wait()
	if err != nil {
		t.Fatalf("MOVE: %v", err)
	}
	if md.SourceUIDs == nil || md.DestUIDs == nil || md.SourceUIDs.String() != "1" || md.DestUIDs.String() != "1" {
		t.Errorf("COPYUID %v -> %v, want 1 -> 1", md.SourceUIDs, md.DestUIDs)
	}
	if _, err := appendMsg(c, "Sent", sent); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Errorf("APPEND to a missing mailbox: %v, want TRYCREATE", err)
	}
	ad, err := appendMsg(c, "Archive", sent)
	if err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	if ad.UID != 2 {
		t.Errorf("APPEND UID %d, want 2", ad.UID)
	}
	_ = c.Close()

	check := func(sb *Sandbox) {
		t.Helper()
		c := dialIMAP(t, sb, "alice", nil)
		_, inbox := fetchPeek(t, c)
		if len(inbox) != 1 || !bytes.HasSuffix(inbox[2].raw, raws[1]) {
			t.Errorf("INBOX after move: %d messages", len(inbox))
		}
		sel, err := c.Select("archive", nil).Wait()
		if err == nil {
			t.Errorf("mailbox names other than INBOX are case-sensitive; selected %+v", sel)
		}
		sel, err = c.Select("Archive", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		section := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(allUIDs(), &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[0].UID != 1 || !bytes.HasSuffix(msgs[0].FindBodySection(section), raws[0]) ||
			msgs[1].UID != 2 || !bytes.Equal(msgs[1].FindBodySection(section), sent) {
			t.Fatalf("Archive: %d messages", len(msgs))
		}
		list, err := c.List("", "*", nil).Collect()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range list {
			names = append(names, l.Mailbox)
		}
		if strings.Join(names, ",") != "Archive,INBOX,archive/2026" {
			t.Errorf("LIST = %v", names)
		}
		_ = c.Close()
	}
	check(sb)
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	check(startSandbox(t, dir))
}

func appendMsg(c *imapclient.Client, mailbox string, raw []byte) (*imap.AppendData, error) {
	cmd := c.Append(mailbox, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return nil, err
	}
	if err := cmd.Close(); err != nil {
		return nil, err
	}
	return cmd.Wait()
}

// The hub's ingest keeps (UIDVALIDITY, UID); the web UI keeps message IDs.
// Both must still point at the same message after a restart.
func TestMessageIDStableAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hub := "status@" + testDomain
	sb := startSandbox(t, dir)
	if err := sb.Deliver(t.Context(), "alice@"+testDomain, []string{hub}, []byte("Subject: keep me\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	msgs, err := sb.Messages(t.Context(), hub)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	sb2, err := New(Config{Domain: testDomain, Password: testPassword, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sb2.Message(t.Context(), hub, msgs[0].ID)
	if err != nil {
		t.Fatalf("Message(%s) after restart: %v", msgs[0].ID, err)
	}
	if m.Subject != "keep me" || !bytes.Equal(m.Raw, msgs[0].Raw) || !m.Date.Equal(msgs[0].Date) {
		t.Errorf("after restart: %+v", m)
	}
}

func TestStopsWhenContextDone(t *testing.T) {
	t.Parallel()
	sb, err := New(Config{SMTPAddr: "127.0.0.1:0", IMAPAddr: "127.0.0.1:0", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := sb.IMAPAddr()
	if c, err := net.Dial("tcp", addr); err != nil {
		t.Fatalf("not listening: %v", err)
	} else {
		_ = c.Close()
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still listening after the context was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := sb.Close(); err != nil {
		t.Errorf("Close after cancel: %v", err)
	}
	if err := sb.Start(t.Context()); err == nil {
		t.Error("Start after Close succeeded")
	}
}

// A message delivered between the client's last command and its IDLE must
// be reported as soon as IDLE starts, not at the next delivery.
func TestIdleReportsChangesPendingBeforeIdle(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, "")
	hub := "status@" + testDomain
	if err := sb.EnsureMailbox(hub, ""); err != nil {
		t.Fatal(err)
	}
	exists := make(chan uint32, 10)
	c := dialIMAP(t, sb, hub, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					exists <- *d.NumMessages
				}
			},
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := sb.Deliver(t.Context(), "alice@"+testDomain, []string{hub}, []byte("Subject: early\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message delivered just before IDLE was never reported")
	}
}
