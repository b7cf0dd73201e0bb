package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// gcBurstMode names, in the child TestPaceGCStackBurst runs, how that
// child's collections are paced: "pace" (paceGC) or "gogc" (GOGC=50).
const gcBurstMode = "HBD_TEST_GC_BURST"

// TestPaceGCStackBurst: a burst of goroutines that grow their stacks while
// they allocate (what a takeover of many groups is: a goroutine per
// resource agent, each deep in its own calls) gets about as many
// collections under paceGC as under GOGC=50, not one per allocation. The
// stacks grow the memory the runtime holds outside the heap past the limit
// set after the last collection, and the cleanup that sets it anew waits
// behind the runnable goroutines (GOMAXPROCS=1, as in the daemon): with a
// limit alone, every allocation meanwhile began a collection.
func TestPaceGCStackBurst(t *testing.T) {
	if mode := os.Getenv(gcBurstMode); mode != "" {
		if mode == "pace" {
			paceGC(50, 1<<20, time.Second)
		}
		fmt.Printf("burst: %d collections\n", stackBurst())
		return
	}
	counts := map[string]int{}
	for _, mode := range []string{"gogc", "pace"} {
		gogc := ""
		if mode == "gogc" {
			gogc = "50"
		}
		cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
		cmd.Env = append(os.Environ(), gcBurstMode+"="+mode, "GOGC="+gogc, "GOMEMLIMIT=", "GOMAXPROCS=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", mode, err, out)
		}
		m := regexp.MustCompile(`burst: (\d+) collections`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no count in the child's output:\n%s", mode, out)
		}
		counts[mode], _ = strconv.Atoi(string(m[1]))
	}
	t.Logf("collections over the burst: GOGC=50 %d, paceGC %d", counts["gogc"], counts["pace"])
	if most := 2*counts["gogc"] + 10; counts["pace"] > most {
		t.Errorf("paceGC: %d collections over the burst, GOGC=50: %d; want at most %d", counts["pace"], counts["gogc"], most)
	}
}

// stackBurst runs 256 goroutines that each grow a stack of about 256 KB
// while they allocate, 1 KB a call, yielding as they go, and reports how
// many collections ran meanwhile.
func stackBurst() uint32 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	n0 := ms.NumGC
	var wg sync.WaitGroup
	for range 256 {
		wg.Go(func() { deepAlloc(200, 1024) })
	}
	wg.Wait()
	runtime.ReadMemStats(&ms)
	return ms.NumGC - n0
}

// deepAlloc calls itself depth times, each call with 1 KB of its own on
// the stack and 1 KB allocated on the heap, yielding every 8 calls.
func deepAlloc(depth, size int) byte {
	var frame [1024]byte
	b := make([]byte, size) // a size not constant: on the heap
	b[depth%len(b)] = byte(depth)
	frame[depth%len(frame)] = b[depth%len(b)]
	if depth%8 == 0 {
		runtime.Gosched()
	}
	if depth > 0 {
		return deepAlloc(depth-1, size) + frame[depth%len(frame)]
	}
	return frame[0]
}
