package etcdown

import (
	"context"
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

// g1StopFails starts n1 and n2, waits until they run their preferred
// groups (g1 and g3 on n1), then makes g1's stop fail on n1; it returns
// g1's token there.
func g1StopFails(t *testing.T) (n1, n2 *testNode, rec *record, token int64) {
	c := sharedCluster(t)
	rec = &record{}
	nodes := []string{"n1", "n2"}
	n1 = startNode(t, "n1", c.Endpoints(), nodes, rec)
	n2 = startNode(t, "n2", c.Endpoints(), nodes, rec)
	waitFor(t, testMove, "the groups on their preferred nodes", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}))
	n1.runner.mu.Lock()
	n1.runner.failingStop = map[string]bool{"g1": true}
	n1.runner.mu.Unlock()
	// Before the nodes stop (cleanups run last first): a test that
	// failed with g1 stop-failed would leave n1's stop waiting for it.
	t.Cleanup(func() {
		n1.runner.mu.Lock()
		n1.runner.failingStop = nil
		n1.runner.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), testMove)
		defer cancel()
		_ = n1.owner.Cleanup(ctx, "")
	})
	return n1, n2, rec, n1.owner.Held()["g1"]
}

func stopFailedKeepsKey(t *testing.T, release func(*testing.T, *testNode), want map[string]string) {
	n1, n2, rec, token := g1StopFails(t)
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

// TestShutdownWaitsForStopFailed: a graceful stop whose stop of a group
// fails keeps that group's owner key and its lease, renewed past the
// TTL, so that no other node starts the group while it may still run;
// the node leaves the members and frees its other groups meanwhile.
// hbd cleanup stops the group again; once that stop succeeds the other
// node takes it and the stop completes.
func TestShutdownWaitsForStopFailed(t *testing.T) {
	t.Parallel()
	// A node that loses its lease (a loaded machine) stops its groups
	// once more and forgets them, by design, which frees the group and
	// proves nothing here: the case is tried again then.
	for try := 1; ; try++ {
		if shutdownWaitsForStopFailed(t) {
			return
		}
		if try == 3 {
			t.Fatalf("n1 lost its lease during each of %d tries", try)
		}
		t.Logf("n1 lost its lease during try %d: trying again", try)
	}
}

// shutdownWaitsForStopFailed is one try of TestShutdownWaitsForStopFailed;
// false: n1 lost its lease meanwhile (both nodes are stopped then).
func shutdownWaitsForStopFailed(t *testing.T) bool {
	n1, n2, rec, token := g1StopFails(t)
	lostLease := func() bool {
		if len(n1.logs.with("not renewed in time"))+len(n1.logs.with("the lease expired")) == 0 {
			return false
		}
		n1.stop()
		n2.stop()
		return true
	}
	// n2 may have started g1 while n1 came up.
	tried := len(n2.runner.attemptsOf("g1"))
	n1.cancel() // a graceful stop, not waited for
	waitFor(t, testMove, "g3 on n2", func() bool { return rec.running()["g3"] == "n2" })
	// Past the TTL: n1 renews its lease while it waits.
	end := time.Now().Add(testTTL + 4*testInterval)
	for time.Now().Before(end) {
		select {
		case <-n1.done:
			if lostLease() {
				return false
			}
			t.Fatal("n1's graceful stop ended with g1's stop failed")
		case <-time.After(testInterval):
		}
		if a := n2.runner.attemptsOf("g1"); len(a) > tried {
			if lostLease() {
				return false
			}
			t.Fatal("n2 started g1 while n1's stop of it had failed")
		}
	}
	if len(n1.logs.with("shutdown waits: resource group g1")) == 0 {
		t.Error("n1 does not say its shutdown waits for g1")
	}
	resp, err := n2.cli.Get(ctxT(t), n2.owner.ownerKey("g1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "n1" || resp.Kvs[0].CreateRevision != token {
		t.Errorf("g1's owner key %v, want n1's of token %d", resp.Kvs, token)
	}
	if members := n2.owner.snapshotMembers(t); len(members) != 1 || members[0] != "n2" {
		t.Errorf("members %v while n1 waits, want n2 alone", members)
	}
	n1.runner.mu.Lock()
	n1.runner.failingStop = nil
	n1.runner.mu.Unlock()
	if err := n1.owner.Cleanup(ctxT(t), "g1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n1.done:
	case <-time.After(testMove):
		t.Fatal("n1's graceful stop did not end after g1's cleanup")
	}
	waitFor(t, testMove, "n2 runs every group", runningIs(rec, map[string]string{"g1": "n2", "g2": "n2", "g3": "n2"}))
	if n := n1.runner.stopsOf("g1"); n != 2 {
		t.Errorf("n1 stopped g1 %d times, want twice (the graceful stop, the cleanup)", n)
	}
	checkNoOverlap(t, rec)
	return true
}

// snapshotMembers is the members a snapshot of w shows.
func (w *Owner) snapshotMembers(t *testing.T) []string {
	t.Helper()
	s, err := w.Snapshot(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return s.Members
}
