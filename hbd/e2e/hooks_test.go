package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHooksOncePerMessage: two nodes joined by two links, so every
// message arrives twice. node1's rc.d hooks run once per message it
// accepts (hb_takeover, ask_resources) and once per change of node2's
// state (status), never once per link.
func TestHooksOncePerMessage(t *testing.T) {
	g := newGroupLab(t, "hooks")
	cfg := g.twoLinks(t)
	n1, n2 := g.hbdNode(0, cfg), g.hbdNode(1, cfg)
	hooks := filepath.Join(n1.dir, "hooks.log")
	if err := os.MkdirAll(filepath.Join(n1.dir, "ha.d/rc.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"status", "hb_takeover", "ask_resources"} {
		script := "#!/bin/sh\necho \"$1 $HA_src seq=$HA_seq st=$HA_st info=$HA_info\" >>" + hooks + "\n"
		if err := os.WriteFile(filepath.Join(n1.dir, "ha.d/rc.d", ev), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n1.start()
	n2.start()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(hooks)
			t.Logf("---- hooks ----\n%s---- node1 ----\n%s\n---- node2 ----\n%s", b, n1.log(), n2.log())
		}
	})
	g.waitServing("node1", 0, 20*time.Second)

	// node2 asks for the group: one hb_takeover, then Heartbeat's
	// handshake (ask_resources), each message on both links.
	mark := len(readRecord(t, g.dir))
	asked := time.Now()
	if out, err := n2.host.Exec(context.Background(), hbdBin, "takeover", "--run-dir", filepath.Join(n2.dir, "run")); err != nil {
		t.Fatalf("hbd takeover on node2: %v: %s", err, out)
	}
	rec := g.waitServing("node2", mark+1, 15*time.Second)
	g.assertStartedWithin(rec, mark, "node2", asked, groupTiming.Deadtime+stepMargin, "hbd takeover on node2")
	time.Sleep(groupTiming.Deadtime) // every hook that would run has run

	b, err := os.ReadFile(hooks)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seen := map[string]int{}
	count := map[string]int{}
	for _, l := range lines {
		seen[l]++
		count[strings.Fields(l)[0]]++
	}
	for l, n := range seen {
		if n > 1 {
			t.Errorf("hook ran %d times for one message or state change: %q", n, l)
		}
	}
	if count["hb_takeover"] != 1 {
		t.Errorf("rc.d/hb_takeover ran %d times, want once", count["hb_takeover"])
	}
	if count["ask_resources"] == 0 {
		t.Error("rc.d/ask_resources never ran during the handover")
	}
	if seen["status node2 seq= st=active info="] != 1 {
		t.Errorf("rc.d/status for node2 active ran %d times, want once", seen["status node2 seq= st=active info="])
	}
}
