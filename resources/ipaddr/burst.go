package ipaddr

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Announcement defaults: a burst of 5 rounds 200 ms apart on start, a
// second burst 3 s after the first ends, and one round every 60 s while
// a Watch holds the address. The Watch looks for the address every 60 s
// while its netlink events are followed, every 5 s while they are not.
const (
	DefaultBurstCount    = 5
	DefaultBurstInterval = 200 * time.Millisecond
	DefaultSecondBurst   = 3 * time.Second
	DefaultRefresh       = 60 * time.Second
	DefaultCheck         = 5 * time.Second
	DefaultFollowed      = 60 * time.Second
)

// Burst is the announcement policy of Start (and of a Watch that re-adds
// the address): Count rounds, Interval apart, then Count more rounds
// Second after the last one. A round is a gratuitous ARP request and
// reply (IPv4) or one unsolicited neighbour advertisement (IPv6).
type Burst struct {
	Count    int           // rounds per burst; 0: DefaultBurstCount
	Interval time.Duration // between rounds; 0: DefaultBurstInterval
	Second   time.Duration // pause before the second burst; 0: DefaultSecondBurst; <0: none
}

func (b Burst) withDefaults(s Spec) Burst {
	if b.Count == 0 {
		b.Count = DefaultBurstCount
	}
	if s.ARPCount > 0 {
		b.Count = s.ARPCount
	}
	if b.Interval == 0 {
		b.Interval = DefaultBurstInterval
	}
	if s.ARPInterval > 0 {
		b.Interval = s.ARPInterval
	}
	if b.Second == 0 {
		b.Second = DefaultSecondBurst
	}
	return b
}

// Announce sends one burst of announcements for the address now (for a
// held group after a partition heals), blocking for the burst (about
// Count × Interval). It fails if the address is not on an interface.
func (a *Agent) Announce(ctx context.Context) error {
	link, _, err := a.where()
	if err != nil {
		return err
	}
	if link == nil {
		return fmt.Errorf("%s is not on any interface: nothing to announce", a.spec.Addr)
	}
	return a.announce(ctx, a.burst.Count)
}

// announce sends rounds rounds of announcements, Interval apart, checking
// before each that the address is still ours to announce. Failures are
// logged as warnings (naming the interface) and returned; they never undo
// the address.
func (a *Agent) announce(ctx context.Context, rounds int) error {
	return a.announceOn(ctx, rounds, nil)
}

// announceOn is announce, with the first round sent on known without
// looking the address up when known is not nil (the caller has just put
// the address there).
func (a *Agent) announceOn(ctx context.Context, rounds int, known netlink.Link) error {
	return a.announceWith(ctx, rounds, known, nil)
}

// announceWith is announceOn on the packet socket *kept when kept is not
// nil: opened into it if it is nil, and left open for the caller's next
// announcement (Watch's refreshes); the caller closes it when done.
func (a *Agent) announceWith(ctx context.Context, rounds int, known netlink.Link, kept **packetSocket) error {
	r := round{a: a}
	if kept != nil {
		r.sock = *kept
	}
	defer func() {
		if kept != nil {
			*kept = r.sock
			return
		}
		if r.sock != nil {
			// Closing an AF_PACKET socket waits for the kernel's RCU
			// grace period (packet_release calls synchronize_net): 4 to
			// 20 ms on a loaded 2-CPU machine. The frames are out by
			// then, so nothing needs to wait for it: a start returns as
			// soon as its address is on and announced.
			go r.sock.close()
		}
	}()
	for i := 0; i < rounds; i++ {
		if i > 0 {
			if !sleepCtx(ctx, a.burst.Interval) {
				return ctx.Err()
			}
		}
		more, err := r.send(known)
		known = nil
		if err != nil || !more {
			return err
		}
	}
	kind := "gratuitous ARP (request and reply)"
	if a.spec.Addr.Is6() {
		kind = "unsolicited neighbour advertisement"
	}
	a.log.Debugf("%sannounced %s: %d %s packets", a.prefix, a.spec.Addr, r.sent, kind)
	return nil
}

// round sends the rounds of one announceOn, on one packet socket.
type round struct {
	a    *Agent
	sock *packetSocket
	sent int // frames
}

// send sends one round: on known when not nil (the caller has just put
// the address there), else on the link that holds the address, looked
// up now. It reports whether more rounds may follow (false: the address
// is gone, or its link cannot announce).
func (r *round) send(known netlink.Link) (bool, error) {
	a := r.a
	link := known
	if link == nil {
		// The look and the sends are one step for a stop of the
		// address (lockAnnounce).
		unlock, err := a.lockAnnounce(unix.LOCK_SH)
		if err != nil {
			a.log.Warnf("%sannounce: %v", a.prefix, err)
			return false, err
		}
		defer unlock()
		if link, _, err = a.where(); err != nil {
			a.log.Warnf("%sannounce: %v", a.prefix, err)
			return false, err
		}
	}
	if link == nil {
		a.log.Debugf("%s%s is gone: announcements stop after %d", a.prefix, a.spec.Addr, r.sent)
		return false, nil
	}
	attrs := link.Attrs()
	if len(attrs.HardwareAddr) != 6 || attrs.RawFlags&unix.IFF_NOARP != 0 {
		a.log.Debugf("%s%s has no Ethernet address or does not ARP: nothing to announce", a.prefix, attrs.Name)
		return false, nil
	}
	if attrs.Flags&net.FlagUp == 0 || attrs.OperState == netlink.OperDown {
		a.log.Debugf("%s%s is down: no announcements until it is up again", a.prefix, attrs.Name)
		return false, nil
	}
	if r.sock == nil {
		if err := a.inNS(func() (err error) { r.sock, err = openPacketSocket(); return err }); err != nil {
			a.log.Warnf("%sannounce on %s: %v", a.prefix, attrs.Name, err)
			return false, err
		}
	}
	for _, f := range frames(attrs.HardwareAddr, a.spec.Addr) {
		if err := r.sock.send(attrs.Index, f); err != nil {
			err = fmt.Errorf("send on %s: %w", attrs.Name, err)
			a.log.Warnf("%sannounce: %v", a.prefix, err)
			return false, err
		}
		r.sent++
	}
	return true, nil
}

// scheduleFollowup starts the second burst in the background.
func (a *Agent) scheduleFollowup() {
	if a.burst.Second < 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.mu.Lock()
	if a.cancelFU != nil {
		a.cancelFU()
	}
	a.cancelFU = cancel
	a.mu.Unlock()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		if sleepCtx(ctx, a.burst.Second) {
			_ = a.announce(ctx, a.burst.Count)
		}
	}()
}

func (a *Agent) cancelFollowup() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancelFU != nil {
		a.cancelFU()
		a.cancelFU = nil
	}
}
