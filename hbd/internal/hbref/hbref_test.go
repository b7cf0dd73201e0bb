//go:build linux

package hbref

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// A resource whose state is a file in the node's private /run.
const testResource = `#!/bin/sh
f=/run/hbref-test.state
case "$1" in
start) echo started >"$f" ;;
stop) rm -f "$f" ;;
status) if [ -e "$f" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
`

func twoNodeConfig(hosts []*netlab.Host) HaCf {
	c := HaCf{
		Keepalive: time.Second, Warntime: 2 * time.Second, Deadtime: 3 * time.Second, Initdead: 6 * time.Second,
		UDPPort:      694,
		AutoFailback: "on",
	}
	for i, h := range hosts {
		c.Ucast = append(c.Ucast, Ucast{Iface: "eth0", Addr: h.IP()})
		c.Nodes = append(c.Nodes, nodeName(i))
	}
	return c
}

func nodeName(i int) string { return "node" + string(rune('1'+i)) }

// TestTwoRealNodes runs two real Heartbeat 3.0.6 nodes, waits until each
// sees the other active, kills one (the machine dies: link cut and every
// process killed) and waits for the other to declare it dead and take its
// resource group; then stops the survivor gracefully and checks that
// closing the lab leaves nothing behind.
func TestTwoRealNodes(t *testing.T) {
	Need(t)
	lab, err := netlab.New(context.Background(), "hbref")
	if err != nil {
		t.Fatal(err)
	}
	lab.Logf = t.Logf
	closed := false
	defer func() {
		if !closed {
			lab.Close()
		}
	}()
	start := time.Now()
	hosts, nodes := startPair(t, lab)
	n1, n2 := nodes[0], nodes[1]
	t.Logf("both started in %v", time.Since(start).Round(time.Millisecond))
	dump := func() {
		for _, n := range nodes {
			t.Logf("=== %s ha-log:\n%s", n.Name, n.Log())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, p := range [][2]*Node{{n1, n2}, {n2, n1}} {
		if err := p[0].WaitNodeStatus(ctx, p[1].Name, "active"); err != nil {
			dump()
			t.Fatal(err)
		}
	}
	activeAfter := time.Since(start)
	t.Logf("each sees the other active %v after start", activeAfter.Round(time.Millisecond))
	for _, c := range []struct {
		node *Node
		args []string
		want string
	}{
		{n1, []string{"hbstatus"}, "Heartbeat is running on this machine."},
		{n1, []string{"nodestatus", "node1"}, "active"},
		{n2, []string{"listhblinks", "node1"}, "eth0"},
		{n2, []string{"hblinkstatus", "node1", "eth0"}, "up"},
	} {
		out, err := c.node.ClStatus(c.args...)
		if err != nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: cl_status %v = %q, %v; want %q", c.node.Name, c.args, out, err, c.want)
		}
	}
	// Each node has its own hostname and state files.
	for _, n := range nodes {
		out, err := n.Exec(ctx, "uname", "-n")
		if err != nil || strings.TrimSpace(out) != n.Name {
			t.Errorf("uname -n in %s = %q, %v", n.Name, out, err)
		}
		if _, err := os.Stat(filepath.Join(n.Dir, "lib", "hb_uuid")); err != nil {
			t.Errorf("%s: no private hb_uuid: %v", n.Name, err)
		}
	}

	// node1 acquires its group (Heartbeat waits about 10 s after start
	// whatever initdead says).
	acquired := false
	for i := 0; i < 400 && time.Since(start) < 60*time.Second; i++ {
		if out, err := n1.Exec(ctx, "cat", "/run/hbref-test.state"); err == nil && strings.TrimSpace(out) == "started" {
			acquired = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !acquired {
		dump()
		t.Fatal("node1 never started its resource")
	}
	t.Logf("node1 holds its group %v after start", time.Since(start).Round(time.Millisecond))
	time.Sleep(2 * time.Second) // settle: several keepalives since the last event

	// node1's machine dies.
	killAt := time.Now()
	if err := lab.Cut(hosts[0]); err != nil {
		t.Fatal(err)
	}
	if err := n1.Kill(); err != nil {
		t.Fatal(err)
	}
	if n1.Alive() {
		t.Error("node1 alive after Kill")
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	line, err := n2.WaitLog(ctx, "node node1: is dead")
	if err != nil {
		dump()
		t.Fatal(err)
	}
	deadAfter := time.Since(killAt)
	t.Logf("node2 declared node1 dead %v after the kill: %s", deadAfter.Round(time.Millisecond), line)
	if deadAfter < 2*time.Second || deadAfter > 10*time.Second {
		t.Errorf("declared dead after %v with deadtime 3 s", deadAfter)
	}
	if err := n2.WaitNodeStatus(ctx, "node1", "dead"); err != nil {
		t.Error(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := n2.WaitLog(ctx, "mach_down takeover complete"); err != nil {
		dump()
		t.Fatal(err)
	}
	t.Logf("node2 took the group over %v after the kill", time.Since(killAt).Round(time.Millisecond))
	out, err := n2.Exec(ctx, "cat", "/run/hbref-test.state")
	if err != nil || strings.TrimSpace(out) != "started" {
		t.Errorf("resource state on node2 = %q, %v", out, err)
	}

	// Graceful stop returns (the node's PID 1 reaps heartbeat's master).
	stopAt := time.Now()
	if err := n2.Stop(); err != nil {
		dump()
		t.Fatal(err)
	}
	t.Logf("heartbeat -k on node2 returned after %v", time.Since(stopAt).Round(time.Millisecond))
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := n2.WaitLog(ctx, "All HA resources relinquished."); err != nil {
		t.Error(err)
	}
	if out, _ := n2.Exec(ctx, "pgrep", "-x", "heartbeat"); strings.TrimSpace(out) != "" {
		t.Errorf("heartbeat processes left after Stop: %s", out)
	}
	if _, err := n2.Exec(ctx, "test", "-e", "/run/hbref-test.state"); err == nil {
		t.Error("resource still running on node2 after Stop")
	}

	// Close leaves no namespace, process or file.
	var pids []int
	for _, n := range nodes {
		pids = append(pids, n.PID())
	}
	dirs := []string{n1.Dir, n2.Dir}
	if err := lab.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	for _, pid := range pids {
		if running(pid) {
			t.Errorf("node pid %d still runs after Close", pid)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("node dir %s left after Close", d)
		}
	}
	es, _ := os.ReadDir("/run/netns")
	for _, e := range es {
		if strings.HasPrefix(e.Name(), lab.ID) {
			t.Errorf("namespace %s left after Close", e.Name())
		}
	}
}

// running reports whether pid runs (a zombie waiting for its reaper does not).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z' && b[i+2] != 'X'
}

// startPair starts node1 and node2 (sha1 key, keepalive 1 s, deadtime
// 3 s, group "node1 hbtest") on two new hosts of lab, at the same time.
func startPair(t *testing.T, lab *netlab.Lab) ([]*netlab.Host, []*Node) {
	t.Helper()
	br, err := lab.Bridge("br0")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []*netlab.Host
	for i := range 2 {
		h, err := lab.Host(nodeName(i), br.Addr(i+1))
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, h)
	}
	hacf := twoNodeConfig(hosts).String()
	keys := Authkeys("sha1", "harnessSecret42")
	nodes := make([]*Node, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = Start(lab, hosts[i], NodeConfig{
				Name: nodeName(i), HaCf: hacf, Authkeys: keys,
				Haresources:     "node1 hbtest\n",
				ResourceScripts: map[string]string{"hbtest": testResource},
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if nodes[i] != nil {
				t.Logf("%s log:\n%s", nodeName(i), nodes[i].Log())
			}
			t.Fatal(err)
		}
	}
	return hosts, nodes
}

// TestDaemonRestart kills only node1's heartbeat (SIGKILL), sees node2
// declare it dead, starts it again in the same node and sees both active
// again, with node1's generation one higher.
func TestDaemonRestart(t *testing.T) {
	Need(t)
	lab := netlab.NewT(t, "hbrestart")
	_, nodes := startPair(t, lab)
	n1, n2 := nodes[0], nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for _, p := range [][2]*Node{{n1, n2}, {n2, n1}} {
		if err := p[0].WaitNodeStatus(ctx, p[1].Name, "active"); err != nil {
			t.Fatal(err)
		}
	}
	bystander, err := n1.Start(nil, "sleep", "1001")
	if err != nil {
		t.Fatal(err)
	}
	if err := n1.KillDaemon(); err != nil {
		t.Fatal(err)
	}
	killAt := time.Now()
	if _, err := n2.WaitLog(ctx, "node node1: is dead"); err != nil {
		t.Fatalf("%v\n%s", err, n2.Log())
	}
	t.Logf("node2 declared node1 dead %v after its heartbeat was killed", time.Since(killAt).Round(time.Millisecond))
	if !n1.Alive() || bystander.Exited() {
		t.Fatalf("KillDaemon killed more than heartbeat: node alive %v, sleep alive %v", n1.Alive(), !bystander.Exited())
	}
	if out, err := n1.Exec(ctx, "pgrep", "-f", "^sleep 1001$"); err != nil || strings.TrimSpace(out) == "" {
		t.Errorf("the node's sleep is not in its pid namespace: %q %v", out, err)
	}
	if out, _ := n1.Exec(ctx, "pgrep", "-x", "heartbeat"); strings.TrimSpace(out) != "" {
		t.Fatalf("heartbeat still running in node1 after KillDaemon: %s", out)
	}
	if err := n1.StartDaemon(); err != nil {
		t.Fatal(err)
	}
	restartAt := time.Now()
	for _, p := range [][2]*Node{{n1, n2}, {n2, n1}} {
		if err := p[0].WaitNodeStatus(ctx, p[1].Name, "active"); err != nil {
			t.Fatalf("%v\n%s", err, p[0].Log())
		}
	}
	t.Logf("both active again %v after the restart", time.Since(restartAt).Round(time.Millisecond))
	var gens []string
	for _, l := range strings.Split(n1.Log(), "\n") {
		if i := strings.Index(l, "Heartbeat generation: "); i >= 0 {
			gens = append(gens, strings.TrimSpace(l[i+len("Heartbeat generation: "):]))
		}
	}
	if len(gens) != 2 {
		t.Fatalf("generation lines in node1's log: %v", gens)
	}
	g0, err0 := strconv.Atoi(gens[0])
	g1, err1 := strconv.Atoi(gens[1])
	if err0 != nil || err1 != nil || g1 != g0+1 {
		t.Errorf("generations %v, want consecutive", gens)
	}
}

// TestConfigError: heartbeat refuses deadtime <= 2 × keepalive with exit
// status 6; StartDaemon reports it with heartbeat's own words.
func TestConfigError(t *testing.T) {
	Need(t)
	lab := netlab.NewT(t, "hbconf")
	h, err := lab.Host("node1", "10.231.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	c := HaCf{Keepalive: 2 * time.Second, Deadtime: 3 * time.Second, Ucast: []Ucast{{"eth0", "10.231.0.1"}}, Nodes: []string{"node1"}}
	n, err := Start(lab, h, NodeConfig{Name: "node1", HaCf: c.String(), Authkeys: Authkeys("sha1", "x")})
	if err == nil {
		t.Fatal("heartbeat started with deadtime 3 s and keepalive 2 s")
	}
	if !strings.Contains(err.Error(), "exit status 6") {
		t.Errorf("error %v, want exit status 6", err)
	}
	if n == nil || !strings.Contains(n.StartOutput, "Dead time [3000] is too small") {
		t.Errorf("start output does not say why: %v", err)
	}
}
