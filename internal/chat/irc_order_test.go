package chat_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-dev/sitrep/internal/chat"
	"github.com/sitrep-dev/sitrep/internal/testenv"
)

// cable is a TCP relay between the bot and the IRC server that the test
// can cut (every connection closed, new ones hung up at once) and mend:
// the network between sitrep and its IRC server going away.
type cable struct {
	ln     net.Listener
	server string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCable(t *testing.T, server string) *cable {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cable{ln: ln, server: server}
	t.Cleanup(func() { ln.Close(); c.setCut(true) })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			if c.cut {
				c.mu.Unlock()
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", server)
			if err != nil {
				c.mu.Unlock()
				in.Close()
				continue
			}
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { io.Copy(out, in); out.Close(); in.Close() }()
			go func() { io.Copy(in, out); in.Close(); out.Close() }()
		}
	}()
	return c
}

func (c *cable) addr() string { return c.ln.Addr().String() }

func (c *cable) setCut(cut bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = cut
	if cut {
		for _, conn := range c.conns {
			conn.Close()
		}
		c.conns = nil
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var updateLine = regexp.MustCompile(`^U\d+$`)

// The connection to a real ngIRCd is cut for 40 s while U11 and U12 wait:
// once it is back the channel gets U11 then U12, each once.
func TestIRCOrderHoldsThroughAnOutage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := testenv.StartIRCd(t)
	link := newCable(t, srv.Addr)
	bot := &chat.IRC{Addr: link.addr(), Nick: "sitrep", Channel: "#incidents", WaitUp: 2 * time.Second, Logger: quiet}
	chat.SetReconnectMax(bot, 2*time.Second)
	bot.Start(ctx)
	l := joinAsListener(t, srv.Addr, "#incidents") // a team member, on the server itself

	r := newRig(t)
	m := r.mirror(t, map[string]chat.Poster{"irc": bot})
	chat.SetBackoffMax(m, 3*time.Second)
	startReplica(t, r.db, m, "a")
	u10 := r.update(t, "U10")
	l.waitForText("U10")
	settled(t, m, "irc", 30*time.Second, u10)

	link.setCut(true)
	time.Sleep(500 * time.Millisecond) // the bot sees its connection close
	u11, u12 := r.update(t, "U11"), r.update(t, "U12")
	time.Sleep(40 * time.Second)
	state, attempts, lastErr, err := m.PostState(ctx, "irc", u11)
	if err != nil {
		t.Fatal(err)
	}
	if final[state] || attempts < 2 {
		t.Errorf("U11 after 40 s of outage: %s after %d tries (%s); want still to do, tried again and again", state, attempts, lastErr)
	}
	// U12 is not even tried while U11 waits.
	if state, attempts, _, _ := m.PostState(ctx, "irc", u12); state != chat.StatePending || attempts != 0 {
		t.Errorf("U12 during the outage: %s after %d tries; want pending, untried", state, attempts)
	}
	link.setCut(false)
	start := time.Now()
	said := l.waitForText("U12")
	t.Logf("U11 and U12 arrived %s after the connection came back", time.Since(start).Round(time.Millisecond))
	settled(t, m, "irc", 30*time.Second, u11, u12)
	// One more, so that anything posted twice meanwhile shows before it.
	u13 := r.update(t, "U13")
	said = append(said, l.waitForText("U13")...)
	settled(t, m, "irc", 30*time.Second, u13)
	var got []string
	for _, s := range said {
		if updateLine.MatchString(s) {
			got = append(got, s)
		}
	}
	if !equal(got, []string{"U11", "U12", "U13"}) {
		t.Errorf("channel got %q, want U11, U12, U13 each once\n%s", got, srv.LogTail())
	}
}

// fakeIRCd registers and joins one client, then hangs up on its first
// PRIVMSG: a connection lost in the middle of a post.
func fakeIRCd(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(line)
					if len(f) < 2 {
						continue
					}
					switch f[0] {
					case "USER": // RFC 2812 5.1: 001 RPL_WELCOME ends registration
						fmt.Fprintf(conn, ":irc.test 001 sitrep :Welcome\r\n")
					case "JOIN":
						fmt.Fprintf(conn, ":sitrep!sitrep@127.0.0.1 JOIN %s\r\n", f[1])
					case "PRIVMSG":
						return // gone, mid-post
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// A post whose connection dies before the server confirmed it may be in
// the channel: an UncertainError, not a success and not a plain failure.
// With no connection at all it is a plain failure, tried again later.
func TestIRCPostCutMidwayIsUncertain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bot := &chat.IRC{Addr: fakeIRCd(t), Nick: "sitrep", Channel: "#incidents", WaitUp: 5 * time.Second, Logger: quiet}
	chat.SetReconnectMax(bot, time.Second)
	bot.Start(ctx)
	_, err := bot.Post(ctx, sample)
	if !chat.Uncertain(err) {
		t.Errorf("post cut midway: %v; want an UncertainError", err)
	}
	down := &chat.IRC{Addr: "127.0.0.1:1", Channel: "#incidents", WaitUp: 300 * time.Millisecond, Logger: quiet}
	if _, err := down.Post(ctx, sample); err == nil || chat.Uncertain(err) || chat.Permanent(err) {
		t.Errorf("post with no connection: %v; want a plain, temporary failure", err)
	}
}
