package daemon

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rssFileKB is this process's resident file-backed memory (RssFile).
func rssFileKB(t testing.TB) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == "RssFile:" {
			kb, err := strconv.Atoi(string(f[1]))
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseFilePages: the read-only pages of the test program (several
// MB once its tests have run) leave its resident size, and the program
// goes on running: what it needs is mapped again.
func TestReleaseFilePages(t *testing.T) {
	p := newFilePages()
	before := rssFileKB(t)
	if err := p.release(); err != nil {
		t.Fatal(err)
	}
	after := rssFileKB(t)
	if after >= before/2 {
		t.Errorf("RssFile %d kB -> %d kB: want it at least halved", before, after)
	}
	// Code and tables not run since are mapped back as they are used.
	if err := p.release(); err != nil {
		t.Fatal(err)
	}
	t.Logf("RssFile %d kB -> %d kB", before, after)
}

// mapFile maps the file at path read-only and privately, as the program's
// own code is, and reads every page of it.
func mapFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(b) })
	var sum byte
	for i := 0; i < len(b); i += os.Getpagesize() {
		sum += b[i]
	}
	runtime.KeepAlive(sum)
	return b
}

// dropped waits until the file pages read by mapFile (grown kB resident
// then) have left the resident size, at least half of them.
func dropped(t *testing.T, mapped []byte, grown int) bool {
	t.Helper()
	want := grown - len(mapped)/1024/2
	deadline := time.Now().Add(5 * time.Second)
	for rssFileKB(t) > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return rssFileKB(t) <= want
}

// dropDone waits until r has done more than n drops: the pages leave the
// resident size before the drop has read what it left, the bound of the
// next check, which must not count the pages the test maps next.
func dropDone(t *testing.T, r *pageRelease, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); r.drops.Load() <= n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the drop did not end: %d drops, want more than %d", r.drops.Load(), n)
		}
	}
}

// TestPageRelease: file pages read after the start leave the resident
// size again once settled, after a collection and on request, and
// no longer once ctx has ended.
func TestPageRelease(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const settle = 300 * time.Millisecond
	// No collection of its own may drop the pages before settle has passed.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	r := startPageRelease(ctx, settle, t.Errorf)

	mapped := mapFile(t, exe)
	grown := rssFileKB(t)
	if !dropped(t, mapped, grown) || time.Since(start) < settle {
		t.Fatalf("RssFile %d kB with a %d kB file read: not dropped once settled (%s), %d kB after %s",
			grown, len(mapped)/1024, settle, rssFileKB(t), time.Since(start).Round(time.Millisecond))
	}
	dropDone(t, r, 0)

	steps := []struct {
		name string
		do   func()
	}{
		{"a collection", runtime.GC},
		{"a request", r.request},
	}
	for _, s := range steps {
		n := r.drops.Load()
		mapFile(t, exe)
		grown := rssFileKB(t)
		s.do()
		if !dropped(t, mapped, grown) {
			t.Fatalf("RssFile %d kB with a %d kB file read, %d kB after %s: want half of the file's pages gone", grown, len(mapped)/1024, rssFileKB(t), s.name)
		}
		dropDone(t, r, n)
	}

	cancel()
	runtime.GC() // runs the cleanup armed before cancel, which stops there
	time.Sleep(50 * time.Millisecond)
	for _, s := range steps {
		mapFile(t, exe)
		grown := rssFileKB(t)
		s.do()
		time.Sleep(100 * time.Millisecond)
		if got := rssFileKB(t); got < grown-len(mapped)/1024/2 {
			t.Errorf("RssFile %d kB -> %d kB after %s once ctx ended: want the pages left alone", grown, got, s.name)
		}
	}
	var none *pageRelease
	none.request() // a daemon without it (newTestDaemon's)
}

// TestAfterEachGC: f runs once per collection, and not once ctx ends.
func TestAfterEachGC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan struct{}, 16)
	afterEachGC(ctx, func() { calls <- struct{}{} })
	for i := range 3 {
		runtime.GC()
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatalf("collection %d: f not called", i+1)
		}
	}
	cancel()
	for range 3 {
		runtime.GC()
	}
	select {
	case <-calls:
		t.Error("f called after ctx ended")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestEachLineFields(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name, in string
		want     []string // each line's fields, joined by |
	}{
		{"header", "00400000-00de8000 r-xp 00000000 fe:00 123   /usr/sbin/hbd\nAnonymous:  0 kB\n",
			[]string{"00400000-00de8000|r-xp|00000000|fe:00|123|/usr/sbin/hbd", "Anonymous:|0|kB"}},
		{"no final newline", "Rss: 4 kB", []string{"Rss:|4|kB"}},
		{"anonymous mapping", "7f00-7f10 rw-p 00000000 00:00 0 \n", []string{"7f00-7f10|rw-p|00000000|00:00|0"}},
		{"more than six fields", "a b c d e f g h\n", []string{"a|b|c|d|e|f"}},
		{"a line longer than the buffer is cut", "1000-2000 r--p 0 fe:00 9 /" + long + "\nAnonymous: 4 kB\n",
			[]string{"1000-2000|r--p|0|fe:00|9|/" + long[:4096-len("1000-2000 r--p 0 fe:00 9 /")], "Anonymous:|4|kB"}},
		{"empty lines", "\n\nx\n", []string{"", "", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var fs [6][]byte
			err := eachLine(bufio.NewReaderSize(strings.NewReader(tt.in), 4096), func(line []byte) {
				f := fields(line, fs[:0])
				got = append(got, string(bytes.Join(f, []byte("|"))))
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCandidate(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"00400000-00de8000 r-xp 00000000 fe:00 123 /usr/sbin/hbd", true},
		{"00de8000-018f9000 r--p 009e8000 fe:00 123 /usr/sbin/hbd", true},
		{"018f9000-01975000 rw-p 014f9000 fe:00 123 /usr/sbin/hbd", false}, // writable
		{"7f00-7f10 r--s 00000000 fe:00 123 /dev/shm/x", false},            // shared
		{"7f00-7f10 r--p 00000000 00:00 0", false},                         // anonymous
		{"7ffd-7fff r-xp 00000000 00:00 0 [vdso]", false},
		{"7f00-7f10 r--p 00000000 fe:00 5 [stack]", false},
		{"7f10-7f00 r--p 00000000 fe:00 5 /x", false}, // empty range
	}
	for _, tt := range tests {
		var fs [6][]byte
		if _, got := candidate(fields([]byte(tt.header), fs[:0])); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.header, got, tt.want)
		}
	}
}

// BenchmarkReleaseFilePages: one drop, as after every collection; its
// allocations are garbage that brings the next collection nearer.
func BenchmarkReleaseFilePages(b *testing.B) {
	p := newFilePages()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.release(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPeriodicPageRelease: over a minute of simulated timer wake-ups
// through the loop's tick, the resident file pages are checked every
// dropEvery, and dropAfterCalls after the last check once a control
// request has been answered; a check drops them when they have grown by
// more than dropGrowthKB over what the last drop left (before any drop
// of its own: what the start's left, or else what the first check read).
func TestPeriodicPageRelease(t *testing.T) {
	const s, g, f = time.Second, dropGrowthKB, 1000 // f: what a drop leaves
	tests := []struct {
		name      string
		keepalive time.Duration
		floor     int             // what the start's drop left
		calls     []time.Duration // when a control request is answered
		checks    []time.Duration // the wake-ups that ask for a check
		kb        []int           // what each check reads
		drops     int             // how many drops the checks make
	}{
		{"keepalive 10ms, steady", 10 * time.Millisecond, f, nil,
			[]time.Duration{15 * s, 30 * s, 45 * s, 60 * s}, []int{f + g/2, f + g, f + g/2, f + g}, 0},
		{"keepalive 1s, grown", time.Second, f, nil,
			[]time.Duration{15 * s, 30 * s, 45 * s, 60 * s}, []int{f + g/2, f + g/2, f + g + 1, f + g/2}, 1},
		{"what the last drop left", time.Second, 2 * f, nil,
			[]time.Duration{15 * s, 30 * s, 45 * s, 60 * s}, []int{2*f + g + 1, f + g + 1, f + g/2, 3 * f}, 2},
		{"unknown until the first check", time.Second, -1, nil,
			[]time.Duration{15 * s, 30 * s, 45 * s, 60 * s}, []int{f + g, f + 2*g, f + 2*g + 1, f + g/2}, 1},
		{"a request after a check", 10 * time.Millisecond, f, []time.Duration{16 * s},
			[]time.Duration{15 * s, 20 * s, 35 * s, 50 * s}, []int{f, f + 2*g, f, f + 2*g}, 2},
		{"requests soon after the start", time.Second, f, []time.Duration{3 * s, 4 * s},
			[]time.Duration{5 * s, 20 * s, 35 * s, 50 * s}, []int{f, f, f, f}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _, _ := newTestDaemon(t, loopConfig("node1", "node2"), &fakeRunner{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// The goroutine's steps, one at a time: a reading waits for
			// the test to hand it what it reads.
			steps, kbs := make(chan string), make(chan int)
			d.pages = newPageRelease(ctx,
				func() error { steps <- "drop"; return nil },
				func() (int, error) { steps <- "read"; return <-kbs, nil },
				tt.floor, t.Errorf)
			base := d.pages.checked // no check yet: the start
			var checks []time.Duration
			drops := 0
			// toCheck counts the drops the goroutine makes until its next
			// check, hands the reading right after each drop f, and
			// reports whether a check came.
			toCheck := func() bool {
				afterDrop := false
				for {
					select {
					case st := <-steps:
						switch {
						case st == "drop":
							drops++
							afterDrop = true
						case afterDrop:
							afterDrop = false
							kbs <- f
						default:
							return true
						}
					case <-time.After(10 * time.Second):
						return false
					}
				}
			}
			calls := tt.calls
			for at := tt.keepalive; at <= time.Minute; at += tt.keepalive {
				for len(calls) > 0 && calls[0] <= at {
					d.pages.answered()
					calls = calls[1:]
				}
				d.tick(base.Add(at))
				if d.pages.checked.Sub(base) != at { // no check asked for
					continue
				}
				if !toCheck() {
					t.Fatalf("at %s: no check", at)
				}
				kbs <- tt.kb[len(checks)%len(tt.kb)]
				checks = append(checks, at)
			}
			// One more check, after the last one's drop if it made one;
			// it reads less than any before it, so it drops nothing.
			d.pages.check <- struct{}{}
			if !toCheck() {
				t.Fatal("no check after the last")
			}
			kbs <- 0
			if fmt.Sprint(checks) != fmt.Sprint(tt.checks) || drops != tt.drops {
				t.Errorf("checks at %v, %d drops; want %v, %d", checks, drops, tt.checks, tt.drops)
			}
		})
	}
}

// TestResidentKB: the process's resident file pages, as /proc/self/status
// gives them (RssFile, plus RssShmem: none in a test).
func TestResidentKB(t *testing.T) {
	got, err := newFilePages().residentKB()
	if err != nil {
		t.Fatal(err)
	}
	if want := rssFileKB(t); got < want/2 || got > want*2 {
		t.Errorf("residentKB %d, RssFile %d kB", got, want)
	}
}
