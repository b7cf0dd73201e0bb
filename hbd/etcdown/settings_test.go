package etcdown

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// attemptsOf lists when each start of g was asked for.
func (f *fakeRunner) attemptsOf(g string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.attempts[g]...)
}

// steady checks that what runs stays want for d.
func steady(t *testing.T, rec *record, d time.Duration, want map[string]string) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if got := rec.running(); !maps.Equal(got, want) {
			t.Fatalf("running %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runningIs(rec *record, want map[string]string) func() bool {
	return func() bool { return maps.Equal(rec.running(), want) }
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testMove)
	t.Cleanup(cancel)
	return ctx
}

// TestSettings: the operator settings, written through any node, act on
// every node: a disabled group stops everywhere and starts nowhere; a
// moved group goes to its node and stays; a group moved away leaves its
// holder; a node in standby holds nothing; each cleared, the rule as
// usual.
func TestSettings(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	nodes, rec := startThree(t, func(int) []string { return c.Endpoints() })
	asPreferred := map[string]string{"g1": "n1", "g2": "n2", "g3": "n3"}
	steps := []struct {
		name string
		do   func(*Owner) error
		want map[string]string
	}{
		{"disable g1 (through n3)", func(w *Owner) error { return w.SetGroupDisabled(ctxT(t), "g1", true) },
			map[string]string{"g2": "n2", "g3": "n3"}},
		{"enable g1", func(w *Owner) error { return w.SetGroupDisabled(ctxT(t), "g1", false) }, asPreferred},
		{"move g1 to n3", func(w *Owner) error { return w.MoveGroup(ctxT(t), "g1", "n3") },
			map[string]string{"g1": "n3", "g2": "n2", "g3": "n3"}},
		{"clear g1's move", func(w *Owner) error { return w.ClearMove(ctxT(t), "g1") }, asPreferred},
		{"move g2 away from its holder", func(w *Owner) error { return w.MoveGroup(ctxT(t), "g2", "") },
			map[string]string{"g1": "n1", "g2": "n3", "g3": "n3"}},
		{"clear g2's move", func(w *Owner) error { return w.ClearMove(ctxT(t), "g2") }, asPreferred},
		{"n2 in standby", func(w *Owner) error { return w.SetNodeStandby(ctxT(t), "n2", true) },
			map[string]string{"g1": "n1", "g2": "n3", "g3": "n3"}},
		{"n2 online", func(w *Owner) error { return w.SetNodeStandby(ctxT(t), "n2", false) }, asPreferred},
	}
	for _, s := range steps {
		t.Logf("step: %s", s.name)
		if err := s.do(nodes[2].owner); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		waitFor(t, testMove, s.name, runningIs(rec, s.want))
		// The setting holds: the loop of every node has passed again
		// several times and changed nothing.
		steady(t, rec, 5*testInterval, s.want)
	}
	got, err := nodes[0].owner.Settings(ctxT(t))
	if err != nil || len(got) != 0 {
		t.Errorf("settings after every one was cleared: %v, %v", got, err)
	}
	checkNoOverlap(t, rec)
}

// TestSettingsChecked: settings name a configured node and group.
func TestSettingsChecked(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	n := startNode(t, "n1", c.Endpoints(), threeNodes, &record{})
	ctx := ctxT(t)
	for name, err := range map[string]error{
		"standby of an unknown node":   n.owner.SetNodeStandby(ctx, "n9", true),
		"disable of an unknown group":  n.owner.SetGroupDisabled(ctx, "web", true),
		"move to an unknown node":      n.owner.MoveGroup(ctx, "g1", "n9"),
		"move of a group nobody holds": n.owner.MoveGroup(ctx, "g3", ""),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := n.owner.Cleanup(cancelled, "g1"); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "forget the failures of group g1 on n1") {
		t.Errorf("cleanup without etcd: %v, want the failure to forget wrapped around etcd's error", err)
	}
	if err := n.owner.SetNodeStandby(ctx, "", true); err != nil {
		t.Fatal(err)
	}
	got, err := n.owner.Settings(ctx)
	if err != nil || len(got) != 1 || got[0].Kind != "standby" || got[0].Name != "n1" || got[0].Value != "1" {
		t.Errorf("standby of this node: settings %+v, %v", got, err)
	}
}

// TestFailedStartNotRetried: a node whose start of a group fails records
// the failure; the group goes to the next node and does not come back
// (no flapping), until the failure is cleaned up.
func TestFailedStartNotRetried(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	var nodes []*testNode
	for _, name := range threeNodes {
		nodes = append(nodes, startNodeWith(t, name, c.Endpoints(), threeNodes, rec, func(_ *Options, r *fakeRunner) {
			if name == "n1" {
				r.failing = map[string]bool{"g1": true}
			}
		}))
	}
	want := map[string]string{"g1": "n2", "g2": "n2", "g3": "n3"}
	waitFor(t, testMove, "g1 runs on n2 after it failed on n1", func() bool {
		return len(nodes[0].runner.attemptsOf("g1")) > 0 && runningIs(rec, want)()
	})
	steady(t, rec, 10*testInterval, want)
	if a := nodes[0].runner.attemptsOf("g1"); len(a) != 1 {
		t.Errorf("n1 tried to start g1 %d times, want once", len(a))
	}
	// Cleaned up, n1 may hold g1 again: auto_failback gives it back,
	// the start fails again, and the group returns to n2.
	nodes[0].runner.mu.Lock()
	nodes[0].runner.failing = nil
	nodes[0].runner.mu.Unlock()
	if err := nodes[0].owner.Cleanup(ctxT(t), "g1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "g1 back on n1 after cleanup", placedAsPreferred(rec))
	checkNoOverlap(t, rec)
}

// TestFailureTimeout: a failure ends after the group's failure_timeout,
// also when the first delete of its record in etcd is lost (the record
// would keep the group off the node).
func TestFailureTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		lostDels int
	}{
		{"record deleted", 0},
		{"record's delete lost once", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			failureTimeout(t, tt.lostDels)
		})
	}
}

func failureTimeout(t *testing.T, lostDels int) {
	const timeout = time.Second
	c := sharedCluster(t)
	rec := &record{}
	del := &rpcHook{del: true, prefix: testPrefix(t) + dirFailed, n: lostDels, f: lost}
	n1 := startNodeWith(t, "n1", c.Endpoints(), []string{"n1"}, rec, func(o *Options, r *fakeRunner) {
		r.failing = map[string]bool{"g1": true}
		o.FailureTimeouts = map[string]time.Duration{"g1": timeout}
	}, del.dialOption())
	waitFor(t, timeout+testMove, "a second start of g1 after failure_timeout", func() bool { return len(n1.runner.attemptsOf("g1")) >= 2 })
	a := n1.runner.attemptsOf("g1")
	if d := a[1].Sub(a[0]); d < timeout {
		t.Errorf("g1 tried again %s after its failure, within failure_timeout %s", d, timeout)
	}
	if n := del.count(); n != lostDels {
		t.Errorf("%d deletes lost, want %d", n, lostDels)
	}
}

// TestFailbackDelay: a group goes back to its preferred node only once
// that node has been a member for failback_delay.
func TestFailbackDelay(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	const delay = 1500 * time.Millisecond
	rec := &record{}
	start := func(name string) *testNode {
		return startNodeWith(t, name, c.Endpoints(), threeNodes[:2], rec, func(o *Options, _ *fakeRunner) { o.FailbackDelay = delay })
	}
	start("n2")
	waitFor(t, testMove, "n2 holds every group", runningIs(rec, map[string]string{"g1": "n2", "g2": "n2", "g3": "n2"}))
	joined := time.Now()
	start("n1")
	back := waitFor(t, delay+testMove, "g1 and g3 back on n1", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}))
	if d := back.Sub(joined); d < delay {
		t.Errorf("failback %s after n1 joined, before failback_delay %s", d, delay)
	}
	t.Logf("failback %s after n1 started (failback_delay %s)", back.Sub(joined), delay)
	checkNoOverlap(t, rec)
}

// TestSlashInGroupKey: a group whose key holds slashes (an address with
// its prefix length) is held steadily, not stopped as if lost.
func TestSlashInGroupKey(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	startNodeWith(t, "n1", c.Endpoints(), []string{"n1"}, rec, func(o *Options, _ *fakeRunner) {
		o.Groups = []cluster.PlacedGroup{placed("IPaddr::10.0.0.1/24/eth0", "n1")}
	})
	want := map[string]string{"IPaddr::10.0.0.1/24/eth0": "n1"}
	waitFor(t, testMove, "the group runs", runningIs(rec, want))
	steady(t, rec, 5*testInterval, want)
}
