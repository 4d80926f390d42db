package chat

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gopkg.in/irc.v4"
)

// IRC keeps one connection to an IRC server, joined to Channel, and posts
// each message as PRIVMSG lines (RFC 2812 3.3.1). It reconnects with
// backoff when the server goes away; Post waits for the connection up to
// its context's deadline (or WaitUp), then fails so that the job retries.
// IRC acknowledges no PRIVMSG, so Post follows the post's lines with a
// PING and returns only when its PONG is back: the server answers in
// order, so the lines reached it. A connection that dies unnoticed is not
// taken for a success.
type IRC struct {
	Addr     string // host:port
	TLS      bool
	Nick     string
	Password string // server password (PASS), "" none
	Channel  string // "#incidents"
	Key      string // channel key, "" none
	// WaitUp bounds how long a post waits for the connection (default 15 s).
	WaitUp time.Duration
	Logger *slog.Logger

	startOnce sync.Once
	mu        sync.Mutex
	client    *irc.Client   // joined; nil while down
	up        chan struct{} // closed when client is set
	lost      chan struct{} // closed when client's connection ends
	pongs     map[string]chan struct{}
	pingSeq   int
	// maxBackoff is the longest wait between reconnections (30 s); tests
	// shorten it.
	maxBackoff time.Duration
}

var _ Poster = (*IRC)(nil)

func (c *IRC) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

// Start connects in the background and keeps reconnecting until ctx ends.
func (c *IRC) Start(ctx context.Context) {
	c.startOnce.Do(func() {
		c.mu.Lock()
		if c.up == nil {
			c.up = make(chan struct{})
		}
		c.mu.Unlock()
		go c.run(ctx)
	})
}

func (c *IRC) run(ctx context.Context) {
	backoff := time.Second
	for ctx.Err() == nil {
		began := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			backoff = time.Second // it was up a while: this is a fresh failure
		}
		c.logger().Warn("chat: irc connection lost; reconnecting", "addr", c.Addr, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		longest := c.maxBackoff
		if longest <= 0 {
			longest = 30 * time.Second
		}
		backoff = min(2*backoff, longest)
	}
}

// session is one connection: register, join, serve until it fails.
func (c *IRC) session(ctx context.Context) error {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	if c.TLS {
		host, _, _ := net.SplitHostPort(c.Addr)
		conn, err = (&tls.Dialer{NetDialer: &d, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}).DialContext(ctx, "tcp", c.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", c.Addr)
	}
	if err != nil {
		return fmt.Errorf("chat: irc dial %s: %w", c.Addr, err)
	}
	nick := c.Nick
	if nick == "" {
		nick = "sitrep"
	}
	client := irc.NewClient(conn, irc.ClientConfig{
		Nick: nick, User: "sitrep", Name: "sitrep incident mirror", Pass: c.Password,
		PingFrequency: time.Minute, PingTimeout: 30 * time.Second,
		// RFC 2812 does not fix a rate; servers penalise bursts (ngIRCd,
		// like ircd2, allows about one line per 2 s after a short burst).
		SendLimit: 500 * time.Millisecond, SendBurst: 5,
		Handler: irc.HandlerFunc(func(cl *irc.Client, m *irc.Message) {
			switch m.Command {
			case "001": // RPL_WELCOME: registered
				join := "JOIN " + c.Channel
				if c.Key != "" {
					join += " " + c.Key
				}
				_ = cl.Write(join)
			case "JOIN":
				if m.Prefix != nil && m.Prefix.Name == cl.CurrentNick() && strings.EqualFold(m.Param(0), c.Channel) {
					c.setUp(cl)
				}
			case "KICK":
				if strings.EqualFold(m.Param(0), c.Channel) && m.Param(1) == cl.CurrentNick() {
					c.setDown(cl)
					_ = cl.Write("JOIN " + c.Channel)
				}
			case "PONG": // the answer to a post's PING: its lines reached the server
				c.pong(m.Trailing())
			case "471", "473", "474", "475", "403": // cannot join: full, invite-only, banned, bad key, no such channel
				c.logger().Error("chat: irc cannot join", "channel", c.Channel, "reply", m.Command, "text", m.Trailing())
			}
		}),
	})
	err = client.RunContext(ctx)
	c.setDown(client)
	if err == nil {
		err = errors.New("connection closed")
	}
	return err
}

func (c *IRC) setUp(cl *irc.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.client = cl
	c.lost = make(chan struct{})
	select {
	case <-c.up:
	default:
		close(c.up)
	}
	c.logger().Info("chat: irc joined", "addr", c.Addr, "channel", c.Channel, "nick", cl.CurrentNick())
}

func (c *IRC) setDown(cl *irc.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != cl && c.client != nil {
		return
	}
	if c.client != nil {
		close(c.lost)
	}
	c.client = nil
	select {
	case <-c.up:
		c.up = make(chan struct{})
	default:
	}
}

func (c *IRC) pong(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.pongs[token]; ok {
		close(ch)
		delete(c.pongs, token)
	}
}

// Post sends m to the channel once the connection is up.
func (c *IRC) Post(ctx context.Context, m Message) (Posted, error) {
	return Posted{}, c.post(ctx, m)
}

func (c *IRC) post(ctx context.Context, m Message) error {
	c.Start(context.WithoutCancel(ctx)) // normally started by main; a post must not stop it
	wait := c.WaitUp
	if wait <= 0 {
		wait = 15 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		c.mu.Lock()
		cl, up := c.client, c.up
		c.mu.Unlock()
		if cl != nil {
			return c.send(ctx, cl, m)
		}
		select {
		case <-up:
		case <-timer.C:
			return fmt.Errorf("chat: irc: not connected to %s within %s", c.Addr, wait)
		case <-ctx.Done():
			return fmt.Errorf("chat: irc: %w", ctx.Err())
		}
	}
}

// confirmWait bounds the wait for the PONG that confirms a post.
const confirmWait = 20 * time.Second

// send writes m's lines and a PING, and waits for its PONG. A failure to
// write the first line posted nothing: a plain error, tried again. One
// later, or no PONG, may have left the post (or part of it) in the
// channel: an UncertainError, which the mirror does not repost blindly.
func (c *IRC) send(ctx context.Context, cl *irc.Client, m Message) error {
	c.mu.Lock()
	lost := c.lost
	c.pingSeq++
	token := fmt.Sprintf("sitrep-%d", c.pingSeq)
	ponged := make(chan struct{})
	if c.pongs == nil {
		c.pongs = map[string]chan struct{}{}
	}
	c.pongs[token] = ponged
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pongs, token)
		c.mu.Unlock()
	}()
	for i, line := range IRCLines(m) {
		if err := cl.WriteMessage(&irc.Message{Command: "PRIVMSG", Params: []string{c.Channel, line}}); err != nil {
			if i == 0 {
				return fmt.Errorf("chat: irc: %w", err)
			}
			return &UncertainError{Err: fmt.Errorf("chat: irc: line %d of the post: %w", i+1, err)}
		}
	}
	if err := cl.WriteMessage(&irc.Message{Command: "PING", Params: []string{token}}); err != nil {
		return &UncertainError{Err: fmt.Errorf("chat: irc: confirming the post: %w", err)}
	}
	timer := time.NewTimer(confirmWait)
	defer timer.Stop()
	select {
	case <-ponged:
		return nil
	case <-lost:
		return &UncertainError{Err: errors.New("chat: irc: connection lost before the server confirmed the post")}
	case <-timer.C:
		return &UncertainError{Err: fmt.Errorf("chat: irc: the server did not confirm the post within %s", confirmWait)}
	case <-ctx.Done():
		return &UncertainError{Err: fmt.Errorf("chat: irc: confirming the post: %w", ctx.Err())}
	}
}

// maxIRCText keeps a PRIVMSG within RFC 2812's 512-byte line with room
// for the prefix the server adds when relaying it.
const maxIRCText = 380

// IRCLines is m as IRC lines: a headline, then at most four lines of text.
func IRCLines(m Message) []string {
	head := fmt.Sprintf("[%s %s] %s: %s", m.Incident, m.Severity, m.Event, m.Title)
	if m.URL != "" {
		head += " " + m.URL
	}
	if next := nextUpdate(m); next != "" {
		head += " (" + next + ")"
	}
	lines := []string{cut(head)}
	var text []string
	for _, l := range strings.Split(m.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			text = append(text, cut(l))
		}
	}
	if len(text) > 4 {
		text = append(text[:3], fmt.Sprintf("(%d more lines on the incident page)", len(text)-3))
	}
	return append(lines, text...)
}

func cut(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
	if len(s) <= maxIRCText {
		return s
	}
	n := maxIRCText - 3
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
