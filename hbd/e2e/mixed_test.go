//go:build linux

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
	if err := os.Remove(filepath.Join(g.dir, "state."+preferred+".web")); err != nil {
		t.Fatal(err)
	}
	rec = g.waitServing(other, mark, 30*time.Second)
	g.assertHandover(rec, mark, "", other, "takeover by "+map[bool]string{true: "Heartbeat", false: "hbd"}[hbdPreferred])

	// It comes back: failback, the holder stops before the preferred node starts.
	mark = len(rec)
	if err := g.lab.Heal(g.hosts[0]); err != nil {
		t.Fatal(err)
	}
	if hbdPreferred {
		us.start()
	} else if err := hb.StartDaemon(); err != nil {
		t.Fatal(err)
	}
	rec = g.waitServing(preferred, mark+1, 60*time.Second)
	g.assertHandover(rec, mark, other, preferred, "failback to "+map[bool]string{true: "hbd", false: "Heartbeat"}[hbdPreferred])

	// Both still see each other active afterwards.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hb.WaitNodeStatus(ctx, map[bool]string{true: "node1", false: "node2"}[hbdPreferred], "active"); err != nil {
		t.Errorf("Heartbeat does not see hbd active after failback: %v", err)
	}
}
