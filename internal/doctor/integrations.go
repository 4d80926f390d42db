package doctor

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// Verifier is an adapter's side-effect-free login (caldav.Calendar,
// google.Delegation).
type Verifier interface {
	Verify(ctx context.Context) error
}

// CredentialCheck reports one Verifier: What names what it logs in to,
// Fix what to do when it fails.
type CredentialCheck struct {
	Area, Name, What, Fix string
	Verifier              Verifier
	Timeout               time.Duration // 0: 20 s
}

func (c CredentialCheck) Check(ctx context.Context) Result {
	t := c.Timeout
	if t <= 0 {
		t = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	if err := c.Verifier.Verify(ctx); err != nil {
		return Result{Area: c.Area, Name: c.Name, Status: Fail, Detail: c.What + ": " + oneLine(err.Error()), Fix: c.Fix}
	}
	return Result{Area: c.Area, Name: c.Name, Status: OK, Detail: c.What + ": logged in"}
}

// Reachability checks that a service answers a TCP (and TLS) connection;
// for chat, where a test post would be seen by a whole channel.
type Reachability struct {
	Area, Name, Addr string
	TLS              bool
	What, Fix        string
	Timeout          time.Duration // 0: 10 s
}

func (c Reachability) Check(ctx context.Context) Result {
	t := c.Timeout
	if t <= 0 {
		t = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	d := &net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return Result{Area: c.Area, Name: c.Name, Status: Fail, Detail: c.What + ": cannot reach " + c.Addr + ": " + oneLine(err.Error()), Fix: c.Fix}
	}
	defer conn.Close()
	if c.TLS {
		host, _, _ := net.SplitHostPort(c.Addr)
		tc := tls.Client(conn, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			return Result{Area: c.Area, Name: c.Name, Status: Fail, Detail: c.What + ": TLS with " + c.Addr + ": " + oneLine(err.Error()), Fix: c.Fix}
		}
	}
	return Result{Area: c.Area, Name: c.Name, Status: OK, Detail: c.What + ": " + c.Addr + " reachable (nothing posted)"}
}
