//go:build linux

package ipaddr

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// packetSockets lists the inodes of the AF_PACKET sockets open in host
// h's network namespace (/proc/net/packet, read from inside it).
func packetSockets(t *testing.T, h *netlab.Host) []string {
	t.Helper()
	out, err := h.Exec(context.Background(), "cat", "/proc/net/packet")
	if err != nil {
		t.Fatal(err)
	}
	var inodes []string
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) == 0 {
			continue // the header
		}
		inodes = append(inodes, f[len(f)-1])
	}
	slices.Sort(inodes)
	return inodes
}

// A watch's periodic refreshes send on one packet socket, kept open for
// as long as the watch runs and closed when it ends: opening and closing
// one at every refresh cost a wait for the kernel's RCU grace period each
// time (packet_release), with the runtime's monitor thread spinning
// meanwhile.
func TestWatchRefreshesOnOneSocket(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	addHost(t, lab, "c", "10.231.0.3/24")
	ctx := context.Background()
	ag, _ := agentIn(t, a, t.TempDir(), quickBurst, vip4+"/24/eth0")
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	// A time every 50 ms, as the daemon sends from its heartbeats: a
	// refresh is due at every second one.
	wake := wakeEvery(wctx, 50*time.Millisecond)
	go func() {
		done <- ag.Watch(wctx, WatchOptions{Check: time.Second, Refresh: 100 * time.Millisecond, Wake: wake})
	}()

	// The start's own burst (3 rounds 100 ms apart) closes its socket
	// when it is done; the refreshes' stays.
	var kept []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		kept = packetSockets(t, a)
		if len(kept) == 1 {
			time.Sleep(400 * time.Millisecond)
			if again := packetSockets(t, a); slices.Equal(again, kept) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no packet socket that outlives a refresh within 5 s: %v", kept)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// About 20 refreshes: every look finds the same socket, and only it.
	for i := range 20 {
		time.Sleep(100 * time.Millisecond)
		if got := packetSockets(t, a); !slices.Equal(got, kept) {
			t.Fatalf("look %d: packet sockets %v, want the kept one %v only", i, got, kept)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for got := packetSockets(t, a); len(got) > 0; got = packetSockets(t, a) {
		if time.Now().After(deadline) {
			t.Fatalf("packet sockets %v still open 5 s after the watch ended", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
