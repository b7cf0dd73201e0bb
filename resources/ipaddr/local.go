package ipaddr

import (
	"errors"
	"net"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// localWait bounds how long a start waits for the kernel to take an IPv6
// address it added as its own (awaitLocal).
const localWait = 20 * time.Millisecond

// Without route events (their subscription failed or broke), awaitLocal
// looks again after localPause, doubled after each look up to
// localPauseMax: a few looks for a route that comes late, never a busy
// loop.
const (
	localPause    = 100 * time.Microsecond
	localPauseMax = 2 * time.Millisecond
)

// awaitLocal waits, up to bound, until the kernel routes the agent's
// IPv6 address to this node (its local route), and returns how many
// times it looked. The kernel adds an IPv6 address at once but inserts
// its local route only when its duplicate address detection completes,
// on a work queue even with NODAD: until then a packet for the address
// (a client's first SYN, one a handover passes on) is dropped, and TCP
// sends it again only a second later. The announcement that sends
// clients here waits for it: without the wait, 2 to 4 starts in 500
// returned before the route was there, in a namespace. An IPv4
// address's local route comes with the address itself.
//
// It looks once; the route is often there already (in about half the
// starts in a namespace, it is not). When it is not, it
// subscribes to the namespace's IPv6 route events, looks again (the
// route may have come before the subscription), and then looks once
// more after each event, sleeping in between: the work queue that
// inserts the route needs a CPU, and a wait that polled would take one
// from it on a small machine. Past the bound (a starved work queue) the
// start goes on, saying so at debug level.
func (a *Agent) awaitLocal(bound time.Duration) int {
	ip := net.IP(a.spec.Addr.AsSlice())
	began := time.Now()
	deadline := began.Add(bound)
	var events *nl.NetlinkSocket
	defer func() {
		if events != nil {
			events.Close()
		}
	}()
	pause := localPause
	for looks := 1; ; looks++ {
		rs, err := a.h.RouteGet(ip)
		if err != nil {
			a.log.Debugf("%s%s: its route not read (%v): announcing it as it is", a.prefix, a.spec.Addr, err)
			return looks
		}
		if len(rs) > 0 && rs[0].Type == unix.RTN_LOCAL {
			if looks > 1 {
				a.log.Debugf("%s%s became this node's own route %.3f ms after its addition (%d looks)",
					a.prefix, a.spec.Addr, float64(time.Since(began).Microseconds())/1000, looks)
			}
			return looks
		}
		left := time.Until(deadline)
		if left <= 0 {
			a.log.Debugf("%s%s is not yet this node's own route %s after its addition (%d looks): announcing it anyway", a.prefix, a.spec.Addr, bound, looks)
			return looks
		}
		if looks == 1 {
			events, err = nl.SubscribeAt(a.ns, netns.None(), unix.NETLINK_ROUTE, unix.RTNLGRP_IPV6_ROUTE)
			if err == nil {
				continue
			}
			a.log.Debugf("%sroute events not followed (%v): looking for the local route of %s again from time to time", a.prefix, err, a.spec.Addr)
		}
		if events != nil {
			tv := unix.NsecToTimeval(left.Nanoseconds())
			_ = events.SetReceiveTimeout(&tv)
			if _, _, err := events.Receive(); err != nil && !errors.Is(err, unix.EAGAIN) {
				// Events lost to an overrun (ENOBUFS), or a broken
				// socket: look again, then from time to time.
				events.Close()
				events = nil
			}
			continue
		}
		time.Sleep(min(pause, left))
		pause = min(2*pause, localPauseMax)
	}
}
