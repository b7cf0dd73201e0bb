//go:build linux

package e2e

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestExclusiveGroups runs two groups that must never share a node, with
// real hbd nodes: node1 runs Peer, node2 runs Citizen, and `exclusive` says they never
// share a node and Peer wins. node1 dies: node2 stops Citizen before it
// starts Peer. node1 returns: Peer goes home, Citizen comes back on
// node2. Then node2 dies: node1 keeps Peer and Citizen stays down. A
// sampler checks every 10 ms that no node ever runs both.
func TestExclusiveGroups(t *testing.T) {
	g := newGroupLab(t, "excl")
	cfg := g.hacf(groupTiming)
	cfg.Extra = append(cfg.Extra, "exclusive rec::peer rec::citizen")
	var nodes [2]*hbdInLab
	for i := range nodes {
		nodes[i] = g.node(i, cfg.String(), "node1 rec::peer\nnode2 rec::citizen\n", map[string]string{"rec": recScript(g.dir)})
	}
	n1, n2 := nodes[0], nodes[1]
	logOnFailure(t, g.dir, n1, n2)
	up := func(node, res string) bool {
		_, err := os.Stat(filepath.Join(g.dir, "state."+node+"."+res))
		return err == nil
	}
	// Ground truth, sampled: never both groups on one node.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var both []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 100000 {
			for _, n := range []string{"node1", "node2"} {
				if up(n, "peer") && up(n, "citizen") {
					both = append(both, n+" at "+time.Now().Format("15:04:05.000"))
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	n1.start()
	n2.start()
	waitFor(t, 20*time.Second, "Peer on node1 and Citizen on node2", func() bool { return up("node1", "peer") && up("node2", "citizen") })

	// node1's machine dies.
	mark := len(readRecord(t, g.dir))
	g.die(n1)
	died := time.Now()
	if err := os.Remove(filepath.Join(g.dir, "state.node1.peer")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "Peer on node2", func() bool { return up("node2", "peer") })
	var citizenStop, peerStart time.Time
	for _, e := range readRecord(t, g.dir)[mark:] {
		if e.node == "node2" && e.res == "citizen" && e.op == "stop" && citizenStop.IsZero() {
			citizenStop = e.at
		}
		if e.node == "node2" && e.res == "peer" && e.op == "start" && peerStart.IsZero() {
			peerStart = e.at // the first: a later restart must not hide it
		}
	}
	if citizenStop.IsZero() || peerStart.IsZero() || peerStart.Before(citizenStop) {
		t.Errorf("node2 must stop Citizen (%v) before it starts Peer (%v)", citizenStop, peerStart)
	}
	if d, bound := peerStart.Sub(died), takeoverBound(groupTiming); d > bound {
		t.Errorf("node2 started Peer %s after node1 died, bound %s", d.Round(time.Millisecond), bound)
	}

	// node1 returns: Peer home, Citizen back on node2.
	if err := g.lab.Heal(g.hosts[0]); err != nil {
		t.Fatal(err)
	}
	mark = len(readRecord(t, g.dir))
	restarted := time.Now()
	n1.start()
	waitFor(t, 30*time.Second, "Peer on node1 and Citizen on node2 again", func() bool {
		return up("node1", "peer") && up("node2", "citizen") && !up("node2", "peer")
	})
	// Failback: node1 joins (within initdead), node2 releases Peer (a
	// message away), node1 starts it.
	for _, e := range readRecord(t, g.dir)[mark:] {
		if e.node == "node1" && e.res == "peer" && e.op == "start" {
			if d, bound := e.at.Sub(restarted), groupTiming.Initdead+groupTiming.Deadtime+2*stepMargin; d > bound {
				t.Errorf("node1 started Peer %s after its restart, bound %s", d.Round(time.Millisecond), bound)
			}
			break
		}
	}

	// node2's machine dies: node1 keeps Peer, Citizen stays down.
	g.die(n2)
	if err := os.Remove(filepath.Join(g.dir, "state.node2.citizen")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "node1 to see node2 dead", func() bool { return n1.peerState("node2") == "dead" })
	time.Sleep(3 * groupTiming.Deadtime)
	if !up("node1", "peer") || up("node1", "citizen") {
		t.Errorf("after node2 died: node1 runs peer=%v citizen=%v, want Peer only", up("node1", "peer"), up("node1", "citizen"))
	}
	close(stop)
	wg.Wait()
	if len(both) > 0 {
		t.Errorf("a node ran Peer and Citizen at once: %v", both)
	}
}
