package etcdown

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// rpcCount counts the requests a client sends etcd, by gRPC method: a
// unary call or the opening of a stream (a lease renewal, a watch) is
// one.
type rpcCount struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *rpcCount) add(method string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[method]++
	c.mu.Unlock()
}

func (c *rpcCount) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// dialOptions make a client count its requests in c.
func (c *rpcCount) dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			c.add(method)
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			c.add(method)
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

// diff is after minus before, by method, with the total.
func diff(before, after map[string]int) (map[string]int, int) {
	out, total := map[string]int{}, 0
	for m, n := range after {
		if d := n - before[m]; d > 0 {
			out[m], total = d, total+d
		}
	}
	return out, total
}

// TestQuietAtRest: at rest a node sends etcd its lease renewals (one per
// Interval) and, once per SafetyPoll, a full read and a new watch; the
// placement is checked from the watched copy of the keys, without a
// request.
func TestQuietAtRest(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	nodes, _ := startThree(t, func(int) []string { return c.Endpoints() })
	time.Sleep(testInterval) // the last starts' writes settle
	const window = 4 * time.Second
	before := nodes[0].rpcs.snapshot()
	time.Sleep(window)
	by, total := diff(before, nodes[0].rpcs.snapshot())
	renewals := int(window / testInterval)
	polls := int(window/testTTL) + 1 // SafetyPoll is the TTL
	t.Logf("requests of n1 in %s at rest: %d (%.1f/s): %v", window, total, float64(total)/window.Seconds(), by)
	if max := renewals + 2*polls + 1; total > max {
		t.Errorf("n1 sent %d requests in %s at rest, want at most %d (%d renewals, %d safety polls of 2)", total, window, max, renewals, polls)
	}
	if r := by["/etcdserverpb.KV/Range"]; r > polls {
		t.Errorf("n1 read the keys %d times in %s at rest: it polls", r, window)
	}
}
