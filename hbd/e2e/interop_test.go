//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// hbdInLab is an hbd node running in a lab host's network namespace.
type hbdInLab struct {
	t    *testing.T
	host *netlab.Host
	name string
	dir  string
	proc *netlab.Proc
	// env is added to the daemon's environment (and so its scripts').
	env []string
	bin string // the hbd binary it runs (hbdBin unless set)
}

func newHbdInLab(t *testing.T, lab *netlab.Lab, host *netlab.Host, name, hacf, authkeys, haresources string) *hbdInLab {
	t.Helper()
	labDir, err := lab.Dir()
	if err != nil {
		t.Fatal(err)
	}
	n := &hbdInLab{t: t, host: host, name: name, dir: filepath.Join(labDir, "hbd-"+name)}
	for _, d := range []string{"ha.d/resource.d", "run", "state", "log"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The same ha.cf as the Heartbeat node, with our own log paths.
	hacf = strings.ReplaceAll(hacf, hbref.DefaultLogfile, filepath.Join(n.dir, "log/ha-log"))
	hacf = strings.ReplaceAll(hacf, hbref.DefaultDebugfile, filepath.Join(n.dir, "log/ha-debug"))
	for file, content := range map[string]string{"ha.cf": hacf, "authkeys": authkeys, "haresources": haresources} {
		if err := os.WriteFile(filepath.Join(n.dir, "ha.d", file), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func (n *hbdInLab) start() {
	n.t.Helper()
	races.Check(n.t)
	var setup func(*exec.Cmd)
	if len(n.env) > 0 {
		setup = func(c *exec.Cmd) { c.Env = append(os.Environ(), n.env...) }
	}
	p, err := n.host.Start(setup, n.binary(), "run", "-c", filepath.Join(n.dir, "ha.d"), "--node", n.name,
		"--run-dir", filepath.Join(n.dir, "run"), "--state-dir", filepath.Join(n.dir, "state"))
	if err != nil {
		n.t.Fatal(err)
	}
	n.proc = p
}

// binary is the hbd binary n runs.
func (n *hbdInLab) binary() string {
	if n.bin == "" {
		return hbdBin
	}
	return n.bin
}

func (n *hbdInLab) status() (ctl.Status, error) {
	var st ctl.Status
	out, err := n.host.Exec(context.Background(), n.binary(), "status", "--json", "--run-dir", filepath.Join(n.dir, "run"))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(out), &st)
}

func (n *hbdInLab) peerState(peer string) string {
	st, err := n.status()
	if err != nil {
		return ""
	}
	for _, p := range st.Cluster.Peers {
		if p.Name == peer {
			return p.State
		}
	}
	return ""
}

func (n *hbdInLab) log() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "log/ha-debug"))
	return string(b)
}

// logOnFailure logs each node's ha-debug when t has failed by its end,
// then the resource record in recordDir unless that is "".
func logOnFailure(t *testing.T, recordDir string, nodes ...*hbdInLab) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, n := range nodes {
			t.Logf("---- %s ----\n%s", n.name, n.log())
		}
		if recordDir != "" {
			t.Logf("---- record ----\n%v", readRecord(t, recordDir))
		}
	})
}

// TestInteropHeartbeat306 runs Debian's Heartbeat 3.0.6 and hbd side by
// side in network namespaces with one ha.cf and one authkeys: each sees
// the other active (cl_status on the Heartbeat node, hbd status on ours),
// still after four deadtimes at rest, and each notices when the other is
// killed.
func TestInteropHeartbeat306(t *testing.T) {
	hbref.Need(t)
	lab := netlab.NewT(t, "interop")
	h1, err := lab.Host("n1", "10.231.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	h2, err := lab.Host("n2", "10.231.0.2/24")
	if err != nil {
		t.Fatal(err)
	}
	cfg := hbref.HaCf{
		Keepalive: time.Second, Warntime: 2 * time.Second, Deadtime: 3 * time.Second, Initdead: 10 * time.Second,
		UDPPort: 694, AutoFailback: "on",
		Ucast: []hbref.Ucast{{Iface: "eth0", Addr: "10.231.0.1"}, {Iface: "eth0", Addr: "10.231.0.2"}},
		Nodes: []string{"node1", "node2"},
	}
	authkeys := hbref.Authkeys("sha1", "interopSecret42-0123456789")

	hb, err := hbref.Start(lab, h1, hbref.NodeConfig{Name: "node1", HaCf: cfg.String(), Authkeys: authkeys})
	if err != nil {
		t.Fatal(err)
	}
	us := newHbdInLab(t, lab, h2, "node2", cfg.String(), authkeys, "")
	us.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- Heartbeat node1 ha-debug ----\n%s", hb.DebugLog())
			t.Logf("---- hbd node2 ha-debug ----\n%s\n---- hbd output ----\n%s", us.log(), us.proc.Output())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hb.WaitNodeStatus(ctx, "node2", "active"); err != nil {
		t.Fatalf("Heartbeat never saw hbd active: %v", err)
	}
	waitFor(t, 30*time.Second, "hbd to see Heartbeat active", func() bool { return us.peerState("node1") == "active" })
	if out, _ := hb.ClStatus("listhblinks", "node2"); !strings.Contains(out, "eth0") {
		t.Errorf("cl_status listhblinks node2 = %q, want eth0", out)
	}
	if out, _ := hb.ClStatus("hblinkstatus", "node2", "eth0"); strings.TrimSpace(out) != "up" {
		t.Errorf("cl_status hblinkstatus node2 eth0 = %q, want up", out)
	}
	// Neither side rejected anything the other sent.
	st, err := us.status()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Rejected) != 0 {
		t.Errorf("hbd rejected Heartbeat's packets: %+v", st.Rejected)
	}
	for _, p := range st.Cluster.Peers {
		if len(p.Dropped) != 0 && !(len(p.Dropped) == 1 && p.Dropped["wrong-dest"] > 0) {
			t.Errorf("hbd's core dropped Heartbeat's messages: %v", p.Dropped)
		}
	}
	if log := hb.DebugLog(); strings.Contains(log, "Invalid authentication") || strings.Contains(log, "bad auth") {
		t.Errorf("Heartbeat complained about hbd's authentication")
	}
	// At rest hbd's statuses are routine (hbd_routine=1 first): Heartbeat
	// keeps taking them for four deadtimes, and hbd reads Heartbeat's
	// unmarked ones at once, through node1's own socket.
	time.Sleep(4 * 3 * time.Second)
	if out, _ := hb.ClStatus("nodestatus", "node2"); strings.TrimSpace(out) != "active" {
		t.Errorf("cl_status nodestatus node2 = %q after four deadtimes at rest", out)
	}
	for _, bad := range []string{"node2: is dead", "lost packet"} {
		if strings.Contains(hb.DebugLog(), bad) {
			t.Errorf("Heartbeat's log has %q at rest", bad)
		}
	}
	if st, err = us.status(); err != nil {
		t.Fatal(err)
	}
	if ls := st.Links["eth0"]; !ls.Steered || ls.RoutineRead != 0 || ls.Received < 10 {
		t.Errorf("hbd's link eth0 %+v: want steered, Heartbeat's statuses read at once", ls)
	}
	for _, p := range st.Cluster.Peers {
		if p.Lost != 0 {
			t.Errorf("hbd lost %d of %s's messages at rest", p.Lost, p.Name)
		}
	}

	// kill -9 of hbd: Heartbeat declares node2 dead.
	killed := time.Now()
	if err := us.proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if _, err := hb.WaitLog(ctx2, "node node2: is dead"); err != nil {
		t.Fatalf("Heartbeat never declared the killed hbd dead: %v", err)
	}
	t.Logf("Heartbeat declared hbd dead %s after kill -9 (deadtime 3s)", time.Since(killed).Round(time.Millisecond))

	// hbd again, then kill -9 of Heartbeat: hbd declares node1 dead.
	us.start()
	ctx3, cancel3 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel3()
	if err := hb.WaitNodeStatus(ctx3, "node2", "active"); err != nil {
		t.Fatalf("Heartbeat never saw the restarted hbd active: %v", err)
	}
	waitFor(t, 30*time.Second, "hbd to see Heartbeat active again", func() bool { return us.peerState("node1") == "active" })
	killed = time.Now()
	if err := hb.KillDaemon(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "hbd to declare Heartbeat dead", func() bool { return us.peerState("node1") == "dead" })
	took := time.Since(killed)
	t.Logf("hbd declared Heartbeat dead %s after kill -9 (deadtime 3s)", took.Round(time.Millisecond))
	if took > 3*time.Second+time.Second+2*time.Second {
		t.Errorf("hbd took %s to declare Heartbeat dead, want about deadtime (3s) + keepalive", took)
	}
	if !strings.Contains(us.log(), "WARN: node node1: is dead") {
		t.Errorf(`hbd's log lacks "WARN: node node1: is dead"`)
	}
}
