package etcdown

import "testing"

// TestMemberPutLost: a node whose membership write fails after its lease
// was granted writes it again at a later pass, and so becomes a member
// and holds its groups, rather than renewing a lease that no member key
// uses.
func TestMemberPutLost(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	drop := &rpcHook{prefix: testPrefix(t) + dirMembers, n: 2, f: lost}
	startNodeWith(t, "n1", c.Endpoints(), []string{"n1"}, rec, nil, drop.dialOption())
	want := map[string]string{"g1": "n1", "g2": "n1", "g3": "n1"}
	waitFor(t, testMove, "n1 a member, running every group", runningIs(rec, want))
	if n := drop.count(); n != 2 {
		t.Errorf("%d membership writes dropped, want 2", n)
	}
}

// TestMemberKeyDeleted: a node whose member key is deleted by hand while
// its lease lives writes it again before its next placement, and keeps
// its groups running: without the key it would see itself gone and
// release them.
func TestMemberKeyDeleted(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	n1 := startNode(t, "n1", c.Endpoints(), []string{"n1"}, rec)
	want := map[string]string{"g1": "n1", "g2": "n1", "g3": "n1"}
	waitFor(t, testMove, "n1 running every group", runningIs(rec, want))
	key := n1.owner.memberKey("n1")
	del, err := n1.cli.Delete(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if del.Deleted != 1 {
		t.Fatalf("deleted %d member keys, want 1", del.Deleted)
	}
	waitFor(t, testMove, "n1's member key written again", func() bool {
		resp, err := n1.cli.Get(ctxT(t), key)
		return err == nil && len(resp.Kvs) == 1 && resp.Kvs[0].ModRevision > del.Header.Revision
	})
	steady(t, rec, 10*testInterval, want)
}
