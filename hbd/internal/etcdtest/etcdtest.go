// Package etcdtest starts an etcd cluster in the test's process, for the
// tests of the etcd backend (hbd/etcdown, hbd/daemon): three members on
// loopback ports, their data in a temporary directory, with short
// timings (heartbeat 50 ms, election 500 ms) and no fsync, so that a
// cluster is up in about a second. A stall of the members' process
// longer than the election timeout (a loaded machine, go test -race)
// makes a follower call an election, and no request is answered until
// it ends: the timeout is kept above such stalls, and well below the
// lease TTLs of the tests. Members can be stopped and
// started again with their data; TLS makes them serve clients and peers
// only over TLS and require a client certificate.
package etcdtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// TLS names the PEM files the members serve with: the CA that signed
// every certificate, and the members' certificate and key (for
// 127.0.0.1, good for server and client use: they are their peers'
// clients too).
type TLS struct {
	CACert, ServerCert, ServerKey string
}

// Cluster is three etcd members in this process.
type Cluster struct {
	dir     string
	cports  []int
	pports  []int
	members []*embed.Etcd
	tls     *TLS
}

// Start starts a cluster (tls nil: plain http) in a directory of t's,
// stopped when t ends.
func Start(t testing.TB, tls *TLS) *Cluster {
	t.Helper()
	c, err := New(t.TempDir(), tls)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.StopAll)
	return c
}

// New starts a cluster with its data under dir (tls nil: plain http).
// A free port may be taken by another process before a member binds it:
// it tries again with new ports, up to three times.
func New(dir string, tls *TLS) (*Cluster, error) {
	for try := 1; ; try++ {
		c := &Cluster{dir: filepath.Join(dir, fmt.Sprintf("try%d", try)), members: make([]*embed.Etcd, 3), tls: tls}
		for range 3 {
			cp, err := freePort()
			if err != nil {
				return nil, err
			}
			pp, err := freePort()
			if err != nil {
				return nil, err
			}
			c.cports, c.pports = append(c.cports, cp), append(c.pports, pp)
		}
		err := c.start("new")
		if err == nil {
			return c, nil
		}
		c.StopAll()
		if try == 3 || !strings.Contains(err.Error(), "address already in use") {
			return nil, err
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) url(port int) url.URL {
	scheme := "http"
	if c.tls != nil {
		scheme = "https"
	}
	return url.URL{Scheme: scheme, Host: fmt.Sprintf("127.0.0.1:%d", port)}
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, p := range c.cports {
		u := c.url(p)
		out = append(out, u.String())
	}
	return out
}

func (c *Cluster) config(i int, state string) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = fmt.Sprintf("m%d", i)
	cfg.Dir = filepath.Join(c.dir, cfg.Name)
	cu, pu := c.url(c.cports[i]), c.url(c.pports[i])
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	var initial []string
	for j, p := range c.pports {
		u := c.url(p)
		initial = append(initial, fmt.Sprintf("m%d=%s", j, u.String()))
	}
	cfg.InitialCluster = strings.Join(initial, ",")
	cfg.InitialClusterToken = "hbd-test"
	cfg.ClusterState = state
	cfg.TickMs, cfg.ElectionMs = 50, 500
	cfg.UnsafeNoFsync = true
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	if p := c.tls; p != nil {
		info := transport.TLSInfo{CertFile: p.ServerCert, KeyFile: p.ServerKey, TrustedCAFile: p.CACert, ClientCertAuth: true}
		cfg.ClientTLSInfo, cfg.PeerTLSInfo = info, info
	}
	return cfg
}

// StartAll starts every member again with its data, after StopAll, and
// waits until they serve.
func (c *Cluster) StartAll() error { return c.start("existing") }

// start starts every member (state "new" the first time, "existing"
// after StopAll) and waits until they serve.
func (c *Cluster) start(state string) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	for i := range c.members {
		e, err := embed.StartEtcd(c.config(i, state))
		if err != nil {
			return fmt.Errorf("start etcd member %d: %w", i, err)
		}
		c.members[i] = e
	}
	for i, e := range c.members {
		select {
		case <-e.Server.ReadyNotify():
		case <-time.After(20 * time.Second):
			return fmt.Errorf("etcd member %d not ready in 20s", i)
		}
	}
	return nil
}

// Leader is the index of the member that leads.
func (c *Cluster) Leader() (int, error) {
	for i, e := range c.members {
		if e != nil && e.Server.Leader() == e.Server.MemberID() {
			return i, nil
		}
	}
	return -1, errors.New("no etcd member leads")
}

// Stop stops member i. A member that never became ready (no quorum: the
// others did not start, or not in time on a loaded machine) has its
// server stopped first: embed.Etcd.Close waits for the member to serve
// clients before it stops the server, which such a member never does.
func (c *Cluster) Stop(i int) {
	if e := c.members[i]; e != nil {
		select {
		case <-e.Server.ReadyNotify():
		default:
			e.Server.HardStop() // Close stops it again: a no-op then
		}
		e.Close()
		c.members[i] = nil
	}
}

// StopAll stops every member.
func (c *Cluster) StopAll() {
	for i := range c.members {
		c.Stop(i)
	}
}
