package etcdown

import (
	"context"
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// startThreeHooked starts threeNodes as startThree does, n1's client
// dialled with hooks; n1 is set before any hook can run (the hooks act
// on requests that the test causes once the groups are placed).
func startThreeHooked(t *testing.T, hooks ...*rpcHook) ([]*testNode, *record) {
	t.Helper()
	c := sharedCluster(t)
	rec := &record{}
	var nodes []*testNode
	for _, name := range threeNodes {
		var n *testNode
		if name == "n1" {
			var dial []grpc.DialOption
			for _, h := range hooks {
				dial = append(dial, h.dialOption())
			}
			n = startNodeWith(t, name, c.Endpoints(), threeNodes, rec, nil, dial...)
		} else {
			n = startNode(t, name, c.Endpoints(), threeNodes, rec)
		}
		nodes = append(nodes, n)
	}
	waitFor(t, testMove, "every group runs on its preferred node", placedAsPreferred(rec))
	return nodes, rec
}

// failureRecorded tells whether etcd holds the record that g failed on n1.
func failureRecorded(t *testing.T, n1 *testNode, g string) (bool, error) {
	resp, err := n1.cli.Get(ctxT(t), n1.owner.failedKey("n1", g))
	if err != nil {
		return false, err
	}
	return len(resp.Kvs) == 1, nil
}

// TestCleanupDuringFailureWrite: hbd cleanup of a group whose give-up is
// being written to etcd (the cleanup's delete lands before the write) is
// not lost: the record the write leaves is deleted at the next pass and
// the group comes back to its preferred node.
func TestCleanupDuringFailureWrite(t *testing.T) {
	t.Parallel()
	var n1 *testNode
	cleaned := make(chan error, 1)
	hook := &rpcHook{prefix: testPrefix(t) + dirFailed + "n1/", n: 1, f: func(_ context.Context, send func() error) error {
		ctx, cancel := context.WithTimeout(context.Background(), testMove)
		defer cancel()
		cleaned <- n1.owner.Cleanup(ctx, "g1")
		return send()
	}}
	nodes, rec := startThreeHooked(t, hook)
	n1 = nodes[0]
	n1.owner.GiveUp("g1")
	select {
	case err := <-cleaned:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testMove):
		t.Fatal("n1 did not write g1's failure")
	}
	waitFor(t, testMove, "g1 back on n1, its failure record gone", func() bool {
		on, err := failureRecorded(t, n1, "g1")
		return err == nil && !on && placedAsPreferred(rec)()
	})
	checkNoOverlap(t, rec)
}

// TestCleanupDeleteAfterGiveUp: hbd cleanup whose delete lands after a
// give-up recorded the group's failure again does not remove the new
// record: n1 writes it again, so the other nodes see it and one of them
// runs the group; without it, they would leave the group to n1, which
// may not hold it, and it would run nowhere.
func TestCleanupDeleteAfterGiveUp(t *testing.T) {
	t.Parallel()
	var n1 *testNode
	prefix := testPrefix(t) + dirFailed + "n1/"
	written := make(chan struct{})
	put := &rpcHook{prefix: prefix, n: 1, f: func(_ context.Context, send func() error) error {
		err := send()
		close(written)
		return err
	}}
	del := &rpcHook{del: true, prefix: prefix, n: 1, f: func(ctx context.Context, send func() error) error {
		n1.owner.GiveUp("g1")
		select {
		case <-written:
		case <-ctx.Done():
			return ctx.Err()
		}
		return send()
	}}
	nodes, rec := startThreeHooked(t, put, del)
	n1 = nodes[0]
	from := time.Now()
	if err := n1.owner.Cleanup(ctxT(t), "g1"); err != nil {
		t.Fatal(err)
	}
	// The other nodes see no record between the delete and its
	// rewrite, and may hand g1 to n1 meanwhile (which does not take
	// it): the end counts.
	want := map[string]string{"g1": "n2", "g2": "n2", "g3": "n3"}
	waitFor(t, testMove, "n1's failure of g1 in etcd again, and n2 knows it", recordedFor(t, n1, nodes[1], "g1"))
	settled(t, rec, want)
	if n := startsOn(rec, "n1", "g1", from); n > 0 {
		t.Errorf("n1 started g1 %d times after its monitor gave it up", n)
	}
	checkNoOverlap(t, rec)
}

// recordedFor tells whether n1's failure of g is in etcd, under n1's
// lease, and in other's copy of the keys.
func recordedFor(t *testing.T, n1, other *testNode, g string) func() bool {
	return func() bool {
		id, _ := n1.owner.lease.current()
		on, err := failureRecorded(t, n1, g)
		return err == nil && on && id != 0 && other.owner.store.has(n1.owner.failedKey("n1", g), int64(id))
	}
}

// settled waits for the groups to run as want and, once a few passes
// have gone by, still so.
func settled(t *testing.T, rec *record, want map[string]string) {
	t.Helper()
	waitFor(t, testMove, fmt.Sprintf("running %v", want), runningIs(rec, want))
	time.Sleep(10 * testInterval)
	waitFor(t, testMove, fmt.Sprintf("running %v, a while later", want), runningIs(rec, want))
}

// TestFailureRecordsFollowTheNode: a node's failure records in etcd
// follow what it knows: one deleted by hand is written again, one put by
// hand is deleted (hbd cleanup forgets a failure, not etcdctl).
func TestFailureRecordsFollowTheNode(t *testing.T) {
	t.Parallel()
	nodes, rec := startThreeHooked(t)
	n1 := nodes[0]
	n1.owner.GiveUp("g1")
	want := map[string]string{"g1": "n2", "g2": "n2", "g3": "n3"}
	recorded := func(g string, on bool) func() bool {
		return func() bool {
			got, err := failureRecorded(t, n1, g)
			return err == nil && got == on
		}
	}
	waitFor(t, testMove, "g1 on n2 and n1's failure of g1 in etcd", func() bool {
		return recorded("g1", true)() && runningIs(rec, want)()
	})
	from := time.Now()
	if _, err := n1.cli.Delete(ctxT(t), n1.owner.failedKey("n1", "g1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "n1's failure of g1 written again, and n2 knows it", recordedFor(t, n1, nodes[1], "g1"))
	if _, err := n1.cli.Put(ctxT(t), n1.owner.failedKey("n1", "g3"), "1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "the failure of g3 put by hand deleted", recorded("g3", false))
	// Without the record for a moment, n2 may have handed g1 to n1,
	// which does not take it: the end counts.
	settled(t, rec, want)
	if n := startsOn(rec, "n1", "g1", from); n > 0 {
		t.Errorf("n1 started g1 %d times after its monitor gave it up", n)
	}
	checkNoOverlap(t, rec)
}
