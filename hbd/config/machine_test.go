package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLoadMachineDiags: the errors about this machine's state (an
// interface, a host name not set yet, an etcd file missing, the ICMP
// socket) are marked Machine, and OnlyMachine holds only when every
// error is of that kind; an error in what the files say (a node name
// that is not this one's, a fence program or a resource script missing,
// an etcd file that has stayed wrong since it changed) is never marked,
// alone or beside one that is.
func TestLoadMachineDiags(t *testing.T) {
	base := "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\n"
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "absent")
	plain := filepath.Join(tmp, "plain")
	cert, key := pemPair(t, "node1")
	_, otherKey := pemPair(t, "node2")
	// The etcd files changed a minute ago: settled, not being written
	// (but for fresh-key.pem and empty.pem).
	settled := time.Now().Add(-time.Minute)
	for name, body := range map[string][]byte{plain: []byte("#!/bin/sh\n"), "cert.pem": cert, "key.pem": key, "other-key.pem": otherKey,
		"fresh-key.pem": otherKey, "empty.pem": nil} {
		path := filepath.Join(tmp, filepath.Base(name))
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		if name != "fresh-key.pem" {
			if err := os.Chtimes(path, settled, settled); err != nil {
				t.Fatal(err)
			}
		}
	}
	etcd := "backend etcd\netcd_endpoints https://127.0.0.1:2379\n"
	inTmp := func(name string) string { return filepath.Join(tmp, name) }
	for _, tc := range []struct {
		name  string
		lines string
		node  string
		icmp  func(bool) error
		// machine and files count the errors of each kind.
		machine, files int
	}{
		{"in order", "", "node1", nil, 0, 0},
		{"an interface missing", "bcast eth7\n", "node1", nil, 1, 0},
		// A name not set yet may be set by the next try; one that is
		// set and not a node is a typo on either side.
		{"this machine's name not set yet", "", "localhost", nil, 1, 0},
		{"the kernel's name not set yet", "", "(none)", nil, 1, 0},
		{"this host not a node", "", "node3", nil, 0, 1},
		{"the fence program missing", "fence_command " + missing + "\n", "node1", nil, 0, 1},
		{"the fence program not executable", "fence_command " + plain + "\n", "node1", nil, 0, 1},
		{"the ICMP socket refused", "ping 10.0.0.1\n", "node1", func(bool) error { return errors.New("operation not permitted") }, 1, 0},
		{"etcd's CA file missing", etcd + "etcd_cacert " + missing + "\n", "node1", nil, 1, 0},
		{"etcd's key missing", etcd + "etcd_cert " + inTmp("cert.pem") + "\netcd_key " + missing + "\n", "node1", nil, 1, 0},
		{"etcd's CA file holds no certificate", etcd + "etcd_cacert " + inTmp("key.pem") + "\n", "node1", nil, 0, 1},
		{"etcd's certificate with another's key", etcd + "etcd_cert " + inTmp("cert.pem") + "\netcd_key " + inTmp("other-key.pem") + "\n", "node1", nil, 0, 1},
		// Not written yet, or still being written: a retry may find it
		// done.
		{"etcd's CA file empty", etcd + "etcd_cacert " + inTmp("empty.pem") + "\n", "node1", nil, 1, 0},
		{"etcd's certificate and key empty", etcd + "etcd_cert " + inTmp("empty.pem") + "\netcd_key " + inTmp("empty.pem") + "\n", "node1", nil, 1, 0},
		{"etcd's key just changed to another's", etcd + "etcd_cert " + inTmp("cert.pem") + "\netcd_key " + inTmp("fresh-key.pem") + "\n", "node1", nil, 1, 0},
		{"a bad value", "keepalive often\n", "node1", nil, 0, 1},
		{"a bad combination", "fence_command /bin/true\nfence_aws stop-instance node1=i-1 node2=i-2\n", "node1", nil, 0, 1},
		{"a bad value and an interface missing", "keepalive often\nbcast eth7\n", "node1", nil, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfig(t, map[string]string{
				HaCfFile:        base + tc.lines,
				AuthkeysFile:    "auth 1\n1 sha1 test-secret-0123456789\n",
				HaresourcesFile: "node1 10.0.0.9\n",
			})
			_, diags := Load(dir, LoadOptions{Node: tc.node, Strict: true, ICMP: tc.icmp,
				Lookup:     Lookup{Agents: hbdAgents},
				Interfaces: func() ([]string, error) { return []string{"lo"}, nil }})
			machine, files := 0, 0
			for _, d := range diags {
				switch {
				case d.Severity != SevError:
					if d.Machine {
						t.Errorf("a warning marked Machine: %s", d)
					}
				case d.Machine:
					machine++
				default:
					files++
				}
			}
			if machine != tc.machine || files != tc.files {
				t.Errorf("%d machine and %d file errors, want %d and %d: %v", machine, files, tc.machine, tc.files, diags)
			}
			if want := tc.machine > 0 && tc.files == 0; OnlyMachine(diags) != want {
				t.Errorf("OnlyMachine = %v, want %v: %v", !want, want, diags)
			}
		})
	}
}
