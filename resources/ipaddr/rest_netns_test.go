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
// every entersyscall as a goroutine going from Running to Syscall; the
// Watch's goroutine must show none over 40 looks and refreshes, for an
// IPv4 address (a gratuitous ARP request and reply a round) and an IPv6
// one (an unsolicited neighbour advertisement).
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
	// The link events of the subscription's start come first (the look
	// then asks the library); then the looks settle on the link.
	time.Sleep(300 * time.Millisecond)
	send(10)

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
	var events, syscalls int
	var first string
	for line := range strings.Lines(out.String()) {
		if !strings.Contains(line, goID) {
			continue
		}
		events++
		if strings.Contains(line, "Running->Syscall") {
			if syscalls == 0 {
				first = strings.TrimSpace(line)
			}
			syscalls++
		}
	}
	// The Watch's goroutine waits for each wake and runs after it: the
	// trace holds its transitions, else the filter reads the wrong lines.
	if events < looks {
		t.Fatalf("%d events of the Watch's goroutine (%d) in the trace over %d looks: the trace does not show it", events, watchID, looks)
	}
	if syscalls > 0 {
		t.Errorf("the Watch's goroutine entered %d system calls through the runtime over %d looks and refreshes at rest (first: %s)", syscalls, looks, first)
	}
}
