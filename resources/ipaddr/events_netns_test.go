//go:build linux

package ipaddr

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// subscribedSockets counts the routing netlink sockets of host h's
// namespace that listen to a multicast group: the subscriptions
// (/proc/net/netlink, read from inside it: protocol 0, groups not 0).
func subscribedSockets(t *testing.T, h *netlab.Host) int {
	t.Helper()
	out, err := h.Exec(context.Background(), "cat", "/proc/net/netlink")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 4 {
			continue // the header
		}
		if f[1] == "0" && strings.Trim(f[3], "0") != "" {
			n++
		}
	}
	return n
}

// waitSubscribed waits until host h's namespace has want subscriptions,
// and fails the test if it does not within 5 s.
func waitSubscribed(t *testing.T, h *netlab.Host, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := subscribedSockets(t, h)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d netlink subscriptions in the namespace, want %d", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hostEvents adds host a, with eth0 at 10.231.0.1/24, to a lab of its
// own and returns it with the shared subscriptions of its namespace.
func hostEvents(t *testing.T) (*netlab.Host, *events) {
	t.Helper()
	h := addHost(t, netlab.NewT(t, t.Name()), "a", "10.231.0.1/24")
	ns, err := netns.GetFromPath(h.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return h, newEvents(ns)
}

// TestWatchesShareSubscriptions: the Watches of two addresses of one
// namespace follow one subscription to address events and one to link
// events between them, not one of each per Watch; each still puts its
// own address back when it is deleted (noticed by its event: the looks
// are a minute apart), and the subscriptions end with the last Watch.
func TestWatchesShareSubscriptions(t *testing.T) {
	h, ev := hostEvents(t)
	ctx := context.Background()
	vips := []string{"10.231.0.100", "10.231.0.101"}
	var hooks []*test.Hook
	var stops []func()
	for _, vip := range vips {
		ag, hook := agentIn(t, h, t.TempDir(), quickBurst, vip+"/24/eth0")
		ag.events = ev
		if err := ag.Start(ctx); err != nil {
			t.Fatal(err)
		}
		hooks = append(hooks, hook)
		stops = append(stops, runWatch(t, ag, WatchOptions{Check: time.Minute, Followed: time.Minute, Refresh: -1}, nil))
	}
	waitSubscribed(t, h, 2)

	for i, vip := range vips {
		if _, err := h.Exec(ctx, "ip", "addr", "del", vip+"/24", "dev", "eth0"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(addrLine(t, h, vip), vip) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not put back within 10 s of its deletion", vip)
			}
			time.Sleep(50 * time.Millisecond)
		}
		put := false
		for _, e := range hooks[i].AllEntries() {
			put = put || strings.Contains(e.Message, "had vanished")
		}
		if !put {
			t.Errorf("%s is back, but its own Watch did not say it put it back", vip)
		}
	}
	if got := subscribedSockets(t, h); got != 2 {
		t.Errorf("%d netlink subscriptions after the deletions, want 2", got)
	}

	stops[0]()
	if got := subscribedSockets(t, h); got != 2 {
		t.Errorf("%d netlink subscriptions with one Watch left, want 2", got)
	}
	stops[1]()
	waitSubscribed(t, h, 0)
}

// A Watch whose link subscription broke (the kernel's overrun, or a
// follower that fell behind) follows link events again at its next
// check, and meanwhile looks the library's way.
func TestWatchFollowsLinksAgainAfterABreak(t *testing.T) {
	h, ev := hostEvents(t)
	var lib fakeSub[netlink.LinkUpdate]
	var mu sync.Mutex
	subscribed := make(chan struct{}, 4)
	ev.links.subscribe = func(ch chan netlink.LinkUpdate, done chan struct{}) error {
		mu.Lock()
		defer mu.Unlock()
		err := lib.subscribe(ch, done)
		subscribed <- struct{}{}
		return err
	}
	ctx := context.Background()
	ag, _ := agentIn(t, h, t.TempDir(), quickBurst, vip4+"/24/eth0")
	ag.events = ev
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wake := make(chan time.Time)
	runWatch(t, ag, WatchOptions{Check: time.Second, Refresh: -1, Wake: wake}, nil)
	select {
	case <-subscribed:
	case <-time.After(10 * time.Second):
		t.Fatal("no link subscription within 10 s of the start")
	}
	mu.Lock()
	close(lib.ch) // the subscription breaks
	mu.Unlock()
	// A wake after the Watch has read the break follows again.
	deadline := time.Now().Add(10 * time.Second)
	for again := false; !again; {
		if time.Now().After(deadline) {
			t.Fatal("no link subscription within 10 s of the break")
		}
		sendWakes(t, wake, 1)
		select {
		case <-subscribed:
			again = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if lib.calls != 2 {
		t.Errorf("%d link subscriptions, want 2", lib.calls)
	}
}
