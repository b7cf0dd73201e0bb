package etcdtest

import (
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
	"sync"
	"testing"
	"time"
)

// PKI is a CA and the certificates it signed, as PEM files in a test's
// directory, for members started with TLS and their clients. With
// etcd's authentication on, a client certificate's common name is its
// etcd user.
type PKI struct {
	// CACert is the CA's certificate file.
	CACert string

	dir   string
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey

	mu     sync.Mutex
	serial int64
}

// NewPKI makes a CA named name in a directory of t's.
func NewPKI(t testing.TB, name string) *PKI {
	t.Helper()
	p := &PKI{dir: t.TempDir(), serial: 1}
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
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caKey = key
	p.CACert = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

// Members returns the TLS of members whose certificate (for 127.0.0.1,
// good for server and client use: members are their peers' clients)
// this CA signed.
func (p *PKI) Members(t testing.TB) *TLS {
	t.Helper()
	cert, key := p.Issue(t, "etcd", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	return &TLS{CACert: p.CACert, ServerCert: cert, ServerKey: key}
}

// Issue signs a certificate named name (its common name), for
// 127.0.0.1 and localhost, with the given uses, and writes it and its
// key (mode 0600).
func (p *PKI) Issue(t testing.TB, name string, use ...x509.ExtKeyUsage) (cert, key string) {
	t.Helper()
	p.mu.Lock()
	p.serial++
	serial := p.serial
	p.mu.Unlock()
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

func genKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (p *PKI) write(t testing.TB, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
