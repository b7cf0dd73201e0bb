package ipaddr

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// WatchOptions set how a Watch keeps the address held.
type WatchOptions struct {
	// Check is how often the address is looked for, even without a
	// netlink event, while its events are not followed (no subscription,
	// or it broke) or while it cannot be put back; 0 means DefaultCheck
	// (5 s).
	Check time.Duration
	// Followed is how often it is looked for while its events are
	// followed and the last look found it in place (or put it back); 0
	// means DefaultFollowed (60 s). A deletion is then noticed by its
	// event; a lost event ends the subscription (the kernel reports the
	// overrun), and the look at that moment and the Check after it
	// cover the gap, so looking every Check only repeats what the events
	// say.
	Followed time.Duration
	// Refresh is how often the address is re-announced (one round) while
	// held; 0 means DefaultRefresh (60 s), a negative value never.
	Refresh time.Duration
	// Wake, when set, replaces the watch's own tickers: each time
	// received on it is a periodic check, and a refresh when Refresh has
	// passed since the last one (by the times received). A daemon sends
	// on it, every Check, from a wake-up it has anyway (a heartbeat), so
	// that the checks add no wake-up of the process and no runtime timer
	// (which would wake the runtime's monitor thread as well). Check is
	// then only what the log says the retries' interval is.
	Wake <-chan time.Time
}

// Watch keeps the address on its interface until ctx ends: it follows
// netlink address events, and looks as well every Followed while it
// follows them, every Check while it does not or cannot put the address
// back (lookClock); and when the address has gone — someone ran `ip addr del`,
// networkd restarted, the interface was re-created — it puts it back,
// announces it again (both bursts) and logs a WARN saying so. Every
// Refresh it re-announces the address. Run it only while the group is
// held, after Start; cancel it, and wait for it to return, before Stop.
// It returns nil when ctx ends.
func (a *Agent) Watch(ctx context.Context, o WatchOptions) error {
	if o.Check <= 0 {
		o.Check = DefaultCheck
	}
	if o.Refresh == 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Followed <= 0 {
		o.Followed = DefaultFollowed
	}
	check, refresh, lastRefresh := o.Wake, (<-chan time.Time)(nil), time.Now()
	if check == nil {
		t := time.NewTicker(o.Check)
		defer t.Stop()
		check = t.C
		if o.Refresh > 0 {
			t := time.NewTicker(o.Refresh)
			defer t.Stop()
			refresh = t.C
		}
	}

	var updates <-chan netlink.AddrUpdate
	var stopSub func()
	subscribe := func() {
		ch, stop, err := a.subscribe()
		if err != nil {
			a.log.Warnf("%scannot follow address events (%v): checking every %s only", a.prefix, err, o.Check)
			return
		}
		updates, stopSub = ch, stop
	}
	subscribe()
	defer func() {
		if stopSub != nil {
			stopSub()
		}
	}()
	// Link events: when the interface comes back up (cable, VM restore,
	// networkd), the address is announced again at once.
	// A subscription that broke (events lost to an overrun) is followed
	// again at the next check.
	var links <-chan netlink.LinkUpdate
	var stopLinks func()
	followLinks := func() error {
		ch, stop, err := a.subscribeLinks()
		if err == nil {
			links, stopLinks = ch, stop
		}
		return err
	}
	// One that cannot be followed at the start is tried again at each
	// check, as after a break.
	linksBroke := false
	if err := followLinks(); err != nil {
		a.log.Warnf("%scannot follow link events (%v): a link coming back up is announced by the periodic refresh only", a.prefix, err)
		linksBroke = true
	}
	defer func() {
		if stopLinks != nil {
			stopLinks()
		}
	}()
	wasUp := map[int]bool{}

	// The refreshes send on one packet socket, kept open while the watch
	// runs. Closing one waits for the kernel's RCU grace period
	// (packet_release calls synchronize_net), milliseconds in which the
	// runtime's monitor thread, woken by the system call, polls every 20
	// µs or so: opened and closed at every refresh, that wait came once a
	// minute on a node at rest. Bound to nothing and of protocol 0, the
	// socket receives no frame.
	var sock *packetSocket
	defer func() {
		if sock != nil {
			go sock.close() // as announceOn does: nothing needs to wait for it
		}
	}()
	// It and the look's socket (below) are opened now, among the
	// start's system calls: opened at the first refresh and look, a
	// minute later on a node at rest, their socket, bind, connect and
	// uname would go through the runtime's bookkeeping of a blocking
	// call and wake its monitor thread (rawcall.go). One that cannot be
	// opened now is opened at its first use, which says why it cannot.
	if o.Refresh > 0 {
		if err := a.inNS(func() (err error) { sock, err = openPacketSocket(); return err }); err != nil {
			a.log.Debugf("%srefresh: %v (opened again at the first refresh)", a.prefix, err)
		}
	}

	var lastErr string
	var looks lookClock
	// seen is the link the last look found the address on, while link
	// events are followed: an event of that link forgets it (the
	// interface may have gone, come back or been renamed), as does the
	// end of the events. While it is known, a look
	// asks only whether the address is still on it, with a dump read in
	// place (addrLook), which allocates nothing.
	var seen netlink.Link
	look := newAddrLook()
	defer look.close()
	if err := look.open(a); err != nil {
		a.log.Debugf("%slook: %v (opened again at the first look)", a.prefix, err)
	}
	// mend looks for the address and puts it back if it is missing; it
	// returns the link that held it, nil when it was put back (and
	// announced) or could not be.
	mend := func() netlink.Link {
		looks.looked(time.Now())
		if seen != nil && links != nil {
			if ok, err := look.heldOn(a, seen.Attrs().Index); err == nil && ok {
				return seen
			}
		}
		held, err := a.mend(ctx)
		seen = held
		if err != nil {
			if err.Error() != lastErr {
				a.log.Warnf("%scannot put %s back: %v (trying again every %s)", a.prefix, a.spec.Addr, err, o.Check)
			}
			lastErr = err.Error()
			return nil
		}
		if lastErr != "" {
			a.log.Infof("%s%s is held again", a.prefix, a.spec.Addr)
		}
		lastErr = ""
		return held
	}
	mend()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-updates:
			if !ok {
				// The subscription broke (a socket error, or events
				// lost to an overrun): look now, for what an event lost
				// may have said, then every Check until the next check
				// subscribes again.
				if stopSub != nil {
					stopSub()
				}
				updates, stopSub = nil, nil
				mend()
				continue
			}
			ip, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			if !u.NewAddr && ip.Unmap() == a.spec.Addr {
				mend()
			}
		case u, ok := <-links:
			if !ok {
				seen = nil
				stopLinks()
				links, stopLinks, linksBroke = nil, nil, true
				continue
			}
			up := u.Attrs().Flags&net.FlagUp != 0 && u.Attrs().OperState != netlink.OperDown
			idx := u.Attrs().Index
			prev, known := wasUp[idx]
			wasUp[idx] = up
			// Another link than the one the address was last seen on
			// changes nothing for it: it is still there (its deletion
			// would come as an address event), and the look goes on
			// asking that link alone. The links the Watch starts with,
			// however many, then cost no look.
			if seen != nil && seen.Attrs().Index != idx {
				continue
			}
			seen = nil
			if !up || (known && prev) {
				continue
			}
			// A link first seen (the links the Watch starts with, or a
			// new one) may be where the address goes: mend looks.
			if !known {
				mend()
				continue
			}
			if link, _, err := a.where(); err == nil && link != nil && link.Attrs().Index == idx {
				a.log.Infof("%s%s is up again: announcing %s", a.prefix, u.Attrs().Name, a.spec.Addr)
				_ = a.announceWith(ctx, a.burst.Count, link, &sock)
				a.scheduleFollowup()
			} else {
				mend()
			}
		case now := <-check:
			if updates == nil {
				subscribe()
			}
			if linksBroke && followLinks() == nil {
				linksBroke = false
			}
			refreshDue := o.Wake != nil && o.Refresh > 0 && now.Sub(lastRefresh) >= o.Refresh
			if refreshDue {
				lastRefresh = now
			}
			if refreshDue || looks.due(now, updates != nil && lastErr == "", o.Check, o.Followed) {
				// One look serves the refresh too: a round on the link
				// that holds the address (one put back was announced).
				if held := mend(); held != nil && refreshDue {
					_ = a.announceWith(ctx, 1, held, &sock)
				}
			}
		case <-refresh:
			a.refresh(ctx, &sock)
		}
	}
}

// lookClock says when a Watch looks for its address again.
type lookClock struct {
	last time.Time // the last look
}

func (c *lookClock) looked(now time.Time) { c.last = now }

// due says whether a check at now looks: always while the address events
// are not followed or the address could not be put back (settled false),
// else once followed has passed since the last look. A check that comes
// at most a tenth of check early counts as on time: the daemon's wakes
// are its heartbeats, which need not fall exactly a check apart.
func (c *lookClock) due(now time.Time, settled bool, check, followed time.Duration) bool {
	if !settled {
		return true
	}
	return now.Sub(c.last) >= followed-check/10
}

// refresh re-announces the address (one round) if it is held, on the
// packet socket *sock (announceWith).
func (a *Agent) refresh(ctx context.Context, sock **packetSocket) {
	if link, _, err := a.where(); err == nil && link != nil {
		_ = a.announceWith(ctx, 1, link, sock)
	}
}

// mend puts the address back if it is missing, and re-announces it. It
// returns the link that holds the address when it was in place, nil when
// it was put back or the context ended.
func (a *Agent) mend(ctx context.Context) (netlink.Link, error) {
	link, _, err := a.where()
	if err != nil || link != nil {
		return link, err
	}
	if ctx.Err() != nil {
		return nil, nil
	}
	t, err := a.resolve()
	if err != nil {
		return nil, err
	}
	// Someone else may have put it back meanwhile.
	addrs, err := a.listOn(t.link)
	if err != nil || a.pick(addrs) != nil {
		return nil, err
	}
	label, err := a.add(t, addrs, nil)
	if err != nil {
		return nil, err
	}
	a.logAdded(t, label)
	a.log.Warnf("%s%s had vanished from %s while held (deleted by hand? networkd restarted?): re-added it and re-announced it",
		a.prefix, a.spec.Addr, t.link.Attrs().Name)
	_ = a.announce(ctx, a.burst.Count)
	a.scheduleFollowup()
	return nil, nil
}

// subscribe follows address events in the agent's namespace, on the
// agent's shared subscription (events) if it has one; stop ends the
// following and drains its channel.
func (a *Agent) subscribe() (<-chan netlink.AddrUpdate, func(), error) {
	if a.events != nil {
		return a.events.addrs.follow()
	}
	return follow(addrSubscription(a.nsHandle()))
}

// subscribeLinks follows link events in the agent's namespace (with the
// current state of every link first), on the agent's shared
// subscription (events) if it has one; stop ends the following and
// drains its channel.
func (a *Agent) subscribeLinks() (<-chan netlink.LinkUpdate, func(), error) {
	if a.events != nil {
		return a.events.links.follow()
	}
	return follow(linkSubscription(a.nsHandle(), true))
}

// addrSubscription starts the library's subscription to the address
// events of namespace ns (nil: the caller's).
func addrSubscription(ns *netns.NsHandle) func(ch chan netlink.AddrUpdate, done chan struct{}) error {
	return func(ch chan netlink.AddrUpdate, done chan struct{}) error {
		return netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{ErrorCallback: func(error) {}, Namespace: ns})
	}
}

// linkSubscription starts the library's subscription to the link events
// of namespace ns (nil: the caller's), with the current state of every
// link first when listExisting.
func linkSubscription(ns *netns.NsHandle, listExisting bool) func(ch chan netlink.LinkUpdate, done chan struct{}) error {
	return func(ch chan netlink.LinkUpdate, done chan struct{}) error {
		return netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}, ListExisting: listExisting, Namespace: ns})
	}
}

// follow makes a subscription's channel and calls subscribe with it; stop
// ends the subscription and drains the channel, so that the library's
// goroutine never blocks on a send nobody reads.
func follow[T any](subscribe func(ch chan T, done chan struct{}) error) (<-chan T, func(), error) {
	ch := make(chan T, 64)
	done := make(chan struct{})
	if err := subscribe(ch, done); err != nil {
		close(done)
		return nil, nil, err
	}
	stop := func() {
		close(done)
		go drain(ch)
	}
	return ch, stop, nil
}

// nsHandle is the agent's namespace for a subscription, nil for the
// caller's.
func (a *Agent) nsHandle() *netns.NsHandle {
	if !a.ns.IsOpen() {
		return nil
	}
	ns := a.ns
	return &ns
}
