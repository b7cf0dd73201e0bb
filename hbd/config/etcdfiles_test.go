package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pemPair returns a self-signed certificate and its key, as PEM.
func pemPair(t *testing.T, name string) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// TestLoadEtcdFiles: the files of etcd_cacert, etcd_cert and etcd_key
// are checked where hbd runs: a missing one, a CA file without a
// certificate, a certificate with another's key are errors on their
// line (warnings for harc, nothing for another machine's files); a key
// others may read is a warning.
func TestLoadEtcdFiles(t *testing.T) {
	cert, key := pemPair(t, "node1")
	_, otherKey := pemPair(t, "node2")
	// ha.cf lines 6, 7 and 8 name the files.
	const hacf = "node node1 node2\nauto_failback on\nbackend etcd\netcd_endpoints https://127.0.0.1:2379\nresource_timeout 10\n" +
		"etcd_cacert DIR/ca.pem\netcd_cert DIR/node1.pem\netcd_key DIR/node1-key.pem\n"
	type file struct {
		body []byte
		mode os.FileMode
	}
	good := map[string]file{"ca.pem": {cert, 0o644}, "node1.pem": {cert, 0o644}, "node1-key.pem": {key, 0o600}}
	with := func(name string, f *file) map[string]file {
		m := map[string]file{}
		for k, v := range good {
			m[k] = v
		}
		if f == nil {
			delete(m, name)
		} else {
			m[name] = *f
		}
		return m
	}
	tests := []struct {
		name        string
		files       map[string]file
		strict, any bool
		want        []want
	}{
		{"in order", good, true, false, nil},
		{"no CA file", with("ca.pem", nil), true, false, []want{e(6, "such file or directory: copy there the certificate of the CA")}},
		{"a key as the CA", with("ca.pem", &file{key, 0o644}), true, false, []want{e(6, "no PEM certificate in it")}},
		{"no certificate", with("node1.pem", nil), true, false, []want{e(7, "etcd_cert: open ")}},
		{"no key", with("node1-key.pem", nil), true, false, []want{e(8, "etcd_key: open ")}},
		{"another's key", with("node1-key.pem", &file{otherKey, 0o600}), true, false, []want{e(7, "must be a PEM certificate and its own key")}},
		{"key readable by others", with("node1-key.pem", &file{key, 0o644}), true, false, []want{w(8, "mode 0644 lets group/others read")}},
		{"harc: warnings", with("ca.pem", nil), false, false, []want{w(6, "etcd_cacert: open ")}},
		{"another machine's files", map[string]file{}, true, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := t.TempDir()
			for name, f := range tt.files {
				if err := os.WriteFile(filepath.Join(files, name), f.body, f.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Join(files, name), f.mode); err != nil {
					t.Fatal(err)
				}
			}
			dir := writeConfig(t, map[string]string{
				HaCfFile:         strings.ReplaceAll(hacf, "DIR", files),
				AuthkeysFile:     "auth 1\n1 sha1 test-secret-0123456789\n",
				HaresourcesFile:  "node1 web\n",
				"resource.d/web": "#!/bin/sh\n",
			})
			cfg, diags := Load(dir, LoadOptions{Node: "node1", Strict: tt.strict, AnyMachine: tt.any})
			if cfg != nil {
				// The etcd user is the common name of the certificate
				// checked with its key; none when not checked here.
				user := "node1"
				if tt.any {
					user = ""
				}
				if cfg.Etcd.User != user {
					t.Errorf("Etcd.User = %q, want %q", cfg.Etcd.User, user)
				}
			}
			var ds []Diag
			for _, d := range diags {
				if d.Pos.File == filepath.Join(dir, HaCfFile) {
					ds = append(ds, d)
				}
			}
			checkDiags(t, ds, tt.want)
		})
	}
}
