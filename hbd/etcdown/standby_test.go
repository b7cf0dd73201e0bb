package etcdown

import (
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestStandbyTakeover: hbd standby and hbd takeover with each argument,
// on three nodes with auto_failback on: the groups of the class leave
// the node (standby) or come to it (takeover), and stay, failback or not.
func TestStandbyTakeover(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	nodes, rec := startThree(t, func(int) []string { return c.Endpoints() })
	n1, n2 := nodes[0], nodes[1]
	steps := []struct {
		name string
		do   func() error
		want map[string]string
	}{
		{"standby local on n1: g1 to the next node", func() error { return n1.owner.Standby(ctxT(t), "local") },
			map[string]string{"g1": "n2", "g2": "n2", "g3": "n3"}},
		{"takeover local on n1: g1 back", func() error { return n1.owner.Takeover(ctxT(t), "local") },
			map[string]string{"g1": "n1", "g2": "n2", "g3": "n3"}},
		{"standby all on n2: g2 to the next node", func() error { return n2.owner.Standby(ctxT(t), "all") },
			map[string]string{"g1": "n1", "g2": "n3", "g3": "n3"}},
		{"takeover foreign on n2: g1 and g3 to n2, g2 stays away", func() error { return n2.owner.Takeover(ctxT(t), "foreign") },
			map[string]string{"g1": "n2", "g2": "n3", "g3": "n2"}},
		{"takeover (all) on n2: g2 too", func() error { return n2.owner.Takeover(ctxT(t), "") },
			map[string]string{"g1": "n2", "g2": "n2", "g3": "n2"}},
		{"standby failback on n2: g1 and g3 to their preferred nodes", func() error { return n2.owner.Standby(ctxT(t), "failback") },
			map[string]string{"g1": "n1", "g2": "n2", "g3": "n3"}},
	}
	for _, s := range steps {
		t.Logf("step: %s", s.name)
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		waitFor(t, testMove, s.name, runningIs(rec, s.want))
		// It holds: auto_failback does not undo it.
		steady(t, rec, 5*testInterval, s.want)
	}
	checkNoOverlap(t, rec)
	for _, n := range nodes {
		if lines := n.logs.with("Going standby"); n.name == "n3" && len(lines) > 0 {
			t.Errorf("n3 logged a standby it was not asked for: %q", lines)
		}
		// A group released here is not mistaken, in the same pass, for
		// an owner key this node did not know it had. A real one
		// follows an error of a claim or a release of the group: a
		// claim whose answer a timeout lost, or a release that timed
		// out and left the key (both seen under load).
		for _, g := range testGroups {
			lines := n.logs.with("group " + g + " is owned by this node in etcd but not started here")
			if len(lines) > 0 && len(n.logs.with("acquire group "+g+": "))+len(n.logs.with("release group "+g+": ")) == 0 {
				t.Errorf("%s: %q", n.name, lines)
			}
		}
	}
	for _, want := range []string{"Going standby [local].", "Going standby [all].", "Going standby [foreign].",
		"Taking over [local] resources from the other nodes (hb_takeover).",
		"Taking over [foreign] resources from the other nodes (hb_takeover).",
		"Taking over [all] resources from the other nodes (hb_takeover)."} {
		if len(n1.logs.with(want))+len(n2.logs.with(want)) == 0 {
			t.Errorf("nobody logged %q", want)
		}
	}
}

// TestStandbySpent: a node standing by for its groups takes them back
// when no other node may hold them, and that spends its standby: once
// the other node is back, failback applies as usual (its own group goes
// back to it, the others' stay).
func TestStandbySpent(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	two := threeNodes[:2]
	rec := &record{}
	n1 := startNode(t, "n1", c.Endpoints(), two, rec)
	n2 := startNode(t, "n2", c.Endpoints(), two, rec)
	waitFor(t, testMove, "the groups on their preferred nodes", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}))
	if err := n1.owner.Standby(ctxT(t), "all"); err != nil {
		t.Fatal(err)
	}
	onN2 := map[string]string{"g1": "n2", "g2": "n2", "g3": "n2"}
	waitFor(t, testMove, "every group on n2", runningIs(rec, onN2))
	steady(t, rec, 5*testInterval, onN2)
	n2.stop()
	waitFor(t, testMove, "every group back on n1, n2 gone", runningIs(rec, map[string]string{"g1": "n1", "g2": "n1", "g3": "n1"}))
	startNode(t, "n2", c.Endpoints(), two, rec)
	back := map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}
	waitFor(t, testMove, "g2 back on n2, g1 and g3 kept by n1", runningIs(rec, back))
	steady(t, rec, 5*testInterval, back)
	checkNoOverlap(t, rec)
}

// TestStandbyCancelsFailback: hbd standby on a preferred node that has
// just joined cancels the failback failback_delay holds back, as the
// log line planning it says.
func TestStandbyCancelsFailback(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	const delay = 1500 * time.Millisecond
	two := threeNodes[:2]
	rec := &record{}
	start := func(name string) *testNode {
		return startNodeWith(t, name, c.Endpoints(), two, rec, func(o *Options, _ *fakeRunner) { o.FailbackDelay = delay })
	}
	n2 := start("n2")
	onN2 := map[string]string{"g1": "n2", "g2": "n2", "g3": "n2"}
	waitFor(t, testMove, "n2 holds every group", runningIs(rec, onN2))
	n1 := start("n1")
	waitFor(t, testMove, "n2 plans the failback", func() bool {
		return len(n2.logs.with("(failback_delay; run hbd standby on n1 to cancel)")) > 0
	})
	if err := n1.owner.Standby(ctxT(t), "local"); err != nil {
		t.Fatal(err)
	}
	steady(t, rec, delay+5*testInterval, onN2)
}

// TestStandbyRefused: standby and takeover need this node to be a
// member and another live member; takeover needs this node out of
// standby; the class must be one of Heartbeat's. Refused, they change
// nothing.
func TestStandbyRefused(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	n1 := startNode(t, "n1", c.Endpoints(), threeNodes, rec)
	want := map[string]string{"g1": "n1", "g2": "n1", "g3": "n1"}
	waitFor(t, testMove, "n1 alone holds every group", runningIs(rec, want))

	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// n3 as hbd would run it, but its loop not started: no lease.
	absent := New(cli, Options{Node: "n3", Nodes: threeNodes, Prefix: testPrefix(t), TTL: testTTL, Groups: n1.owner.o.Groups})

	ctx := ctxT(t)
	for _, tt := range []struct {
		name, want string
		err        error
	}{
		{"standby with no other node", "standby [all] ignored: no other active node", n1.owner.Standby(ctx, "")},
		{"takeover with no other node", "takeover [local] ignored: no other active node", n1.owner.Takeover(ctx, "local")},
		{"standby on a node that is not a member", "standby [foreign] ignored: n3 is not a member", absent.Standby(ctx, "foreign")},
		{"takeover on a node that is not a member", "takeover [all] ignored: n3 is not a member", absent.Takeover(ctx, "all")},
		{"an unknown class", `unknown resource class "some"`, n1.owner.Standby(ctx, "some")},
	} {
		if tt.err == nil || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, tt.err, tt.want)
		}
	}

	n2 := startNode(t, "n2", c.Endpoints(), threeNodes, rec)
	withN2 := map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}
	waitFor(t, testMove, "g2 on n2", runningIs(rec, withN2))
	if err := n2.owner.SetNodeStandby(ctx, "", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "n2 in standby holds nothing", runningIs(rec, want))
	if err := n2.owner.Takeover(ctx, "all"); err == nil || !strings.Contains(err.Error(), "n2 is in standby: run hbd node online first") {
		t.Errorf("takeover on a node in standby: %v", err)
	}
	steady(t, rec, 5*testInterval, want)
	resp, err := cli.Get(ctx, testPrefix(t)+dirYield, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatalf("read %s: %v", dirYield, err)
	}
	if resp.Count != 0 {
		t.Errorf("after refused commands: %d keys under %s, want none", resp.Count, dirYield)
	}
}

// TestStandbyExclusive: a standby that gives the higher group of an
// exclusive set to the node holding the lower one moves the lower one
// away first; the two never run on one node.
func TestStandbyExclusive(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	two := threeNodes[:2]
	rec := &record{}
	var nodes []*testNode
	for _, name := range two {
		nodes = append(nodes, startNodeWith(t, name, c.Endpoints(), two, rec, func(o *Options, _ *fakeRunner) {
			o.Exclusive = [][]string{{"g1", "g2"}}
		}))
	}
	waitFor(t, testMove, "the groups on their preferred nodes", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}))
	if err := nodes[0].owner.Standby(ctxT(t), "local"); err != nil {
		t.Fatal(err)
	}
	swapped := map[string]string{"g1": "n2", "g2": "n1", "g3": "n2"}
	waitFor(t, testMove, "g1 and g3 on n2, g2 on n1", runningIs(rec, swapped))
	steady(t, rec, 5*testInterval, swapped)
	checkNoOverlap(t, rec)
	running := map[string]string{}
	for _, e := range rec.snapshot() {
		if e.start {
			running[e.group] = e.node
		} else if running[e.group] == e.node {
			delete(running, e.group)
		}
		if running["g1"] != "" && running["g1"] == running["g2"] {
			t.Fatalf("g1 and g2 both on %s at %s", running["g1"], e.at.Format(time.StampMicro))
		}
	}
}

// TestStandbyOutlivesLease: a node whose lease changes under it (here
// revoked by hand; a cut-off from etcd does the same) still stands by
// for the groups it stood by for: it writes its flags again under its
// new lease, and the groups stay where hbd standby sent them, despite
// auto_failback.
func TestStandbyOutlivesLease(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	two := threeNodes[:2]
	rec := &record{}
	n1 := startNode(t, "n1", c.Endpoints(), two, rec)
	startNode(t, "n2", c.Endpoints(), two, rec)
	waitFor(t, testMove, "the groups on their preferred nodes", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}))
	if err := n1.owner.Standby(ctxT(t), "local"); err != nil {
		t.Fatal(err)
	}
	away := map[string]string{"g1": "n2", "g2": "n2", "g3": "n2"}
	waitFor(t, testMove, "g1 and g3 on n2", runningIs(rec, away))
	old, _ := n1.owner.lease.current()
	if _, err := n1.cli.Revoke(ctxT(t), old); err != nil {
		t.Fatal(err)
	}
	var id clientv3.LeaseID
	waitFor(t, testMove, "n1 a member again under a new lease", func() bool {
		id, _ = n1.owner.lease.current()
		return id != 0 && id != old && n1.owner.store.has(n1.owner.memberKey("n1"), int64(id))
	})
	steady(t, rec, 10*testInterval, away)
	for _, g := range []string{"g1", "g3"} {
		resp, err := n1.cli.Get(ctxT(t), n1.owner.yieldKey("n1", g))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != 1 || resp.Kvs[0].Lease != int64(id) {
			t.Errorf("n1's standby for %s: %v, want it under n1's new lease %x", g, resp.Kvs, id)
		}
	}
	checkNoOverlap(t, rec)
}
