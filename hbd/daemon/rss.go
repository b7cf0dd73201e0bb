package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// filePages drops this process's mappings of the pages of its read-only
// file mappings (the program's code and constant data, the C library's
// in a dynamically linked build): once the start is done, and again
// whenever code the heartbeats do not run may have mapped some back
// (startPageRelease says when). The pages stay in the page cache, and
// what the daemon runs from then on is mapped again as it runs.
//
// Why: the kernel maps a file's pages 64 KB around each page faulted
// (fault-around), so a page of code or of a type descriptor read once
// keeps 16 pages resident. The start runs code from most of the program
// (every package's init, the configuration parser, the agents'
// registry): about 9 MB of the program's 10 MB of code and tables were
// resident in a node that runs a few hundred kilobytes of it. And every
// collection reads the type descriptor of the live objects and the stack
// maps (in the pclntab) of every goroutine's frames, scattered over the
// whole program: each one brought back 1 to 1.5 MB that the heartbeats
// never use. The larger the program (the etcd client linked in), the
// more 64 KB windows the same reads touch.
//
// A mapping with a page of its own (Anonymous in smaps: written, as the
// dynamic loader writes relocations before it makes them read-only, or
// as a debugger writes a breakpoint) is left alone, as are writable
// ones: dropping such a page would lose what was written.
type filePages struct {
	r     *bufio.Reader // reused: a drop allocates next to nothing
	drop  []span
	statm *procFile // kept open: a check every dropEvery
}

// span is one mapping to drop.
type span struct{ lo, hi uint64 }

func newFilePages() *filePages {
	return &filePages{r: bufio.NewReaderSize(nil, 4096), statm: newProcFile("/proc/self/statm", 128)}
}

// release drops the pages of the read-only file mappings that have no
// page of the process's own.
func (p *filePages) release() error {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return fmt.Errorf("release file pages: %w", err)
	}
	defer f.Close()
	p.r.Reset(f)
	defer p.r.Reset(nil) // the file is not kept
	p.drop = p.drop[:0]
	cur := false // the last mapping header is a candidate
	var fs [6][]byte
	err = eachLine(p.r, func(line []byte) {
		f := fields(line, fs[:0])
		if len(f) == 0 {
			return
		}
		if bytes.IndexByte(f[0], '-') > 0 && !bytes.HasSuffix(f[0], []byte(":")) {
			// start-end perms offset dev inode [path]: a new mapping
			var s span
			s, cur = candidate(f)
			if cur {
				p.drop = append(p.drop, s)
			}
			return
		}
		if cur && string(f[0]) == "Anonymous:" && len(f) > 1 && string(f[1]) != "0" {
			p.drop = p.drop[:len(p.drop)-1] // it has pages of its own
			cur = false
		}
	})
	if err != nil {
		return fmt.Errorf("release file pages: read smaps: %w", err)
	}
	for _, m := range p.drop {
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(m.lo), uintptr(m.hi-m.lo), syscall.MADV_DONTNEED); e != 0 {
			return fmt.Errorf("release file pages: madvise %x-%x: %w", m.lo, m.hi, e)
		}
	}
	return nil
}

// residentKB is the process's resident file-backed and shared memory in
// kB (/proc/self/statm's third field: RssFile plus RssShmem; hbd maps no
// shared memory), read through p's buffer.
func (p *filePages) residentKB() (int, error) {
	line, err := p.statm.read()
	if err != nil {
		return 0, fmt.Errorf("resident file pages: %w", err)
	}
	var fs [3][]byte
	if f := fields(line, fs[:0]); len(f) == 3 {
		if n, err := strconv.Atoi(string(bytes.TrimSpace(f[2]))); err == nil {
			return n * os.Getpagesize() / 1024, nil
		}
	}
	return 0, fmt.Errorf("resident file pages: statm %q: no third field", line)
}

// candidate reports the range of a mapping header's fields when it maps
// a file privately and read-only.
func candidate(f [][]byte) (span, bool) {
	if len(f) < 6 || len(f[1]) != 4 || f[1][1] != '-' || f[1][3] != 'p' || string(f[4]) == "0" || f[5][0] != '/' {
		return span{}, false
	}
	start, end, _ := bytes.Cut(f[0], []byte("-"))
	lo, err1 := strconv.ParseUint(string(start), 16, 64)
	hi, err2 := strconv.ParseUint(string(end), 16, 64)
	if err1 != nil || err2 != nil || hi <= lo {
		return span{}, false
	}
	return span{lo, hi}, true
}

// eachLine calls fn with each line of r, without its newline. A line
// longer than r's buffer is cut there and the rest skipped: the fields
// release reads all come first.
func eachLine(r *bufio.Reader, fn func([]byte)) error {
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			fn(bytes.TrimSuffix(line, []byte("\n")))
		}
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
	}
}

// fields appends the space-separated fields of line to dst, up to its
// capacity, without allocating.
func fields(line []byte, dst [][]byte) [][]byte {
	for len(line) > 0 && len(dst) < cap(dst) {
		i := 0
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		line = line[i:]
		if len(line) == 0 {
			break
		}
		j := bytes.IndexAny(line, " \t")
		if j < 0 {
			j = len(line)
		}
		dst = append(dst, line[:j])
		line = line[j:]
	}
	return dst
}

// How often the loop has the program's resident file pages checked
// (pageRelease.wake), how soon after the last check a control request
// may have them checked again, and by how much they must have grown over
// what the last drop left for a check to drop them. Collections are rare
// at rest (no allocation per heartbeat), so without the checks the pages
// read once (a status request, a collection's reads of type descriptors
// and stack maps) would stay resident until the next drop. A check reads
// /proc/self/statm.
//
// A drop costs about 1 ms of CPU at rest: 0.3 to 0.9 ms itself (reading
// smaps and the madvise, run cold) and about as much again to fault back
// what the heartbeats run. So the bound leaves alone what the heartbeats
// and the chores on their wake-ups keep mapped, whose code runs again at
// their next turn. Over what a drop leaves (1.2 MB with -tags noetcd)
// that was 1.7 to 2.1 MB at keepalive 1 s with the configuration poll of
// every 30 s, 3.0 to 3.2 MB on a node holding an address once the IP
// agent's look of every minute had run, about 3 MB at 10 ms; a
// collection mapped 1.5 to 4 MB more. With a bound of 256 KB over the
// first check after a drop, polls and looks made most of the drops, each
// faulting the heartbeats' pages back; with 4 MB over what the last drop
// left, mostly collections do (docs/benchmarks-history.md, "Fewer page
// drops at rest"). Counted from the drop rather than from a later check,
// the bound does not grow when a collection comes between the two.
const (
	dropEvery      = 15 * time.Second
	dropAfterCalls = 5 * time.Second
	dropGrowthKB   = 4096
)

// pageRelease drops the file pages on request, on a goroutine of its
// own; requests made while a drop runs make one more. The loop also
// calls wake on each of its timer wake-ups and answered after each
// control request: wake has the pages checked when a check is due, and
// the check drops them if they grew by more than dropGrowthKB over what
// the last drop left. With the etcd backend (etcd.go), wake rides
// on the ownership loop's ticks instead, and request follows each of its
// groups' starts and stops.
type pageRelease struct {
	req   chan struct{} // a drop
	check chan struct{} // a check
	// checked: when wake last asked for a check (at first: the start);
	// one goroutine's at a time (wake's). called: a control request was
	// answered since then; set by answered, which the etcd backend calls
	// on another goroutine than wake (its ownership loop's ticks).
	checked time.Time
	called  atomic.Bool
	// drops counts the drops done, each once what it left has been read.
	drops atomic.Uint64
}

// startPageRelease drops the file pages now, as the start is done, and
// from then on until ctx ends: once settle has passed (the daemon gives
// initdead plus deadtime: by then every peer that is up has been heard or
// declared dead and the start's takeovers are decided), whenever request
// is called (after a group operation or a reload: code the heartbeats do
// not run), and when a check that wake asks for finds them grown. logf
// reports a failure. After every garbage collection the pages are
// checked at once rather than dropped: a collection reads type
// descriptors and stack maps all over the program, which a check finds
// grown past the bound (then it drops them, sooner than the next
// periodic check would), but not every time.
//
// First it returns the heap the start freed to the system (a collection
// and a scavenge, as debug.FreeOSMemory does): the package inits and the
// configuration's parsing leave a few hundred KB of garbage that the
// runtime would otherwise keep for later allocations.
func startPageRelease(ctx context.Context, settle time.Duration, logf func(string, ...any)) *pageRelease {
	debug.FreeOSMemory()
	p := newFilePages()
	if err := p.release(); err != nil {
		logf("%v", err)
	}
	floor, err := p.residentKB()
	if err != nil {
		logf("%v", err)
		floor = -1
	}
	r := newPageRelease(ctx, p.release, p.residentKB, floor, logf)
	afterEachGC(ctx, r.checkNow)
	t := time.AfterFunc(settle, r.request)
	context.AfterFunc(ctx, func() { t.Stop() })
	return r
}

// newPageRelease runs drop on request, and fileKB (the resident file
// pages) on a check and right after each drop, until ctx ends. floorKB is
// what the drop before it left (-1: unknown; the first check's reading
// stands for it).
func newPageRelease(ctx context.Context, drop func() error, fileKB func() (int, error), floorKB int, logf func(string, ...any)) *pageRelease {
	r := &pageRelease{req: make(chan struct{}, 1), check: make(chan struct{}, 1), checked: time.Now()}
	go func() {
		floor := floorKB // what the last drop left
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.req:
			case <-r.check:
				kb, err := fileKB()
				switch {
				case err != nil:
					logf("%v", err)
					continue
				case floor < 0:
					floor = kb
					continue
				case kb <= floor+dropGrowthKB:
					continue
				}
			}
			if err := drop(); err != nil {
				logf("%v", err)
			}
			if kb, err := fileKB(); err != nil {
				logf("%v", err)
			} else {
				floor = kb
			}
			r.drops.Add(1)
		}
	}()
	return r
}

// checkNow asks for a check; it never blocks.
func (r *pageRelease) checkNow() {
	select {
	case r.check <- struct{}{}:
	default: // one is pending
	}
}

// request asks for a drop; it never blocks. A nil r does nothing.
func (r *pageRelease) request() {
	if r == nil {
		return
	}
	select {
	case r.req <- struct{}{}:
	default: // one is pending
	}
}

// wake is called by the loop with the time of each timer wake-up: it
// asks for a check when dropEvery has passed since the last one, or
// dropAfterCalls after a control request. It adds no timer of its own:
// it rides on the loop's wake-ups and the standing order's sends (with the etcd
// backend, the ownership loop ticks every renewal interval). A nil r
// does nothing.
func (r *pageRelease) wake(now time.Time) {
	if r == nil {
		return
	}
	since := now.Sub(r.checked)
	if since < dropEvery && (!r.called.Load() || since < dropAfterCalls) {
		return
	}
	r.called.Store(false)
	r.checked = now
	r.checkNow()
}

// answered is called by the loop after each control request: what it ran
// (the status's encoding, a group command) is checked for at a wake-up
// dropAfterCalls or more after the last check. A nil r does nothing.
func (r *pageRelease) answered() {
	if r != nil {
		r.called.Store(true)
	}
}

// afterEachGC calls f after every garbage collection until ctx ends: a
// cleanup is attached to an object nothing references, which the next
// collection finds unreachable, and each call attaches the next one. It
// adds no timer and no wake-up: at rest, with little garbage, collections
// are rare. f runs on the runtime's cleanup goroutine. The next sentinel is
// armed before f is called: armed after, a collection started while f runs
// could miss it (an object allocated during marking survives that cycle).
func afterEachGC(ctx context.Context, f func()) {
	var arm func()
	arm = func() {
		runtime.AddCleanup(&gcSentinel{}, func(struct{}) {
			if ctx.Err() != nil {
				return
			}
			arm()
			f()
		}, struct{}{})
	}
	arm()
}

// gcSentinel is the object afterEachGC lets go. It holds a pointer so
// that it is not batched with other small objects by the tiny allocator
// (whose block lives as long as any object in it).
type gcSentinel struct{ _ *byte }
