//go:build linux

package ipaddr

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// sendWakes sends n times on a Watch's wake channel, each taken by the
// Watch, and fails the test if one is not taken within 30 s of the
// first. One timer for all the wakes: a timer each would be allocations
// counted as the looks'.
func sendWakes(t *testing.T, wake chan<- time.Time, n int) {
	t.Helper()
	limit := time.NewTimer(30 * time.Second)
	defer limit.Stop()
	for range n {
		select {
		case wake <- time.Now():
		case <-limit.C:
			t.Fatal("the Watch takes no wake")
		}
	}
}

// runWatch runs ag's Watch with o in a goroutine of its own, which calls
// started first when it is not nil, and returns stop: it ends the Watch
// and fails the test unless the Watch returned nil. stop may be called
// more than once; the test's cleanup calls it too.
func runWatch(t *testing.T, ag *Agent, o WatchOptions, started func()) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		if started != nil {
			started()
		}
		done <- ag.Watch(ctx, o)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Watch returned %v, want nil after cancel", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestWatchLookAllocatesNothing: a Watch's periodic look at rest, on an
// interface that holds many addresses (as a node holding 32 groups does),
// allocates next to nothing: it asks whether the address is still on the
// link it was seen on, with a dump read in place, where the library's
// AddrList and LinkByName made about 40 KB of garbage a look (33
// addresses). And the look answers as the library's does.
func TestWatchLookAllocatesNothing(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	addrs := []string{"10.231.0.1/24"}
	for i := 1; i <= 32; i++ {
		addrs = append(addrs, fmt.Sprintf("10.231.1.%d/32", i))
	}
	h := addHost(t, lab, "a", addrs...)
	ctx := context.Background()
	ag, _ := agentIn(t, h, t.TempDir(), quickBurst, vip4+"/24/eth0")
	ag.log.(*logrus.Entry).Logger.SetLevel(logrus.InfoLevel) // no debug line per look
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wake := make(chan time.Time)
	// Followed of a nanosecond: every wake is a look. No refresh: its
	// announcements are not the look.
	stop := runWatch(t, ag, WatchOptions{Check: time.Second, Followed: time.Nanosecond, Refresh: -1, Wake: wake}, nil)
	send := func(n int) { sendWakes(t, wake, n) }
	// The link events of the subscription's start (every link, listed)
	// come first; then the looks settle on the link.
	time.Sleep(300 * time.Millisecond)
	send(20)

	const looks = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	// The last wake is taken once the look before it is over.
	send(looks + 1)
	runtime.ReadMemStats(&after)
	perLook := float64(after.Mallocs-before.Mallocs) / looks
	bytesPerLook := float64(after.TotalAlloc-before.TotalAlloc) / looks
	t.Logf("%d looks with %d addresses on the interface: %.1f allocations, %.0f bytes a look", looks, len(addrs)+1, perLook, bytesPerLook)
	// Generous: the library's look made several hundred (about 40 KB);
	// what else runs in the test process may allocate a little meanwhile.
	if perLook > 5 || bytesPerLook > 512 {
		t.Errorf("a look at rest allocates %.1f times, %.0f bytes; want next to nothing", perLook, bytesPerLook)
	}

	// The look answers as where does: held on eth0, not on lo; once
	// deleted by hand, held nowhere.
	stop()
	eth0, err := ag.h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	lo, err := ag.h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	look := newAddrLook()
	defer look.close()
	for _, c := range []struct {
		name  string
		index int
		want  bool
	}{{"eth0", eth0.Attrs().Index, true}, {"lo", lo.Attrs().Index, false}} {
		if held, err := look.heldOn(ag, c.index); err != nil || held != c.want {
			t.Errorf("held on %s: %v, %v; want %v", c.name, held, err, c.want)
		}
	}
	if _, err := h.Exec(ctx, "ip", "addr", "del", vip4+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if held, err := look.heldOn(ag, eth0.Attrs().Index); err != nil || held {
		t.Errorf("held on eth0 after its deletion: %v, %v", held, err)
	}
}
