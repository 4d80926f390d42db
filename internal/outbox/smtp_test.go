package outbox

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A scripted server that reads every RCPT of the transaction before it
// answers the first: a client that waited for each reply would hang here
// until its timeout. The replies (one refused for good, one for now) must
// come back to the right recipients.
func TestPipelinedRcptRepliesGoToTheirRecipients(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	to := []string{"a@example.test", "b@example.test", "c@example.test", "d@example.test"}
	replies := []string{"250 ok", "550 5.1.1 no such user", "451 4.3.0 try later", "250 ok"}
	served := make(chan error, 1)
	go func() { served <- scriptedServer(ln, to, replies) }()

	host, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	pool, err := NewPool(SMTPConfig{Host: host, Port: p, TLS: "none", Concurrency: 1, Timeout: 5 * time.Second, HELO: "sitrep.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	perRcpt, err := pool.Send(context.Background(), "status@sitrep.test", to, []byte("Subject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	want := []int{0, 550, 451, 0}
	for i, code := range want {
		var se *SMTPError
		switch {
		case code == 0 && perRcpt[i] != nil:
			t.Errorf("%s: want accepted, got %v", to[i], perRcpt[i])
		case code != 0 && (!errors.As(perRcpt[i], &se) || se.Code != code):
			t.Errorf("%s: want %d, got %v", to[i], code, perRcpt[i])
		}
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

func scriptedServer(ln net.Listener, to, replies []string) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		return strings.TrimRight(s, "\r\n"), err
	}
	reply := func(s string) { conn.Write([]byte(s + "\r\n")) }
	reply("220 scripted ESMTP")
	if l, err := line(); err != nil || !strings.HasPrefix(l, "EHLO") {
		return errors.New("want EHLO, got " + l)
	}
	reply("250-scripted\r\n250 PIPELINING")
	if l, err := line(); err != nil || !strings.HasPrefix(l, "MAIL FROM:") {
		return errors.New("want MAIL, got " + l)
	}
	reply("250 ok")
	for _, addr := range to { // all of them before any reply
		if l, err := line(); err != nil || l != "RCPT TO:<"+addr+">" {
			return errors.New("want RCPT of " + addr + ", got " + l)
		}
	}
	for _, s := range replies {
		reply(s)
	}
	if l, err := line(); err != nil || l != "DATA" {
		return errors.New("want DATA, got " + l)
	}
	reply("354 go on")
	for {
		l, err := line()
		if err != nil {
			return err
		}
		if l == "." {
			break
		}
	}
	reply("250 queued")
	return nil
}
