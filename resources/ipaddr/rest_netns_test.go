//go:build linux

package ipaddr

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netns"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// goroutineID is the calling goroutine's id, as its stack trace gives
// it; -1 if the trace gives none.
func goroutineID() int {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := strings.Fields(string(buf[:n]))
	if len(f) < 2 || f[0] != "goroutine" {
		return -1
	}
	id, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return id
}

// txPackets is the count of frames host h's eth0 has sent.
func txPackets(t *testing.T, h *netlab.Host) int {
	t.Helper()
	out, err := h.Exec(context.Background(), "cat", "/sys/class/net/eth0/statistics/tx_packets")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("tx_packets %q: %v", out, err)
	}
	return n
}

// TestWatchAtRestLeavesTheRuntimeAlone: a Watch's look and refresh at
// rest (the address in place, its link known) make their system calls
// without the runtime's bookkeeping of a blocking call (entersyscall):
// each such call wakes the runtime's monitor thread from its sleep when
// the process was idle, and the monitor then polls every 20 µs or so
// until the process is idle again. The runtime's execution trace shows
// every entersyscall as a goroutine going from Running to Syscall, with
// its stack; the agent's code must show none over 40 looks and
// refreshes, the first ones after the Watch's start included (their
// sockets are opened at the start), for an IPv4 address (a gratuitous
// ARP request and reply a round) and an IPv6 one (an unsolicited
// neighbour advertisement).
func TestWatchAtRestLeavesTheRuntimeAlone(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("reading the execution trace needs the go command: not in PATH")
	}
	for _, tc := range []struct {
		name, spec string
		frames     int // a round's
	}{
		{"ipv4", vip4 + "/24/eth0", 2},
		{"ipv6", vip6 + "/64/eth0", 1},
	} {
		t.Run(tc.name, func(t *testing.T) { testWatchAtRest(t, goTool, tc.spec, tc.frames) })
	}
}

func testWatchAtRest(t *testing.T, goTool, spec string, frames int) {
	lab := netlab.NewT(t, t.Name())
	h := addHost(t, lab, "a", "10.231.0.1/24", "fd00:231::1/64")
	ctx := context.Background()
	ag, _ := agentIn(t, h, t.TempDir(), quickBurst, spec)
	ag.events = nsEvents(t, h) // as a daemon's agents follow events
	// A debug line would be written (a system call) at every refresh.
	ag.log.(*logrus.Entry).Logger.SetLevel(logrus.InfoLevel)
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wake := make(chan time.Time)
	ids := make(chan int, 1)
	// Every wake is a look and a refresh (one round), as the minute's is.
	stop := runWatch(t, ag, WatchOptions{Check: time.Second, Followed: time.Nanosecond, Refresh: time.Nanosecond, Wake: wake},
		func() { ids <- goroutineID() })
	watchID := <-ids
	if watchID < 0 {
		t.Fatal("no goroutine id in the Watch goroutine's stack trace")
	}
	send := func(n int) { sendWakes(t, wake, n) }
	// The links the subscription starts with come first (each makes
	// the Watch ask the library where the address is); the looks at rest
	// follow, the first of them traced.
	linksRead(t, h, ag.events, wake)

	const looks = 40
	before := txPackets(t, h)
	path := filepath.Join(t.TempDir(), "trace.out")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	// The last wake is taken once the look and refresh before it are over.
	send(looks + 1)
	trace.Stop()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	stop()
	if sent := txPackets(t, h) - before; sent < frames*looks {
		t.Fatalf("%d frames sent during %d refreshes, want at least %d: the refreshes did not happen", sent, looks, frames*looks)
	}

	var out, stderr bytes.Buffer
	cmd := exec.Command(goTool, "tool", "trace", "-d=parsed", path)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go tool trace: %v: %s", err, stderr.String())
	}
	goID := fmt.Sprintf(" GoID=%d ", watchID)
	events := 0
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, goID) {
			events++
		}
	}
	all, n, first := agentSyscalls(out.String())
	// The trace shows the Watch's goroutine (when it waits for a wake
	// that comes later) and the system calls of the trace's own writer:
	// else it is not read right.
	if events == 0 || all == 0 {
		t.Fatalf("%d events of the Watch's goroutine (%d) and %d system calls in the trace over %d looks: the trace is not read right", events, watchID, all, looks)
	}
	if n > 0 {
		t.Errorf("the agent entered %d system calls through the runtime over %d looks and refreshes at rest (first:\n%s)", n, looks, first)
	}
}

// agentSyscalls counts the system calls through the runtime (a goroutine
// going from Running to Syscall) that the parsed trace shows: all of
// them, and n made by this package's code, on the Watch's goroutine or
// on one it started (inNS), with the stack of the first. The agent's
// entry into its namespace (netns.Set in inNS) is the test's: a
// daemon's agents work in its own namespace and make none.
func agentSyscalls(parsed string) (all, n int, first string) {
	const pkg = "github.com/hbdproject/hbd/resources/ipaddr."
	var stack strings.Builder
	in := false
	end := func() {
		all++
		st := stack.String()
		if strings.Contains(st, pkg) && !strings.Contains(st, "netns.Set") {
			if n == 0 {
				first = st
			}
			n++
		}
		stack.Reset()
	}
	for line := range strings.Lines(parsed) {
		switch {
		case strings.Contains(line, "Running->Syscall"):
			in = true
		case in && (strings.HasPrefix(line, "Stack=") || strings.TrimSpace(line) == ""):
			in = false
			end()
		case in:
			stack.WriteString(line)
		}
	}
	if in {
		end()
	}
	return all, n, first
}

// nsEvents is the shared subscriptions of host h's namespace.
func nsEvents(t *testing.T, h *netlab.Host) *events {
	t.Helper()
	ns, err := netns.GetFromPath(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return newEvents(ns)
}

// linksRead returns once the Watch that follows ev's link events has
// read every link of host h's namespace and is waiting in its loop
// again: the links are all in the subscription's state, no follower
// has one left to read, and the Watch has taken a wake. The wake is
// dated before the Watch's start, so that it neither looks nor
// refreshes.
func linksRead(t *testing.T, h *netlab.Host, ev *events, wake chan<- time.Time) {
	t.Helper()
	out, err := h.Exec(context.Background(), "ip", "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	links := strings.Count(strings.TrimSpace(out), "\n") + 1
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev.links.mu.Lock()
		read := len(ev.links.kept) >= links && len(ev.links.follows) > 0
		for f := range ev.links.follows {
			read = read && len(f.ch) == 0
		}
		ev.links.mu.Unlock()
		if read {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Watch has not read the %d links of the namespace within 10 s", links)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case wake <- time.Time{}:
	case <-time.After(30 * time.Second):
		t.Fatal("the Watch takes no wake")
	}
}
