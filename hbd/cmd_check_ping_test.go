package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// hbdHelperEnv makes this test binary hbd itself (TestHbdHelper), so
// that a test can run hbd as a process of its own: here under setpriv,
// without a capability.
const hbdHelperEnv = "HBD_TEST_BE_HBD"

// TestHbdHelper is hbd, given its arguments after "--", when
// hbdHelperEnv is set; a helper of other tests otherwise.
func TestHbdHelper(t *testing.T) {
	if os.Getenv(hbdHelperEnv) != "1" {
		t.Skip("a helper process of TestCheckAgreesWithRunWithoutNetRaw")
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Exit(dispatch(os.Args[i+1:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(2)
}

// TestCheckAgreesWithRunWithoutNetRaw: on a machine where hbd may not
// open an ICMP socket (root without CAP_NET_RAW, as under a unit or a
// container that drops it, and unprivileged ICMP not allowed by
// net.ipv4.ping_group_range), hbd check fails at the ping line with
// what to do, and hbd run refuses to start saying the same, instead of
// running with no ping node watched; --files-only only warns; a
// configuration without ping nodes is not concerned.
func TestCheckAgreesWithRunWithoutNetRaw(t *testing.T) {
	testenv.NeedRoot(t, "running hbd without CAP_NET_RAW")
	testenv.NeedCommands(t, "setpriv")
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ping_group_range"); err != nil || pingGroupAllowsRoot(string(b)) {
		testenv.Skip(t, "this machine lets group 0 open unprivileged ICMP sockets (net.ipv4.ping_group_range %q): hbd pings without CAP_NET_RAW", strings.TrimSpace(string(b)))
	}
	files := maps.Clone(soloFiles)
	files["ha.cf"] = fmt.Sprintf("udpport %d\n", testenv.FreeUDPPort(t)) + files["ha.cf"] + "ping 127.0.0.1\n"
	dir := testenv.WriteConfigDir(t, files)
	hbd := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command("setpriv", append([]string{"--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--",
			os.Args[0], "-test.run=^TestHbdHelper$", "--"}, args...)...)
		cmd.Env = append(os.Environ(), hbdHelperEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil && cmd.ProcessState == nil {
			t.Fatalf("setpriv: %v", err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	const line = "ha.cf:8: ping: 127.0.0.1 cannot be pinged from here"
	dirs := []string{"--run-dir", t.TempDir(), "--state-dir", t.TempDir()}
	for _, tc := range []struct {
		name string
		args []string
		rc   int
		want []string
	}{
		{"check", append([]string{"check", "-c", dir, "--node", "solo"}, dirs...), 1,
			[]string{line, "hbd run refuses to start with ping nodes it cannot ping", "CAP_NET_RAW", "ping_group_range"}},
		{"run", append([]string{"run", "-c", dir, "--node", "solo"}, dirs...), exitMachineNotReady,
			[]string{line, "hbd run refuses to start", "this machine is not ready for the configuration, not started"}},
		{"check --files-only", []string{"check", "-c", dir, "--node", "solo", "--files-only"}, 0,
			[]string{"ha.cf:8: warning: ping: 127.0.0.1 cannot be pinged from here", "`hbd run` refuses to start on a machine that does not allow it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, rc := hbd(tc.args...)
			if rc != tc.rc {
				t.Errorf("exit %d, want %d:\n%s", rc, tc.rc, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("no ping nodes", func(t *testing.T) {
		files := maps.Clone(soloFiles)
		files["ha.cf"] = fmt.Sprintf("udpport %d\n", testenv.FreeUDPPort(t)) + files["ha.cf"]
		if out, rc := hbd(append([]string{"check", "-c", testenv.WriteConfigDir(t, files), "--node", "solo"}, dirs...)...); rc != 0 {
			t.Errorf("check without ping nodes: exit %d, want 0:\n%s", rc, out)
		}
	})
}

// pingGroupAllowsRoot: the range "LOW HIGH" of ping_group_range holds
// group 0.
func pingGroupAllowsRoot(r string) bool {
	var lo, hi int
	if _, err := fmt.Sscan(r, &lo, &hi); err != nil {
		return true // unknown: not a machine this test can judge
	}
	return lo <= 0 && 0 <= hi
}
