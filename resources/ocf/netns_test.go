package ocf_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
)

// TestRealIPaddr2InNamespace runs resource-agents' IPaddr2 (which uses
// `ip` and send_arp) through harc inside a network namespace:
// the address appears, a client in another namespace reaches it, and it
// leaves on stop.
func TestRealIPaddr2InNamespace(t *testing.T) {
	needAgents(t, "IPaddr2")
	node, client := newPair(t, "10.231.0.1/24", "10.231.0.2/24")
	const vip = "10.231.0.100"
	cfg, diags := loadGroup(t, config.Lookup{Builtins: []string{config.OCFBuiltin}},
		"ocf:heartbeat:IPaddr2::ip="+vip+"::cidr_netmask=24::nic=eth0")
	if cfg == nil {
		t.Fatalf("config refused: %v", diags)
	}
	g := cfg.Groups[0]
	o := harc.FromConfig(cfg)
	o.BuiltinCommand = []string{"ip", "netns", "exec", node, os.Args[0]}
	o.Env = map[string]string{agentEnv: "1"}
	o.RscTmp = t.TempDir()
	o.Timeout = 60 * time.Second
	o.StopRetries = -1
	r, err := harc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	has := func() bool {
		t.Helper()
		return strings.Contains(nsRun(t, node, "ip", "-4", "-o", "addr", "show", "dev", "eth0"), " "+vip+"/")
	}

	if st := groupState(t, r, g); st != harc.GroupNone || has() {
		t.Fatalf("before start: %v, address there: %v", st, has())
	}
	start := time.Now()
	if err := r.Start(ctx, g); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Logf("start took %v", time.Since(start).Round(time.Millisecond))
	if !has() {
		t.Fatal("the address is not on node1 after start")
	}
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", client, "ping", "-c", "1", "-W", "2", vip).CombinedOutput(); err != nil {
		t.Errorf("client cannot reach %s: %v: %s", vip, err, out)
	}
	if st := groupState(t, r, g); st != harc.GroupAll {
		t.Errorf("after start: %v, want ALL", st)
	}
	if err := r.Stop(ctx, g); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if has() {
		t.Error("the address is still on node1 after stop")
	}
	if st := groupState(t, r, g); st != harc.GroupNone {
		t.Errorf("after stop: %v, want NONE", st)
	}
}

// nsPrefix starts the names of this package's test namespaces; the test
// process's pid follows, so a later run can remove a killed run's.
const nsPrefix = "hbdocf"

// newPair makes two network namespaces joined by a veth pair (eth0 in
// each) with the given addresses, removed (with whatever our tests left
// running in them) when the test ends. It skips unless root with `ip`.
func newPair(t *testing.T, addrA, addrB string) (a, b string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs `ip` (iproute2)")
	}
	sweep(t)
	a = fmt.Sprintf("%s%d-node", nsPrefix, os.Getpid())
	b = fmt.Sprintf("%s%d-client", nsPrefix, os.Getpid())
	for _, ns := range []string{a, b} {
		ipCmd(t, "netns", "add", ns)
		t.Cleanup(func() { removeNS(t, ns) })
		ipCmd(t, "-n", ns, "link", "set", "lo", "up")
	}
	ipCmd(t, "-n", a, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b)
	for ns, addr := range map[string]string{a: addrA, b: addrB} {
		ipCmd(t, "-n", ns, "addr", "add", addr, "dev", "eth0")
		ipCmd(t, "-n", ns, "link", "set", "eth0", "up")
	}
	return a, b
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// nsRun runs a command inside ns and returns its output.
func nsRun(t *testing.T, ns string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("in %s: %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// removeNS kills the processes inside ns (helpers such as send_arp that
// the test's agents started; never this process) and deletes it.
func removeNS(t *testing.T, ns string) {
	pids, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(pids)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
		t.Logf("ip netns del %s: %v: %s", ns, err, out)
	}
}

// sweep removes namespaces left by earlier test processes that died.
func sweep(t *testing.T) {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, f := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(f, nsPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		removeNS(t, f)
	}
}
