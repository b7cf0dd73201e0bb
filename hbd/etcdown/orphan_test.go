package etcdown

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestOrphanOwnerKey: an owner key of a node's lease for a group the node
// did not start (its write committed, the answer lost in a timeout) does
// not block the group: the node deletes it when the rule gives the group
// elsewhere (here: nowhere, disabled), and starts the group on it, with
// the key's create revision as token, when the rule gives it the group;
// holding it spends the node's standby for it, as a claim does.
func TestOrphanOwnerKey(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	n1 := startNode(t, "n1", c.Endpoints(), []string{"n1"}, rec)
	// The orphan key is written under n1's lease: a node that loses its
	// lease meanwhile (a loaded machine) has another by the end and
	// rightly takes g1 anew, under a new token. The case is tried again
	// then, up to three times.
	for try := 1; ; try++ {
		id, ok := orphanOwnerKey(t, n1, rec)
		if ok {
			return
		}
		if try == 3 {
			t.Fatalf("n1's lease changed during each of %d tries", try)
		}
		t.Logf("n1's lease %x changed during try %d: trying again", id, try)
	}
}

// orphanOwnerKey is one try of TestOrphanOwnerKey on n1, which runs g1;
// false: n1's lease (the one returned) changed during the try, which
// proves nothing.
func orphanOwnerKey(t *testing.T, n1 *testNode, rec *record) (clientv3.LeaseID, bool) {
	// A try cut short may have left g1 disabled.
	if err := n1.owner.SetGroupDisabled(ctxT(t), "g1", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "n1 runs g1", func() bool { return rec.running()["g1"] == "n1" })
	if err := n1.owner.SetGroupDisabled(ctxT(t), "g1", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "g1 stopped", func() bool { _, ok := rec.running()["g1"]; return !ok })

	id, _ := n1.owner.lease.current()
	same := func() bool { now, _ := n1.owner.lease.current(); return now == id }
	owners := n1.owner.ownerKey("g1")
	if _, err := n1.cli.Put(ctxT(t), owners, "n1", clientv3.WithLease(id)); err != nil {
		if !same() {
			return id, false
		}
		t.Fatal(err)
	}
	waitFor(t, testMove, "the orphan key of a disabled group deleted", func() bool {
		resp, err := n1.cli.Get(ctxT(t), owners)
		return err == nil && len(resp.Kvs) == 0
	})

	// Enabled again with an orphan key in place, in one transaction, so
	// that the node sees both at once: it adopts the key. It stands by
	// for g1, but no other node may hold it.
	yield := n1.owner.yieldKey("n1", "g1")
	resp, err := n1.cli.Txn(ctxT(t)).Then(
		clientv3.OpPut(owners, "n1", clientv3.WithLease(id)),
		clientv3.OpPut(yield, "1", clientv3.WithLease(id)),
		clientv3.OpDelete(n1.owner.key(dirDisabled, "g1")),
	).Commit()
	if err != nil {
		if !same() {
			return id, false
		}
		t.Fatal(err)
	}
	rev := resp.Header.Revision
	waitFor(t, testMove, "n1 runs g1 on the orphan key", func() bool { return rec.running()["g1"] == "n1" })
	got := n1.owner.Held()["g1"]
	if !same() {
		return id, false
	}
	if got != rev {
		t.Errorf("g1 runs with token %d, want the orphan key's create revision %d", got, rev)
	}
	if resp, err := n1.cli.Get(ctxT(t), yield); err != nil {
		t.Fatal(err)
	} else if len(resp.Kvs) > 0 {
		t.Error("n1 runs g1 on the orphan key but still stands by for it")
	}
	return id, true
}
