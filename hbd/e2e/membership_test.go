package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// fast timings keep the tests short; the margins below keep them
// honest on a loaded CI machine (a daemon that notices its own loop ran
// late rightly waits longer before declaring anybody dead).
var fast = Timing{
	Keepalive: 200 * time.Millisecond,
	Warntime:  600 * time.Millisecond,
	Deadtime:  1 * time.Second,
	Initdead:  2 * time.Second,
}

// TestMembership: two real daemons see each other active; a kill -9 is
// noticed within deadtime plus one keepalive (plus a margin for a loaded
// machine); the restarted node is recognised as a restart and comes back;
// a graceful stop is seen at once, without waiting for deadtime.
func TestMembership(t *testing.T) {
	nodes := newCluster(t, []string{"node1", "node2"}, fast, "")
	n1, n2 := nodes[0], nodes[1]
	// An rc.d/status hook, as Heartbeat runs on every node status change.
	hooks := n1.path("hooks.log")
	if err := os.MkdirAll(n1.path("ha.d/rc.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	n1.write("ha.d/rc.d/status", "#!/bin/sh\necho \"$1 $HA_src $HA_st\" >>"+hooks+"\n", 0o755)
	n1.start()
	n2.start()
	waitFor(t, 10*time.Second, "both nodes active", func() bool {
		return n1.peerState("node2") == "active" && n2.peerState("node1") == "active"
	})
	st, err := n1.status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Cluster.State != "active" {
		t.Errorf("node1's own state = %q, want active", st.Cluster.State)
	}

	// kill -9: node1 must declare node2 dead after deadtime, not before
	// and not much after.
	killed := time.Now()
	n2.kill()
	waitFor(t, 5*time.Second, "node1 to see node2 dead", func() bool { return n1.peerState("node2") == "dead" })
	took := time.Since(killed)
	const margin = 1500 * time.Millisecond // status polling and a busy CI machine
	if limit := fast.Deadtime + fast.Keepalive + margin; took > limit {
		t.Errorf("node2 declared dead %s after kill -9, want <= %s", took, limit)
	}
	if took < fast.Deadtime-fast.Keepalive {
		t.Errorf("node2 declared dead %s after kill -9: before deadtime %s", took, fast.Deadtime)
	}
	if _, _, ok := n1.logLine("WARN: node node2: is dead"); !ok {
		t.Error(`node1's log lacks "WARN: node node2: is dead"`)
	}
	if _, _, ok := n1.logLine("info: Link node2:lo dead."); !ok {
		t.Error(`node1's log lacks "Link node2:lo dead."`)
	}

	waitFor(t, 5*time.Second, "rc.d/status to run for node2's death", func() bool {
		b, _ := os.ReadFile(hooks)
		return strings.Contains(string(b), "status node2 dead")
	})

	// Restart: a new generation, logged as a restart, active again.
	n2.start()
	waitFor(t, 10*time.Second, "node2 active again", func() bool { return n1.peerState("node2") == "active" })
	if _, _, ok := n1.logLine("Heartbeat restart on node node2"); !ok {
		t.Error(`node1's log lacks "Heartbeat restart on node node2"`)
	}

	// Graceful stop: node1 learns at once (well before deadtime) from the
	// shutdown notice.
	stopped := time.Now()
	if err := n2.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "node1 to see node2 gone", func() bool { return n1.peerState("node2") == "dead" })
	if took := time.Since(stopped); took >= fast.Deadtime {
		t.Errorf("graceful stop noticed after %s, want before deadtime %s", took, fast.Deadtime)
	}
	if _, _, ok := n1.logLine("Received shutdown notice from 'node2'."); !ok {
		t.Error(`node1's log lacks "Received shutdown notice from 'node2'."`)
	}
}
