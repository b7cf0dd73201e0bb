//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
)

// TestPingNodes: both nodes watch a gateway (ha.cf `ping`). The holder
// loses the gateway while it still hears its peer: it gives the group to
// the peer (Heartbeat's ipfail). When the gateway is back, the group
// returns to its preferred node.
func TestPingNodes(t *testing.T) {
	g := newGroupLab(t, "ping")
	gw, err := g.lab.Host("gw", "10.231.0.254/24")
	if err != nil {
		t.Fatal(err)
	}
	cfg := g.hacf(groupTiming)
	const deadping = time.Second
	cfg.Extra = append(cfg.Extra, "ping 10.231.0.254", "deadping 1")
	// A move starts on a message once the ping view changed: deadping
	// (and one probe interval, a quarter of it) to notice the loss, a
	// probe interval to notice the return; a deadtime bounds a handover.
	g.handoff = groupTiming.Deadtime + time.Second
	pingBound := deadping*5/4 + groupTiming.Deadtime + stepMargin
	n1, n2 := g.hbdNode(0, cfg), g.hbdNode(1, cfg)
	n1.start()
	n2.start()
	logOnFailure(t, "", n1, n2)
	rec := g.waitServing("node1", 0, 20*time.Second)

	// node1 loses the gateway, not node2.
	mark := len(rec)
	if err := g.lab.CutBetween(g.hosts[0], gw); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	rec = g.waitServing("node2", mark, 20*time.Second)
	g.assertHandover(rec, mark, "node1", "node2", "node1 lost its ping node")
	g.assertStartedWithin(rec, mark, "node2", cut, pingBound, "node1 lost its ping node")
	if s := n2.peerState("node1"); s != "active" {
		t.Errorf("node2 sees node1 %s: the handover should not need a death", s)
	}
	if st, err := n1.status(); err != nil || st.Ping != "0/1" {
		t.Errorf("node1's hbd status shows ping nodes %q (%v), want 0/1", st.Ping, err)
	}

	// The gateway is back for node1: the group goes home.
	mark = len(rec)
	if err := g.lab.HealBetween(g.hosts[0], gw); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	rec = g.waitServing("node1", mark+1, 30*time.Second)
	g.assertHandover(rec, mark, "node2", "node1", "node1 reaches its ping node again")
	g.assertStartedWithin(rec, mark, "node1", healed, pingBound, "node1 reaches its ping node again")
}

// TestFenceCommand: a node whose peer went silent fences it with the
// configured command before it takes the group over, and not at all when
// the peer stopped gracefully.
func TestFenceCommand(t *testing.T) {
	g := newGroupLab(t, "fence")
	calls := filepath.Join(g.dir, "fence.calls")
	fence := filepath.Join(g.dir, "fence")
	script := fmt.Sprintf("#!/bin/sh\necho \"$(date +%%s.%%N) fence $1\" >>%s\nexit 0\n", calls)
	if err := os.WriteFile(fence, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := g.hacf(groupTiming)
	cfg.Extra = append(cfg.Extra, "fence_command "+fence)
	n1, n2 := g.hbdNode(0, cfg), g.hbdNode(1, cfg)
	n1.start()
	n2.start()
	logOnFailure(t, "", n1, n2)
	rec := g.waitServing("node1", 0, 20*time.Second)

	// A graceful stop needs no fence.
	mark := len(rec)
	if err := n1.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rec = g.waitServing("node2", mark, 15*time.Second)
	if b, _ := os.ReadFile(calls); len(b) != 0 {
		t.Errorf("a graceful stop was fenced: %s", b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n1.proc.Wait(ctx)

	// node1 back (failback), then its machine dies: fenced, then taken over.
	mark = len(rec)
	n1.start()
	rec = g.waitServing("node1", mark+1, 20*time.Second)
	mark = len(rec)
	g.die(n1)
	if err := os.Remove(filepath.Join(g.dir, "state.node1.web")); err != nil {
		t.Fatal(err)
	}
	rec = g.waitServing("node2", mark, 20*time.Second)
	b, err := os.ReadFile(calls)
	if err != nil || !strings.Contains(string(b), "fence node1") {
		t.Fatalf("node1 was not fenced before the takeover (calls: %q, %v)", b, err)
	}
	var fencedAt float64
	fmt.Sscanf(strings.Fields(string(b))[0], "%f", &fencedAt)
	start := rec[len(rec)-1]
	if start.node != "node2" || start.op != "start" {
		t.Fatalf("last record %+v, want node2 start", start)
	}
	if float64(start.at.UnixNano())/1e9 < fencedAt {
		t.Errorf("node2 started the group at %s, before the fence ran", start.at.Format("15:04:05.000"))
	}
}

// TestPingReload: ping nodes added by a reload are watched at once.
func TestPingReload(t *testing.T) {
	g := newGroupLab(t, "pingrl")
	if _, err := g.lab.Host("gw", "10.231.0.254/24"); err != nil {
		t.Fatal(err)
	}
	cfg := g.hacf(groupTiming)
	n1 := g.hbdNode(0, cfg)
	n1.start()
	waitFor(t, 10*time.Second, "node1 running", func() bool { _, err := n1.status(); return err == nil })
	cfg.Extra = append(cfg.Extra, "ping 10.231.0.254", "deadping 1")
	// The same ha.cf with the ping lines, logging where newHbdInLab put it.
	updated := strings.NewReplacer(
		hbref.DefaultDebugfile, filepath.Join(n1.dir, "log/ha-debug"),
		hbref.DefaultLogfile, filepath.Join(n1.dir, "log/ha-log"),
	).Replace(cfg.String())
	if err := os.WriteFile(filepath.Join(n1.dir, "ha.d/ha.cf"), []byte(updated), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "the new ping node to be watched", func() bool {
		st, err := n1.status()
		return err == nil && st.Ping == "1/1"
	})
}
