package etcdown

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// testPKI is a CA and the certificates it signed, as PEM files: the etcd
// members' (server and peer, for 127.0.0.1) and an hbd node's (client).
type testPKI struct {
	caCert                string
	serverCert, serverKey string
	clientCert, clientKey string
	ca                    *x509.Certificate
	caKey                 *ecdsa.PrivateKey
	dir                   string
}

// newPKI makes a CA and, signed by it, a server and a client certificate.
func newPKI(t *testing.T, name string) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir()}
	key := genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p.ca, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p.caKey = key
	p.caCert = p.write(t, "ca.pem", "CERTIFICATE", der)
	p.serverCert, p.serverKey = p.issue(t, "etcd", 2, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	p.clientCert, p.clientKey = p.issue(t, "hbd-node", 3, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth})
	return p
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue signs a certificate for 127.0.0.1 with the given uses and writes
// it and its key.
func (p *testPKI) issue(t *testing.T, name string, serial int64, use []x509.ExtKeyUsage) (cert, key string) {
	t.Helper()
	k := genKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: use,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &k.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, name+".pem", "CERTIFICATE", der), p.write(t, name+"-key.pem", "EC PRIVATE KEY", kder)
}

func (p *testPKI) write(t *testing.T, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
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
	c := etcdtest.Start(t, &etcdtest.TLS{CACert: pki.caCert, ServerCert: pki.serverCert, ServerKey: pki.serverKey})
	eps := c.Endpoints()
	for _, ep := range eps {
		if !strings.HasPrefix(ep, "https://") {
			t.Fatalf("endpoint %s is not TLS", ep)
		}
	}

	cli, err := Dial(context.Background(), tlsConfig(eps, pki.caCert, pki.clientCert, pki.clientKey))
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
		{"a CA that did not sign the servers' certificates", other.caCert, pki.clientCert, pki.clientKey, "certificate signed by unknown authority"},
		{"no etcd_ TLS file: the system's CAs", "", "", "", "certificate signed by unknown authority"},
		{"no client certificate", pki.caCert, "", "", "certificate required"},
		{"a client certificate of another CA", pki.caCert, other.clientCert, other.clientKey, "etcd_cert"},
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
