// Package e2e runs real hbd processes: built from this tree, talking real
// UDP, stopped with real signals.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// hbdBin is the binary under test, built once by TestMain (with the race
// detector in CI: testenv.RaceBinaries). hbdPlainBin is the same without
// the race detector (hbdBin itself when that is off), for the tests that
// measure what the production build costs (TestFlood).
var hbdBin, hbdPlainBin string

// races collects the data races the hbd processes report: each test that
// starts one fails with the races reported while it ran.
var races *testenv.Races

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hbd-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(runTests(m, dir))
}

func runTests(m *testing.M, dir string) int {
	defer os.RemoveAll(dir)
	hbdBin, hbdPlainBin = filepath.Join(dir, "hbd"), filepath.Join(dir, "hbd")
	if out, err := testenv.Build(hbdBin, "github.com/hbdproject/hbd/hbd", testenv.RaceBinaries()); err != nil {
		fmt.Fprintf(os.Stderr, "build hbd: %v\n%s", err, out)
		return 1
	}
	if testenv.RaceBinaries() {
		hbdPlainBin = filepath.Join(dir, "hbd-plain")
		if out, err := testenv.Build(hbdPlainBin, "github.com/hbdproject/hbd/hbd", false); err != nil {
			fmt.Fprintf(os.Stderr, "build hbd: %v\n%s", err, out)
			return 1
		}
	}
	var err error
	if races, err = testenv.WatchRaces(filepath.Join(dir, "races")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return races.Finish(m.Run())
}

// Timing is a node's ha.cf timings.
type Timing struct {
	Keepalive, Warntime, Deadtime, Initdead time.Duration
}

func ms(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// node is one hbd process on loopback (127.0.0.N).
type node struct {
	t      *testing.T
	udp    int // udpport
	name   string
	addr   string
	dir    string // everything of this node lives here
	cmd    *exec.Cmd
	out    *bytes.Buffer
	exited chan struct{}
}

// freePort finds a UDP port free on every address of the cluster.
func freePort(t *testing.T, addrs []string) int {
	t.Helper()
	for range 50 {
		c, err := net.ListenPacket("udp", addrs[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		ok := true
		for _, a := range addrs[1:] {
			c2, err := net.ListenPacket("udp", net.JoinHostPort(a, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			c2.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

// newCluster writes a configuration for each named node on loopback
// (node i at 127.0.0.i+1... from 127.0.0.1), with the given timings, and
// returns the nodes, not started.
func newCluster(t *testing.T, names []string, tm Timing, haresources string) []*node {
	t.Helper()
	addrs := make([]string, len(names))
	for i := range names {
		addrs[i] = fmt.Sprintf("127.0.0.%d", i+1)
	}
	port := freePort(t, addrs)
	root := t.TempDir()
	nodes := make([]*node, len(names))
	for i, name := range names {
		n := &node{t: t, name: name, addr: addrs[i], udp: port, dir: filepath.Join(root, name)}
		for _, d := range []string{"ha.d/resource.d", "run", "state"} {
			if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		var hacf strings.Builder
		fmt.Fprintf(&hacf, "logfile %s\ndebugfile %s\nlogfacility none\n", n.path("ha-log"), n.path("ha-debug"))
		fmt.Fprintf(&hacf, "keepalive %s\nwarntime %s\ndeadtime %s\ninitdead %s\nudpport %d\n",
			ms(tm.Keepalive), ms(tm.Warntime), ms(tm.Deadtime), ms(tm.Initdead), port)
		for _, a := range addrs {
			fmt.Fprintf(&hacf, "ucast lo %s %s\n", a, n.addr)
		}
		fmt.Fprintf(&hacf, "node %s\nauto_failback on\n", strings.Join(names, " "))
		n.write("ha.d/ha.cf", hacf.String(), 0o644)
		n.write("ha.d/authkeys", "auth 1\n1 sha1 e2e-secret-0123456789\n", 0o600)
		n.write("ha.d/haresources", haresources, 0o644)
		nodes[i] = n
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.kill()
		}
		if t.Failed() {
			for _, n := range nodes {
				b, _ := os.ReadFile(n.path("ha-debug"))
				t.Logf("---- %s ha-debug ----\n%s---- %s output ----\n%s", n.name, b, n.name, n.out)
			}
		}
	})
	return nodes
}

func (n *node) path(p string) string { return filepath.Join(n.dir, p) }

func (n *node) port() int { return n.udp }

// statusView is what `hbd status --json` prints.
type statusView = ctl.Status

// countLines counts the lines of n's debug log that contain every one of subs.
func (n *node) countLines(subs ...string) int {
	b, err := os.ReadFile(n.path("ha-debug"))
	if err != nil {
		return 0
	}
	c := 0
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				all = false
				break
			}
		}
		if all {
			c++
		}
	}
	return c
}

func (n *node) write(p, content string, mode os.FileMode) {
	n.t.Helper()
	if err := os.WriteFile(n.path(p), []byte(content), mode); err != nil {
		n.t.Fatal(err)
	}
	if err := os.Chmod(n.path(p), mode); err != nil {
		n.t.Fatal(err)
	}
}

func (n *node) start() {
	n.t.Helper()
	races.Check(n.t)
	n.out = &bytes.Buffer{}
	n.cmd = exec.Command(hbdBin, "run", "-c", n.path("ha.d"), "--node", n.name,
		"--run-dir", n.path("run"), "--state-dir", n.path("state"))
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) {
		_ = c.Wait()
		close(done)
	}(n.cmd, n.exited)
}

// kill sends SIGKILL (the "daemon died" case) and waits for the process.
func (n *node) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
	n.cmd = nil
}

// stop sends SIGTERM and waits up to d for a clean exit.
func (n *node) stop(d time.Duration) error {
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-n.exited:
		n.cmd = nil
		return nil
	case <-time.After(d):
		return fmt.Errorf("%s did not exit within %s of SIGTERM", n.name, d)
	}
}

func (n *node) status() (ctl.Status, error) {
	var st ctl.Status
	out, err := exec.Command(hbdBin, "status", "--json", "--run-dir", n.path("run")).Output()
	if err != nil {
		return st, fmt.Errorf("hbd status: %w", err)
	}
	return st, json.Unmarshal(out, &st)
}

// peerState is the state n sees peer in ("" if unknown or unreachable).
func (n *node) peerState(peer string) string {
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

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

// logLine returns the first line of n's debug log containing s, and the
// time written in it.
func (n *node) logLine(s string) (string, time.Time, bool) {
	f, err := os.Open(n.path("ha-debug"))
	if err != nil {
		return "", time.Time{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, s) {
			// heartbeat[PID]: 2006/01/02_15:04:05 LEVEL: msg
			fields := strings.Fields(line)
			var at time.Time
			if len(fields) > 1 {
				at, _ = time.ParseInLocation("2006/01/02_15:04:05", fields[1], time.Local)
			}
			return line, at, true
		}
	}
	return "", time.Time{}, false
}
