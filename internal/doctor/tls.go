package doctor

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// tlsSeen keeps the connection state of a handshake for the report.
type tlsSeen struct{ state *tls.ConnectionState }

func (s Server) tlsConfig(seen *tlsSeen) *tls.Config {
	return &tls.Config{ServerName: s.Host, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12,
		// Called after the usual verification (or instead of it, with
		// InsecureSkipVerify): it only keeps what was seen.
		VerifyConnection: func(cs tls.ConnectionState) error { seen.state = &cs; return nil }}
}

// loopback reports whether host is a loopback name or address, where
// plaintext does not cross a network.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// certResult describes the server's certificate: who it is for, who
// issued it, when it expires; a warning when verification was turned off
// (and whether it would have passed) or expiry is near.
func certResult(area, name string, s Server, seen *tlsSeen, now time.Time) Result {
	res := Result{Area: area, Name: name, Status: OK}
	if seen.state == nil || len(seen.state.PeerCertificates) == 0 {
		res.Detail = "TLS negotiated; no certificate seen"
		return res
	}
	leaf := seen.state.PeerCertificates[0]
	names := leaf.DNSNames
	if len(names) == 0 {
		names = []string{leaf.Subject.CommonName}
	}
	res.Detail = fmt.Sprintf("%s, certificate for %s issued by %s, valid until %s", tls.VersionName(seen.state.Version),
		joinMax(names, ", ", 3), leaf.Issuer.CommonName, leaf.NotAfter.UTC().Format("2006-01-02"))
	if s.InsecureSkipVerify {
		res.Status = Warn
		inter := x509.NewCertPool()
		for _, c := range seen.state.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: s.Host, Intermediates: inter, CurrentTime: now}); err != nil {
			res.Detail += "; NOT verified (insecure_skip_verify), and it would fail: " + oneLine(err.Error())
			res.Fix = "give the server a certificate for " + s.Host + " from a public CA (or add its CA to the system's trust store), then turn insecure_skip_verify off"
		} else {
			res.Detail += "; it verifies, yet insecure_skip_verify is on"
			res.Fix = "turn " + area + " insecure_skip_verify off: anyone on the path could read the password otherwise"
		}
		return res
	}
	if left := leaf.NotAfter.Sub(now); left < 14*24*time.Hour {
		res.Status = Warn
		res.Fix = "the certificate expires in " + left.Round(time.Hour).String() + ": renew it"
	}
	return res
}

// tlsFix says what to do about a failed TLS handshake.
func tlsFix(area string, s Server, err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "certificate is valid for"), strings.Contains(msg, "not valid for"):
		return "mail." + area + ".host must be a name on the server's certificate (the error says which names it has)"
	case strings.Contains(msg, "unknown authority"), strings.Contains(msg, "signed by unknown"):
		return "the certificate is not from a CA this machine trusts: use the provider's public host name, or add the CA to the system trust store"
	case strings.Contains(msg, "expired"):
		return "the server's certificate has expired: renew it"
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return "the port speaks plaintext: with mail." + area + ".tls: tls use the implicit-TLS port (465 SMTP, 993 IMAP), or set tls: starttls"
	}
	return "check mail." + area + ".tls (tls on " + map[string]string{"smtp": "465", "imap": "993"}[area] + ", starttls on " + map[string]string{"smtp": "587", "imap": "143"}[area] + ")"
}
