package etcdown

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/hbdproject/hbd/hbd/config"
)

// The etcd client dials in the background: a wrong CA or a missing
// client certificate would only show as requests timing out. Dial checks
// the TLS set-up first, so that such a mistake is an error that says
// what is wrong.

// Dial returns a client for ha.cf's etcd_ lines. It fails when the
// client configuration is wrong (a TLS file, a certificate every
// reachable endpoint refuses), not when etcd does not answer: the loop
// waits for it.
func Dial(ctx context.Context, c *config.Config) (*clientv3.Client, error) {
	cc, err := ClientConfig(c)
	if err != nil {
		return nil, err
	}
	if err := ProbeTLS(ctx, cc); err != nil {
		return nil, err
	}
	cc.Logger = zap.NewNop()
	cli, err := clientv3.New(cc)
	if err != nil {
		return nil, fmt.Errorf("etcd client: %w", err)
	}
	return cli, nil
}

// ProbeTLS connects to each endpoint of cc and, for https ones, makes the
// TLS handshake as the client will. It fails when an endpoint was
// reached and none accepted the handshake: the error names each
// endpoint, what went wrong and which file to look at. Endpoints that do
// not answer are no error (etcd may come later).
func ProbeTLS(ctx context.Context, cc clientv3.Config) error {
	var errs []error
	accepted := false
	for _, ep := range cc.Endpoints {
		err := probe(ctx, ep, cc.TLS)
		switch {
		case err == nil:
			accepted = true
		case errors.Is(err, errUnreachable):
		default:
			errs = append(errs, err)
		}
	}
	if accepted || len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

var errUnreachable = errors.New("unreachable")

// probeTimeout bounds each endpoint's connection and handshake.
const probeTimeout = 3 * time.Second

func probe(ctx context.Context, ep string, tc *tls.Config) error {
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return fmt.Errorf("etcd endpoint %s: not a URL", ep)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return errUnreachable
	}
	defer raw.Close()
	if u.Scheme != "https" && u.Scheme != "unixs" {
		return nil
	}
	if tc == nil {
		// No etcd_ TLS file: the client trusts the system's CAs.
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tc = tc.Clone()
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	conn := tls.Client(raw, tc)
	if err := conn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("etcd endpoint %s: TLS handshake: %w%s", ep, err, hint(err))
	}
	// With TLS 1.3 the server judges the client's certificate after the
	// handshake: its alert, if any, comes with the first read. A server
	// content with it says nothing: the read times out.
	deadline := time.Now().Add(probeTimeout / 3)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetReadDeadline(deadline)
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return fmt.Errorf("etcd endpoint %s: refused this node's certificate: %w%s", ep, err, hint(err))
	}
	return nil
}

// hint says which ha.cf line a TLS error points to.
func hint(err error) string {
	var unknown x509.UnknownAuthorityError
	var invalid x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return " (etcd_cacert must be the CA that signed the etcd members' certificates)"
	case errors.As(err, &invalid):
		return " (the endpoint's host must be named in the member's certificate)"
	case strings.Contains(err.Error(), "remote error: tls:"):
		// The server's alert (crypto/tls keeps its type unexported).
		return " (etcd_cert and etcd_key must be a client certificate signed by a CA the etcd members trust)"
	}
	return ""
}
