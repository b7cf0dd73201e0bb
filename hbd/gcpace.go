package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// paceGC makes the daemon's collections come from its growth alone, as
// GOGC=growthPercent would, without the one the runtime forces when two
// minutes passed without any: at rest the daemon makes next to no garbage
// (none per heartbeat), so that collection was the only one, every two
// minutes, and with what follows it (the type descriptors and stack maps
// it reads mapped back from the program file, then a drop of those pages,
// rss.go) it was about a sixth of a node's idle CPU at keepalive 1 s
// (docs/benchmarks-history.md, "A cold wake-up, piece by piece").
//
// The runtime forces that collection whenever GOGC is on. So GOGC is off,
// and a memory limit set anew after every collection stands in for it:
// the live heap plus growthPercent of what a collection scans (at least
// minGrowth), plus what
// the runtime holds outside the heap and some spare room (set). The
// runtime collects when it holds that much, as it would at GOGC's goal,
// and returns free pages beyond it to the system. The limit is set from a cleanup
// of an object nothing references, which each collection finds
// unreachable (as afterEachGC in hbd/daemon does): no goroutine, no timer.
//
// In a burst the limit comes too late: goroutines grow their stacks
// faster than collections come, and the cleanup that sets the limit waits
// behind the runnable goroutines (GOMAXPROCS is 1 in the daemon), so the
// memory outside the heap passes the limit and every allocation meanwhile
// begins a collection (25 back to back in 30 ms in a takeover of 32
// groups). So when more than one collection ran since the limit was last
// set, set hands the pacing back to the runtime (GOGC=growthPercent, no
// limit) and takes it again once quiet has passed without a collection:
// the burst is over. It takes it at the first collection after the quiet
// time, or, with none by then, from a one-shot timer (takeBack) that
// fires once per burst: waiting for a collection at rest meant waiting
// for the one the runtime forces after two minutes while GOGC is on.
func paceGC(growthPercent int, minGrowth uint64, quiet time.Duration) {
	debug.SetGCPercent(-1)
	p := newGCPacer(growthPercent, minGrowth, quiet)
	p.set()
	p.arm()
}

// newGCPacer is paceGC's pacer, before its first set.
func newGCPacer(growthPercent int, minGrowth uint64, quiet time.Duration) *gcPacer {
	p := &gcPacer{percent: uint64(growthPercent), min: minGrowth, quiet: quiet}
	for _, name := range []string{"/memory/classes/total:bytes", "/memory/classes/heap/released:bytes",
		"/memory/classes/heap/free:bytes", "/gc/heap/live:bytes", "/memory/classes/heap/objects:bytes",
		"/gc/scan/stack:bytes", "/gc/scan/globals:bytes", "/gc/cycles/total:gc-cycles"} {
		p.samples = append(p.samples, metrics.Sample{Name: name})
	}
	return p
}

// gcPacer sets the memory limit after each collection (paceGC). The
// runtime may run two cleanups at once (it runs them on up to a quarter
// of GOMAXPROCS goroutines: a busy daemon on 8 CPUs, or GOMAXPROCS set
// so), and set's SetGCPercent(-1) waits for a collection's marking, long
// enough for the next one's cleanup to begin: mu makes the sets one at a
// time, so that none sees the pacing half handed over (GOGC off with no
// limit would never collect again, and no cleanup would come to mend it).
type gcPacer struct {
	mu           sync.Mutex
	percent, min uint64
	quiet        time.Duration // without a collection: a burst is over
	samples      []metrics.Sample
	cycles       uint64    // collections counted when set last ran
	last         time.Time // when set last ran (zero: never)
	runtime      bool      // the runtime paces (GOGC on, no limit): a burst
	// back takes the pacing back from the runtime once a burst has been
	// quiet for p.quiet (takeBack); nil until the first burst.
	back *time.Timer
}

// arm has the next collection call set, then arm again.
func (p *gcPacer) arm() {
	runtime.AddCleanup(&gcSentinel{}, func(p *gcPacer) {
		p.arm() // first: a collection that starts while set runs must not be missed
		p.set()
	}, p)
}

// set sets the memory limit for the next collection: what the runtime
// holds outside the heap (stacks, its own structures, the unused room in
// spans), the live heap and the growth allowed, up to gcRetain of the
// heap's spare room (free pages it kept, garbage not swept yet when this
// runs), plus the runtime's headroom under a limit. Counted from what it holds,
// each collection's garbage, not swept yet, raised the next limit; not
// counted at all, the spare room put the runtime over the limit at once
// and it collected without end while it returned the pages.
//
// If more than one collection ran since set last ran, the limit came late
// (a burst, paceGC): the runtime paces, as GOGC would, until set runs
// p.quiet or more after it last ran, or until takeBack finds the burst
// p.quiet over without a collection.
func (p *gcPacer) set() {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.read()
	if !ok {
		return
	}
	cycles, now := v[7], time.Now()
	late := !p.last.IsZero() && cycles > p.cycles+1
	quiet := p.last.IsZero() || now.Sub(p.last) >= p.quiet
	p.cycles, p.last = cycles, now
	switch {
	case late && !p.runtime:
		debug.SetGCPercent(int(p.percent))
		debug.SetMemoryLimit(math.MaxInt64)
		p.runtime = true
		if p.back == nil {
			p.back = time.AfterFunc(p.quiet, p.takeBack)
		} else {
			p.back.Reset(p.quiet)
		}
		return
	case p.runtime && !quiet:
		// A collection that comes after quiet ends the burst even if
		// it counts as two: a sentinel armed while a collection marks
		// lives through it, so after a burst the first quiet collection
		// can find a sentinel armed two collections before.
		return
	}
	p.setLimit(v)
}

// takeBack is called by the timer p.back, started when the runtime was
// given the pacing: once p.quiet has passed since set last ran with no
// collection since (a collection whose set has not run counts from when
// the timer finds it), the burst is over and the limit is set again, as the
// first collection after the quiet time would set it. Without it that
// collection, at rest, was the one the runtime forces after two minutes
// with GOGC on: at every start (the package inits and the daemon's start
// are a burst) and after every takeover, with the drop of the program's
// file pages that follows a collection (hbd/daemon's rss.go) and their
// faults back. The timer fires once or twice per burst, not at rest.
func (p *gcPacer) takeBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.runtime {
		return // taken back by a collection meanwhile
	}
	v, ok := p.read()
	if !ok {
		return
	}
	cycles, now := v[7], time.Now()
	switch wait := p.quiet - now.Sub(p.last); {
	case cycles != p.cycles:
		// A collection whose set has not run: counted as seen now, and
		// the burst over once a quiet time passes without another. Its
		// set may never run before the next collection (a sentinel
		// allocated while a collection marks lives through it; at a
		// start, FreeOSMemory's collection right after the burst's),
		// which at rest is the one the runtime forces after two
		// minutes.
		p.cycles, p.last = cycles, now
		p.back.Reset(p.quiet)
		return
	case wait > 0:
		p.back.Reset(wait)
		return
	}
	p.last = now
	p.setLimit(v)
}

// read reads p.samples, under p.mu: their values in order, or false
// when the runtime does not have one of them (never seen: the names
// are its own), and then it is left to pace as GOGC would.
func (p *gcPacer) read() (v [8]uint64, ok bool) {
	metrics.Read(p.samples)
	for i, s := range p.samples {
		if s.Value.Kind() != metrics.KindUint64 {
			debug.SetMemoryLimit(math.MaxInt64)
			debug.SetGCPercent(int(p.percent))
			return v, false
		}
		v[i] = s.Value.Uint64()
	}
	return v, true
}

// setLimit sets the memory limit from v, the values of p.samples, and
// turns GOGC off if the runtime paced. It is set's and takeBack's,
// under p.mu.
func (p *gcPacer) setLimit(v [8]uint64) {
	total, released, free, live, objects, stacks, globals := v[0], v[1], v[2], v[3], v[4], v[5], v[6]
	held := total - min(released, total)
	// spare: heap held that a collection gives back (free pages, garbage
	// not swept yet when this runs). The unused room in spans that hold
	// live objects is not spare: no collection gives it back while they
	// live, and the runtime counts it outside the heap when it aims at
	// the limit. Left out of the limit, it put the heap's goal under the
	// live heap once the heap was fragmented (small objects, a few of
	// which stay), and every allocation began a collection.
	spare := free + objects - min(live, objects)
	// The growth is GOGC's: a share of what a collection scans (the live
	// heap, the goroutines' stacks, the program's globals).
	growth := max((live+stacks+globals)*p.percent/100, p.min)
	// held less spare is what the runtime holds outside the heap and the
	// live heap: the live heap is in it once.
	lim := held - min(spare, held) + min(spare, gcRetain) + growth
	// The runtime aims its collections at the limit less a headroom of
	// its own (3 % of it, 1 MB at least): added here, so that the growth
	// allowed is what paceGC says.
	lim += max(lim*4/100, 1<<20)
	debug.SetMemoryLimit(int64(min(lim, math.MaxInt64)))
	if p.runtime {
		// Off after the limit is set: never a moment with neither.
		debug.SetGCPercent(-1)
		p.runtime = false
		p.back.Stop()
	}
}

// gcRetain is how much spare room in the heap the limit allows (set).
const gcRetain = 1 << 20

// gcSentinel is the object whose cleanup follows each collection. It holds
// a pointer so that the tiny allocator does not batch it with other small
// objects (whose block lives as long as any object in it).
type gcSentinel struct{ _ *byte }
