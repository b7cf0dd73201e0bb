package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// TestPaceGCSetConcurrent: the runtime may run two of the pacer's
// cleanups at once (on up to GOMAXPROCS/4 goroutines), so set may be
// called while another set runs. Calls at once, with collections between
// them that hand the pacing to the runtime and back, must leave the
// collector paced, by a limit or by GOGC, never neither; run with -race,
// the pacer's state must not be raced on.
func TestPaceGCSetConcurrent(t *testing.T) {
	if inParent(t) {
		return
	}
	debug.SetGCPercent(-1)
	p := newGCPacer(50, 1<<20, time.Millisecond)
	p.set()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range 200 {
				if i%3 == 0 {
					runtime.GC() // more than one collection since the last set: late
				}
				p.set()
			}
		})
	}
	wg.Wait()
	time.Sleep(2 * time.Millisecond)
	p.set()
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(gogc)
	limit := debug.SetMemoryLimit(-1)
	if int64(gogc[0].Value.Uint64()) < 0 && limit == math.MaxInt64 {
		t.Fatal("GOGC off and no memory limit after sets at once: the collector would never run again")
	}
}
