package ipaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Start puts the address on its interface (unless it is there already),
// records that hbd added it, and announces it: a first burst before Start
// returns, a second one in the background (cancelled by Stop and Close,
// and skipped if the address is gone by then).
func (a *Agent) Start(ctx context.Context) error {
	if err := a.start(ctx, a.burst.Count, nil); err != nil {
		return err
	}
	a.scheduleFollowup()
	return nil
}

// start is Start without the second burst, and with rounds rounds of
// announcements in the first; steps (when not nil) notes its steps' times.
func (a *Agent) start(ctx context.Context, rounds int, steps *stepTimes) error {
	a.cancelFollowup()
	t, err := a.resolve()
	if err != nil {
		return err
	}
	steps.mark("resolve")
	// One listing serves both the check and the label: nothing else
	// stands between the decision and the address on the interface.
	addrs, err := a.listFor(t.link)
	if err != nil {
		return err
	}
	steps.mark("list")
	label, added := "", false
	on := t.link // where the address is: the first round goes out there
	if have := a.pick(addrs); have != nil {
		name := t.link.Attrs().Name
		if have.LinkIndex != t.link.Attrs().Index {
			on = nil // found elsewhere: announce finds it, as it looks
			name = fmt.Sprintf("interface #%d", have.LinkIndex)
			if l, err := a.h.LinkByIndex(have.LinkIndex); err == nil {
				name = l.Attrs().Name
			}
		}
		_, ours, rerr := a.readRecord()
		if rerr != nil {
			return rerr
		}
		if ours {
			a.log.Infof("%s%s is already on %s (added by hbd): announcing it again", a.prefix, a.spec.Addr, name)
		} else {
			a.log.Infof("%s%s is already on %s and was not added by hbd: using it as it is (stop will leave it there)", a.prefix, a.spec.Addr, name)
		}
	} else {
		if label, err = a.add(t, addrs, steps); err != nil {
			return err
		}
		added = true
	}
	// The first round goes out on the link just resolved: the address is
	// on it (added, or found, a moment ago), no need to ask the kernel.
	_ = a.announceOn(ctx, rounds, on) // failures are logged; the address is there
	steps.mark("announce")
	if added {
		// Said once the clients have been told: a log line is a write
		// to a file, which would only hold the announcement back.
		a.logAdded(t, label)
	}
	return nil
}

// add puts the address on t.link, whose addresses of our family are
// addrs, and returns its label: record first, so an address hbd added
// never lacks its record. It logs nothing (logAdded does, once the
// address is announced). steps (when not nil) notes the times of the
// record and the addition.
func (a *Agent) add(t target, addrs []netlink.Addr, steps *stepTimes) (string, error) {
	name := t.link.Attrs().Name
	label, err := a.chooseLabel(t.link, addrs)
	if err != nil {
		return "", err
	}
	rec := record{Agent: a.spec.Agent, Addr: t.prefix.String(), Iface: name, Label: label, Added: time.Now().UTC(), PID: os.Getpid()}
	if err := a.writeRecord(rec); err != nil {
		return "", err
	}
	steps.mark("record")
	nla := &netlink.Addr{
		IPNet: &net.IPNet{IP: net.IP(t.prefix.Addr().AsSlice()), Mask: net.CIDRMask(t.prefix.Bits(), t.prefix.Addr().BitLen())},
		Label: label,
	}
	if a.spec.Addr.Is4() {
		if a.spec.Broadcast.IsValid() {
			nla.Broadcast = net.IP(a.spec.Broadcast.AsSlice())
		}
	} else {
		// A floating address moves between nodes: duplicate address
		// detection would only hold it back (tentative) for a second.
		nla.Flags = unix.IFA_F_NODAD
	}
	if err := a.h.AddrAdd(t.link, nla); err != nil {
		_ = a.removeRecord()
		return "", fmt.Errorf("add %s to %s: %w", t.prefix, name, err)
	}
	steps.mark("add")
	if a.spec.Addr.Is6() {
		a.awaitLocal(localWait)
		steps.mark("local")
	}
	return label, nil
}

// logAdded says that add put the address on t.link with label.
func (a *Agent) logAdded(t target, label string) {
	name := t.link.Attrs().Name
	if label != "" {
		a.log.Infof("%sadded %s to %s (label %s)", a.prefix, t.prefix, name, label)
	} else {
		a.log.Infof("%sadded %s to %s", a.prefix, t.prefix, name)
	}
}

// chooseLabel picks the IPv4 label: IFACE:LABEL when the spec names one,
// else the first IFACE:N that no address of addrs (IPv4 addresses that
// include link's, and for a spec without an interface every interface's)
// carries; "" for IPv6 or when IFACE:N would not fit the kernel's 15
// characters.
func (a *Agent) chooseLabel(link netlink.Link, addrs []netlink.Addr) (string, error) {
	if !a.spec.Addr.Is4() {
		return "", nil
	}
	name := link.Attrs().Name
	if a.spec.Label != "" {
		l := name + ":" + a.spec.Label
		if len(l) > 15 {
			return "", fmt.Errorf("label %s is longer than 15 characters", l)
		}
		return l, nil
	}
	used := map[string]bool{}
	for _, ad := range addrs {
		used[ad.Label] = true
	}
	for n := 0; n < 1000; n++ {
		l := name + ":" + strconv.Itoa(n)
		if len(l) > 15 {
			a.log.Debugf("%sno label: %s would exceed 15 characters", a.prefix, l)
			return "", nil
		}
		if !used[l] {
			return l, nil
		}
	}
	return "", nil
}

// Stop removes the address if hbd added it (its record says so), and
// forgets the record. An address hbd did not add is left in place, with a
// warning; stopping an absent address succeeds.
func (a *Agent) Stop(ctx context.Context) error {
	_, err := a.stop(ctx, 0, false)
	return err
}

// StopDrained is Stop for a planned release: before it removes the
// address it drains it (drain.go), waiting up to bound until no TCP
// connection on the address is mid-exchange. A busy address waits the
// whole bound; a drain that cannot read the connections removes the
// address at once.
func (a *Agent) StopDrained(ctx context.Context, bound time.Duration) error {
	_, err := a.stop(ctx, bound, false)
	return err
}

// Release is StopDrained for a process that lives on after it (hbd's
// daemon), in a release whose address another node will announce next:
// it also hands over (handover.go), in the background, the frames that
// reach this node for the address after its removal, to the node that
// announces it. The channel it returns is closed when the handover has
// ended (within HandoverFor of the removal); nil when none began (the
// address was not here, its interface cannot carry one, or this node
// forwards: see openHandover).
func (a *Agent) Release(ctx context.Context, bound time.Duration) (<-chan struct{}, error) {
	ho, err := a.stop(ctx, bound, true)
	if err != nil || ho == nil {
		return nil, err
	}
	return ho.done, nil
}

// stop removes the address (stop, StopDrained, Release): drained up to
// drain first, and with hand, handed over after; it returns the
// handover it started, if any.
func (a *Agent) stop(ctx context.Context, drain time.Duration, hand bool) (*handover, error) {
	a.cancelFollowup()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, ours, err := a.readRecord()
	if err != nil {
		return nil, err
	}
	if !ours {
		link, _, err := a.where()
		if err != nil {
			return nil, err
		}
		if link != nil {
			a.log.Warnf("%s%s is on %s but hbd did not add it (no record in %s): leaving it there",
				a.prefix, a.spec.Addr, link.Attrs().Name, a.stateDir)
		} else {
			a.log.Infof("%s%s is not configured: nothing to stop", a.prefix, a.spec.Addr)
		}
		return nil, nil
	}
	link, err := a.h.LinkByName(rec.Iface)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, fmt.Errorf("interface %s: %w", rec.Iface, err)
		}
		a.log.Infof("%sinterface %s is gone, and %s with it", a.prefix, rec.Iface, a.spec.Addr)
		return nil, a.removeRecord()
	}
	have, err := a.findOn(link)
	if err != nil {
		return nil, err
	}
	var ho *handover
	if have != nil {
		// No round of announcements between here and the removal: one
		// that looked before it would send after it (lockAnnounce).
		unlock, err := a.lockAnnounce(unix.LOCK_EX)
		if err != nil {
			return nil, err
		}
		if hand {
			// Open before the drain, so that the removal follows the
			// drain's last check at once.
			if ho, err = a.openHandover(link); err != nil {
				a.log.Warnf("%sno handover: %v", a.prefix, err)
			}
		}
		var d drained
		if drain > 0 {
			d = a.drain(ctx, drain)
		}
		// Nothing between the drain's last check and the removal: a
		// connection opened in between is the one it cannot save.
		err = a.h.AddrDel(link, have)
		removed := time.Now()
		unlock()
		if err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
			if ho != nil {
				ho.cancel()
			}
			return nil, fmt.Errorf("remove %s from %s: %w", have.IPNet, rec.Iface, err)
		}
		if ho != nil {
			ho.begin(removed)
		}
		if !d.last.IsZero() {
			d.removal = time.Since(d.last)
		}
		switch {
		case drain <= 0:
			a.log.Infof("%sremoved %s from %s", a.prefix, have.IPNet, rec.Iface)
		case d.err != nil:
			a.log.Warnf("%sremoved %s from %s, %s", a.prefix, have.IPNet, rec.Iface, d)
		default:
			a.log.Infof("%sremoved %s from %s %s", a.prefix, have.IPNet, rec.Iface, d)
		}
	} else {
		a.log.Infof("%s%s was already gone from %s", a.prefix, a.spec.Addr, rec.Iface)
	}
	// The handover runs only once the record is gone: a record there
	// tells it this node holds the address again (oursAgain).
	if err := a.removeRecord(); err != nil {
		if ho != nil {
			ho.cancel()
		}
		return nil, err
	}
	if ho != nil {
		go ho.run()
	}
	return ho, nil
}
