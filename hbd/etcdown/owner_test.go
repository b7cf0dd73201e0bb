package etcdown

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

func placed(key, pref string) cluster.PlacedGroup {
	return cluster.PlacedGroup{Key: key, Preferred: pref}
}

var threeNodes = []string{"n1", "n2", "n3"}

func startThree(t *testing.T, endpoints func(i int) []string) ([]*testNode, *record) {
	t.Helper()
	rec := &record{}
	var nodes []*testNode
	for i, name := range threeNodes {
		nodes = append(nodes, startNode(t, name, endpoints(i), threeNodes, rec))
	}
	waitFor(t, testMove, "every group runs on its preferred node", placedAsPreferred(rec))
	return nodes, rec
}

// TestTokensGrow: each start carries the revision that created the owner
// key, so a later owner has a larger token.
func TestTokensGrow(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	nodes, rec := startThree(t, func(int) []string { return c.Endpoints() })
	first := nodes[0].owner.Held()["g1"]
	if first == 0 {
		t.Fatalf("n1 holds g1 without a token: %v", nodes[0].owner.Held())
	}
	nodes[0].stop()
	waitFor(t, testMove, "n2 takes g1 after n1 stops", func() bool { return rec.running()["g1"] == "n2" })
	if next := nodes[1].owner.Held()["g1"]; next <= first {
		t.Errorf("n2's token %d is not above n1's %d", next, first)
	}
	checkNoOverlap(t, rec)
}

// TestKilledHolderReplaced: a holder that dies without a word (its lease
// no longer renewed) is replaced once its lease expires, within the TTL
// and a few loop periods, and not before.
func TestKilledHolderReplaced(t *testing.T) {
	c := sharedCluster(t)
	nodes, rec := startThree(t, func(int) []string { return c.Endpoints() })
	killed := time.Now()
	nodes[0].runner.kill([]string{"g1"})
	nodes[0].cli.Close() // nothing of n1 reaches etcd any more
	took := waitFor(t, testTTL+testMove, "n2 takes g1 from the killed n1", func() bool {
		return rec.running()["g1"] == "n2"
	}).Sub(killed)
	if took < testTTL-testInterval*3 {
		t.Errorf("g1 was taken over %s after the kill, before n1's lease (%s) could expire", took, testTTL)
	}
	t.Logf("takeover after kill: %s (TTL %s)", took, testTTL)
	checkNoOverlap(t, rec)
}

// TestCutOffHolderStopsFirst: a holder whose connection to etcd is cut
// (its proxy closed) stops its groups before its lease can expire, so the
// node that takes them over starts them after the stop.
func TestCutOffHolderStopsFirst(t *testing.T) {
	c := sharedCluster(t)
	p := newProxy(t, strings.TrimPrefix(c.Endpoints()[0], "http://"))
	nodes, rec := startThree(t, func(i int) []string {
		if i == 0 {
			return []string{p.URL()}
		}
		return c.Endpoints()
	})
	_ = nodes
	cut := time.Now()
	p.Close()
	waitFor(t, testTTL+testMove, "n2 takes g1 from the cut-off n1", func() bool { return rec.running()["g1"] == "n2" })
	var stopped, started time.Time
	for _, e := range rec.snapshot() {
		if e.group == "g1" && e.node == "n1" && !e.start && e.at.After(cut) {
			stopped = e.at
		}
		if e.group == "g1" && e.node == "n2" && e.start {
			started = e.at
		}
	}
	if stopped.IsZero() {
		t.Fatal("n1 never stopped g1")
	}
	if d := stopped.Sub(cut); d > testTTL {
		t.Errorf("n1 stopped g1 %s after the cut, later than the TTL %s", d, testTTL)
	}
	if !started.After(stopped) {
		t.Errorf("n2 started g1 at %s, before n1 stopped it at %s", started.Format("15:04:05.000"), stopped.Format("15:04:05.000"))
	}
	t.Logf("cut-off n1 stopped g1 %s after the cut; n2 started it %s later", stopped.Sub(cut), started.Sub(stopped))
	checkNoOverlap(t, rec)
}

// TestEtcdLost: one member lost (the leader) changes nothing; all members lost make
// every node stop its groups within the TTL and start nothing, and log
// the requests that keep failing once, not at every pass; etcd back
// brings the groups back.
func TestEtcdLost(t *testing.T) {
	c := etcdtest.Start(t, nil) // its own: its members are stopped
	nodes, rec := startThree(t, func(int) []string { return c.Endpoints() })

	before := len(rec.snapshot())
	leader, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	c.Stop(leader) // the harder loss: an election must follow
	time.Sleep(2 * testTTL)
	if moved := rec.snapshot()[before:]; len(moved) > 0 {
		t.Fatalf("with one etcd member lost the groups moved: %+v", moved)
	}

	logged := make([]int, len(nodes))
	for i, n := range nodes {
		logged[i] = len(n.logs.with(""))
	}
	c.StopAll()
	lost := time.Now()
	waitFor(t, testTTL, "every node stops its groups", func() bool { return len(rec.running()) == 0 })
	time.Sleep(testTTL)
	for _, e := range rec.snapshot() {
		if e.start && e.at.After(lost) {
			t.Errorf("%s started %s at %s with etcd gone", e.node, e.group, e.at.Format("15:04:05.000"))
		}
	}
	// Each kind of request (renewal, grant, read, ...) fails at every
	// pass, every testInterval: a line each time would be dozens.
	for i, n := range nodes {
		var warnings []string
		for _, l := range n.logs.with("")[logged[i]:] {
			if strings.Contains(l, "level=warning") {
				warnings = append(warnings, l)
			}
		}
		t.Logf("%s: %d warnings without etcd", n.name, len(warnings))
		if len(warnings) > 8 {
			t.Errorf("%s logged %d warnings without etcd, want one per kind of request:\n%s",
				n.name, len(warnings), strings.Join(warnings, "\n"))
		}
	}

	if err := c.StartAll(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	waitFor(t, testTTL+testMove, "the groups come back", placedAsPreferred(rec))
	t.Logf("groups back %s after etcd", time.Since(back))
	checkNoOverlap(t, rec)
}

// TestStopDuringStart: a start under way when the loop stops (a graceful
// stop of hbd) ends with cause Options.Stopping, is stopped once, and is
// not the group's failure: nothing logs it failed, nothing records it. A
// start that rolls itself back (ErrRolledBack) is not stopped again.
// While it runs, the snapshot shows the group starting, not held.
func TestStopDuringStart(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		rollsBack bool
		says      string
	}{
		{"stopped by the loop", false, "stopping it in order"},
		{"rolled back by the start", true, "it stopped what it had started"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stopDuringStart(t, tt.rollsBack, tt.says)
		})
	}
}

func stopDuringStart(t *testing.T, rollsBack bool, says string) {
	c := sharedCluster(t)
	rec := &record{}
	begun := make(chan struct{})
	stopping := errors.New("hbd is stopping (test)")
	var (
		mu    sync.Mutex
		cause error
	)
	n1 := startNodeWith(t, "n1", c.Endpoints(), threeNodes[:1], rec, func(o *Options, r *fakeRunner) {
		o.Stopping = stopping
		r.hanging = map[string]bool{"g1": true}
		r.rollsBack = rollsBack
		r.onCause = func(g string, err error) {
			mu.Lock()
			cause = err
			mu.Unlock()
		}
		r.onStart = func(g string) {
			if g == "g1" {
				close(begun)
			}
		}
	})
	select {
	case <-begun:
	case <-time.After(testMove):
		t.Fatal("n1 did not start g1")
	}
	// hbd status: g1 is starting, not running, until its start ends. A
	// snapshot's reads have the node's short request timeout: on a
	// starved machine one may run out, so it is retried (the start
	// lasts until n1 stops).
	var s Snapshot
	waitFor(t, testMove, "a snapshot", func() bool {
		var err error
		s, err = n1.owner.Snapshot(context.Background())
		return err == nil
	})
	if _, held := s.Held["g1"]; held || s.Starting["g1"] == 0 {
		t.Errorf("during its start, g1 is held %v, starting under token %d; want starting, not held", held, s.Starting["g1"])
	}
	n1.stop()
	mu.Lock()
	got := cause
	mu.Unlock()
	if got != stopping {
		t.Errorf("the start ended with cause %v, want Options.Stopping", got)
	}
	if _, ok := rec.running()["g1"]; ok {
		t.Error("g1 still runs after the stop")
	}
	var stops int
	for _, e := range rec.snapshot() {
		if e.group == "g1" && !e.start {
			stops++
		}
	}
	if stops != 1 {
		t.Errorf("g1 was stopped %d times, want once", stops)
	}
	n1.owner.mu.Lock()
	failed := len(n1.owner.failedUntil)
	n1.owner.mu.Unlock()
	if failed > 0 {
		t.Errorf("the stop recorded failures: %v", n1.owner.failedUntil)
	}
	// Only lines about g1: a request to etcd that failed under load and
	// works again says "it failed from", which is not the group's.
	for _, s := range []string{"g1 failed", "record the failure"} {
		if lines := n1.logs.with(s); len(lines) > 0 {
			t.Errorf("logged %q", lines)
		}
	}
	if len(n1.logs.with("start of group g1 ended: "+stopping.Error()+"; "+says)) == 0 {
		t.Errorf("no line says why the start of g1 ended and %q", says)
	}
}

func TestGivenTo(t *testing.T) {
	for _, tt := range []struct{ node, want string }{
		{"node2", `the placement rule gives it to "node2"`},
		{"", "the placement rule gives it to no node now"},
	} {
		if got := givenTo(tt.node); got != tt.want {
			t.Errorf("givenTo(%q) = %q, want %q", tt.node, got, tt.want)
		}
	}
}
