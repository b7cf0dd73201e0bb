package etcdown

import (
	"sync"
	"testing"
	"time"
)

// TestWakeOnTicks: Options.Wake is called with the time of the loop's
// Interval ticks, one after the other (on the loop's goroutine), and not
// once Run has returned.
func TestWakeOnTicks(t *testing.T) {
	t.Parallel()
	c := sharedCluster(t)
	var (
		mu    sync.Mutex
		wakes []time.Time
	)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(wakes)
	}
	n := startNodeWith(t, "n1", c.Endpoints(), []string{"n1"}, &record{}, func(o *Options, _ *fakeRunner) {
		o.Wake = func(now time.Time) {
			mu.Lock()
			wakes = append(wakes, now)
			mu.Unlock()
		}
	})
	waitFor(t, 10*testInterval+5*time.Second, "three wakes", func() bool { return count() >= 3 })
	n.stop()
	stopped := count()
	time.Sleep(3 * testInterval)
	mu.Lock()
	defer mu.Unlock()
	if len(wakes) != stopped {
		t.Errorf("%d wakes when Run returned, %d after %s more: want none once it has", stopped, len(wakes), 3*testInterval)
	}
	for i := 1; i < len(wakes); i++ {
		if gap := wakes[i].Sub(wakes[i-1]); gap < testInterval/2 {
			t.Errorf("wakes %d and %d %s apart: want about the interval, %s", i-1, i, gap, testInterval)
		}
	}
}
