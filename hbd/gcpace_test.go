package main

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gcPaceChild marks the child process that TestPaceGC runs itself in: the
// pacing changes the whole process's collector.
const gcPaceChild = "HBD_TEST_PACE_GC"

// inParent runs the test t in a child process, with GOGC and GOMEMLIMIT
// unset and env added, and reports true; in that child it reports false.
func inParent(t *testing.T, env ...string) bool {
	t.Helper()
	if os.Getenv(gcPaceChild) != "" {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(append(os.Environ(), gcPaceChild+"=1", "GOGC=", "GOMEMLIMIT="), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
	return true
}

// testGCQuiet is paceGC's quiet in the tests: how long without a
// collection ends a burst.
const testGCQuiet = 100 * time.Millisecond

// limitAgain waits for paceGC to pace by a limit again, should the
// allocations before it have been a burst (the runtime paced): a
// collection after testGCQuiet without any.
func limitAgain(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(2 * testGCQuiet)
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
		metrics.Read(gogc)
		if debug.SetMemoryLimit(-1) < math.MaxInt64 && int64(gogc[0].Value.Uint64()) <= 0 {
			return
		}
	}
	t.Fatalf("no memory limit 5 s after a burst: paceGC did not take the pacing back")
}

// TestPaceGC: with paceGC, GOGC is off (so the runtime never forces a
// collection), garbage is still collected as it grows, and a live heap
// that grows raises the limit with it instead of collecting without end.
func TestPaceGC(t *testing.T) {
	if inParent(t) {
		return
	}
	paceGC(50, 1<<20, testGCQuiet)
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Fatalf("GOGC %d after paceGC, want off", p)
	}
	gcs := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumGC
	}
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	held := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() - samples[1].Value.Uint64()
	}

	// Garbage: 1 GB made and dropped in 4 KB pieces.
	n0, peak := gcs(), uint64(0)
	var keep []byte
	for i := range 1024 << 8 {
		keep = make([]byte, 4096)
		keep[0] = byte(i)
		if i%1024 == 0 {
			peak = max(peak, held())
		}
	}
	_ = keep
	limitAgain(t)
	t.Logf("garbage: %d collections, %d MB held at the most, limit %d MB", gcs()-n0, peak>>20, debug.SetMemoryLimit(-1)>>20)
	if n := gcs() - n0; n < 40 || n > 4000 {
		t.Errorf("1 GB of garbage: %d collections, want them as it grows (40 to 4000)", n)
	}
	if peak > 128<<20 {
		t.Errorf("1 GB of garbage: %d MB held at the most, want it collected as it grew (under 128 MB)", peak>>20)
	}
	if lim := debug.SetMemoryLimit(-1); lim > 48<<20 {
		t.Errorf("1 GB of garbage: memory limit %d MB, want it set from the live heap, not raised by the garbage (under 48 MB)", lim>>20)
	}

	// A live heap growing to 64 MB: collections at each 50 % of growth,
	// about a dozen, not one per allocation.
	n0 = gcs()
	live := make([][]byte, 0, 1024)
	for range 1024 {
		live = append(live, make([]byte, 64<<10))
	}
	t.Logf("live heap: %d collections, %d MB held", gcs()-n0, held()>>20)
	if n := gcs() - n0; n > 100 {
		t.Errorf("a live heap grown to 64 MB: %d collections, want the limit raised with it (under 100)", n)
	}
	// The limit follows the live heap: after a collection (its cleanup
	// runs soon after it), above what the runtime holds.
	limitAgain(t)
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < int64(held()) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if lim := debug.SetMemoryLimit(-1); lim < int64(held()) {
		t.Errorf("memory limit %d MB under the %d MB held, 5 s after a collection", lim>>20, held()>>20)
	}
	// And well under what is held plus the live heap once more: the
	// growth allowed is half the live heap (a 64 MB live heap held as
	// about 71 MB gave limits of 89 to 108 MB; counted twice, 137 to
	// 176 MB).
	if lim, most := debug.SetMemoryLimit(-1), held()*7/4+4<<20; lim > int64(most) {
		t.Errorf("memory limit %d MB with %d MB held, want at most %d MB: 50 %% of growth", lim>>20, held()>>20, most>>20)
	}
	runtime.KeepAlive(live)

	// The live heap dropped and its pages returned: the limit follows it
	// down (it is not what was held before).
	live = nil
	runtime.GC()
	debug.FreeOSMemory()
	deadline = time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) > 32<<20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if lim := debug.SetMemoryLimit(-1); lim > 32<<20 {
		t.Errorf("memory limit %d MB after the 64 MB live heap went, want it set from what is held now (%d MB)", lim>>20, held()>>20)
	}
}

// fragKept holds the live objects TestPaceGCFragmented scatters.
var fragKept [][]byte

// TestPaceGCFragmented: a heap whose live objects are scattered over
// spans mostly empty (what a burst of small objects, a few of which
// stay, leaves) still has a goal above its live heap: a trickle of
// allocations (1 KB a millisecond for a second) brings a collection or
// two, as at GOGC 50, not one per allocation. A limit that left the
// spans' unused room out of what the runtime holds outside the heap
// put the heap's goal under the live heap: about 1,000 collections.
func TestPaceGCFragmented(t *testing.T) {
	if inParent(t, "GOMAXPROCS=1") {
		return
	}
	paceGC(50, 1<<20, testGCQuiet)
	gcs := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumGC
	}
	// 16 MB of 64-byte objects, all live at first, then one in 16 kept:
	// about 1 MB live in spans that are mostly unused room.
	fragKept = make([][]byte, 16<<20/64)
	for i := range fragKept {
		fragKept[i] = make([]byte, 64)
	}
	for i := range fragKept {
		if i%16 != 0 {
			fragKept[i] = nil
		}
	}
	// Two collections, the second on a heap swept, and time for the
	// limit to be set after it.
	runtime.GC()
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n0 := gcs()
	var sink []byte
	for i := range 1000 {
		sink = make([]byte, 1024)
		sink[0] = byte(i)
		time.Sleep(time.Millisecond)
	}
	_ = sink
	n := gcs() - n0
	t.Logf("fragmented heap (%d KB in use, %d KB allocated): %d collections over a trickle of 1 MB in 1 s", ms.HeapInuse>>10, ms.HeapAlloc>>10, n)
	if n > 50 {
		t.Errorf("%d collections over a trickle of 1 MB, want a few (GOGC 50 makes 1 or 2)", n)
	}
	runtime.KeepAlive(fragKept)
}

// TestPaceGCTakesBackWithoutCollection: after a burst, in which the
// runtime paces (GOGC on), the pacing goes back to a limit once the
// pacer's quiet time has passed with no collection, without waiting for
// one. At rest the first collection after a burst is the one the runtime
// forces every two minutes while GOGC is on: waiting for it cost a
// collection, a drop of the program's file pages and their faults back,
// two minutes after every start. And not before the quiet time: a burst
// that still collects stays the runtime's.
func TestPaceGCTakesBackWithoutCollection(t *testing.T) {
	if inParent(t) {
		return
	}
	debug.SetGCPercent(-1)
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/cycles/total:gc-cycles"}}
	read := func() (paced bool, cycles uint64) {
		metrics.Read(gogc)
		return debug.SetMemoryLimit(-1) < math.MaxInt64 && int64(gogc[0].Value.Uint64()) < 0, gogc[1].Value.Uint64()
	}
	const quiet = 300 * time.Millisecond
	p := newGCPacer(50, 1<<20, quiet) // its collections' cleanups are not armed: set is called here
	for round := range 3 {
		p.set() // a limit
		if paced, _ := read(); !paced {
			t.Fatalf("round %d: no limit after set", round)
		}
		runtime.GC()
		runtime.GC()
		start := time.Now()
		p.set() // two collections since the last set: a burst
		paced, c0 := read()
		if paced {
			t.Fatalf("round %d: a limit still set after a burst: want the runtime to pace", round)
		}
		deadline := start.Add(20 * quiet)
		for !paced && time.Now().Before(deadline) {
			time.Sleep(quiet / 20)
			paced, _ = read()
			if paced && time.Since(start) < quiet*9/10 {
				t.Fatalf("round %d: the limit was taken back %v after the burst, before the quiet time (%v)", round, time.Since(start), quiet)
			}
		}
		_, c1 := read()
		if !paced {
			t.Fatalf("round %d: no limit %v after a burst with no collection since: the pacing was not taken back", round, 20*quiet)
		}
		if c1 != c0 {
			t.Logf("round %d: %d collections came meanwhile (not the pacer's)", round, c1-c0)
		}
		if lim := debug.SetMemoryLimit(-1); lim > 64<<20 {
			t.Errorf("round %d: limit %d MB taken back for a heap of a few MB", round, lim>>20)
		}
	}
}

// TestPaceGCTakesBackAfterUnseenCollection: a collection whose set does
// not run (its sentinel lived through it, as one allocated while a
// collection marks does; at a start, FreeOSMemory's collection right
// after the burst) must not keep the pacing the runtime's: the timer
// counts it as seen and takes the pacing back a quiet time later, rather
// than waiting for a set that may come only with the next collection (at
// rest, the one the runtime forces after two minutes).
func TestPaceGCTakesBackAfterUnseenCollection(t *testing.T) {
	if inParent(t) {
		return
	}
	debug.SetGCPercent(-1)
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	paced := func() bool {
		metrics.Read(gogc)
		return debug.SetMemoryLimit(-1) < math.MaxInt64 && int64(gogc[0].Value.Uint64()) < 0
	}
	const quiet = 200 * time.Millisecond
	p := newGCPacer(50, 1<<20, quiet) // its collections' cleanups are not armed: set is called here
	p.set()
	runtime.GC()
	runtime.GC()
	p.set() // a burst: the runtime paces, the timer runs
	if paced() {
		t.Fatal("a limit still set after a burst")
	}
	runtime.GC() // a collection whose set does not run
	start := time.Now()
	deadline := start.Add(20 * quiet)
	for !paced() && time.Now().Before(deadline) {
		time.Sleep(quiet / 10)
	}
	if !paced() {
		t.Fatalf("no limit %v after the last collection (quiet %v): the timer waits for a set that has not come", 20*quiet, quiet)
	}
}
