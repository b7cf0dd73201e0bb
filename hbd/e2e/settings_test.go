//go:build linux

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
)

// hbdCmd runs `hbd ARGS...` against node n's daemon and fails the test
// unless it exits 0.
func (n *hbdInLab) hbdCmd(args ...string) string {
	n.t.Helper()
	full := append([]string{args[0], "--run-dir", filepath.Join(n.dir, "run")}, args[1:]...)
	out, err := n.host.Exec(context.Background(), hbdBin, full...)
	if err != nil {
		n.t.Fatalf("hbd %s on %s: %v: %s", strings.Join(args, " "), n.name, err, out)
	}
	return out
}

// stays checks that the group runs exactly on nodes (none: nowhere) for d.
func (g *groupLab) stays(d time.Duration, what string, nodes ...string) {
	g.t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got := strings.Join(g.running(), " "); got != strings.Join(nodes, " ") {
			g.t.Fatalf("%s: the group runs on [%s], want [%s]", what, got, strings.Join(nodes, " "))
		}
	}
}

// TestGroupsSettings: the cluster-wide operator settings with real hbd
// processes. node2's operator puts node1 in standby: the group goes to
// node2 (node1 stops first); node1's daemon restarts and stays in
// standby; online brings the group back (auto_failback on). The group is
// disabled by its short name from node2: it stops everywhere and stays
// stopped across both daemons' restarts; enable starts it on node1; move
// to node2 keeps it there until clear.
func TestGroupsSettings(t *testing.T) {
	g := newGroupLab(t, "settings")
	g.handoff = groupTiming.Deadtime + time.Second // a message away, as in TestGroupsMove
	cfg := g.hacf(groupTiming)
	n1, n2 := g.hbdNode(0, cfg), g.hbdNode(1, cfg)
	n1.start()
	n2.start()
	logOnFailure(t, g.dir, n1, n2)
	rec := g.waitServing("node1", 0, 20*time.Second)
	g.assertHandover(rec, 0, "", "node1", "initial acquisition")
	step := func(what string, n *hbdInLab, from, to string, args ...string) {
		t.Helper()
		mark := len(readRecord(t, g.dir))
		asked := time.Now()
		n.hbdCmd(args...)
		grow := mark + 1 // a stop and a start
		if from == "" {
			grow = mark // a start
		}
		rec := g.waitServing(to, grow, 15*time.Second)
		g.assertHandover(rec, mark, from, to, what)
		// A few messages and the scripts (none here), as for a command.
		g.assertStartedWithin(rec, mark, to, asked, groupTiming.Deadtime+stepMargin, what)
	}
	restart := func(n *hbdInLab) {
		t.Helper()
		if err := n.proc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-n.proc.Done()
		n.start()
	}

	step("node standby node1, from node2", n2, "node1", "node2", "node", "standby", "node1")
	if out := n1.hbdCmd("node", "list"); !strings.Contains(out, "node1  standby") {
		t.Errorf("hbd node list on node1 does not show node1 in standby:\n%s", out)
	}
	restart(n1)
	waitFor(t, 15*time.Second, "node1's new run to join", func() bool { return n2.peerState("node1") == "active" })
	g.stays(3*time.Second, "node1 in standby after its restart", "node2")
	step("node online, on node1", n1, "node2", "node1", "node", "online")

	mark := len(readRecord(t, g.dir))
	n2.hbdCmd("group", "disable", "rec")
	waitFor(t, 10*time.Second, "the group to stop", func() bool { return len(g.running()) == 0 && len(readRecord(t, g.dir)) > mark })
	if out := n1.hbdCmd("group", "list"); !strings.Contains(out, "disabled") {
		t.Errorf("hbd group list on node1 does not show the group disabled:\n%s", out)
	}
	restart(n1)
	restart(n2)
	waitFor(t, 15*time.Second, "both new runs to see each other", func() bool {
		return n1.peerState("node2") == "active" && n2.peerState("node1") == "active"
	})
	g.stays(3*time.Second, "disabled, after both restarts")
	step("group enable, by number", n1, "", "node1", "group", "enable", "1")
	step("group move to node2", n1, "node1", "node2", "group", "move", "rec::web", "node2")
	g.stays(2*time.Second, "moved to node2, auto_failback on", "node2")
	step("group clear", n2, "node2", "node1", "group", "clear", "rec")

	// cleanup takes the same names; an unknown name is an error that
	// lists the groups, for every command.
	n1.hbdCmd("cleanup", "rec")
	for _, args := range [][]string{{"group", "disable", "nginx"}, {"cleanup", "nginx"}} {
		full := append([]string{args[0], "--run-dir", filepath.Join(n1.dir, "run")}, args[1:]...)
		out, err := n1.host.Exec(context.Background(), hbdBin, full...)
		if err == nil || !strings.Contains(out, "1: rec::web, rec (line 1)") {
			t.Errorf("hbd %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
}

// TestMixedSettings: hbd (node1, preferred) beside Heartbeat 3.0.6
// (node2). Heartbeat ignores hbd_settings; what works is what hbd does
// with Heartbeat's own messages: hbd node standby on the hbd node hands
// the group to Heartbeat as hb_standby does; online does not take it back
// from a Heartbeat holder (Heartbeat never fails back to a node that is
// up), hbd takeover does; a group disabled on the hbd node stops there and
// Heartbeat does not start it while hbd lives; enable starts it on hbd
// again.
func TestMixedSettings(t *testing.T) {
	hbref.Need(t)
	g := newGroupLab(t, "mixedset")
	cfg := g.hacf(Timing{Keepalive: 500 * time.Millisecond, Warntime: time.Second, Deadtime: 2 * time.Second, Initdead: 10 * time.Second})
	us := g.hbdNode(0, cfg)
	us.start()
	hb, err := hbref.Start(g.lab, g.hosts[1], hbref.NodeConfig{
		Name: "node2", HaCf: cfg.String(), Authkeys: groupsAuthkeys(),
		Haresources: "node1 rec::web\n", ResourceScripts: map[string]string{"rec": recScript(g.dir)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- Heartbeat ----\n%s\n---- hbd ----\n%s\n---- record ----\n%v", hb.DebugLog(), us.log(), readRecord(t, g.dir))
		}
	})
	rec := g.waitServing("node1", 0, 60*time.Second)
	g.assertHandover(rec, 0, "", "node1", "initial acquisition")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := hb.WaitNodeStatus(ctx, "node1", "active"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // Heartbeat's initial handshakes settle

	mark := len(readRecord(t, g.dir))
	asked := time.Now()
	us.hbdCmd("node", "standby")
	rec = g.waitServing("node2", mark+1, 30*time.Second)
	g.assertHandover(rec, mark, "node1", "node2", "hbd node standby on the hbd node")
	g.assertStartedWithin(rec, mark, "node2", asked, mixedHandoverBound(cfg), "hbd node standby on the hbd node")

	us.hbdCmd("node", "online")
	g.stays(5*time.Second, "online: Heartbeat keeps what it holds", "node2")
	mark = len(readRecord(t, g.dir))
	asked = time.Now()
	us.hbdCmd("takeover")
	rec = g.waitServing("node1", mark+1, 30*time.Second)
	g.assertHandover(rec, mark, "node2", "node1", "hbd takeover")
	g.assertStartedWithin(rec, mark, "node1", asked, mixedHandoverBound(cfg), "hbd takeover")
	time.Sleep(2 * time.Second)

	mark = len(readRecord(t, g.dir))
	us.hbdCmd("group", "disable", "rec")
	waitFor(t, 10*time.Second, "the group to stop on hbd", func() bool { return len(g.running()) == 0 && len(readRecord(t, g.dir)) > mark })
	g.stays(8*time.Second, "disabled: Heartbeat does not start it while hbd lives")
	mark = len(readRecord(t, g.dir))
	asked = time.Now()
	us.hbdCmd("group", "enable", "rec")
	rec = g.waitServing("node1", mark, 30*time.Second)
	g.assertHandover(rec, mark, "", "node1", "group enable")
	g.assertStartedWithin(rec, mark, "node1", asked, mixedHandoverBound(cfg), "group enable")
	for _, l := range strings.Split(hb.Log(), "\n") {
		if strings.Contains(l, "Both machines own") || strings.Contains(l, "No one owns") {
			t.Logf("Heartbeat's audit: %s", l)
		}
	}
}
