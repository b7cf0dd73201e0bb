//go:build linux

package ipaddr

import (
	"context"
	"net"
	"testing"

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
