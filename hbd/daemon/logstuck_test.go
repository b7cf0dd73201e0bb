package daemon

import (
	"cmp"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// timedLinks records when each status (heartbeat) went out.
type timedLinks struct {
	*fakeLinks
	mu sync.Mutex
	at []time.Time
}

func (l *timedLinks) Send(b []byte) {
	l.fakeLinks.Send(b)
	if m, err := l.keys.Decode(b); err == nil && m.Value("t") == "status" {
		l.mu.Lock()
		l.at = append(l.at, time.Now())
		l.mu.Unlock()
	}
}

// gaps are the spans of [from, to] with no heartbeat sent, longest first.
func (l *timedLinks) gaps(from, to time.Time) [][2]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][2]time.Time
	last := from
	for _, at := range l.at {
		if at.Before(from) || at.After(to) {
			continue
		}
		out = append(out, [2]time.Time{last, at})
		last = at
	}
	out = append(out, [2]time.Time{last, to})
	slices.SortFunc(out, func(a, b [2]time.Time) int { return cmp.Compare(b[1].Sub(b[0]), a[1].Sub(a[0])) })
	return out
}

// fullPipe returns the write end of a pipe in blocking mode (as a stderr
// inherited from a supervisor is) that is full, so that the next write(2)
// blocks, and a function that starts reading it and returns what it read
// so far.
func fullPipe(t *testing.T) (*os.File, func() func() string) {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := syscall.Write(fds[1], []byte("filler\n")); errors.Is(err, syscall.EAGAIN) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.SetNonblock(fds[1], false); err != nil {
		t.Fatal(err)
	}
	w, r := os.NewFile(uintptr(fds[1]), "stderr"), os.NewFile(uintptr(fds[0]), "reader")
	read := &testenv.LockedBuffer{}
	var once sync.Once
	t.Cleanup(func() {
		_ = w.Close()
		once.Do(func() { _ = r.Close() })
	})
	return w, func() func() string {
		once.Do(func() { readAll(r, read, func() { _ = r.Close() }) })
		return read.String
	}
}

// readAll reads f into read, in a goroutine, until a read fails (f or
// its write end is closed), then runs then (if not nil).
func readAll(f *os.File, read *testenv.LockedBuffer, then func()) {
	go func() {
		if then != nil {
			defer then()
		}
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			_, _ = read.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
}

// TestStuckLogKeepsHeartbeats: with the log's only output a pipe nobody
// reads (the stderr of a supervisor whose log collector hung), the loop
// keeps sending heartbeats at keepalive through a flood of lines (a
// script's output, logged from another goroutine), SIGHUPs (which reopen
// the log) and a peer going silent and coming back: the peer never misses
// a deadtime of them (unless the test itself was not run meanwhile). Once the pipe is read again, the log says how many
// lines were dropped.
func TestStuckLogKeepsHeartbeats(t *testing.T) {
	cfg := loopConfig("node1", "node2")
	// Deadtime: 25 keepalives, for a loop slowed down by the race detector
	// on a loaded machine; a loop held by its log misses it by far.
	cfg.Keepalive, cfg.Warntime, cfg.Deadtime, cfg.Initdead = 10*time.Millisecond, 100*time.Millisecond, 250*time.Millisecond, 250*time.Millisecond
	stderr, unstick := fullPipe(t)
	r, tl, lg := loggedLoopRig(t, cfg, logging.Options{Outputs: logging.Outputs{Debug: 1}, Stderr: stderr, Async: true, CloseWait: 100 * time.Millisecond})

	from := time.Now()
	var flood sync.WaitGroup
	flood.Go(func() {
		script := lg.WithTag("IPaddr2", 4321)
		for i := range 5 * logging.QueueLines {
			script.Infof("output line %d", i)
		}
	})
	steps := peerSteps(r, from, cfg.Keepalive)
	to := time.Now()
	flood.Wait()
	noDeadtimeMissed(t, tl, from, to, steps, cfg.Deadtime)

	read := unstick()
	waitFor(t, func() bool { return strings.Contains(read(), "WARN: Log output did not keep up: ") })
}

// loggedLoopRig runs the loop of a daemon of cfg whose log is a logger
// of o, with its heartbeats timed, once it has booted.
func loggedLoopRig(t *testing.T, cfg *config.Config, o logging.Options) (*loopRig, *timedLinks, *logging.Logger) {
	t.Helper()
	runner := &fakeRunner{}
	d, links, _ := newTestDaemon(t, cfg, runner)
	lg, err := logging.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lg.Close() }) // after the loop has ended
	d.log = lg
	tl := &timedLinks{fakeLinks: links}
	d.links = tl
	r := startLoopRig(t, d, links, runner)
	waitFor(t, func() bool { return len(links.sentOf("status")) > 0 }) // booted
	return r, tl, lg
}

// peerSteps has the peer send its heartbeats every keepalive for 2 s
// from from, but for 40 keepalives (dead, then back), and sends a SIGHUP
// every 10 (which reopens the log). It returns when it took each step:
// they tell a loop that is held from a process that is not run at all
// (a loaded machine).
func peerSteps(r *loopRig, from time.Time, keepalive time.Duration) []time.Time {
	const window = 2 * time.Second
	var steps []time.Time
	for i := 0; time.Since(from) < window; i++ {
		steps = append(steps, time.Now())
		if i < 40 || i > 80 {
			r.fromPeer("eth0", 0, "t", "status", "st", "active", "dt", "fa", "protocol", "1")
		}
		if i%10 == 5 {
			select {
			case r.sigs <- syscall.SIGHUP:
			default:
			}
		}
		time.Sleep(keepalive)
	}
	return steps
}

// noDeadtimeMissed fails the test if no heartbeat went out for a
// deadtime or more between from and to while the test itself ran (took
// at least 5 of its steps): a loop held up, not a process that was not
// run at all.
func noDeadtimeMissed(t *testing.T, tl *timedLinks, from, to time.Time, steps []time.Time, deadtime time.Duration) {
	t.Helper()
	gaps := tl.gaps(from, to)
	t.Logf("%d heartbeats in %s, the longest gap %s", len(gaps)-1, to.Sub(from).Round(time.Millisecond), gaps[0][1].Sub(gaps[0][0]).Round(time.Millisecond))
	for _, g := range gaps {
		if g[1].Sub(g[0]) < deadtime {
			break
		}
		ran := 0
		for _, s := range steps {
			if s.After(g[0]) && s.Before(g[1]) {
				ran++
			}
		}
		if ran >= 5 {
			t.Errorf("no heartbeat for %s (deadtime %s) while the log was stuck, and the test took %d steps meanwhile", g[1].Sub(g[0]), deadtime, ran)
		}
	}
}

// TestStuckLogInStatus: the status answer says nothing of the log while
// all is well; with the log's only output a pipe nobody reads, it names
// the stuck output (the loop answers: the read does not wait for the
// writer) and counts the lines dropped; once the pipe is read the write
// is no longer stuck and the count is what the log's WARNs say went.
func TestStuckLogInStatus(t *testing.T) {
	status := func(r *loopRig) (ctl.Status, map[string]json.RawMessage) {
		t.Helper()
		resp := r.call(ctl.Request{Cmd: "status"})
		var st ctl.Status
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(resp.Data, &st); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(resp.Data, &raw); err != nil {
			t.Fatal(err)
		}
		return st, raw
	}

	well := newLoopRig(t, loopConfig("node1", "node2"), &fakeRunner{})
	waitFor(t, func() bool { return len(well.links.sentOf("status")) > 0 })
	if st, raw := status(well); !st.Log.IsZero() || raw["log"] != nil {
		t.Errorf("all well, the status has log %s", raw["log"])
	}

	const stuckAfter = 100 * time.Millisecond
	d, links, _ := newTestDaemon(t, loopConfig("node1", "node2"), &fakeRunner{})
	stderr, unstick := fullPipe(t)
	lg, err := logging.New(logging.Options{Outputs: logging.Outputs{Debug: 1}, Stderr: stderr, Async: true,
		StuckAfter: stuckAfter, CloseWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lg.Close() }) // after the loop has ended
	d.log = lg
	from := time.Now()
	r := startLoopRig(t, d, links, &fakeRunner{})
	waitFor(t, func() bool { return len(links.sentOf("status")) > 0 }) // booted
	script := lg.WithTag("IPaddr2", 4321)
	for i := range 2 * logging.QueueLines {
		script.Infof("output line %d", i)
	}
	var st ctl.Status
	waitFor(t, func() bool { st, _ = status(r); return st.Log.Stuck != "" })
	if st.Log.Stuck != "stderr" || st.Log.Dropped < logging.QueueLines-1 {
		t.Errorf("stuck: log %+v, want stderr stuck and at least %d lines dropped", st.Log, logging.QueueLines-1)
	}
	if st.Log.StuckSince.Before(from.Add(-time.Second)) || time.Since(st.Log.StuckSince) < stuckAfter {
		t.Errorf("stuck since %s, the daemon started %s ago", st.Log.StuckSince, time.Since(from))
	}

	read := unstick()
	var reported uint64
	waitFor(t, func() bool {
		st, _ = status(r)
		reported = 0
		for _, m := range droppedRE.FindAllStringSubmatch(read(), -1) {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			reported += n
		}
		return st.Log.Stuck == "" && reported == st.Log.Dropped
	})
	if st.Log.Dropped == 0 || !st.Log.StuckSince.IsZero() {
		t.Errorf("unstuck: log %+v, want the %d lines dropped and nothing stuck", st.Log, reported)
	}
}

var droppedRE = regexp.MustCompile(`WARN: Log output did not keep up: (\d+) lines dropped`)

// TestStuckLogReopenSaidOnce: SIGHUPs while a log output is stuck (a
// syslog socket nobody reads) leave its reopen to its writer and say so
// once, not once per SIGHUP; once the output moves and a reopen is done,
// a later stall is said again.
func TestStuckLogReopenSaidOnce(t *testing.T) {
	d, _, _ := newTestDaemon(t, loopConfig("node1", "node2"), &fakeRunner{})
	path := filepath.Join(t.TempDir(), "log")
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sock.Close() })
	lg, err := logging.New(logging.Options{Outputs: logging.Outputs{Facility: "local0"}, SyslogNetwork: "unixgram", SyslogAddr: path,
		Stderr: &testenv.LockedBuffer{}, Async: true, FlushWait: 10 * time.Millisecond, StuckAfter: 50 * time.Millisecond, CloseWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lg.Close() })
	d.log = lg
	// Fill the socket, a line a millisecond, until a write waits: the
	// queue then has room for the lines about the reopens.
	for i := 0; lg.Health().Stuck != "syslog"; i++ {
		if i == 20_000 {
			t.Fatal("syslog never got stuck")
		}
		lg.Infof("filling %d", i)
		time.Sleep(time.Millisecond)
	}
	for range 5 {
		d.reopenLog()
	}
	if !d.reopenStuck {
		t.Fatal("the reopens did not find the output stuck")
	}
	read := &testenv.LockedBuffer{}
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				return
			}
			_, _ = read.Write(append(buf[:n:n], '\n'))
		}
	}()
	waitFor(t, func() bool { return strings.Contains(read.String(), "reopen log files") })
	if err := lg.Sync(); err != nil {
		t.Fatalf("sync once the output moves: %v", err)
	}
	if n := strings.Count(read.String(), "reopen log files"); n != 1 {
		t.Errorf("%d lines say the reopen was left to the writer, want 1:\n%s", n, read.String())
	}
	d.reopenLog()
	if d.reopenStuck {
		t.Error("a reopen done with the output moving still counts as stuck")
	}
}
