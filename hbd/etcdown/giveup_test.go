package etcdown

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startsOn counts the starts of group on node in the log since from.
func startsOn(rec *record, node, group string, from time.Time) int {
	n := 0
	for _, e := range rec.snapshot() {
		if e.start && e.node == node && e.group == group && !e.at.Before(from) {
			n++
		}
	}
	return n
}

// holdLoopInStart waits for n1, alone, to run every group, then has
// its loop held in a new start of g3: g3 is disabled, arm makes its next
// start hold the loop (its onStart signals held), and g3 is enabled
// again. Every other group runs on n1 by then.
func holdLoopInStart(t *testing.T, n1 *testNode, rec *record, arm func(), held <-chan struct{}) {
	t.Helper()
	waitFor(t, testMove, "every group on n1", runningIs(rec, map[string]string{"g1": "n1", "g2": "n1", "g3": "n1"}))
	if err := n1.owner.SetGroupDisabled(ctxT(t), "g3", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "g3 stopped", func() bool { _, ok := rec.running()["g3"]; return !ok })
	arm()
	if err := n1.owner.SetGroupDisabled(ctxT(t), "g3", false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(testMove):
		t.Fatal("n1 did not start g3 again")
	}
}

// TestGiveUpWhileLeaseLost: a group given up while the loop is busy (a
// start that hangs) is stopped by the watchdog before the pass that
// would apply the give-up, because the node's lease was lost meanwhile.
// The give-up still holds: the node does not start the group again under
// its new lease, and records the failure there, so the group goes to the
// other node once it comes up. The interleaving is forced: the loop is
// held in g3's hanging start until the watchdog ends it, which it does
// only after the lease was revoked, after GiveUp.
func TestGiveUpWhileLeaseLost(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	nodes := []string{"n1", "n2"}
	hung := make(chan struct{}, 1)
	// n1 alone first: it holds every group. Then g3's next start hangs
	// until the watchdog ends it; its later starts do not.
	n1 := startNodeWith(t, "n1", c.Endpoints(), nodes, rec, func(_ *Options, r *fakeRunner) {
		r.onStart = func(g string) {
			r.mu.Lock()
			first := r.hanging[g]
			if first {
				r.hanging = nil
			}
			r.mu.Unlock()
			if first {
				hung <- struct{}{}
			}
		}
	})
	holdLoopInStart(t, n1, rec, func() {
		n1.runner.mu.Lock()
		n1.runner.hanging = map[string]bool{"g3": true}
		n1.runner.mu.Unlock()
	}, hung)
	old, _ := n1.owner.lease.current()
	if old == 0 {
		t.Fatal("n1 runs groups without a lease")
	}
	givenUp := time.Now()
	n1.owner.GiveUp("g1")
	if _, err := n1.cli.Revoke(ctxT(t), old); err != nil {
		t.Fatal(err)
	}
	// The watchdog stops g1 (the renewal finds the lease gone), the
	// loop gets a new lease and passes again.
	waitFor(t, testMove, "n1 stops g1 and holds a new lease", func() bool {
		id, _ := n1.owner.lease.current()
		_, running := rec.running()["g1"]
		return id != 0 && id != old && !running
	})
	time.Sleep(10 * testInterval)
	if n := startsOn(rec, "n1", "g1", givenUp); n > 0 {
		t.Fatalf("n1 started g1 %d times after its monitor gave it up", n)
	}
	n1.owner.mu.Lock()
	_, failed := n1.owner.failedUntil["g1"]
	n1.owner.mu.Unlock()
	if !failed {
		t.Fatal("n1 did not record g1's give-up as a failure")
	}
	// The failure is in etcd under the new lease: n2, once up, takes g1
	// (and g2, its own), and n1 does not take g1 back.
	startNode(t, "n2", c.Endpoints(), nodes, rec)
	want := map[string]string{"g1": "n2", "g2": "n2", "g3": "n1"}
	waitFor(t, testMove, "g1 on n2", runningIs(rec, want))
	steady(t, rec, 10*testInterval, want)
	if n := startsOn(rec, "n1", "g1", givenUp); n > 0 {
		t.Errorf("n1 started g1 %d times after its monitor gave it up", n)
	}
	checkNoOverlap(t, rec)
}

// TestCleanupAfterPendingGiveUp: hbd cleanup of a group whose give-up the
// loop has not applied yet (it is busy in a start) comes after the
// give-up, as the operator ran it: the group is stopped and released
// once, its failure is not recorded, and the node may run it again. The
// loop is held in g3's start until the test lets it go.
func TestCleanupAfterPendingGiveUp(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	held, gate := make(chan struct{}, 1), make(chan struct{})
	var armed atomic.Bool
	n1 := startNodeWith(t, "n1", c.Endpoints(), []string{"n1", "n2"}, rec, func(_ *Options, r *fakeRunner) {
		r.onStart = func(g string) {
			if g == "g3" && armed.CompareAndSwap(true, false) {
				held <- struct{}{}
				<-gate
			}
		}
	})
	// Run before the node's own cleanup stops it: a test that fails
	// with the loop held must not leave it held.
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	t.Cleanup(release)
	holdLoopInStart(t, n1, rec, func() { armed.Store(true) }, held)
	from := time.Now()
	n1.owner.GiveUp("g1")
	if err := n1.owner.Cleanup(ctxT(t), "g1"); err != nil {
		t.Fatal(err)
	}
	release()
	waitFor(t, testMove, "g1 stopped on n1 and started there again", func() bool {
		return startsOn(rec, "n1", "g1", from) > 0 && rec.running()["g1"] == "n1"
	})
	n1.owner.mu.Lock()
	_, failed := n1.owner.failedUntil["g1"]
	n1.owner.mu.Unlock()
	if failed {
		t.Error("n1 recorded the failure of g1 that hbd cleanup forgot")
	}
	if on, err := failureRecorded(t, n1, "g1"); err != nil || on {
		t.Errorf("n1's failure of g1 in etcd: %v (%v), want none", on, err)
	}
	checkNoOverlap(t, rec)
}
