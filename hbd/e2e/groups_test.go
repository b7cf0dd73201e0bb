//go:build linux

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// recScript is a resource that records every start and stop (the line
// first, then the state change, so a test that sees the state sees the
// line too), with the time and the node, in a file both nodes write (they share the
// machine's filesystem), and keeps its state in a per-node file.
func recScript(dir string) string { return recScriptStatus(dir, "") }

// recScriptStatus is recScript whose status first runs the shell
// commands before (which may use $node, $1 and $dir).
func recScriptStatus(dir, before string) string {
	return fmt.Sprintf(`#!/bin/sh
# rec NAME start|stop|status
node=${HA_CURHOST:-$(uname -n)}
dir=%[1]s
state=$dir/state.$node.$1
case "$2" in
start) echo "$(date +%%s.%%N) $node start $1" >>$dir/record; touch "$state" ;;
stop) echo "$(date +%%s.%%N) $node stop $1" >>$dir/record; rm -f "$state" ;;
status) %[2]s
	if [ -e "$state" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
`, dir, before)
}

// recEvent is one line of the record.
type recEvent struct {
	at   time.Time
	node string
	op   string
	res  string
}

func readRecord(t *testing.T, dir string) []recEvent {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "record"))
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []recEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Fields(sc.Text())
		if len(p) != 4 {
			continue
		}
		sec, err := strconv.ParseFloat(p[0], 64)
		if err != nil {
			continue
		}
		out = append(out, recEvent{at: time.Unix(0, int64(sec*1e9)), node: p[1], op: p[2], res: p[3]})
	}
	return out
}

// groupLab is two nodes in namespaces sharing one resource group.
type groupLab struct {
	t     *testing.T
	lab   *netlab.Lab
	dir   string
	hosts [2]*netlab.Host
	// handoff, when set, bounds a handover's stop-to-start time in
	// assertHandover: the new holder starts on the old one's "done", a
	// message away, never after a timeout.
	handoff time.Duration
}

func newGroupLab(t *testing.T, name string) *groupLab {
	netlab.Skip(t)
	g := &groupLab{t: t, lab: netlab.NewT(t, name)}
	var err error
	g.dir, err = g.lab.Dir()
	if err != nil {
		t.Fatal(err)
	}
	for i := range g.hosts {
		g.hosts[i], err = g.lab.Host(fmt.Sprintf("n%d", i+1), fmt.Sprintf("10.231.0.%d/24", i+1))
		if err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (g *groupLab) hacf(tm Timing) hbref.HaCf {
	return hbref.HaCf{
		Keepalive: tm.Keepalive, Warntime: tm.Warntime, Deadtime: tm.Deadtime, Initdead: tm.Initdead,
		UDPPort: 694, AutoFailback: "on",
		Ucast: []hbref.Ucast{{Iface: "eth0", Addr: "10.231.0.1"}, {Iface: "eth0", Addr: "10.231.0.2"}},
		Nodes: []string{"node1", "node2"},
	}
}

// groupsAuthkeys is the key every node of these tests shares.
func groupsAuthkeys() string { return hbref.Authkeys("sha1", "groupsSecret-0123456789") }

// hbdNode sets up hbd as node i+1 with the rec group preferred by node1.
func (g *groupLab) hbdNode(i int, cfg hbref.HaCf) *hbdInLab {
	return g.node(i, cfg.String(), "node1 rec::web\n", map[string]string{"rec": recScript(g.dir)})
}

// node sets up hbd as node i+1 on host i with these ha.cf and haresources
// and these resource.d scripts (name to content).
func (g *groupLab) node(i int, hacf, haresources string, scripts map[string]string) *hbdInLab {
	n := newHbdInLab(g.t, g.lab, g.hosts[i], fmt.Sprintf("node%d", i+1), hacf, groupsAuthkeys(), haresources)
	for name, content := range scripts {
		if err := os.WriteFile(filepath.Join(n.dir, "ha.d/resource.d", name), []byte(content), 0o755); err != nil {
			g.t.Fatal(err)
		}
	}
	return n
}

// die kills n's daemon and cuts its host's links, as when its machine
// dies: what it ran stays "running" there, as on a frozen machine.
func (g *groupLab) die(n *hbdInLab) {
	g.t.Helper()
	if err := n.proc.Signal(syscall.SIGKILL); err != nil {
		g.t.Fatal(err)
	}
	if err := g.lab.Cut(n.host); err != nil {
		g.t.Fatal(err)
	}
}

// holder is who node n says holds the group, and in what state.
func (n *hbdInLab) holder() (string, string) {
	st, err := n.status()
	if err != nil || len(st.Cluster.Groups) == 0 {
		return "", ""
	}
	return st.Cluster.Groups[0].Holder, st.Cluster.Groups[0].State
}

// running says which nodes' rec resource is running now (ground truth).
func (g *groupLab) running() []string {
	var out []string
	for _, n := range []string{"node1", "node2"} {
		if _, err := os.Stat(filepath.Join(g.dir, "state."+n+".web")); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// waitServing waits until exactly node runs the resource and the record
// has grown past mark; it returns the new record.
func (g *groupLab) waitServing(node string, mark int, d time.Duration) []recEvent {
	g.t.Helper()
	waitFor(g.t, d, node+" to run the group", func() bool {
		r := g.running()
		return len(r) == 1 && r[0] == node && len(readRecord(g.t, g.dir)) > mark
	})
	return readRecord(g.t, g.dir)
}

// assertHandover checks, in the record after mark, that from stopped the
// group before to first started it (never both running: the stop comes
// first). The first start counts: a start before the stop followed by a
// restart would hide the overlap.
func (g *groupLab) assertHandover(rec []recEvent, mark int, from, to, what string) {
	g.t.Helper()
	var stop, start time.Time
	for _, e := range rec[mark:] {
		if e.node == from && e.op == "stop" && stop.IsZero() {
			stop = e.at
		}
		if e.node == to && e.op == "start" && start.IsZero() {
			start = e.at
		}
	}
	switch {
	case start.IsZero():
		g.t.Errorf("%s: %s never started the group (record %v)", what, to, rec[mark:])
	case from != "" && stop.IsZero():
		g.t.Errorf("%s: %s never stopped the group (record %v)", what, from, rec[mark:])
	case from != "" && start.Before(stop):
		g.t.Errorf("%s: %s started at %s, before %s stopped at %s", what, to, start.Format("15:04:05.000"), from, stop.Format("15:04:05.000"))
	case from != "" && g.handoff > 0 && start.Sub(stop) > g.handoff:
		g.t.Errorf("%s: %s started %s after %s stopped, bound %s", what, to, start.Sub(stop).Round(time.Millisecond), from, g.handoff)
	case from == "":
		g.t.Logf("%s: started on %s", what, to)
	default:
		g.t.Logf("%s: %s -> %s, stop-to-start %s", what, from, to, start.Sub(stop).Round(time.Millisecond))
	}
}

// stepMargin is what a loaded 2-core machine, running race-built daemons
// in CI, may add to a step's bound beyond the configured timings:
// scheduling delays, the scripts' fork and exec, the record's writes.
const stepMargin = 2 * time.Second

// takeoverBound is the longest a takeover after the holder's death may
// take with timings tm: deadtime, then the start.
func takeoverBound(tm Timing) time.Duration { return tm.Deadtime + stepMargin }

// assertStartedWithin checks that to started the group, in the record
// after mark, no later than bound after the action at at. The first start
// after mark counts: a later one would hide a slow first.
func (g *groupLab) assertStartedWithin(rec []recEvent, mark int, to string, at time.Time, bound time.Duration, what string) {
	g.t.Helper()
	for _, e := range rec[mark:] {
		if e.node != to || e.op != "start" {
			continue
		}
		if d := e.at.Sub(at); d > bound {
			g.t.Errorf("%s: %s started %s after the action, bound %s", what, to, d.Round(time.Millisecond), bound)
		} else {
			g.t.Logf("%s: %s started %s after the action (bound %s)", what, to, d.Round(time.Millisecond), bound)
		}
		return
	}
	g.t.Errorf("%s: %s never started the group (record %v)", what, to, rec[mark:])
}

var groupTiming = Timing{Keepalive: 200 * time.Millisecond, Warntime: 600 * time.Millisecond, Deadtime: time.Second, Initdead: 3 * time.Second}

// TestGroupsMove: real hbd processes in namespaces and a resource that
// records every start and stop. The machine of the holder dies → the
// other takes over; it comes back → its daemon releases what it found
// still running, then failback with the release finished before the
// acquire; standby and takeover both ways; graceful stop → at once.
func TestGroupsMove(t *testing.T) {
	g := newGroupLab(t, "groups")
	// Handovers start on a message (about 10 ms here); a deadtime means
	// a timeout was waited for; a second covers a loaded 2-core machine.
	g.handoff = groupTiming.Deadtime + time.Second
	cfg := g.hacf(groupTiming)
	n1, n2 := g.hbdNode(0, cfg), g.hbdNode(1, cfg)
	n1.start()
	n2.start()
	logOnFailure(t, g.dir, n1, n2)
	rec := g.waitServing("node1", 0, 20*time.Second)
	g.assertHandover(rec, 0, "", "node1", "initial acquisition")

	// The holder's machine dies: its daemon is killed and its link cut;
	// its resource stays "running" there, as on a frozen machine.
	mark := len(rec)
	g.die(n1)
	died := time.Now()
	waitFor(t, 15*time.Second, "node2 to take over", func() bool {
		h, s := n2.holder()
		return h == "node2" && s == "running"
	})
	rec = readRecord(t, g.dir)
	g.assertHandover(rec, mark, "", "node2", "takeover from a dead node")
	g.assertStartedWithin(rec, mark, "node2", died, takeoverBound(groupTiming), "takeover from a dead node")

	// The machine comes back: node1's hbd finds the group running there,
	// releases it before joining, then gets it back (auto_failback on)
	// after node2 released it: within initdead (node1 joins once it has
	// heard node2, at once here) and the handover.
	mark = len(rec)
	if err := g.lab.Heal(g.hosts[0]); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	n1.start()
	rec = g.waitServing("node1", mark+2, 20*time.Second)
	g.assertHandover(rec, mark, "node2", "node1", "failback")
	g.assertStartedWithin(rec, mark, "node1", restarted, groupTiming.Initdead+g.handoff+stepMargin, "failback")
	if len(rec) > mark && !(rec[mark].node == "node1" && rec[mark].op == "stop") {
		t.Errorf("node1 did not release what it found running before it joined: record %v", rec[mark:])
	}

	steps := []struct {
		what     string
		n        *hbdInLab
		cmd      string
		from, to string
	}{
		{"standby on node1", n1, "standby", "node1", "node2"},
		{"takeover on node1", n1, "takeover", "node2", "node1"},
		{"takeover on node2", n2, "takeover", "node1", "node2"},
		{"standby on node2", n2, "standby", "node2", "node1"},
	}
	for _, s := range steps {
		mark = len(readRecord(t, g.dir))
		asked := time.Now()
		out, err := s.n.host.Exec(context.Background(), hbdBin, s.cmd, "--run-dir", filepath.Join(s.n.dir, "run"))
		if err != nil {
			t.Fatalf("%s: %v: %s", s.what, err, out)
		}
		rec = g.waitServing(s.to, mark+1, 15*time.Second)
		g.assertHandover(rec, mark, s.from, s.to, s.what)
		// A command moves the group in a few messages and the scripts'
		// time (none here): well within a deadtime and the margin.
		g.assertStartedWithin(rec, mark, s.to, asked, groupTiming.Deadtime+stepMargin, s.what)
	}

	// Graceful stop of the holder: the other takes over at once.
	mark = len(readRecord(t, g.dir))
	stopped := time.Now()
	if err := n1.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rec = g.waitServing("node2", mark+1, 15*time.Second)
	g.assertHandover(rec, mark, "node1", "node2", "graceful stop")
	// The shutdown notice, not a deadtime, hands the group over.
	g.assertStartedWithin(rec, mark, "node2", stopped, groupTiming.Deadtime, "graceful stop")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n1.proc.Wait(ctx); err != nil && !strings.Contains(err.Error(), "exit status 0") {
		t.Errorf("node1 after SIGTERM: %v (want exit 0)", err)
	}
}
