package main

import (
	"bytes"
	"crypto/x509"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestConfigStatus: a start refused only for this machine's state exits
// 1, which the service manager retries; any error in what the files say
// exits 6, never retried, even beside errors about the machine.
func TestConfigStatus(t *testing.T) {
	file := config.Diag{Severity: config.SevError, Msg: "keepalive: not a duration"}
	machine := config.Diag{Severity: config.SevError, Msg: "bcast: interface eth7 does not exist", Machine: true}
	warning := config.Diag{Severity: config.SevWarning, Msg: "no resource groups"}
	for _, tc := range []struct {
		name  string
		diags []config.Diag
		want  int
	}{
		{"a file error", []config.Diag{file}, exitNotConfigured},
		{"a machine error", []config.Diag{machine}, exitMachineNotReady},
		{"machine errors and a warning", []config.Diag{warning, machine, machine}, exitMachineNotReady},
		{"a file error beside a machine error", []config.Diag{machine, file}, exitNotConfigured},
		{"a file error after a warning", []config.Diag{warning, file}, exitNotConfigured},
		// A refusal with no error line at all (none is made today) is
		// not about the machine: not retried.
		{"no error", []config.Diag{warning}, exitNotConfigured},
		{"nothing", nil, exitNotConfigured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := configStatus(tc.diags); got != tc.want {
				t.Errorf("configStatus = %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRunStatusPerRefusal: `hbd run` refused by its configuration exits
// 1 when every error is about this machine's state (a medium's
// interface or address, a host name not set yet, an etcd file not
// there yet) and 6 when the files say something wrong (a node name
// that is not this node's, a program or a script they name missing, an
// etcd certificate that is not its key's), and its last line says which;
// `hbd check` says the same.
func TestRunStatusPerRefusal(t *testing.T) {
	absent := filepath.Join(t.TempDir(), "absent")
	pki := etcdtest.NewPKI(t, "hbd-exit")
	cert, _ := pki.Issue(t, "solo", x509.ExtKeyUsageClientAuth)
	_, otherKey := pki.Issue(t, "other", x509.ExtKeyUsageClientAuth)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Written a minute ago: settled, not still being written.
	settled := time.Now().Add(-time.Minute)
	for _, f := range []string{cert, otherKey, empty} {
		if err := os.Chtimes(f, settled, settled); err != nil {
			t.Fatal(err)
		}
	}
	etcd := func(lines string) func(map[string]string) {
		return func(f map[string]string) {
			f["ha.cf"] = "node solo\nauto_failback on\nlogfacility none\nbackend etcd\netcd_endpoints https://127.0.0.1:2379\n" + lines
		}
	}
	for _, tc := range []struct {
		name string
		edit func(map[string]string)
		node string
		rc   int
		want string
	}{
		{"an unknown directive", withHacf("no_such_directive 1"), "solo", exitNotConfigured, `unknown directive "no_such_directive"`},
		{"a short key", withAuthkeys("auth 1\n1 sha1 short\n"), "solo", exitNotConfigured, "the secret has 5 characters"},
		{"an interface missing", withHacf("bcast nosuchif0"), "solo", exitMachineNotReady, "interface nosuchif0 does not exist on this machine"},
		{"no broadcast address", withHacf("bcast lo"), "solo", exitMachineNotReady, "interface lo has no IPv4 broadcast address"},
		{"a local address missing", withHacf("ucast lo 127.0.0.2 192.0.2.77"), "solo", exitMachineNotReady, "local address 192.0.2.77 is not an address of this machine"},
		{"this machine's name not set yet", nil, "localhost", exitMachineNotReady, `this machine's name is "localhost"`},
		{"this node not in ha.cf", nil, "other", exitNotConfigured, `this node "other" is not listed`},
		{"a typo in the node line", func(f map[string]string) {
			f["ha.cf"] = strings.Replace(f["ha.cf"], "node solo\n", "node sol\n", 1)
		}, "solo", exitNotConfigured, `this node "solo" is not listed in a ` + "`node`" + ` line (nodes: sol)`},
		{"the fence program missing", withHacf("fence_command " + absent), "solo", exitNotConfigured, "fence_command: program " + absent + " does not exist"},
		{"a resource not UTF-8", func(f map[string]string) { f["haresources"] = "solo IPaddr2::10.0.0.9 svc::caf\xe9\n" }, "solo", exitNotConfigured, `haresources:1: resource "svc::caf\xe9" is not UTF-8 text`},
		{"a resource script missing", func(f map[string]string) { f["haresources"] = "solo nosuchscript\n" }, "solo", exitNotConfigured, "cannot locate resource script nosuchscript"},
		{"etcd's certificate not there yet", etcd("etcd_cert " + absent + "\netcd_key " + otherKey + "\n"), "solo", exitMachineNotReady, "etcd_cert: open " + absent},
		{"etcd's certificate with another's key", etcd("etcd_cert " + cert + "\netcd_key " + otherKey + "\n"), "solo", exitNotConfigured, "they must be a PEM certificate and its own key"},
		{"etcd's certificate empty, not written yet", etcd("etcd_cert " + empty + "\netcd_key " + otherKey + "\n"), "solo", exitMachineNotReady, empty + " is empty: it may still be being written"},
		{"an interface missing and an unknown directive", func(f map[string]string) {
			withHacf("bcast nosuchif0")(f)
			withHacf("no_such_directive 1")(f)
		}, "solo", exitNotConfigured, `unknown directive "no_such_directive"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := maps.Clone(soloFiles)
			if tc.edit != nil {
				tc.edit(files)
			}
			dir := testenv.WriteConfigDir(t, files)
			var out, errOut bytes.Buffer
			rc := runRun([]string{"-c", dir, "--node", tc.node, "--run-dir", t.TempDir(), "--state-dir", t.TempDir()}, &out, &errOut)
			e := errOut.String()
			if rc != tc.rc || !strings.Contains(e, tc.want) {
				t.Fatalf("run: exit %d, want %d saying %q; stderr:\n%s", rc, tc.rc, tc.want, e)
			}
			last := "hbd: configuration error, not started"
			if tc.rc == exitMachineNotReady {
				last = "hbd: this machine is not ready for the configuration, not started (exit status 1: a service manager may retry)"
			}
			if !strings.HasSuffix(e, last+"\n") {
				t.Errorf("run's stderr does not end with %q:\n%s", last, e)
			}
			var checkOut, checkErr bytes.Buffer
			if rc := runCheck([]string{"-c", dir, "--node", tc.node}, &checkOut, &checkErr); rc != 1 || !strings.Contains(checkErr.String(), tc.want) {
				t.Errorf("check: exit %d, want 1 saying %q; stderr:\n%s", rc, tc.want, checkErr.String())
			}
		})
	}
}

// TestRunStatusFileRefusal: `hbd run` refused for a file of its run or
// state directory that a retry would meet again (a state file it cannot
// read back, a lock file or a directory that is not what it should be)
// exits 6, which the service manager does not retry, and says so.
func TestRunStatusFileRefusal(t *testing.T) {
	write := func(name, text string) func(*testing.T, string) {
		return func(t *testing.T, state string) {
			if err := os.WriteFile(filepath.Join(state, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		state func(t *testing.T, state string)
		want  string
	}{
		{"hb_uuid cut short", write("hb_uuid", "abc"), "hb_uuid: 3 bytes, want a 16-byte node uuid"},
		{"hb_generation not a number", write("hb_generation", "twelve\n"), `generation "twelve" is not a number`},
		{"a directory instead of the lock file", func(t *testing.T, state string) {
			if err := os.Mkdir(filepath.Join(state, daemon.StateLockName), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "hbd.lock is a directory, not a file"},
		{"a file instead of the state directory", func(t *testing.T, state string) {
			if err := os.Remove(state); err != nil {
				t.Fatal(err)
			}
			write(filepath.Base(state), "")(t, filepath.Dir(state))
		}, "is not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testenv.WriteConfigDir(t, soloFiles)
			state := t.TempDir()
			tc.state(t, state)
			var out, errOut bytes.Buffer
			rc := runRun([]string{"-c", dir, "--node", "solo", "--run-dir", t.TempDir(), "--state-dir", state}, &out, &errOut)
			e := errOut.String()
			if rc != exitNotConfigured || !strings.Contains(e, tc.want) || !strings.HasSuffix(e, "a retry would meet the same; fix or remove the file named above\n") {
				t.Errorf("run: exit %d, want %d saying %q and that a retry would meet the same; stderr:\n%s", rc, exitNotConfigured, tc.want, e)
			}
		})
	}
}
