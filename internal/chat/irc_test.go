package chat_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// listener is a second IRC client, written by hand on purpose: it reads
// what arrives in the channel as any team member's client would.
type listener struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func joinAsListener(t *testing.T, addr, channel string) *listener {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "NICK watcher\r\nUSER watcher 0 * :team member\r\n")
	l.waitFor(func(cmd string, params []string) bool { return cmd == "001" }) // RPL_WELCOME
	fmt.Fprintf(conn, "JOIN %s\r\n", channel)
	l.waitFor(func(cmd string, params []string) bool { return cmd == "366" }) // RPL_ENDOFNAMES
	return l
}

// waitFor reads lines (answering PINGs) until match says yes; it returns
// the PRIVMSG texts seen meanwhile.
func (l *listener) waitFor(match func(cmd string, params []string) bool) []string {
	l.t.Helper()
	var said []string
	_ = l.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := l.r.ReadString('\n')
		if err != nil {
			l.t.Fatalf("listener: %v (seen %q)", err, said)
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, ":") {
			_, line, _ = strings.Cut(line, " ")
		}
		head, trailing, _ := strings.Cut(line, " :")
		f := strings.Fields(head)
		params := append(f[1:], trailing)
		switch f[0] {
		case "PING":
			fmt.Fprintf(l.conn, "PONG :%s\r\n", trailing)
		case "PRIVMSG":
			said = append(said, trailing)
		}
		if match(f[0], params) {
			return said
		}
	}
}

func (l *listener) waitForText(sub string) []string {
	return l.waitFor(func(cmd string, params []string) bool {
		return cmd == "PRIVMSG" && strings.Contains(params[len(params)-1], sub)
	})
}

func TestIRCPostsToARealChannelAndReconnects(t *testing.T) {
	t.Parallel()
	srv := testenv.StartIRCd(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bot := &chat.IRC{Addr: srv.Addr, Nick: "sitrep", Channel: "#incidents", WaitUp: 20 * time.Second}
	bot.Start(ctx)

	l := joinAsListener(t, srv.Addr, "#incidents")
	if _, err := bot.Post(ctx, sample); err != nil {
		t.Fatalf("post: %v\n%s", err, srv.LogTail())
	}
	said := l.waitForText("falling")
	want := []string{"[INC-7 SEV1] Status update sent: Checkout <down> & out https://sitrep.example.com/incidents/INC-7",
		"Rolled back release 2026.11.24-3.", "Error rate < 1% & falling."}
	if strings.Join(said, "|") != strings.Join(want, "|") {
		t.Errorf("channel saw %q, want %q", said, want)
	}

	// The server restarts: the bot reconnects and the next update arrives.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	l = joinAsListener(t, srv.Addr, "#incidents")
	next := sample
	next.Event, next.Text = "Resolved", "Checkout is back."
	start := time.Now()
	if _, err := bot.Post(ctx, next); err != nil {
		t.Fatalf("post after restart: %v\n%s", err, srv.LogTail())
	}
	l.waitForText("Checkout is back.")
	t.Logf("reposted %s after the server came back", time.Since(start).Round(time.Millisecond))

	// Down for good: a post fails within its wait, so that its job retries.
	srv.Stop()
	quick := &chat.IRC{Addr: srv.Addr, Channel: "#incidents", WaitUp: 500 * time.Millisecond}
	if _, err := quick.Post(ctx, sample); err == nil || chat.Permanent(err) {
		t.Errorf("post with the server down: %v; want a temporary failure", err)
	}
}

func TestIRCLinesStayWithinTheProtocolsLineLength(t *testing.T) {
	t.Parallel()
	m := sample
	m.Title = strings.Repeat("é", 400)
	m.Text = "one\ntwo\r\nthree\nfour\nfive\nsix"
	lines := chat.IRCLines(m)
	if len(lines) != 5 || !strings.HasSuffix(lines[0], "...") || lines[4] != "(3 more lines on the incident page)" {
		t.Errorf("%q", lines)
	}
	for _, l := range lines {
		if len(l) > 400 || strings.ContainsAny(l, "\r\n") {
			t.Errorf("line of %d bytes: %q", len(l), l)
		}
	}
}
