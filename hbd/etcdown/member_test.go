package etcdown

import (
	"context"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// dropPuts holds the first n Puts of keys under prefix, unsent, until
// their context ends: a request lost on its way to etcd, whose call
// times out.
type dropPuts struct {
	prefix  string
	mu      sync.Mutex
	n       int
	dropped int
}

func (d *dropPuts) take(key string) bool {
	if !strings.HasPrefix(key, d.prefix) {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dropped >= d.n {
		return false
	}
	d.dropped++
	return true
}

func (d *dropPuts) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

func (d *dropPuts) dialOption() grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if p, ok := req.(*etcdserverpb.PutRequest); ok && d.take(string(p.Key)) {
			<-ctx.Done()
			return ctx.Err()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	})
}

// TestMemberPutLost: a node whose membership write fails after its lease
// was granted writes it again at a later pass, and so becomes a member
// and holds its groups, rather than renewing a lease that no member key
// uses.
func TestMemberPutLost(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	drop := &dropPuts{prefix: testPrefix(t) + dirMembers, n: 2}
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
