package etcdown

import (
	"context"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// beforeWrite runs f once, before a client's first request (a put, or a
// transaction that puts) that writes a key under prefix is sent.
type beforeWrite struct {
	prefix string
	f      func()
	once   sync.Once
}

// writes tells whether req puts a key under prefix.
func (b *beforeWrite) writes(req any) bool {
	switch r := req.(type) {
	case *etcdserverpb.PutRequest:
		return strings.HasPrefix(string(r.Key), b.prefix)
	case *etcdserverpb.TxnRequest:
		for _, op := range r.Success {
			if p := op.GetRequestPut(); p != nil && strings.HasPrefix(string(p.Key), b.prefix) {
				return true
			}
		}
	}
	return false
}

func (b *beforeWrite) dialOption() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if b.writes(req) {
			b.once.Do(b.f)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

// TestMoveAwayDuringHandover: hbd group move GROUP (away from its
// holder) asked while the group changes hands moves it away from the
// node that holds it when the move is written, not from the one that
// held it when the command began: n1 stops gracefully just before the
// move is written, n2 takes g1, and the move sends g1 on from n2 to n3.
func TestMoveAwayDuringHandover(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	var n1 *testNode
	hook := &beforeWrite{prefix: testPrefix(t) + dirMove}
	hook.f = func() {
		n1.stop()
		waitFor(t, testMove, "n2 takes g1 from the stopped n1", func() bool { return rec.running()["g1"] == "n2" })
	}
	n1 = startNode(t, "n1", c.Endpoints(), threeNodes, rec)
	startNode(t, "n2", c.Endpoints(), threeNodes, rec)
	n3 := startNodeWith(t, "n3", c.Endpoints(), threeNodes, rec, nil, hook.dialOption())
	waitFor(t, testMove, "every group on its preferred node", placedAsPreferred(rec))
	// n3's copy of the keys shows n1 holding g1, as a read would.
	waitFor(t, testMove, "n3 sees n1 hold g1", func() bool {
		v, _ := n3.owner.store.view()
		return v.holder["g1"] == "n1"
	})
	if err := n3.owner.MoveGroup(ctxT(t), "g1", ""); err != nil {
		t.Fatal(err)
	}
	resp, err := n3.cli.Get(ctxT(t), n3.owner.key(dirMove, "g1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "!n2" {
		t.Errorf("g1's move %v, want !n2: away from the node that held it when the move was written", resp.Kvs)
	}
	want := map[string]string{"g1": "n3", "g2": "n2", "g3": "n3"}
	waitFor(t, testMove, "g1 moved on from n2 to n3", runningIs(rec, want))
	checkNoOverlap(t, rec)
}
