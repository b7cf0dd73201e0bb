package daemon

import (
	"testing"
	"time"
)

// TestLoopSwitchesNewThreads runs in a root child as the realtime tests
// do: with a real-time priority asked for, threads the runtime adds while
// the loop runs at rest (here goroutines that lock threads of their own,
// as a group operation's blocking calls make the runtime add them) run
// SCHED_RR within a keepalive and the count's read interval, not at some
// later event: at rest the loop's only events are its ticks.
func TestLoopSwitchesNewThreads(t *testing.T) {
	if !inRootChild(t) {
		return
	}
	cfg := loopConfig("node1", "node2")
	cfg.Keepalive = time.Second
	cfg.Warntime = 4 * time.Second
	cfg.Deadtime = 8 * time.Second
	cfg.Initdead = 16 * time.Second
	d, links, _ := newTestDaemon(t, cfg, &fakeRunner{})
	d.rt.init(func(int32, error) {})
	d.rt.want = 1
	r := startLoopRig(t, d, links, r0runner(d))
	waitFor(t, func() bool { return len(r.links.sentOf("status")) > 0 })
	release := make(chan struct{})
	defer close(release)
	for round := range 5 {
		lockThreads(2, release)
		before := listThreads(t)
		bound := 3*cfg.Keepalive + rtCountEvery
		deadline := time.Now().Add(bound)
		for {
			got := threadPolicies(t)
			m := missed(before, got, "RR/1")
			if len(m) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: threads %v still not RR/1 %v after they started (keepalive %v): %v", round, m, bound, cfg.Keepalive, got)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
