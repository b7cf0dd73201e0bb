//go:build linux

package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// silentIPaddr2 stands in for resource-agents' IPaddr2 in resource.d as
// far as announcing goes: it adds and removes the address and sends no
// gratuitous ARP (resource-agents' start of an address already there is
// a no-op that sends nothing). Whatever announcement the client sees
// comes from hbd itself.
const silentIPaddr2 = `#!/bin/sh
# IPaddr2 ADDR/BITS/IFACE start|stop|status|monitor
addr=${1%%/*}; rest=${1#*/}; bits=${rest%%/*}; dev=${rest#*/}
has() { ip -o addr show dev "$dev" | grep -q " $addr/"; }
case "$2" in
start) has || ip addr add "$addr/$bits" dev "$dev" ;;
stop) ! has || ip addr del "$addr/$bits" dev "$dev" ;;
status|monitor) if has; then echo running; else echo stopped; exit 3; fi ;;
esac
`

// announceLimit bounds the unavailability of the steps hbd's own
// announcements are for: about 1 s is the target (docs/benchmarks.md
// has the figures); this leaves room for a loaded machine.
const announceLimit = 1500 * time.Millisecond

// TestAnnounceAfterRestart: kill -9 of the holder's daemon (its VIP stays
// on the machine), the peer takes over; the killed daemon restarts and
// releases the VIP before it joins: the peer, which keeps the group
// (auto_failback off), announces it again at once, so clients that went
// back to the old machine are not left without an answer.
func TestAnnounceAfterRestart(t *testing.T) {
	hbref.Need(t)
	v := newVipLab(t, "off")
	n1, n2 := v.nodes[0], v.nodes[1]
	v.step("both nodes started at once", "n1", 20*time.Second, true, v.start)
	v.settles = false
	v.step("kill -9 of the holder's hbd", "n2", vipLimit, false, func() {
		if err := n1.proc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "node2 to run the group", func() bool {
			h, s := n2.holder()
			return h == "node2" && s == "running"
		})
	})
	v.step("the killed node restarts and releases; node2 keeps the VIP", "n2", announceLimit, false, func() {
		n1.start()
		waitFor(t, 20*time.Second, "node1 active and without the VIP", func() bool {
			h, _ := netlab.Holders(vip, v.hosts[0], v.hosts[1])
			return n2.peerState("node1") == "active" && len(h) == 1 && h[0] == "n2"
		})
		time.Sleep(time.Second) // clients that went back to n1 are answered again
	})
	if !strings.Contains(n2.log(), "node1 holds no copy of resource group") {
		t.Errorf("node2 did not announce the group again after node1's release before joining")
	}
}

// TestAnnounceScriptAddressAfterHeal: the address is held by a script in
// resource.d that never announces it (silentIPaddr2). hbd announces it
// after the survivor's start (or the client would keep the cut-off
// node's MAC), and again on the keeper after the partition heals.
func TestAnnounceScriptAddressAfterHeal(t *testing.T) {
	hbref.Need(t)
	v := newVipLabWith(t, "on", "node1 IPaddr2::"+vip+"/24/eth0\n", map[string]string{"IPaddr2": silentIPaddr2})
	v.step("both nodes started at once", "n1", 20*time.Second, true, v.start)
	// node1's start announcements (a burst of 5 rounds 200 ms apart) are
	// over before node2's could race them.
	time.Sleep(time.Second)
	v.step("the nodes cannot hear each other: node2 takes over too", "n2", vipLimit, false, func() {
		if err := v.lab.CutBetween(v.hosts[0], v.hosts[1]); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, "node2 to run the group", func() bool {
			h, s := v.nodes[1].holder()
			return h == "node2" && s == "running"
		})
	})
	v.step("heal: node1 keeps the VIP, node2 releases it", "n1", announceLimit, false, func() {
		if err := v.lab.HealBetween(v.hosts[0], v.hosts[1]); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := v.hosts[1].WaitAddr(ctx, vip, false); err != nil {
			t.Fatalf("node2 kept the VIP after the heal: %v", err)
		}
	})
	v.checkExclusive()
}
