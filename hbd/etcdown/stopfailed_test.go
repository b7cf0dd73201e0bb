package etcdown

import (
	"testing"
	"time"
)

// stopsOf is how many stops of g the runner was asked for.
func (f *fakeRunner) stopsOf(g string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stops[g]
}

// stoppedSince tells whether node logged a stop of group since from.
func stoppedSince(rec *record, node, group string, from time.Time) bool {
	for _, e := range rec.snapshot() {
		if !e.start && e.node == node && e.group == group && !e.at.Before(from) {
			return true
		}
	}
	return false
}

// TestStopFailedKeepsKey: a group whose stop fails when its node
// releases it stays held there with its owner key, so that the node the
// rule gives it to does not start it while it may still run; the node
// does not stop it again at every pass. hbd cleanup stops it again, and
// once that stop succeeds the group moves. Each way of releasing: the
// placement rule (a move), a monitor's give-up, a reload that changes
// the group.
func TestStopFailedKeepsKey(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		release func(t *testing.T, n1 *testNode)
		want    map[string]string // after the cleanup
	}{
		{"moved", func(t *testing.T, n1 *testNode) {
			if err := n1.owner.MoveGroup(ctxT(t), "g1", "n2"); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"g1": "n2", "g2": "n2", "g3": "n1"}},
		{"given up", func(t *testing.T, n1 *testNode) { n1.owner.GiveUp("g1") },
			map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}}, // the cleanup forgets the failure too
		{"changed by a reload", func(t *testing.T, n1 *testNode) {
			nodes, groups := n1.owner.configured()
			n1.owner.Reconfigure(Update{Nodes: nodes, Failback: true, SlowestStop: testStop, Groups: groups, Restart: []string{"g1"}})
		}, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stopFailedKeepsKey(t, tt.release, tt.want)
		})
	}
}

func stopFailedKeepsKey(t *testing.T, release func(*testing.T, *testNode), want map[string]string) {
	c := sharedCluster(t)
	rec := &record{}
	nodes := []string{"n1", "n2"}
	n1 := startNode(t, "n1", c.Endpoints(), nodes, rec)
	n2 := startNode(t, "n2", c.Endpoints(), nodes, rec)
	waitFor(t, testMove, "the groups on their preferred nodes", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}))
	n1.runner.mu.Lock()
	n1.runner.failingStop = map[string]bool{"g1": true}
	n1.runner.mu.Unlock()
	token := n1.owner.Held()["g1"]
	tried := len(n2.runner.attemptsOf("g1"))
	release(t, n1)
	waitFor(t, testMove, "n1 tries to stop g1", func() bool { return n1.runner.stopsOf("g1") > 0 })
	time.Sleep(10 * testInterval)
	if n := n1.runner.stopsOf("g1"); n != 1 {
		t.Errorf("n1 tried to stop g1 %d times, want once (until a cleanup)", n)
	}
	if got := n1.owner.Held()["g1"]; got != token {
		t.Errorf("n1 holds g1 under token %d, want %d (its stop failed)", got, token)
	}
	if s, _ := n1.owner.Snapshot(ctxT(t)); !s.StopFailed["g1"] || s.Held["g1"] != token {
		t.Errorf("n1's snapshot: held %v, stop-failed %v; want g1 held under token %d, stop-failed", s.Held, s.StopFailed, token)
	}
	resp, err := n1.cli.Get(ctxT(t), n1.owner.ownerKey("g1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "n1" || resp.Kvs[0].CreateRevision != token {
		t.Errorf("g1's owner key %v, want n1's of token %d", resp.Kvs, token)
	}
	if a := n2.runner.attemptsOf("g1"); len(a) > tried {
		t.Errorf("n2 started g1 while n1's stop of it had failed")
	}
	n1.runner.mu.Lock()
	n1.runner.failingStop = nil
	n1.runner.mu.Unlock()
	from := time.Now()
	if err := n1.owner.Cleanup(ctxT(t), "g1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "g1 stopped on n1, then placed", func() bool {
		return stoppedSince(rec, "n1", "g1", from) && n1.runner.stopsOf("g1") == 2 && runningIs(rec, want)()
	})
	if s, _ := n1.owner.Snapshot(ctxT(t)); s.StopFailed["g1"] {
		t.Error("n1's snapshot shows g1 stop-failed after its stop succeeded")
	}
	checkNoOverlap(t, rec)
}
