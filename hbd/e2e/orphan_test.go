//go:build linux

package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestKilledDuringStartLeavesNoScript: a node's daemon is killed (kill
// -9, a crash, the OOM killer) while the start script of a takeover
// still runs. The script, in a process group of its own, outlives the
// daemon. Restarted at once, the node releases what it finds running
// before it joins, and the peer, back too, takes its group again; the
// start the dead daemon began must not finish afterwards and leave the
// resource running on the node that does not hold the group. The
// restarted daemon says which script it cut short.
//
// The start's work is done by the script itself, or by a child it
// waits for (which the script's own death does not end).
func TestKilledDuringStartLeavesNoScript(t *testing.T) {
	const orig = `start) echo "$(date +%s.%N) $node start $1" >>$dir/record; touch "$state" ;;`
	cases := []struct{ name, start string }{
		{"the script", `start) touch "$dir/begun.$node"; sleep 3; echo "$(date +%s.%N) $node start $1" >>$dir/record; touch "$state" ;;`},
		{"its child", `start) touch "$dir/begun.$node"; (sleep 3; echo "$(date +%s.%N) $node start $1" >>$dir/record; touch "$state") & wait ;;`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := t.TempDir()
			nodes := newCluster(t, []string{"node1", "node2"}, fast, "node2 slow::web\n")
			n1, n2 := nodes[0], nodes[1]
			slow := recScript(rec)
			if !strings.Contains(slow, orig) {
				t.Fatalf("recScript has no line %q", orig)
			}
			slow = strings.Replace(slow, orig, tc.start, 1)
			for _, n := range nodes {
				n.write("ha.d/resource.d/slow", slow, 0o755)
				n.start()
			}
			exists := func(name string) bool {
				_, err := os.Stat(rec + "/" + name)
				return err == nil
			}
			waitFor(t, 20*time.Second, "node2 to run web", func() bool { return exists("state.node2.web") })
			if err := n2.stop(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "node1's start of web to begin", func() bool { return exists("begun.node1") })
			n1.kill()
			n2.start()
			n1.start()
			waitFor(t, 20*time.Second, "node2 to run web again, node1 back", func() bool {
				return exists("state.node2.web") && n1.peerState("node2") == "active"
			})
			time.Sleep(4 * time.Second) // longer than what was left of the killed start
			if exists("state.node1.web") {
				t.Errorf("web runs on node1 too, which does not hold it: the start its killed daemon began ended after the restart")
			}
			if n1.countLines("WARN", "start script of resource group", "slow::web", "killed process group", "sleep[", "cut short") != 1 {
				t.Errorf("node1's log does not say once that it killed what was left of the start script")
			}
			for _, e := range readRecord(t, rec) {
				t.Logf("%s %s %s %s", e.at.Format("15:04:05.000"), e.node, e.op, e.res)
			}
		})
	}
}
