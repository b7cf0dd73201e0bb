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

// TestMixedFailover runs a two-node cluster of one Heartbeat 3.0.6 node
// and one hbd node with the same ha.cf, authkeys and haresources, and
// moves the group both ways: the preferred node's machine dies and the
// other takes over; it comes back and gets the group back (auto_failback
// on), the holder releasing before the preferred node acquires. Run with
// Heartbeat as the preferred node, then with hbd as the preferred node.
func TestMixedFailover(t *testing.T) {
	hbref.Need(t)
	for _, hbdPreferred := range []bool{false, true} {
		name := "heartbeat-preferred"
		if hbdPreferred {
			name = "hbd-preferred"
		}
		t.Run(name, func(t *testing.T) { mixedFailover(t, hbdPreferred) })
	}
}

// mixedHandoverBound bounds a handover between hbd and Heartbeat 3.0.6
// with ha.cf cfg, from the command to the new holder's start: a deadtime
// (Heartbeat answers some requests on its next status round) and
// Heartbeat's own ResourceManager, a shell pipeline that takes about a
// second, with the margin for each side.
func mixedHandoverBound(cfg hbref.HaCf) time.Duration { return cfg.Deadtime + 3*stepMargin }

// mixedTakeoverBound bounds a takeover after the holder's death (deadtime,
// then the start through either daemon) in a mixed pair.
func mixedTakeoverBound(cfg hbref.HaCf) time.Duration { return cfg.Deadtime + 3*stepMargin }

// mixedFailbackBound bounds a failback from the restart of the preferred
// node: Heartbeat holds back its first acquisition until initdead, then
// the handover.
func mixedFailbackBound(cfg hbref.HaCf) time.Duration {
	return cfg.Initdead + mixedHandoverBound(cfg)
}

func mixedFailover(t *testing.T, hbdPreferred bool) {
	g := newGroupLab(t, "mixed")
	// Heartbeat's own floor: deadtime > 2 keepalive, initdead >= 10 s
	// avoids its warning; keepalive 500ms keeps the test short.
	cfg := g.hacf(Timing{Keepalive: 500 * time.Millisecond, Warntime: time.Second, Deadtime: 2 * time.Second, Initdead: 10 * time.Second})
	authkeys := groupsAuthkeys()
	script := recScript(g.dir)

	startHB := func(i int) *hbref.Node {
		n, err := hbref.Start(g.lab, g.hosts[i], hbref.NodeConfig{
			Name: fmt.Sprintf("node%d", i+1), HaCf: cfg.String(), Authkeys: authkeys,
			Haresources: "node1 rec::web\n", ResourceScripts: map[string]string{"rec": script},
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	hbdIdx, hbIdx := 1, 0
	if hbdPreferred {
		hbdIdx, hbIdx = 0, 1
	}
	us := g.hbdNode(hbdIdx, cfg)
	us.start()
	hb := startHB(hbIdx)
	preferred, other := fmt.Sprintf("node%d", 1), fmt.Sprintf("node%d", 2)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- Heartbeat ----\n%s\n---- hbd ----\n%s\n---- record ----\n%v", hb.DebugLog(), us.log(), readRecord(t, g.dir))
		}
	})

	// Heartbeat waits about 10 s before its first acquisition.
	rec := g.waitServing(preferred, 0, 60*time.Second)
	g.assertHandover(rec, 0, "", preferred, "initial acquisition")

	// The preferred node's machine dies: daemon killed, link cut, and its
	// resource gone with it (the node's namespaces stay, so the same
	// Heartbeat node can boot again).
	mark := len(rec)
	if hbdPreferred {
		if err := us.proc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	} else if err := hb.KillDaemon(); err != nil {
		t.Fatal(err)
	}
	if err := g.lab.Cut(g.hosts[0]); err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	if err := os.Remove(filepath.Join(g.dir, "state."+preferred+".web")); err != nil {
		t.Fatal(err)
	}
	rec = g.waitServing(other, mark, 30*time.Second)
	what := "takeover by " + map[bool]string{true: "Heartbeat", false: "hbd"}[hbdPreferred]
	g.assertHandover(rec, mark, "", other, what)
	g.assertStartedWithin(rec, mark, other, died, mixedTakeoverBound(cfg), what)

	// It comes back: failback, the holder stops before the preferred node starts.
	mark = len(rec)
	if err := g.lab.Heal(g.hosts[0]); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if hbdPreferred {
		us.start()
	} else if err := hb.StartDaemon(); err != nil {
		t.Fatal(err)
	}
	rec = g.waitServing(preferred, mark+1, 60*time.Second)
	what = "failback to " + map[bool]string{true: "hbd", false: "Heartbeat"}[hbdPreferred]
	g.assertHandover(rec, mark, other, preferred, what)
	g.assertStartedWithin(rec, mark, preferred, restarted, mixedFailbackBound(cfg), what)

	// Both still see each other active afterwards.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hb.WaitNodeStatus(ctx, map[bool]string{true: "node1", false: "node2"}[hbdPreferred], "active"); err != nil {
		t.Errorf("Heartbeat does not see hbd active after failback: %v", err)
	}
}

// TestMixedMigrateNode is the rehearsal of docs/guide-migrate-from-heartbeat.md:
// two Heartbeat 3.0.6 nodes, node1 holding the group; Heartbeat on node2
// is stopped gracefully (heartbeat -k) and hbd takes node2's place with
// the same files and address. Heartbeat on node1 must then accept hbd as
// its peer: no "Both machines own …" audit error, hb_standby on node1
// moves the group to hbd (node1 stops before node2 starts), hb_takeover
// brings it back, and heartbeat -k on node1 returns (the group goes to
// hbd at once).
func TestMixedMigrateNode(t *testing.T) {
	hbref.Need(t)
	g := newGroupLab(t, "migrate")
	cfg := g.hacf(Timing{Keepalive: 500 * time.Millisecond, Warntime: time.Second, Deadtime: 2 * time.Second, Initdead: 10 * time.Second})
	g.handoff = mixedHandoverBound(cfg) // heartbeat -k: node1's stop to node2's start
	startHB := func(i int) *hbref.Node {
		n, err := hbref.Start(g.lab, g.hosts[i], hbref.NodeConfig{
			Name: fmt.Sprintf("node%d", i+1), HaCf: cfg.String(), Authkeys: groupsAuthkeys(),
			Haresources: "node1 rec::web\n", ResourceScripts: map[string]string{"rec": recScript(g.dir)},
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	hb1, hb2 := startHB(0), startHB(1)
	var us *hbdInLab
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- Heartbeat node1 ----\n%s\n---- Heartbeat node2 ----\n%s", hb1.DebugLog(), hb2.DebugLog())
			if us != nil {
				t.Logf("---- hbd node2 ----\n%s", us.log())
			}
			t.Logf("---- record ----\n%v", readRecord(t, g.dir))
		}
	})
	rec := g.waitServing("node1", 0, 60*time.Second)
	g.assertHandover(rec, 0, "", "node1", "initial acquisition")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := hb1.WaitNodeStatus(ctx, "node2", "active"); err != nil {
		t.Fatal(err)
	}

	// Heartbeat on node2 leaves gracefully; node1 keeps the group.
	if err := hb2.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := hb1.WaitNodeStatus(ctx, "node2", "dead"); err != nil {
		t.Fatal(err)
	}
	// node1 has settled (it acquired node2's groups, none) before hbd comes.
	if _, err := hb1.WaitLog(ctx, "mach_down takeover complete"); err != nil {
		t.Fatal(err)
	}

	// hbd as node2, same address, same files.
	us = g.hbdNode(1, cfg)
	us.start()
	if err := hb1.WaitNodeStatus(ctx, "node2", "active"); err != nil {
		t.Fatalf("Heartbeat never saw hbd active: %v", err)
	}
	waitFor(t, 30*time.Second, "hbd to see node1 holding the group", func() bool {
		h, s := us.holder()
		return us.peerState("node1") == "active" && h == "node1" && s == "running"
	})
	// Both settle: Heartbeat gives node2's "foreign" groups (none) back
	// with its failback handshake, which hbd must complete.
	if _, err := hb1.WaitLog(ctx, "Other node completed standby takeover of foreign resources"); err != nil {
		t.Fatalf("Heartbeat's failback to hbd never completed: %v", err)
	}
	time.Sleep(2 * time.Second)
	// hbd's first announcement (rsc_hold=local, before it knows what
	// node1 holds) still makes Heartbeat's audit complain at the join;
	// it must not go on.
	audit := func() int {
		return strings.Count(hb1.Log(), "Both machines own") + strings.Count(hb1.Log(), "No one owns")
	}
	atJoin := audit()
	t.Logf("Heartbeat's audit complained %d time(s) at hbd's join", atJoin)

	steps := []struct {
		what     string
		script   string
		from, to string
	}{
		{"hb_standby on node1", "/usr/share/heartbeat/hb_standby", "node1", "node2"},
		{"hb_takeover on node1", "/usr/share/heartbeat/hb_takeover", "node2", "node1"},
	}
	for _, s := range steps {
		mark := len(readRecord(t, g.dir))
		asked := time.Now()
		if out, err := hb1.Exec(ctx, s.script); err != nil {
			t.Fatalf("%s: %v: %s", s.what, err, out)
		}
		rec = g.waitServing(s.to, mark+1, 30*time.Second)
		g.assertHandover(rec, mark, s.from, s.to, s.what)
		g.assertStartedWithin(rec, mark, s.to, asked, mixedHandoverBound(cfg), s.what)
		time.Sleep(2 * time.Second) // let both sides finish the handshake
	}
	if log := hb1.Log(); strings.Contains(log, "Standby in progress") || strings.Contains(log, "Ignored standby message") {
		t.Errorf("Heartbeat node1 ignored standby messages")
	}
	if n := audit(); n > atJoin {
		t.Errorf("Heartbeat's audit complained %d more time(s) after the join", n-atJoin)
	}

	// heartbeat -k on node1 returns; hbd takes the group at once.
	mark := len(readRecord(t, g.dir))
	stopped := time.Now()
	stopErr := make(chan error, 1)
	go func() { stopErr <- hb1.Stop() }()
	select {
	case err := <-stopErr:
		if err != nil {
			t.Errorf("heartbeat -k on node1: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("heartbeat -k on node1 had not returned after 40 s")
	}
	t.Logf("heartbeat -k on node1 returned after %s", time.Since(stopped).Round(time.Millisecond))
	rec = g.waitServing("node2", mark+1, 20*time.Second)
	g.assertHandover(rec, mark, "node1", "node2", "heartbeat -k on node1")
	// node1's last packets after its shutdone do not make hbd hand the
	// group back to a node on its way out.
	time.Sleep(3 * time.Second)
	if strings.Contains(us.log(), "no node answered") {
		t.Errorf("hbd tried to hand the group to the stopped node1")
	}
	if r := g.running(); len(r) != 1 || r[0] != "node2" {
		t.Errorf("after node1 stopped, the group runs on %v, want node2", r)
	}
}
