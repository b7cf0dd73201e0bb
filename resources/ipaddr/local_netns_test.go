//go:build linux

package ipaddr

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// TestStartedIPv6IsLocal: once a start of an IPv6 address returns (its
// announcement out), the kernel takes packets for the address as its
// own: its local route is there. The kernel inserts that route when the
// address's duplicate address detection completes, on a work queue
// even for an address added without it: a start that announced at once
// found it missing about once in 100 starts, and a client's SYN sent on
// the announcement (or passed on by the old holder's handover) was
// dropped, to be sent again a second later.
func TestStartedIPv6IsLocal(t *testing.T) {
	lab := netlab.NewT(t, "ho6local")
	a := addHost(t, lab, "a", "10.231.0.1/24", "fd00:231::1/64")
	ag, _ := agentIn(t, a, t.TempDir(), quickBurst, vip6+"/64/eth0")
	ns, err := netns.GetFromPath(a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx := context.Background()
	const starts = 500
	missing := 0
	for range starts {
		if err := ag.start(ctx, 1, nil); err != nil {
			t.Fatal(err)
		}
		rs, err := h.RouteGet(net.ParseIP(vip6))
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || rs[0].Type != unix.RTN_LOCAL {
			missing++
		}
		if err := ag.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d starts returned before the kernel routed %s to this node", missing, starts, vip6)
	}
}

// TestAwaitLocalFollowsRouteEvents: a start whose IPv6 address's local
// route is not there yet waits for the kernel's route events, not in a
// loop of lookups that would take a CPU from the work queue that inserts
// the route. The address is added with duplicate address detection, so
// that its route comes only once it completes (the namespace's
// retrans_time_ms, 100 ms, with no random delay before it): a wait that
// polled every 50 µs would look up to 2000 times; one that follows the
// events looks once, again once subscribed, and after each of the few
// route events of the namespace.
func TestAwaitLocalFollowsRouteEvents(t *testing.T) {
	lab := netlab.NewT(t, "ho6await")
	a := addHost(t, lab, "a", "10.231.0.1/24", "fd00:231::1/64")
	if err := a.WaitReady(context.Background()); err != nil {
		t.Fatal(err)
	}
	ag, hook := agentIn(t, a, t.TempDir(), quickBurst, vip6+"/64/eth0")
	for _, set := range []string{"neigh.eth0.retrans_time_ms=100", "conf.eth0.router_solicitation_delay=0", "conf.eth0.accept_dad=1", "conf.eth0.dad_transmits=1"} {
		if out, err := a.Exec(context.Background(), "sysctl", "-q", "-w", "net.ipv6."+set); err != nil {
			t.Fatalf("sysctl %s: %v %s", set, err, out)
		}
	}
	link, err := ag.h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	nla := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(vip6), Mask: net.CIDRMask(64, 128)}}
	if err := ag.h.AddrAdd(link, nla); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	looks := ag.awaitLocal(5 * time.Second)
	waited := time.Since(began)
	rs, err := ag.h.RouteGet(net.ParseIP(vip6))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || rs[0].Type != unix.RTN_LOCAL {
		t.Fatalf("awaitLocal returned after %v (%d looks) with %s not routed to this node", waited, looks, vip6)
	}
	t.Logf("the local route came after %v: %d looks", waited, looks)
	if looks < 2 {
		t.Fatalf("the local route was there at the first look (%v): duplicate address detection did not hold it back, nothing tested", waited)
	}
	if looks > 20 {
		t.Errorf("%d looks in %v for the local route: a wait that polls, not one that follows the route events", looks, waited)
	}
	if !hasEntry(hook, logrus.DebugLevel, "became this node's own route") {
		t.Errorf("no debug line says how long the route took")
	}
}
