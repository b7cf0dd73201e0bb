package etcdown

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
)

// TestCutOffDuringStart: a node cut off from etcd while a start hangs
// stops its other groups at its stop-by time, not after the start: by
// the lease's expiry minus the slowest stop, and before another node
// starts them. The hung start is ended then and not recorded as the
// group's failure here: the lease, not the group, failed.
func TestCutOffDuringStart(t *testing.T) {
	c := sharedCluster(t)
	p := newProxy(t, strings.TrimPrefix(c.Endpoints()[0], "http://"))
	rec := &record{}
	nodes := []string{"n1", "n2"}
	const slowestStop, stopTime = 600 * time.Millisecond, 550 * time.Millisecond
	// g1 and g3 prefer n1; once both run there, g3 is disabled and
	// enabled again, and its new start there hangs and cuts n1 off.
	cutC := make(chan time.Time, 1)
	var cutOnce sync.Once
	n1 := startNodeWith(t, "n1", []string{p.URL()}, nodes, rec, func(o *Options, r *fakeRunner) {
		o.SlowestStop = slowestStop
		r.stopTime = stopTime
		r.onStart = func(g string) {
			r.mu.Lock()
			hang := r.hanging[g]
			r.mu.Unlock()
			if hang {
				cutOnce.Do(func() { p.Close(); cutC <- time.Now() })
			}
		}
	})
	n2 := startNode(t, "n2", c.Endpoints(), nodes, rec)
	waitFor(t, testMove, "the groups on their preferred nodes", func() bool {
		r := rec.running()
		return r["g1"] == "n1" && r["g2"] == "n2" && r["g3"] == "n1"
	})
	if err := n1.owner.SetGroupDisabled(ctxT(t), "g3", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, testMove, "g3 stopped", func() bool { _, ok := rec.running()["g3"]; return !ok })
	n1.runner.mu.Lock()
	n1.runner.hanging = map[string]bool{"g3": true}
	n1.runner.mu.Unlock()
	// The last lease expiry n1 knew of before it dropped the lease.
	untilC := make(chan time.Time, 1)
	go func() {
		var last time.Time
		defer func() { untilC <- last }()
		end := time.Now().Add(2*testTTL + testMove)
		for time.Now().Before(end) {
			id, until := n1.owner.lease.current()
			if id == 0 && !last.IsZero() {
				return
			}
			if id != 0 {
				last = until
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// Through n2: n1's connection is cut as g3 starts there, which may
	// be before n1 has the answer to its own write.
	if err := n2.owner.SetGroupDisabled(ctxT(t), "g3", false); err != nil {
		t.Fatal(err)
	}
	var cut time.Time
	select {
	case cut = <-cutC:
	case <-time.After(testMove):
		t.Fatal("n1 did not start g3 again")
	}
	waitFor(t, testTTL+testMove, "n2 takes g1 and g3", func() bool {
		r := rec.running()
		return r["g1"] == "n2" && r["g3"] == "n2"
	})
	until := <-untilC
	if until.IsZero() {
		t.Fatal("n1 never dropped its lease")
	}
	stopBy := n1.owner.stopBy(until)
	n1.runner.mu.Lock()
	begun := n1.runner.stopBegun["g1"]
	n1.runner.mu.Unlock()
	t.Logf("cut at %s; lease of n1 lives until %s at least, stop-by %s; n1 began stopping g1 at %s",
		cut.Format("15:04:05.000"), until.Format("15:04:05.000"), stopBy.Format("15:04:05.000"), begun.Format("15:04:05.000"))
	switch {
	case begun.IsZero():
		t.Error("n1 never stopped g1")
	case begun.After(until.Add(-slowestStop)):
		t.Errorf("n1 began stopping g1 %s after its lease's expiry minus the slowest stop", begun.Sub(until.Add(-slowestStop)))
	case begun.After(stopBy.Add(250 * time.Millisecond)):
		t.Errorf("n1 began stopping g1 %s after its stop-by time", begun.Sub(stopBy))
	}
	n1.owner.mu.Lock()
	_, failed := n1.owner.failedUntil["g3"]
	n1.owner.mu.Unlock()
	if failed {
		t.Error("the start of g3 cut short by the lease was recorded as g3 failing on n1")
	}
	checkNoOverlap(t, rec)
}

// cutLeases fails a client's lease renewals and grants while cut is
// set; its other requests go through.
type cutLeases struct{ cut atomic.Bool }

func (c *cutLeases) dialOptions() []grpc.DialOption {
	errCut := errors.New("lease requests cut by the test")
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if c.cut.Load() && method == "/etcdserverpb.Lease/LeaseGrant" {
				return errCut
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			if c.cut.Load() && method == "/etcdserverpb.Lease/LeaseKeepAlive" {
				return nil, errCut
			}
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

// TestCutOffRevokesAfterStops: a node whose renewals fail while etcd
// still answers its other requests drops its lease at its stop-by time
// and revokes it only once its groups have stopped: the revoke frees
// them for the other nodes at once. n1's stop of g1 lasts until n2
// starts g1, or 900 ms: a revoke sent with the stops would let n2 start
// g1 while n1 still runs it.
func TestCutOffRevokesAfterStops(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	rec := &record{}
	nodes := []string{"n1", "n2"}
	leases := &cutLeases{}
	n1 := startNodeWith(t, "n1", c.Endpoints(), nodes, rec, func(o *Options, _ *fakeRunner) {
		o.SlowestStop = time.Second
	}, leases.dialOptions()...)
	startNode(t, "n2", c.Endpoints(), nodes, rec)
	waitFor(t, testMove, "the groups on their preferred nodes", runningIs(rec, map[string]string{"g1": "n1", "g2": "n2", "g3": "n1"}))
	n2Started := make(chan struct{})
	var once sync.Once
	rec.setOnAdd(func(e event) {
		if e.start && e.node == "n2" && e.group == "g1" {
			once.Do(func() { close(n2Started) })
		}
	})
	n1.runner.mu.Lock()
	n1.runner.onStop = func(g string) {
		if g != "g1" {
			return
		}
		select {
		case <-n2Started:
		case <-time.After(900 * time.Millisecond):
		}
	}
	n1.runner.mu.Unlock()
	leases.cut.Store(true)
	waitFor(t, testTTL+testMove, "n2 runs g1 and g3", func() bool {
		r := rec.running()
		return r["g1"] == "n2" && r["g3"] == "n2"
	})
	checkNoOverlap(t, rec)
}
