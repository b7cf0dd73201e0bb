//go:build linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// twoLinks joins the lab's hosts on a second bridge (eth1) and gives the
// ha.cf of a pair heard over both: ucast on eth0 and on eth1.
func (g *groupLab) twoLinks(t *testing.T) hbref.HaCf {
	t.Helper()
	br1, err := g.lab.Bridge("br1")
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range g.hosts {
		if err := h.Join(br1, "eth1", br1.Addr(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := g.hacf(groupTiming)
	cfg.Ucast = append(cfg.Ucast, hbref.Ucast{Iface: "eth1", Addr: br1.IP(1)}, hbref.Ucast{Iface: "eth1", Addr: br1.IP(2)})
	return cfg
}

// linkState is the state n sees peer's link in ("" if unknown).
func (n *hbdInLab) linkState(peer, link string) string {
	st, err := n.status()
	if err != nil {
		return ""
	}
	for _, p := range st.Cluster.Peers {
		if p.Name == peer {
			for _, l := range p.Links {
				if l.Name == link {
					return l.State
				}
			}
		}
	}
	return ""
}

// oneLinkDown cuts node1's link iface (of two) and heals it: watcher, the
// other node, logs and shows the link dead but node1 alive, and nothing
// is stopped or started meanwhile.
func (g *groupLab) oneLinkDown(watcher *hbdInLab, iface string) {
	t := g.t
	t.Helper()
	mark := len(readRecord(t, g.dir))
	if err := g.lab.CutIface(g.hosts[0], iface); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "node2 to see link "+iface+" dead", func() bool { return watcher.linkState("node1", iface) == "dead" })
	time.Sleep(2 * groupTiming.Deadtime)
	if s := watcher.peerState("node1"); s != "active" {
		t.Errorf("with one link left, node2 sees node1 %s", s)
	}
	if !strings.Contains(watcher.log(), "Link node1:"+iface+" dead.") {
		t.Errorf(`node2's log lacks "Link node1:%s dead."`, iface)
	}
	if rec := readRecord(t, g.dir); len(rec) != mark {
		t.Errorf("a single link's failure moved resources: %v", rec[mark:])
	}
	if err := g.lab.HealIface(g.hosts[0], iface); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "link "+iface+" up again", func() bool { return watcher.linkState("node1", iface) == "up" })
}

// TestTwoLinks: two ucast links to the peer over two bridges (Heartbeat's
// redundant media). Cutting one is logged and shown, and nothing fails
// over; cutting both is the peer's death.
func TestTwoLinks(t *testing.T) {
	g := newGroupLab(t, "links")
	cfg := g.twoLinks(t)
	n1, n2 := g.hbdNode(0, cfg), g.hbdNode(1, cfg)
	n1.start()
	n2.start()
	logOnFailure(t, "", n1, n2)
	g.waitServing("node1", 0, 20*time.Second)
	waitFor(t, 10*time.Second, "both links up", func() bool {
		return n2.linkState("node1", "eth0") == "up" && n2.linkState("node1", "eth1") == "up"
	})
	mark := len(readRecord(t, g.dir))
	g.oneLinkDown(n2, "eth0")

	// Then both fail: node1 is dead to node2.
	g.die(n1)
	died := time.Now()
	if err := os.Remove(filepath.Join(g.dir, "state.node1.web")); err != nil {
		t.Fatal(err)
	}
	rec := g.waitServing("node2", mark, 15*time.Second)
	g.assertStartedWithin(rec, mark, "node2", died, takeoverBound(groupTiming), "both links cut")
	if !strings.Contains(n2.log(), "Link node1:eth1 dead.") {
		t.Error(`node2's log lacks "Link node1:eth1 dead." after both links failed`)
	}
}

// TestThreeNodes kills the holder of a three-node cluster: exactly one of
// the two survivors takes the group (Heartbeat 3.0.6 let both take it).
func TestThreeNodes(t *testing.T) {
	g := newGroupLab(t, "three")
	h3, err := g.lab.Host("n3", "10.231.0.3/24")
	if err != nil {
		t.Fatal(err)
	}
	hosts := []*netlab.Host{g.hosts[0], g.hosts[1], h3}
	cfg := g.hacf(groupTiming)
	cfg.Ucast = append(cfg.Ucast, hbref.Ucast{Iface: "eth0", Addr: "10.231.0.3"})
	cfg.Nodes = append(cfg.Nodes, "node3")
	var nodes []*hbdInLab
	for i, h := range hosts {
		n := newHbdInLab(t, g.lab, h, fmt.Sprintf("node%d", i+1), cfg.String(), groupsAuthkeys(), "node1 rec::web\n")
		if err := os.WriteFile(filepath.Join(n.dir, "ha.d/resource.d/rec"), []byte(recScript(g.dir)), 0o755); err != nil {
			t.Fatal(err)
		}
		n.start()
		nodes = append(nodes, n)
	}
	logOnFailure(t, "", nodes...)
	g.waitServing("node1", 0, 20*time.Second)
	mark := len(readRecord(t, g.dir))
	g.die(nodes[0])
	died := time.Now()
	if err := os.Remove(filepath.Join(g.dir, "state.node1.web")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "a survivor to take over", func() bool { return len(readRecord(t, g.dir)) > mark })
	// Three nodes have quorum: a dead node's group starts elsewhere two
	// deadtimes after the death (docs/config.md, quorum), not at once.
	g.assertStartedWithin(readRecord(t, g.dir), mark, "node2", died, takeoverBound(groupTiming)+2*groupTiming.Deadtime, "the holder died")
	time.Sleep(3 * groupTiming.Deadtime) // time enough for a second, wrong successor
	var starts []string
	for _, e := range readRecord(t, g.dir)[mark:] {
		if e.op == "start" {
			starts = append(starts, e.node)
		}
	}
	if len(starts) != 1 {
		t.Fatalf("successors after the holder died: %v, want exactly one", starts)
	}
	// The rule: the first live node after the preferred one in ha.cf order.
	if starts[0] != "node2" {
		t.Errorf("successor %s, want node2 (first live node after node1 in ha.cf order)", starts[0])
	}
	for _, n := range nodes[1:] {
		if h, _ := n.holder(); h != "node2" {
			t.Errorf("%s says the holder is %q, want node2", n.name, h)
		}
	}
}
