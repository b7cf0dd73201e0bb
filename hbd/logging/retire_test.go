package logging

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestReloadsWhileHungAreBounded: reloads back and forth between a log
// file that hangs (a FIFO nobody reads) and another one leave at most one
// writer for the hung file, holding at most one queue of lines, however
// many there are: goroutines and heap do not grow with the reloads. No
// line is lost uncounted: once the FIFO is read, each file has the lines
// logged while it was the log file, in order, or counts them dropped.
func TestReloadsWhileHungAreBounded(t *testing.T) {
	fifo := newHungFIFO(t)
	other := filepath.Join(t.TempDir(), "ha-log.other")
	hung, moved := Outputs{Logfile: fifo.path}, Outputs{Logfile: other}
	l, err := New(Options{Outputs: hung, PID: 4242, Now: fixedClock, Async: true, Stderr: &testenv.LockedBuffer{},
		StuckAfter: 100 * time.Millisecond, CloseWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })

	pad := strings.Repeat("x", 200)
	next := 0
	var toHung, toOther []int // the lines logged while each was the log file
	logLines := func(k int, to *[]int) {
		for range k {
			l.Infof("line %d %s", next, pad)
			*to = append(*to, next)
			next++
		}
	}
	// The pipe and the queue fill: the writer is stuck in a write.
	logLines(2*QueueLines, &toHung)
	waitUntil(t, "the log file never got stuck", func() bool { return healthOf(t, l).Stuck == "log file "+fifo.path })

	goroutines, before := runtime.NumGoroutine(), liveHeap()
	const reloads = 50
	for range reloads {
		if err := l.Apply(moved); err != nil {
			t.Fatal(err)
		}
		logLines(10, &toOther)
		if err := l.Apply(hung); err != nil {
			t.Fatal(err)
		}
		logLines(QueueLines+10, &toHung) // more than a queue
	}
	// The other file's writers end once written; the hung one's stays.
	var now int
	waitUntil(t, "goroutines grew with the reloads", func() bool {
		now = runtime.NumGoroutine()
		return now <= goroutines+2
	})
	if grew := int64(liveHeap()) - int64(before); grew > 4<<20 {
		t.Errorf("heap grew by %d bytes over %d reloads while the log file hung", grew, 2*reloads)
	}
	h := healthOf(t, l)
	if len(h.Outputs) != 1 || h.Outputs[0].Output != "log file "+fifo.path {
		t.Errorf("Health %+v, want the hung log file once", h)
	}

	fifo.drain()
	drain(t, l)
	l.Info("line " + strconv.Itoa(next))
	toHung = append(toHung, next)
	last := "info: line " + strconv.Itoa(next)
	waitUntil(t, "the FIFO never got the last line", func() bool { return strings.Contains(fifo.got.String(), last+"\n") })
	checkLines(t, "log file "+fifo.path, fifo.lines(), toHung, outputOf(healthOf(t, l), "log file "+fifo.path).Dropped, 0)
	checkLines(t, other, lines(readFile(t, other)), toOther, 0, 0)
}

var numberedRE = regexp.MustCompile(`info: line (\d+)`)

// checkLines checks that got has lines of want only, in order, and that
// those it lacks are as many as its drop reports say, and as dropped, and
// elsewhere, the lines a WARN elsewhere counts (an output given up).
func checkLines(t *testing.T, what string, got []string, want []int, dropped uint64, elsewhere int) {
	t.Helper()
	mine := make(map[int]bool, len(want))
	for _, i := range want {
		mine[i] = true
	}
	wrote, reported, last := 0, 0, -1
	for _, ln := range got {
		if m := dropRE.FindStringSubmatch(ln); m != nil {
			k, _ := strconv.Atoi(m[1])
			reported += k
			continue
		}
		m := numberedRE.FindStringSubmatch(ln)
		if m == nil {
			continue // the logger's own notices
		}
		i, _ := strconv.Atoi(m[1])
		if !mine[i] || i <= last {
			t.Fatalf("%s: line %d after line %d; not one of its lines, or out of order", what, i, last)
		}
		last = i
		wrote++
	}
	if wrote+reported+elsewhere != len(want) || uint64(reported) != dropped {
		t.Errorf("%s: %d lines written, %d reported dropped (Health: %d), %d elsewhere, want %d in all", what, wrote, reported, dropped, elsewhere, len(want))
	}
}

// TestReloadsToManyHungFilesAreBounded: reloads from one hung log file
// to the next (each a FIFO nobody reads, as a file on a mount that hangs)
// keep the writers and queued lines of a few of the retired files only:
// goroutines and heap do not grow with the reloads. The others are given
// up: their writes are interrupted, their writers end, and a WARN on the
// log file in use and on stderr counts the lines each lost. Once each
// FIFO is read it has its lines, in order, and those it lacks are
// counted: by a WARN in it (the files kept) or by the one that gave it
// up.
func TestReloadsToManyHungFilesAreBounded(t *testing.T) {
	const files = 16
	fifos := make([]*hungFIFO, files)
	for i := range fifos {
		fifos[i] = newHungFIFO(t)
	}
	goroutines := runtime.NumGoroutine()
	stderr := &testenv.LockedBuffer{}
	l, err := New(Options{PID: 4242, Now: fixedClock, Async: true, Stderr: stderr,
		StuckAfter: 20 * time.Millisecond, CloseWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	before := liveHeap()
	pad := strings.Repeat("x", 1000)
	next := 0
	logged := make([][]int, files)
	for i, f := range fifos {
		if err := l.Apply(Outputs{Logfile: f.path}); err != nil {
			t.Fatal(err)
		}
		// 64 KiB fill the pipe, a queue's worth waits behind.
		for range QueueLines + 100 {
			l.Infof("line %d %s", next, pad)
			logged[i] = append(logged[i], next)
			next++
		}
		waitUntil(t, "a log file never got stuck", func() bool { return !outputOf(healthOf(t, l), "log file "+f.path).StuckSince.IsZero() })
	}
	final := filepath.Join(t.TempDir(), "ha-log")
	if err := l.Apply(Outputs{Logfile: final}); err != nil {
		t.Fatal(err)
	}
	// A writer and its watch for stderr, for the log file in use and
	// for each retired file kept.
	bound := goroutines + 2*(2+retiredQueues)
	now := runtime.NumGoroutine()
	for deadline := time.Now().Add(20 * time.Second); now > bound; now = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines with %d hung log files retired, %d before the logger: want at most %d", now, files, goroutines, bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Each queue holds over 1 MiB of lines: all of them kept would be
	// 20 MiB, retiredQueues of them 5.
	grew := int64(liveHeap()) - int64(before)
	t.Logf("heap grew by %d bytes, %d goroutines (%d before), with %d hung log files retired", grew, now, goroutines, files)
	if grew > 8<<20 {
		t.Errorf("heap grew by %d bytes with %d hung log files retired", grew, files)
	}

	gaveUp := givenUp(stderr.String())
	if len(gaveUp) != files-retiredQueues {
		t.Errorf("%d log files given up, want %d: %v", len(gaveUp), files-retiredQueues, gaveUp)
	}
	// The last reload gave up the oldest of the files kept before it.
	if last := fifos[files-retiredQueues-1].path; givenUp(readFile(t, final))[last] == 0 {
		t.Errorf("the log file in use does not say %s was given up: %q", last, readFile(t, final))
	}
	for i, f := range fifos {
		f.drain()
		var got []string
		if n, ok := gaveUp[f.path]; ok {
			// Given up: the pipe holds what it took before it
			// hung, and nothing comes after.
			waitUntil(t, "a FIFO given up lacks lines its WARN does not count", func() bool {
				got = f.lines()
				return len(got)+n >= len(logged[i])
			})
			checkLines(t, f.path, got, logged[i], 0, n)
			continue
		}
		// Its last line is the count of those it dropped, written
		// once its queue is empty, the last thing its writer does.
		waitUntil(t, "a FIFO never got the count of its lines dropped", func() bool {
			got = f.lines()
			return len(got) > 0 && dropRE.MatchString(got[len(got)-1])
		})
		checkLines(t, f.path, got, logged[i], countDropped(got), 0)
	}
}

var givenUpRE = regexp.MustCompile(`WARN: Log output log file (\S+) given up: .*; (\d+) lines dropped over `)

// givenUp is what the WARNs of log files given up in log say: how many
// lines each lost.
func givenUp(log string) map[string]int {
	m := map[string]int{}
	for _, ln := range lines(log) {
		if g := givenUpRE.FindStringSubmatch(ln); g != nil {
			n, _ := strconv.Atoi(g[2])
			m[g[1]] += n
		}
	}
	return m
}

// countDropped is what the drop reports among got say.
func countDropped(got []string) uint64 {
	var n uint64
	for _, ln := range got {
		if m := dropRE.FindStringSubmatch(ln); m != nil {
			k, _ := strconv.ParseUint(m[1], 10, 64)
			n += k
		}
	}
	return n
}

// liveHeap is the heap in use once collected, the lines pooled included.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // and the lines the first left pooled
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestShedKeepsADropReport: a retired output whose writer is stuck has
// its queued lines shed (dropped and counted), but a report of lines
// dropped earlier, queued among them, is the only place their count is
// said: once the write returns, the output has each line logged to it,
// or a report that counts it, and the reports say as many as were
// dropped.
func TestShedKeepsADropReport(t *testing.T) {
	r := newGatedQueue(t)
	gate, writing, q, put := r.gate, r.writing, r.q, r.put
	put(dropped) // the queue is full
	// Two writes return: room for the report and the next line.
	for range 2 {
		gate <- struct{}{}
		<-writing
	}
	put(queued) // queued behind the report of the line dropped
	q.retire()
	q.shed()
	close(gate)
	select {
	case <-q.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the retired writer did not end")
	}
	got, next := r.written(), r.next
	wrote, reported := 0, 0
	for _, s := range got {
		var k int
		if _, err := fmt.Sscanf(s, "dropped %d", &k); err == nil {
			reported += k
			continue
		}
		wrote++
	}
	if wrote+reported != next || uint64(reported) != q.droppedLines() {
		t.Errorf("written %q: %d lines and %d reported dropped (dropped: %d), want %d lines in all", got, wrote, reported, q.droppedLines(), next)
	}
}

// TestGiveUpCountsEveryLineNotWritten: a retired queue given up drops
// what is queued, a report of lines dropped before included, writes
// nothing more once its current write returns (not even a report), and
// cannot be revived; what it did not write is all in the count its
// output's end says elsewhere (takeDrops), and counted once in dropped.
func TestGiveUpCountsEveryLineNotWritten(t *testing.T) {
	r := newGatedQueue(t)
	gate, writing, q, put := r.gate, r.writing, r.q, r.put
	put(dropped)
	put(dropped)
	for range 2 {
		gate <- struct{}{}
		<-writing
	}
	put(queued) // behind the report of the two dropped
	q.retire()
	q.giveUp()
	if q.revive() {
		t.Error("a queue given up was revived")
	}
	close(gate)
	select {
	case <-q.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer given up did not end")
	}
	got, next := r.written(), r.next
	for _, s := range got {
		if strings.HasPrefix(s, "dropped") {
			t.Errorf("a queue given up wrote a report: %q", got)
		}
	}
	// Lines 0 to 2 were written (0 and 1 let through, 2 in its write).
	n, _, _ := q.takeDrops()
	if len(got)+n != next || q.droppedLines() != uint64(n) {
		t.Errorf("written %q, %d counted to say (dropped: %d), want %d lines in all", got, n, q.droppedLines(), next)
	}
}

// A write that waits can be interrupted where the runtime polls the
// file (a FIFO); a regular file's cannot, and nothing open has nothing
// to interrupt.
func TestInterruptible(t *testing.T) {
	regular := filepath.Join(t.TempDir(), "ha-log")
	for _, tc := range []struct {
		name string
		path string
		open bool
		want bool
	}{
		{"FIFO", newHungFIFO(t).path, true, true},
		{"regular file", regular, true, false},
		{"nothing open", regular, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &fileOutput{path: tc.path, pipes: true}
			if tc.open {
				if err := o.open(time.Now()); err != nil {
					t.Fatal(err)
				}
				defer o.close()
			}
			if got := o.interruptible(); got != tc.want {
				t.Errorf("interruptible %v, want %v", got, tc.want)
			}
		})
	}
}

// gatedQueue is a queue of capacity 4 whose writes each wait for a
// receive on gate (writing gets a value as each begins) and whose drop
// reports say "dropped N": line 0 is in its write and the queue is full
// when newGatedQueue returns.
type gatedQueue struct {
	t       *testing.T
	gate    chan struct{}
	writing chan struct{}
	q       *queue
	next    int // lines put so far

	mu  sync.Mutex
	got []string // what the writes wrote
}

func newGatedQueue(t *testing.T) *gatedQueue {
	r := &gatedQueue{t: t, gate: make(chan struct{}), writing: make(chan struct{}, 1024)}
	write := func(ln *line) {
		r.writing <- struct{}{}
		<-r.gate
		r.mu.Lock()
		r.got = append(r.got, string(ln.text))
		r.mu.Unlock()
	}
	report := func(n int, _, _ time.Time) *line {
		ln := newLine(1)
		ln.own = true
		ln.text = fmt.Appendf(ln.text[:0], "dropped %d", n)
		return ln
	}
	const capacity = 4
	r.q = startQueue(capacity, nil, write, report, nil, nil)
	r.put(queued)
	<-r.writing // line 0 in its write
	for range capacity {
		r.put(queued)
	}
	return r
}

// put queues the next line and checks the queue's answer.
func (r *gatedQueue) put(want putResult) {
	r.t.Helper()
	ln := newLine(1)
	ln.text = fmt.Appendf(ln.text[:0], "line %d", r.next)
	r.next++
	if got := r.q.put(ln, 0); got != want {
		r.t.Fatalf("line %d: put %v, want %v", r.next-1, got, want)
	}
	if want == dropped {
		ln.release()
	}
}

// written is what the writes wrote so far.
func (r *gatedQueue) written() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}
