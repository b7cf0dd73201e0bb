//go:build !noetcd

package daemon

import (
	"slices"
	"sync"
	"testing"

	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// TestEtcdBusyDuringOperations: with the etcd backend, the groups' starts
// and stops make the daemon busy (Options.Busy) as the Heartbeat
// backend's operations do, and idle again once they have ended.
func TestEtcdBusyDuringOperations(t *testing.T) {
	c := etcdtest.Start(t, nil)
	n := newEtcdNode(t, c.Endpoints())
	var (
		mu    sync.Mutex
		calls []bool
	)
	n.busy = func(busy bool) {
		mu.Lock()
		calls = append(calls, busy)
		mu.Unlock()
	}
	recorded := func() []bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}
	idle := func() bool {
		got := recorded()
		return len(got) > 0 && !got[len(got)-1]
	}
	n.write("ha.cf", n.hacf("/hbd-busy/"), 0o644)
	n.write("haresources", "n1 rec::a\nn1 rec::b\n", 0o644)
	n.start()
	n.waitRunning("started", "a", "b")
	n.within("idle after the starts", idle)
	started := recorded()
	n.stop()
	got := recorded()
	if len(got) <= len(started) || !idle() {
		t.Errorf("busy calls %v after the starts, %v after the stops: want the stops busy too, then idle", started, got)
	}
	for i, b := range got {
		if b == (i%2 == 1) {
			t.Fatalf("busy calls %v: want true and false in turn, from true", got)
		}
	}
}
