package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"
)

// etcdFileSettle is how long after its last change an etcd TLS file that
// is wrong may still be being written: an agent that writes a
// certificate in place, or a rotation that writes the certificate and
// then the key, leaves a file empty, cut short or not its pair's for a
// moment. Longer than the few seconds between two of the unit's starts
// (RestartSec), so that the next start sees the file settled.
const etcdFileSettle = 10 * time.Second

// checkEtcdFiles checks the files that etcd_cacert, etcd_cert and
// etcd_key name, on this machine: `hbd run` loads them before it talks
// to etcd, and a file missing or not what its line says would only show
// then. Errors when strict (check, run), warnings otherwise (harc, which
// does not use them); nothing for files meant for another machine
// (`hbd check --files-only`). A file that is not there yet, or not
// written yet (writing), is about this machine's state (Diag.Machine:
// an agent may write it a moment later); one that has stayed wrong
// since its last change (no certificate in it, a certificate and a key
// that do not match) is an error in the files.
func checkEtcdFiles(hacfPath string, p *hacfParser, opts LoadOptions) []Diag {
	c := p.c
	if c.Backend != BackendEtcd || opts.AnyMachine {
		return nil
	}
	d := diags{file: hacfPath}
	missing, wrong := d.warnf, d.warnf
	if opts.Strict {
		missing, wrong = d.machinef, d.errorf
	}
	// wrongFiles reports what is wrong with paths: about the machine
	// while one of them may still be being written.
	now := time.Now()
	wrongFiles := func(line int, msg string, paths ...string) {
		for _, path := range paths {
			if why := writing(path, now); why != "" {
				missing(line, "%s (%s: it may still be being written)", msg, why)
				return
			}
		}
		wrong(line, "%s", msg)
	}
	if path := c.Etcd.CACert; path != "" {
		b, err := os.ReadFile(path)
		switch {
		case err != nil:
			missing(p.seen["etcd_cacert"], "etcd_cacert: %v: copy there the certificate of the CA that signed the etcd members' certificates", err)
		case !x509.NewCertPool().AppendCertsFromPEM(b):
			wrongFiles(p.seen["etcd_cacert"], fmt.Sprintf("etcd_cacert %s: no PEM certificate in it: it must be the CA's certificate (ca.pem), not a key or a request", path), path)
		}
	}
	if c.Etcd.Cert == "" || c.Etcd.Key == "" {
		return d.list // neither, or one alone: an error of finishEtcd
	}
	cert, certErr := os.ReadFile(c.Etcd.Cert)
	if certErr != nil {
		missing(p.seen["etcd_cert"], "etcd_cert: %v: copy there this node's client certificate, signed by the CA the etcd members trust", certErr)
	}
	key, keyErr := os.ReadFile(c.Etcd.Key)
	if keyErr != nil {
		missing(p.seen["etcd_key"], "etcd_key: %v: copy there the key of this node's client certificate (etcd_cert)", keyErr)
	}
	if certErr == nil && keyErr == nil {
		if pair, err := tls.X509KeyPair(cert, key); err != nil {
			wrongFiles(p.seen["etcd_cert"], fmt.Sprintf("etcd_cert %s and etcd_key %s: %v: they must be a PEM certificate and its own key", c.Etcd.Cert, c.Etcd.Key, err),
				c.Etcd.Cert, c.Etcd.Key)
		} else if pair.Leaf != nil {
			c.Etcd.User = pair.Leaf.Subject.CommonName
		}
	}
	if fi, err := os.Stat(c.Etcd.Key); err == nil {
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			d.warnf(p.seen["etcd_key"], "etcd_key %s: mode %04o lets group/others read this node's private key; chmod 600 %s", c.Etcd.Key, perm, c.Etcd.Key)
		}
	}
	return d.list
}

// writing says why the file at path may not be written yet: it is empty,
// or it changed less than etcdFileSettle before now. "" when neither.
func writing(path string, now time.Time) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	// A time ahead of the clock is no sign of a write under way: the
	// file was written before the clock was set back (a machine without
	// a real-time clock, at boot).
	age := now.Sub(fi.ModTime())
	switch {
	case fi.Size() == 0:
		return path + " is empty"
	case age >= 0 && age < etcdFileSettle:
		return fmt.Sprintf("%s changed %s ago", path, age.Round(time.Second))
	}
	return ""
}
