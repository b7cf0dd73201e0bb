package etcdown

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// TestSnapshotAndReconfigure: Snapshot shows the members, each group's
// owner with the token its holder started it with, and this node's lease;
// a reload that removes a group stops it and deletes its owner key, one
// that changes a group restarts it under a new token.
func TestSnapshotAndReconfigure(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	nodes := []string{"n1", "n2"}
	n1 := startNode(t, "n1", c.Endpoints(), nodes, rec)
	startNode(t, "n2", c.Endpoints(), nodes, rec)
	// g1 and g3 prefer n1, g2 n2.
	waitFor(t, testMove, "groups placed", func() bool {
		r := rec.running()
		return r["g1"] == "n1" && r["g2"] == "n2" && r["g3"] == "n1"
	})

	// A snapshot's reads have the node's short request timeout: on a
	// starved machine one may run out, so the first snapshot is retried.
	ctx := context.Background()
	var s Snapshot
	var err error
	waitFor(t, testMove, "a snapshot", func() bool {
		s, err = n1.owner.Snapshot(ctx)
		return err == nil
	})
	if !slices.Equal(s.Members, nodes) {
		t.Errorf("members %v, want %v", s.Members, nodes)
	}
	if s.Lease == 0 || time.Until(s.Until) <= 0 || !s.StopBy.Before(s.Until) || time.Until(s.StopBy) <= 0 {
		t.Errorf("lease %x until %s stop-by %s: want a live lease with stop-by ahead, before its end", s.Lease, s.Until, s.StopBy)
	}
	for _, g := range testGroups {
		o := s.Owners[g]
		want := map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}[g]
		if o.Node != want || o.Token == 0 {
			t.Errorf("owner of %s: %+v, want %s with a token", g, o, want)
		}
		if tok, held := s.Held[g]; held != (want == "n1") || held && tok != o.Token {
			t.Errorf("held %s: %v (token %d), owner key token %d", g, held, tok, o.Token)
		}
	}

	// A reload on n1 that drops g3 and changes g1.
	old := s.Owners["g1"].Token
	u := Update{Nodes: nodes, Failback: true, SlowestStop: testStop, Restart: []string{"g1"},
		Groups: []cluster.PlacedGroup{placed("g1", "n1"), placed("g2", "n2")}}
	n1.owner.Reconfigure(u)
	waitFor(t, testMove, "g3 stopped and its key gone, g1 restarted", func() bool {
		s, err := n1.owner.Snapshot(ctx)
		if err != nil {
			return false
		}
		_, g3 := s.Owners["g3"]
		_, held3 := s.Held["g3"]
		return !g3 && !held3 && s.Held["g1"] > old && s.Owners["g1"].Token == s.Held["g1"]
	})
	checkNoOverlap(t, rec)
}

// TestGiveUp: a group a monitor gave up stops here and goes to the next
// node, and stays there despite auto_failback until it is cleaned up.
func TestGiveUp(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	nodes, rec := startThree(t, func(int) []string { return c.Endpoints() })
	nodes[0].owner.GiveUp("g1")
	want := map[string]string{"g1": "n2", "g2": "n2", "g3": "n3"}
	waitFor(t, testMove, "g1 on n2 after n1 gave it up", runningIs(rec, want))
	steady(t, rec, 10*testInterval, want)
	if err := nodes[0].owner.Cleanup(ctxT(t), "g1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "g1 back on n1 after cleanup", placedAsPreferred(rec))
	checkNoOverlap(t, rec)
}

// TestCommandsDuringReload: the commands read the nodes and groups while
// a reload replaces them, and see one configuration or the other (go
// test -race: without a data race).
func TestCommandsDuringReload(t *testing.T) {
	t.Parallel()
	before := []cluster.PlacedGroup{placed("g1", "n1"), placed("g2", "n2")}
	after := []cluster.PlacedGroup{placed("g1", "n1"), placed("g3", "n1")}
	w := New(nil, Options{Node: "n1", Nodes: threeNodes, TTL: testTTL, Groups: before})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			gs := before
			if i%2 == 0 {
				gs = after
			}
			w.Reconfigure(Update{Nodes: threeNodes, Groups: gs})
			w.applyUpdate(context.Background(), 0)
		}
	}()
	for range 200 {
		if got := w.inClass("local"); !slices.Equal(got, []string{"g1"}) && !slices.Equal(got, []string{"g1", "g3"}) {
			t.Fatalf("local groups %v: neither configuration's", got)
		}
		if err := w.SetNodeStandby(context.Background(), "n4", true); err == nil {
			t.Fatal("standby of an unknown node accepted")
		}
	}
	<-done
}

// TestReloadForgetsFailure: a reload that changes a group forgets its
// failure here, as with the Heartbeat backend (the failure was the old
// definition's): the group comes back to its preferred node.
func TestReloadForgetsFailure(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	nodes := []string{"n1", "n2"}
	n1 := startNodeWith(t, "n1", c.Endpoints(), nodes, rec, func(_ *Options, r *fakeRunner) {
		r.failing = map[string]bool{"g1": true}
	})
	startNode(t, "n2", c.Endpoints(), nodes, rec)
	waitFor(t, testMove, "g1 on n2 after its start failed on n1", func() bool {
		return len(n1.runner.attemptsOf("g1")) > 0 && rec.running()["g1"] == "n2"
	})
	n1.runner.mu.Lock()
	n1.runner.failing = nil
	n1.runner.mu.Unlock()
	configured, groups := n1.owner.configured()
	n1.owner.Reconfigure(Update{Nodes: configured, Failback: true, SlowestStop: testStop, Groups: groups, Restart: []string{"g1"}})
	waitFor(t, testMove, "g1 back on n1, its failure record gone", func() bool {
		on, err := failureRecorded(t, n1, "g1")
		return err == nil && !on && rec.running()["g1"] == "n1"
	})
	checkNoOverlap(t, rec)
}
