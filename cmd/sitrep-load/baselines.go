package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/wneessen/go-mail/smtp"
)

// The two yardsticks, each in its own child process, sending the message
// sitrep sent (as the sink received it) in sitrep's shape: conns
// connections, batch recipients per transaction, everyone once.

const baselineFrom = "status@example.test"

// batches hands out the recipients batch by batch to conns workers and
// returns how many were accepted and the first error.
func batches(n, batch, conns int, work func(worker int, rcpts []string) error) (int64, error) {
	ch := make(chan []string)
	var wg sync.WaitGroup
	var sent atomic.Int64
	var firstErr error
	var once sync.Once
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rcpts := range ch {
				if err := work(c, rcpts); err != nil {
					once.Do(func() { firstErr = err })
					for range ch { // drain so the feeder finishes
					}
					return
				}
				sent.Add(int64(len(rcpts)))
			}
		}()
	}
	cur := make([]string, 0, batch)
	for i := 0; i < n; i++ {
		cur = append(cur, address(i))
		if len(cur) == batch {
			ch <- cur
			cur = make([]string, 0, batch)
		}
	}
	if len(cur) > 0 {
		ch <- cur
	}
	close(ch)
	wg.Wait()
	return sent.Load(), firstErr
}

// address is the i-th person of the load's directory.
func address(i int) string { return fmt.Sprintf("person%06d@example.test", i) }

// gomailLoop is go-mail's SMTP client driven the plain way: MAIL, each
// RCPT, DATA and the body, each waiting for its reply (53 round trips for
// 50 recipients), no NOOP or RSET between messages.
func gomailLoop(addr string, n, batch, conns int, msg []byte) (*result, error) {
	start := time.Now()
	clients := make([]*gosmtp.Client, conns)
	for i := range clients {
		c, err := gosmtp.Dial(addr)
		if err != nil {
			return nil, err
		}
		if err := c.Hello("load.test"); err != nil {
			return nil, err
		}
		defer c.Quit()
		clients[i] = c
	}
	sent, err := batches(n, batch, conns, func(w int, rcpts []string) error {
		c := clients[w]
		if err := c.Mail(baselineFrom); err != nil {
			return err
		}
		for _, r := range rcpts {
			if err := c.Rcpt(r); err != nil {
				return err
			}
		}
		wc, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := wc.Write(msg); err != nil {
			return err
		}
		return wc.Close()
	})
	if err != nil {
		return nil, err
	}
	d := time.Since(start).Seconds()
	return &result{Mode: "gomail", Recipients: int(sent), Seconds: d, PerSecond: float64(sent) / d, PeakRSSMB: peakRSSMB(), CPUSeconds: cpuSeconds()}, nil
}

// pipelined is a bare client using RFC 2920 PIPELINING fully: MAIL, every
// RCPT and DATA go out in one write and their replies are read after; then
// the body and its reply. Two round trips per transaction, whatever its
// recipients: the most a client can get out of this server, the limit
// sitrep is measured against.
func pipelined(addr string, n, batch, conns int, msg []byte) (*result, error) {
	body := dotStuff(msg)
	start := time.Now()
	type conn struct {
		c net.Conn
		r *textprotoReader
		w *bufio.Writer
	}
	cs := make([]conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		cs[i] = conn{c, &textprotoReader{bufio.NewReaderSize(c, 64<<10)}, bufio.NewWriterSize(c, 64<<10)}
		if err := cs[i].r.expect(220); err != nil {
			return nil, err
		}
		fmt.Fprintf(cs[i].w, "EHLO load.test\r\n")
		cs[i].w.Flush()
		ext, err := cs[i].r.reply(250)
		if err != nil {
			return nil, err
		}
		if !strings.Contains(ext, "PIPELINING") {
			return nil, fmt.Errorf("pipelined: the server does not offer PIPELINING")
		}
	}
	sent, err := batches(n, batch, conns, func(w int, rcpts []string) error {
		c := cs[w]
		fmt.Fprintf(c.w, "MAIL FROM:<%s>\r\n", baselineFrom)
		for _, r := range rcpts {
			fmt.Fprintf(c.w, "RCPT TO:<%s>\r\n", r)
		}
		c.w.WriteString("DATA\r\n")
		if err := c.w.Flush(); err != nil {
			return err
		}
		if err := c.r.expect(250); err != nil {
			return fmt.Errorf("MAIL: %w", err)
		}
		for range rcpts {
			if err := c.r.expect(250); err != nil {
				return fmt.Errorf("RCPT: %w", err)
			}
		}
		if err := c.r.expect(354); err != nil {
			return fmt.Errorf("DATA: %w", err)
		}
		c.w.Write(body)
		if err := c.w.Flush(); err != nil {
			return err
		}
		return c.r.expect(250)
	})
	for _, c := range cs {
		c.w.WriteString("QUIT\r\n")
		c.w.Flush()
	}
	if err != nil {
		return nil, err
	}
	d := time.Since(start).Seconds()
	return &result{Mode: "pipelining", Recipients: int(sent), Seconds: d, PerSecond: float64(sent) / d, PeakRSSMB: peakRSSMB(), CPUSeconds: cpuSeconds()}, nil
}

// dotStuff makes msg a DATA body: CRLF line ends, leading dots doubled
// (RFC 5321 4.5.2), and the final "." line.
func dotStuff(msg []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.SplitAfter(msg, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) > 0 && line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return b.Bytes()
}

// textprotoReader reads SMTP replies, multi-line ones whole.
type textprotoReader struct{ r *bufio.Reader }

func (t *textprotoReader) reply(want int) (string, error) {
	var all strings.Builder
	for {
		line, err := t.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) < 4 {
			return "", fmt.Errorf("short reply %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil || code != want {
			return "", fmt.Errorf("reply %q, want %d", strings.TrimSpace(line), want)
		}
		all.WriteString(line[4:])
		if line[3] == ' ' {
			return all.String(), nil
		}
	}
}

func (t *textprotoReader) expect(want int) error { _, err := t.reply(want); return err }
