package daemon

import (
	"slices"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// TestBusyGauge: set hears true when the first operation begins and
// false when the last one ends, never in between.
func TestBusyGauge(t *testing.T) {
	tests := []struct {
		name  string
		steps string // b: begin, e: end
		want  []bool
	}{
		{"one operation", "be", []bool{true, false}},
		{"overlapping", "bbee", []bool{true, false}},
		{"one after another", "bebe", []bool{true, false, true, false}},
		{"staggered", "bbebee", []bool{true, false}},
		{"still running", "bbe", []bool{true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []bool
			g := busyGauge{set: func(busy bool) { got = append(got, busy) }}
			for _, s := range tt.steps {
				if s == 'b' {
					g.begin()
				} else {
					g.end()
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("set calls %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLoopBusyDuringOperations: the daemon is busy while a group
// operation runs (Options.Busy), and idle again once every one has ended
// and the loop has taken the start's result.
func TestLoopBusyDuringOperations(t *testing.T) {
	runner := &fakeRunner{}
	d, _, _ := newTestDaemon(t, loopConfig("node1"), runner)
	release := make(chan struct{})
	runner.before = func(string) { <-release }
	var calls []bool
	d.busy = busyGauge{set: func(busy bool) { calls = append(calls, busy) }}
	spec := config.Group{Preferred: "node1", Resources: []config.Resource{{Spec: "web", Name: "web"}}}
	d.execute(cluster.StartGroup{Group: spec.Key(), Spec: spec})
	d.execute(cluster.Reannounce{Group: spec.Key(), Spec: spec})
	d.busy.mu.Lock()
	if !slices.Equal(calls, []bool{true}) {
		t.Errorf("while two operations run: set calls %v, want [true]", calls)
	}
	d.busy.mu.Unlock()
	close(release)
	d.opsWG.Wait()
	d.busy.mu.Lock()
	if !slices.Equal(calls, []bool{true}) {
		t.Errorf("both ended, the start's result not taken: set calls %v, want [true]", calls)
	}
	d.busy.mu.Unlock()
	d.opFinished(<-d.ops)
	d.busy.mu.Lock()
	defer d.busy.mu.Unlock()
	if !slices.Equal(calls, []bool{true, false}) {
		t.Errorf("after both ended: set calls %v, want [true false]", calls)
	}
}

// TestPrepareCountsAsBusy: the statuses a PrepareGroup has read keep the
// daemon busy until the runner says they have ended, and the daemon's
// operations (opsWG) wait for them.
func TestPrepareCountsAsBusy(t *testing.T) {
	runner := &fakeRunner{prepareDone: make(chan struct{})}
	d, _, _ := newTestDaemon(t, loopConfig("node1"), runner)
	var calls []bool
	d.busy = busyGauge{set: func(busy bool) { calls = append(calls, busy) }}
	spec := config.Group{Preferred: "node2", Resources: []config.Resource{{Spec: "web", Name: "web"}}}
	d.execute(cluster.PrepareGroup{Group: spec.Key(), Spec: spec, From: "node2"})
	d.busy.mu.Lock()
	if !slices.Equal(calls, []bool{true}) {
		t.Errorf("while the reads run: set calls %v, want [true]", calls)
	}
	d.busy.mu.Unlock()
	if got, want := runner.callList(), []string{"prepare web"}; !slices.Equal(got, want) {
		t.Errorf("runner calls %q, want %q", got, want)
	}
	close(runner.prepareDone)
	d.opsWG.Wait()
	d.busy.mu.Lock()
	defer d.busy.mu.Unlock()
	if !slices.Equal(calls, []bool{true, false}) {
		t.Errorf("after the reads: set calls %v, want [true false]", calls)
	}
}
