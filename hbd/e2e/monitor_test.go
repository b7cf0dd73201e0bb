//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/monitor"
	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// webScript is a resource script that runs a real web server (python3's
// http.server on :8080 of the node's namespace, answering with the
// node's name) with a pid file, and whose monitor fetches a page.
func webScript(python, dir string) string { return serverScript(python, dir, "web") }

// serverScript is webScript for a service called name: its pid file
// (NAME.NODE.pid), document root and record lines carry the name, so two
// such services can take turns on one node.
func serverScript(python, dir, name string) string {
	return fmt.Sprintf(`#!/bin/sh
# %[3]s start|stop|status|monitor
node=${HA_CURHOST:-$(uname -n)}
pidf=%[2]s/%[3]s.$node.pid
root=%[2]s/www.%[3]s.$node
alive() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }
case "$1" in
start)
	alive && exit 0
	mkdir -p "$root" && echo "$node" >"$root/index.html"
	setsid %[1]s -m http.server 8080 --directory "$root" >/dev/null 2>&1 </dev/null &
	echo $! >"$pidf"
	echo "$(date +%%s.%%N) $node start %[3]s" >>%[2]s/record
	for i in $(seq 100); do curl -fsS -m 1 -o /dev/null http://127.0.0.1:8080/ 2>/dev/null && exit 0; sleep 0.05; done
	echo "web server did not answer" >&2; exit 1 ;;
stop)
	if alive; then
		pid=$(cat "$pidf"); kill "$pid"
		for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	fi
	rm -f "$pidf"
	echo "$(date +%%s.%%N) $node stop %[3]s" >>%[2]s/record ;;
status) if alive; then echo running; else echo stopped; fi ;;
monitor) curl -fsS -m 1 -o /dev/null http://127.0.0.1:8080/ || exit 7 ;;
*) echo "usage: %[3]s {start|stop|status|monitor}"; exit 1 ;;
esac
exit 0
`, python, dir, name)
}

// monLab is vipLab's shape with the web server as the monitored resource.
type monLab struct {
	*groupLab
	client *netlab.Host
	nodes  [2]*hbdInLab
	probe  *netlab.Prober
}

const monGroup = "IPaddr2::" + vip + "/24/eth0"

// Bounds of the monitor tests, from their monitor line (monLine): a failure is seen within an interval and a check's
// timeout; the group's scripts (the VIP and the python web server, stop
// and start) take about a second, monScripts with the margin a loaded
// 2-core machine needs. Measured: restarts and moves 1.9-3.2 s.
const (
	monInterval = 300 * time.Millisecond
	monTimeout  = 2 * time.Second
	monScripts  = 5 * time.Second
	monSeen     = monInterval + monTimeout + monScripts // kill to served again
)

// monLine is the monitor line of these tests, without its restart policy.
var monLine = "monitor web interval=" + ms(monInterval) + " timeout=" + ms(monTimeout)

func newMonLab(t *testing.T, monitorLine string) *monLab {
	testenv.NeedCommands(t, "python3", "curl") // the web server, the monitor
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	g := newGroupLab(t, "mon")
	m := &monLab{groupLab: g}
	if m.client, err = g.lab.Host("c", "10.231.0.9/24"); err != nil {
		t.Fatal(err)
	}
	cfg := g.hacf(groupTiming)
	for i := range m.nodes {
		n := newHbdInLab(t, g.lab, g.hosts[i], fmt.Sprintf("node%d", i+1), cfg.String()+monitorLine+"\n", groupsAuthkeys(),
			"node1 "+monGroup+" web\n")
		if err := os.WriteFile(filepath.Join(n.dir, "ha.d/resource.d/web"), []byte(webScript(python, g.dir)), 0o755); err != nil {
			t.Fatal(err)
		}
		m.nodes[i] = n
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range m.nodes {
				t.Logf("---- %s ----\n%s", n.name, n.log())
			}
			t.Logf("---- record ----\n%v", readRecord(t, g.dir))
		}
		// The web servers hbd started, by their pid files.
		for _, n := range m.nodes {
			if pid := m.webPID(n.name); pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	for _, n := range m.nodes {
		n.start()
	}
	if m.probe, err = g.lab.StartProber(m.client, vipURL, netlab.ProberOptions{Interval: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *monLab) webPID(node string) int {
	b, err := os.ReadFile(filepath.Join(m.dir, "web."+node+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// killWeb kills node's web server behind hbd's back and returns its pid.
func (m *monLab) killWeb(node string) int {
	m.t.Helper()
	pid := m.webPID(node)
	if pid <= 0 {
		m.t.Fatalf("no web server pid on %s", node)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		m.t.Fatalf("kill web server %d on %s: %v", pid, node, err)
	}
	return pid
}

func (m *monLab) served(name string, since time.Time, d time.Duration) time.Time {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p, err := m.probe.WaitFor(ctx, since, name)
	if err != nil {
		m.t.Fatalf("client not served by %s within %s: %v (windows %v)", name, d, err, netlab.Windows(m.probe.Probes()))
	}
	return p.At
}

// mon is node n's status of the web monitor.
func (m *monLab) mon(n *hbdInLab) (monitor.ResourceStatus, bool) {
	st, err := n.status()
	if err != nil || len(st.Monitors) != 1 {
		return monitor.ResourceStatus{}, false
	}
	return st.Monitors[0], true
}

// started counts the web starts on node in the record.
func (m *monLab) started(node string) int {
	n := 0
	for _, e := range readRecord(m.t, m.dir) {
		if e.node == node && e.op == "start" {
			n++
		}
	}
	return n
}

// watched waits until node1's monitor watches the started group. The web
// server answers before its start script has ended (the script checks it,
// then exits), and the watch begins with the start's result, a moment
// later: a kill before that is no failure the monitor sees.
func (m *monLab) watched() {
	m.t.Helper()
	waitFor(m.t, 10*time.Second, "node1's monitor to watch the started group", func() bool {
		s, ok := m.mon(m.nodes[0])
		return ok && s.State == monitor.StateWatching
	})
}

// restartHere kills node1's web server and waits until hbd has restarted
// it there: a new process, the client answered again, the restart counted.
func (m *monLab) restartHere(want int) {
	m.t.Helper()
	n1 := m.nodes[0]
	old := m.killWeb("node1")
	killed := time.Now()
	waitFor(m.t, 20*time.Second, fmt.Sprintf("restart %d on node1", want), func() bool {
		s, ok := m.mon(n1)
		return ok && s.LocalRestarts == want && s.State == monitor.StateWatching
	})
	back := m.served("node1", killed, 10*time.Second)
	if pid := m.webPID("node1"); pid == old || pid <= 0 {
		m.t.Errorf("restart %d: web server pid %d, killed %d: not a new process", want, pid, old)
	}
	s, _ := m.mon(n1)
	if s.FailCount != want || s.LastFailure == nil || s.NextCheck == nil {
		m.t.Errorf("restart %d: status %+v", want, s)
	}
	m.t.Logf("restart %d: served again by node1 %s after the kill (%s)", want, back.Sub(killed).Round(time.Millisecond), s.LastFailureReason)
	if d := back.Sub(killed); d > monSeen {
		m.t.Errorf("restart %d: served again %s after the kill, bound %s", want, d.Round(time.Millisecond), monSeen)
	}
}

// TestMonitorRestartsLocally: a real web server behind a VIP, monitored
// every 300 ms. Killed behind hbd's back, it is restarted on the same
// node, twice (restarts=2); the other node never starts it.
func TestMonitorRestartsLocally(t *testing.T) {
	m := newMonLab(t, monLine+" restarts=2 window=5m")
	m.served("node1", time.Now().Add(-time.Hour), 30*time.Second)
	m.watched()
	// Watching, or in one of its checks (every 300 ms) when asked.
	if s, ok := m.mon(m.nodes[0]); !ok || s.State != monitor.StateWatching && s.State != monitor.StateChecking || s.Group != monGroup {
		t.Fatalf("node1 monitor status %+v (%v)", s, ok)
	}
	if s, ok := m.mon(m.nodes[1]); !ok || s.State != monitor.StateIdle {
		t.Errorf("node2 (not holding) monitor status %+v, want idle", s)
	}
	m.restartHere(1)
	m.restartHere(2)
	if n := m.started("node2"); n != 0 {
		t.Errorf("node2 started the web server %d times", n)
	}
	if n := m.started("node1"); n != 3 {
		t.Errorf("node1 started the web server %d times, want 3 (start and two restarts)", n)
	}
	log := m.nodes[0].log()
	for _, s := range []string{"Monitor of web (group " + monGroup + ") failed", "Restarting web here (restart 1 of 2", "Restarted web here"} {
		if !strings.Contains(log, s) {
			t.Errorf("node1's log lacks %q", s)
		}
	}
	out, err := m.nodes[0].host.Exec(context.Background(), hbdBin, "status", "--run-dir", filepath.Join(m.nodes[0].dir, "run"))
	if err != nil || !strings.Contains(out, "MONITORED RESOURCE") || !strings.Contains(out, "2/2 in 5m0s") {
		t.Errorf("hbd status (%v):\n%s", err, out)
	}
}

// failOver kills node1's web server once more than restarts= allows and
// waits until the client is served by node2; it returns when that was.
func (m *monLab) failOver() time.Time {
	m.t.Helper()
	m.killWeb("node1")
	killed := time.Now()
	moved := m.served("node2", killed, 20*time.Second)
	m.t.Logf("served by node2 %s after the kill past the threshold", moved.Sub(killed).Round(time.Millisecond))
	// node1 stops the group, then node2 starts it: a message apart.
	if d, bound := moved.Sub(killed), monSeen+groupTiming.Deadtime; d > bound {
		m.t.Errorf("served by node2 %s after the kill, bound %s", d.Round(time.Millisecond), bound)
	}
	waitFor(m.t, 10*time.Second, "node1 to release the group", func() bool {
		h, _ := m.nodes[1].holder()
		return h == "node2" && m.webPID("node1") == 0
	})
	if s, ok := m.mon(m.nodes[0]); !ok || s.State != monitor.StateFailed {
		m.t.Errorf("node1 monitor status %+v, want failed", s)
	}
	if !strings.Contains(m.nodes[0].log(), "CRIT: Resource group "+monGroup+" failed here") {
		m.t.Errorf("node1's log lacks the CRIT line of the failure")
	}
	return moved
}

// TestMonitorFailsOver: restarts=1. The first kill is restarted on
// node1, the second moves the group to node2, and node1 (the preferred
// node, auto_failback on) does not take it back until `hbd cleanup`.
func TestMonitorFailsOver(t *testing.T) {
	m := newMonLab(t, monLine+" restarts=1 window=5m")
	m.served("node1", time.Now().Add(-time.Hour), 30*time.Second)
	m.watched()
	m.restartHere(1)
	m.failOver()

	// Several deadtimes with both nodes up: no failback to the failed node.
	time.Sleep(4 * groupTiming.Deadtime)
	if h, s := m.nodes[1].holder(); h != "node2" || s != "running" {
		t.Errorf("after %s: node2 says %s holds the group (%s), want node2", 4*groupTiming.Deadtime, h, s)
	}
	if n := m.started("node1"); n != 2 {
		t.Errorf("node1 started the web server %d times, want 2 (start and one restart): it took the group back", n)
	}

	// The operator clears the failure: failback to node1.
	cleaned := time.Now()
	n1 := m.nodes[0]
	if out, err := n1.host.Exec(context.Background(), hbdBin, "cleanup", "--run-dir", filepath.Join(n1.dir, "run"), monGroup); err != nil {
		t.Fatalf("hbd cleanup: %v: %s", err, out)
	}
	back := m.served("node1", cleaned, 20*time.Second)
	t.Logf("failback to node1 %s after hbd cleanup", back.Sub(cleaned).Round(time.Millisecond))
	if d, bound := back.Sub(cleaned), groupTiming.Deadtime+monScripts; d > bound {
		t.Errorf("failback to node1 %s after hbd cleanup, bound %s", d.Round(time.Millisecond), bound)
	}
	waitFor(t, 10*time.Second, "node1 to watch the group again", func() bool {
		s, ok := m.mon(n1)
		return ok && s.State == monitor.StateWatching && s.FailCount == 0
	})
}

// TestMonitorFailureTimeout: restarts=0 failure_timeout=3s. The first
// kill moves the group to node2; three seconds later the failure has
// expired and node1, preferred with auto_failback on, takes it back by
// itself.
func TestMonitorFailureTimeout(t *testing.T) {
	m := newMonLab(t, monLine+" restarts=0 failure_timeout=3s")
	m.served("node1", time.Now().Add(-time.Hour), 30*time.Second)
	m.watched()
	moved := m.failOver()
	back := m.served("node1", moved, 30*time.Second)
	if d := back.Sub(moved); d < 2*time.Second {
		t.Errorf("node1 took the group back %s after it moved, before the 3s failure timeout", d)
	} else if bound := 3*time.Second + monSeen; d > bound {
		t.Errorf("node1 took the group back %s after it moved, bound %s (failure_timeout=3s)", d.Round(time.Millisecond), bound)
	} else {
		t.Logf("node1 took the group back %s after it moved (failure_timeout=3s)", d.Round(time.Millisecond))
	}
}
