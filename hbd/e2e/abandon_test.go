//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slowStatusScript is recScript whose status is recorded too, and sleeps
// 5 s on a node while the file slowstatus.NODE is in dir: a status probe
// before a start that takes long (resource-agents' IPaddr2 reads the
// address, the ARP cache, ...).
func slowStatusScript(dir string) string {
	return recScriptStatus(dir, `echo "$(date +%s.%N) $node status $1" >>$dir/record
	if [ -e $dir/slowstatus.$node ]; then sleep 5; fi`)
}

// stallDuringProbe stops holder's daemon (SIGSTOP) until taker's takeover
// reads the group's status (slowstatus.TAKER makes that take 5 s), then
// resumes it; it returns the record's length before the stall.
func stallDuringProbe(t *testing.T, g *groupLab, holder *hbdInLab, taker string) int {
	t.Helper()
	if err := os.WriteFile(filepath.Join(g.dir, "slowstatus."+taker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	mark := len(readRecord(t, g.dir))
	if err := holder.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := holder.proc.Signal(syscall.SIGCONT); err != nil {
			t.Errorf("resume the holder: %v", err)
		}
	}()
	waitFor(t, 10*time.Second, taker+"'s takeover to read the group's status", func() bool {
		for _, e := range readRecord(t, g.dir)[mark:] {
			if e.node == taker && e.op == "status" {
				return true
			}
		}
		return false
	})
	return mark
}

// TestTakeoverAbandonedE2E: two hbd processes in namespaces. node1 holds
// the group; its daemon is stopped (SIGSTOP, a stall) past deadtime, so
// node2 declares it dead and begins the takeover, whose status probe
// takes 5 s. node1 resumes during that probe: node2 calls the takeover
// off, its start script never runs, and the group never runs on both.
func TestTakeoverAbandonedE2E(t *testing.T) {
	g := newGroupLab(t, "abandon")
	cfg := g.hacf(groupTiming)
	script := map[string]string{"rec": slowStatusScript(g.dir)}
	n1 := g.node(0, cfg.String(), "node1 rec::web\n", script)
	n2 := g.node(1, cfg.String(), "node1 rec::web\n", script)
	n1.start()
	n2.start()
	logOnFailure(t, g.dir, n1, n2)
	g.waitServing("node1", 0, 20*time.Second)
	waitFor(t, 10*time.Second, "node2 to see node1 hold the group", func() bool {
		h, _ := n2.holder()
		return h == "node1"
	})

	mark := stallDuringProbe(t, g, n1, "node2")

	const line = "Takeover of resource group rec::web abandoned: node1 was heard again before its start"
	waitFor(t, 10*time.Second, "node2 to abandon the takeover", func() bool { return strings.Contains(n2.log(), line) })
	// Past the probe's 5 s: a start that was not called off would run now.
	time.Sleep(6 * time.Second)
	for _, e := range readRecord(t, g.dir)[mark:] {
		if e.node == "node2" && e.op != "status" {
			t.Errorf("node2 ran %s after the stall: %v", e.op, readRecord(t, g.dir)[mark:])
		}
	}
	if r := g.running(); !slices.Equal(r, []string{"node1"}) {
		t.Errorf("the group runs on %v, want node1 alone", r)
	}
	if h, s := n2.holder(); h != "node1" || s != "running" {
		t.Errorf("node2 says the group is held by %q (%s), want node1", h, s)
	}
}

// TestAbandonedHolderKeepsE2E: as TestTakeoverAbandonedE2E, but the group
// prefers node2 and auto_failback is off, and node1 holds it (it started
// first): node2 comes first for the group, so node1 would give its copy
// up to node2's once that runs. node2's copy is announced as starting
// while its probe runs, so node1 keeps its own, and when node2 calls the
// takeover off the group has never left node1 (no stop there).
func TestAbandonedHolderKeepsE2E(t *testing.T) {
	g := newGroupLab(t, "abandonkeep")
	cfg := g.hacf(groupTiming)
	cfg.AutoFailback = "off"
	script := map[string]string{"rec": slowStatusScript(g.dir)}
	n1 := g.node(0, cfg.String(), "node2 rec::web\n", script)
	n2 := g.node(1, cfg.String(), "node2 rec::web\n", script)
	n1.start()
	logOnFailure(t, g.dir, n1, n2)
	g.waitServing("node1", 0, 20*time.Second)
	n2.start()
	waitFor(t, 20*time.Second, "node2 to see node1 hold the group", func() bool {
		h, s := n2.holder()
		return h == "node1" && s == "running"
	})

	mark := stallDuringProbe(t, g, n1, "node2")
	const line = "Takeover of resource group rec::web abandoned: node1 was heard again before its start"
	waitFor(t, 10*time.Second, "node2 to abandon the takeover", func() bool { return strings.Contains(n2.log(), line) })
	const keep = "Resource group rec::web is also being started by node2, which keeps it once it runs: keeping it here until then"
	if !strings.Contains(n1.log(), keep) {
		t.Errorf("node1 did not log that it keeps the group while node2's copy starts (%q)", keep)
	}
	// Past the probe's 5 s: a start that was not called off would run now.
	time.Sleep(6 * time.Second)
	for _, e := range readRecord(t, g.dir)[mark:] {
		if e.node == "node2" && e.op != "status" || e.node == "node1" && e.op == "stop" {
			t.Errorf("%s ran %s after the stall: %v", e.node, e.op, readRecord(t, g.dir)[mark:])
		}
	}
	if r := g.running(); !slices.Equal(r, []string{"node1"}) {
		t.Errorf("the group runs on %v, want node1 alone", r)
	}
	if h, s := n2.holder(); h != "node1" || s != "running" {
		t.Errorf("node2 says the group is held by %q (%s), want node1", h, s)
	}
}
