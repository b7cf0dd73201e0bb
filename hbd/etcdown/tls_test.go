package etcdown

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// testPKI is a CA and the certificates it signed, as PEM files: the etcd
// members' (server and peer, for 127.0.0.1) and an hbd node's (client).
type testPKI struct {
	*etcdtest.PKI
	members               *etcdtest.TLS
	clientCert, clientKey string
}

// newPKI makes a CA and, signed by it, the members' and a client
// certificate.
func newPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	p := &testPKI{PKI: etcdtest.NewPKI(t, name)}
	p.members = p.Members(t)
	p.clientCert, p.clientKey = p.Issue(t, "hbd-node", x509.ExtKeyUsageClientAuth)
	return p
}

// tlsConfig is the configuration of ha.cf's etcd_ lines.
func tlsConfig(endpoints []string, cacert, cert, key string) *config.Config {
	return &config.Config{Etcd: config.Etcd{Endpoints: endpoints, CACert: cacert, Cert: cert, Key: key}}
}

// TestTLS: against members that serve only TLS and require a client
// certificate, a node configured with etcd_cacert, etcd_cert and etcd_key
// owns its groups; a wrong CA, or no client certificate, is a clear
// error.
func TestTLS(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "hbd-test")
	c := etcdtest.Start(t, pki.members)
	eps := c.Endpoints()
	for _, ep := range eps {
		if !strings.HasPrefix(ep, "https://") {
			t.Fatalf("endpoint %s is not TLS", ep)
		}
	}

	cli, err := Dial(context.Background(), tlsConfig(eps, pki.CACert, pki.clientCert, pki.clientKey))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	rec := &record{}
	o := Options{Node: "n1", Nodes: []string{"n1"}, Prefix: "/hbd/", TTL: testTTL, SlowestStop: testStop,
		Interval: testInterval, Runner: &fakeRunner{node: "n1", rec: rec}, Groups: []cluster.PlacedGroup{placed("g1", "n1")}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = New(cli, o).Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, testMove, "n1 runs g1 over TLS", func() bool { return rec.running()["g1"] == "n1" })

	other := newPKI(t, "another")
	for _, tt := range []struct {
		name              string
		cacert, cert, key string
		want              string
	}{
		{"a CA that did not sign the servers' certificates", other.CACert, pki.clientCert, pki.clientKey, "certificate signed by unknown authority"},
		{"no etcd_ TLS file: the system's CAs", "", "", "", "certificate signed by unknown authority"},
		{"no client certificate", pki.CACert, "", "", "certificate required"},
		{"a client certificate of another CA", pki.CACert, other.clientCert, other.clientKey, "etcd_cert"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cli, err := Dial(context.Background(), tlsConfig(eps, tt.cacert, tt.cert, tt.key))
			if err == nil {
				cli.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), eps[0]) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, eps[0], tt.want)
			}
			t.Logf("%v", err)
		})
	}
}
