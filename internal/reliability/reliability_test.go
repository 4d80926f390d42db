package reliability

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestReadMessageID(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"From: a@b\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n", "<x@y>"},
		{"message-id:   <lower@y>  \r\nSubject: s\r\n\r\n", "<lower@y>"},
		{"Subject: none\r\n\r\nMessage-ID: <in-body@y>\r\n", ""},
		{"Subject: " + strings.Repeat("x", 20000) + "\r\nMessage-ID: <after-long@y>\r\n\r\n", "<after-long@y>"},
	} {
		got, err := readMessageID(strings.NewReader(c.in))
		if err != nil || got != c.want {
			t.Errorf("readMessageID(%.40q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestProxyCutAndRestore: a cut closes the open connection and refuses new
// ones; after Restore connections go through again.
func TestProxyCutAndRestore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(c, c) // echo
		}
	}()
	p, err := StartProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	echo := func(c net.Conn) error {
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		b := make([]byte, 4)
		_, err := io.ReadFull(c, b)
		return err
	}
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := echo(c); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if n := p.Cut(); n != 1 {
		t.Errorf("Cut closed %d connections, want 1", n)
	}
	if err := echo(c); err == nil {
		t.Error("the cut connection still echoes")
	}
	c2, err := net.Dial("tcp", p.Addr)
	if err == nil {
		if echo(c2) == nil {
			t.Error("a new connection went through while cut")
		}
		c2.Close()
	}
	p.Restore()
	c3, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := echo(c3); err != nil {
		t.Fatalf("after Restore: %v", err)
	}
}
