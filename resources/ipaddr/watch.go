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
	// Check is how often the address is looked for even without a netlink
	// event; 0 means DefaultCheck (5 s).
	Check time.Duration
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
// netlink address events (and looks every Check as well, in case events
// were lost), and when the address has gone — someone ran `ip addr del`,
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
	links, stopLinks, err := a.subscribeLinks()
	if err != nil {
		a.log.Warnf("%scannot follow link events (%v): a link coming back up is announced by the periodic refresh only", a.prefix, err)
	} else {
		defer stopLinks()
	}
	wasUp := map[int]bool{}

	var lastErr string
	mend := func() {
		if err := a.mend(ctx); err != nil {
			if err.Error() != lastErr {
				a.log.Warnf("%scannot put %s back: %v (trying again every %s)", a.prefix, a.spec.Addr, err, o.Check)
			}
			lastErr = err.Error()
			return
		}
		if lastErr != "" {
			a.log.Infof("%s%s is held again", a.prefix, a.spec.Addr)
		}
		lastErr = ""
	}
	mend()
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-updates:
			if !ok {
				// The subscription broke (socket error): fall back to
				// the periodic check and subscribe again on its tick.
				if stopSub != nil {
					stopSub()
				}
				updates, stopSub = nil, nil
				continue
			}
			ip, _ := netip.AddrFromSlice(u.LinkAddress.IP)
			if !u.NewAddr && ip.Unmap() == a.spec.Addr {
				mend()
			}
		case u, ok := <-links:
			if !ok {
				links = nil
				continue
			}
			up := u.Attrs().Flags&net.FlagUp != 0 && u.Attrs().OperState != netlink.OperDown
			idx := u.Attrs().Index
			prev, known := wasUp[idx]
			wasUp[idx] = up
			if !up || (known && prev) {
				continue
			}
			if link, _, err := a.where(); err == nil && link != nil && link.Attrs().Index == idx && known {
				a.log.Infof("%s%s is up again: announcing %s", a.prefix, u.Attrs().Name, a.spec.Addr)
				_ = a.announce(ctx, a.burst.Count)
				a.scheduleFollowup()
			} else {
				mend()
			}
		case now := <-check:
			if updates == nil {
				subscribe()
			}
			mend()
			if o.Wake != nil && o.Refresh > 0 && now.Sub(lastRefresh) >= o.Refresh {
				lastRefresh = now
				a.refresh(ctx)
			}
		case <-refresh:
			a.refresh(ctx)
		}
	}
}

// refresh re-announces the address (one round) if it is held.
func (a *Agent) refresh(ctx context.Context) {
	if link, _, err := a.where(); err == nil && link != nil {
		_ = a.announce(ctx, 1)
	}
}

// mend puts the address back if it is missing, and re-announces it.
func (a *Agent) mend(ctx context.Context) error {
	link, _, err := a.where()
	if err != nil || link != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	t, err := a.resolve()
	if err != nil {
		return err
	}
	// Someone else may have put it back meanwhile.
	addrs, err := a.listOn(t.link)
	if err != nil || a.pick(addrs) != nil {
		return err
	}
	label, err := a.add(t, addrs, nil)
	if err != nil {
		return err
	}
	a.logAdded(t, label)
	a.log.Warnf("%s%s had vanished from %s while held (deleted by hand? networkd restarted?): re-added it and re-announced it",
		a.prefix, a.spec.Addr, t.link.Attrs().Name)
	_ = a.announce(ctx, a.burst.Count)
	a.scheduleFollowup()
	return nil
}

// subscribe follows address events in the agent's namespace; stop ends
// the subscription and drains its channel.
func (a *Agent) subscribe() (<-chan netlink.AddrUpdate, func(), error) {
	return follow(func(ch chan netlink.AddrUpdate, done chan struct{}) error {
		return netlink.AddrSubscribeWithOptions(ch, done, netlink.AddrSubscribeOptions{ErrorCallback: func(error) {}, Namespace: a.nsHandle()})
	})
}

// subscribeLinks follows link events in the agent's namespace (with the
// current state of every link first); stop ends the subscription and
// drains its channel.
func (a *Agent) subscribeLinks() (<-chan netlink.LinkUpdate, func(), error) {
	return follow(func(ch chan netlink.LinkUpdate, done chan struct{}) error {
		return netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{ErrorCallback: func(error) {}, ListExisting: true, Namespace: a.nsHandle()})
	})
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
		go func() {
			for range ch {
			}
		}()
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
