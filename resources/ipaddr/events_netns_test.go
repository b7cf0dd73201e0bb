//go:build linux

package ipaddr

import (
	"context"
	"errors"
	"fmt"
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

// TestManyLinks: on a host with more links than a follower's channel
// holds (50 veth pairs, 100 interfaces), the first follower of the link events
// gets every link, and is not dropped for them however late it reads;
// and a Watch there keeps following, and puts its address back when it
// is deleted.
func TestManyLinks(t *testing.T) {
	const pairs = 50
	h, ev := hostEvents(t)
	err := h.Do(func() error {
		for i := range pairs {
			v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: fmt.Sprintf("va%d", i)}, PeerName: fmt.Sprintf("vb%d", i)}
			if err := netlink.LinkAdd(v); err != nil {
				return fmt.Errorf("add veth pair %d: %w", i, err)
			}
			if err := netlink.LinkSetUp(v); err != nil {
				return fmt.Errorf("set veth %d up: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Exec(context.Background(), "ip", "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	links := strings.Count(strings.TrimSpace(out), "\n") + 1
	if links <= followCap+pairs/2 {
		t.Fatalf("%d links in the namespace, want more than %d", links, followCap+pairs/2)
	}

	ch, stop, err := ev.links.follow()
	if err != nil {
		t.Fatal(err)
	}
	// Read late: whatever was to come has come.
	time.Sleep(500 * time.Millisecond)
	seen := map[int]bool{}
	for len(seen) < links {
		select {
		case u, ok := <-ch:
			if !ok {
				t.Fatalf("the first follower was dropped after %d of the %d links", len(seen), links)
			}
			seen[u.Attrs().Index] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("the first follower got %d of the %d links within 5 s", len(seen), links)
		}
	}
	stop()
	waitSubscribed(t, h, 0)

	ctx := context.Background()
	ag, hook := agentIn(t, h, t.TempDir(), quickBurst, vip4+"/24/eth0")
	ag.events = ev
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	runWatch(t, ag, WatchOptions{Check: time.Minute, Followed: time.Minute, Refresh: -1}, nil)
	waitSubscribed(t, h, 2)
	// The Watch has read every link when none is left in its channel.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev.links.mu.Lock()
		follows, left := len(ev.links.follows), 0
		for f := range ev.links.follows {
			left += len(f.ch)
		}
		ev.links.mu.Unlock()
		if follows == 0 {
			t.Fatal("the Watch was dropped from the link events")
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Watch has %d link updates left to read 10 s after its start", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := h.Exec(ctx, "ip", "addr", "del", vip4+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(addrLine(t, h, vip4), vip4) {
		if time.Now().After(deadline) {
			t.Fatalf("%s not put back within 10 s of its deletion", vip4)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "cannot follow") {
			t.Errorf("the Watch says: %s", e.Message)
		}
	}
}

// A Watch that cannot follow link events at its start (a listing of the
// links that failed, say) says so and tries again at its next check.
func TestWatchFollowsLinksAfterAFailedStart(t *testing.T) {
	h, ev := hostEvents(t)
	var mu sync.Mutex
	tries := 0
	list := ev.links.list
	ev.links.list = func() ([]netlink.LinkUpdate, error) {
		mu.Lock()
		tries++
		first := tries == 1
		mu.Unlock()
		if first {
			return nil, errors.New("dump interrupted")
		}
		return list()
	}
	ctx := context.Background()
	ag, hook := agentIn(t, h, t.TempDir(), quickBurst, vip4+"/24/eth0")
	ag.events = ev
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wake := make(chan time.Time)
	runWatch(t, ag, WatchOptions{Check: time.Second, Refresh: -1, Wake: wake}, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		sendWakes(t, wake, 1)
		ev.links.mu.Lock()
		following := len(ev.links.follows)
		ev.links.mu.Unlock()
		if following == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Watch does not follow link events 10 s after a failed start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	said := false
	for _, e := range hook.AllEntries() {
		said = said || strings.Contains(e.Message, "cannot follow link events (dump interrupted)")
	}
	if !said {
		t.Error("the Watch did not say it could not follow link events at its start")
	}
}
