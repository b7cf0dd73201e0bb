package ipaddr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Announcement defaults: a burst of 5 rounds 200 ms apart on start, a
// second burst 3 s after the first ends, and one round every 60 s while
// a Watch holds the address.
const (
	DefaultBurstCount    = 5
	DefaultBurstInterval = 200 * time.Millisecond
	DefaultSecondBurst   = 3 * time.Second
	DefaultRefresh       = 60 * time.Second
	DefaultCheck         = 5 * time.Second
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

// Options are the settings of an Agent beyond its Spec.
type Options struct {
	// StateDir holds the records of addresses hbd added (StateDir/hbd-ipaddr/ADDR);
	// "" means StateDirFromEnv().
	StateDir string
	// Netns is the path of the network namespace to work in
	// ("/run/netns/NAME"); "" means the caller's.
	Netns string
	// Log receives the agent's log lines; nil discards them.
	Log logrus.FieldLogger
	// Burst is the announcement policy; zero fields take the defaults.
	Burst Burst
}

// Agent manages one address. Its methods are safe for concurrent use,
// but Stop must not race a Watch: cancel the Watch (and let it return)
// before stopping. Close releases it.
type Agent struct {
	spec     Spec
	stateDir string
	log      logrus.FieldLogger
	burst    Burst
	ns       netns.NsHandle // netns.None(): the caller's namespace
	h        *netlink.Handle
	prefix   string // "IPaddr2 10.0.0.5/24/eth0: " for log lines

	mu       sync.Mutex
	cancelFU context.CancelFunc // pending second burst
	wg       sync.WaitGroup
}

// New returns an agent for spec. It opens a netlink handle (in
// opts.Netns when given) for routing messages only: the library's default
// also opens XFRM and netfilter sockets, which the agent never uses and
// every start of the in-process agent would pay for. Close releases it.
func New(spec Spec, opts Options) (*Agent, error) {
	if !spec.Addr.IsValid() {
		return nil, errors.New("ipaddr: spec without an address")
	}
	if spec.Agent == "" {
		spec.Agent = NameIPaddr2
	}
	a := &Agent{
		spec:     spec,
		stateDir: opts.StateDir,
		log:      opts.Log,
		burst:    opts.Burst.withDefaults(spec),
		ns:       netns.None(),
		prefix:   spec.Agent + " " + spec.String() + ": ",
	}
	if a.stateDir == "" {
		a.stateDir = StateDirFromEnv()
	}
	if a.log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		a.log = l
	}
	var err error
	if opts.Netns != "" {
		a.ns, err = netns.GetFromPath(opts.Netns)
		if err != nil {
			return nil, fmt.Errorf("network namespace %s: %w", opts.Netns, err)
		}
		a.h, err = netlink.NewHandleAt(a.ns, unix.NETLINK_ROUTE)
	} else {
		a.h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	}
	if err != nil {
		if a.ns.IsOpen() {
			a.ns.Close()
		}
		return nil, fmt.Errorf("netlink: %w", err)
	}
	return a, nil
}

// Spec is the agent's resource.
func (a *Agent) Spec() Spec { return a.spec }

// Close cancels a pending second burst, waits for it and releases the
// netlink handle.
func (a *Agent) Close() error {
	a.cancelFollowup()
	a.wg.Wait()
	a.h.Close()
	if a.ns.IsOpen() {
		return a.ns.Close()
	}
	return nil
}

func (a *Agent) family() int {
	if a.spec.Addr.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// target is where the address goes: the link and the prefix.
type target struct {
	link   netlink.Link
	prefix netip.Prefix // Addr with its prefix length (not masked)
}

// resolve finds the interface and prefix length, from the spec or, where
// the spec leaves them out, from the connected route that covers the
// address (as Heartbeat's findif does).
func (a *Agent) resolve() (target, error) {
	var t target
	var link netlink.Link
	if a.spec.Iface != "" {
		l, err := a.h.LinkByName(a.spec.Iface)
		if err != nil {
			return t, fmt.Errorf("interface %s: %w", a.spec.Iface, err)
		}
		link = l
	}
	bits := a.spec.Bits
	if bits < 0 || link == nil {
		r, err := a.connectedRoute(link)
		if err != nil {
			return t, err
		}
		switch {
		case r != nil:
			if link == nil {
				l, err := a.h.LinkByIndex(r.LinkIndex)
				if err != nil {
					return t, fmt.Errorf("interface #%d of route %s: %w", r.LinkIndex, r.Dst, err)
				}
				link = l
			}
			if bits < 0 {
				bits, _ = r.Dst.Mask.Size()
				a.log.Infof("%susing calculated prefix length /%d from the route %s on %s", a.prefix, bits, r.Dst, link.Attrs().Name)
			}
		case link == nil:
			return t, fmt.Errorf("no interface has a connected route covering %s: give the interface and prefix length (%s/24/eth0 or nic=eth0 cidr_netmask=24)", a.spec.Addr, a.spec.Addr)
		default:
			bits = a.spec.Addr.BitLen()
			a.log.Infof("%sno connected route on %s covers %s; using /%d", a.prefix, link.Attrs().Name, a.spec.Addr, bits)
		}
	}
	t.link = link
	t.prefix = netip.PrefixFrom(a.spec.Addr, bits)
	return t, nil
}

// connectedRoute is the most specific gateway-less, non-default route of
// the main table that covers the address (on link, when given), or nil.
func (a *Agent) connectedRoute(link netlink.Link) (*netlink.Route, error) {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN}
	mask := netlink.RT_FILTER_TABLE
	if link != nil {
		filter.LinkIndex = link.Attrs().Index
		mask |= netlink.RT_FILTER_OIF
	}
	routes, err := a.h.RouteListFiltered(a.family(), filter, mask)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	ip := net.IP(a.spec.Addr.AsSlice())
	var best *netlink.Route
	bestOnes := -1
	for i := range routes {
		r := &routes[i]
		if r.Dst == nil || r.Gw != nil || len(r.MultiPath) > 0 {
			continue
		}
		ones, _ := r.Dst.Mask.Size()
		if ones == 0 || !r.Dst.Contains(ip) {
			continue
		}
		if ones > bestOnes {
			best, bestOnes = r, ones
		}
	}
	return best, nil
}

// findOn returns our address on link, or nil.
func (a *Agent) findOn(link netlink.Link) (*netlink.Addr, error) {
	addrs, err := a.listOn(link)
	if err != nil {
		return nil, err
	}
	return a.pick(addrs), nil
}

// listFor lists what a start must see before it adds the address to
// link: the addresses of our family on link or, for a spec without an
// interface, on every interface, as Status looks (the address already on
// another interface is there; a second copy would not be added).
func (a *Agent) listFor(link netlink.Link) ([]netlink.Addr, error) {
	if a.spec.Iface == "" {
		link = nil
	}
	return a.listOn(link)
}

// listOn lists the addresses of our family on link, or on every
// interface when link is nil.
func (a *Agent) listOn(link netlink.Link) ([]netlink.Addr, error) {
	addrs, err := a.h.AddrList(link, a.family())
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		if link == nil {
			return nil, fmt.Errorf("list addresses: %w", err)
		}
		return nil, fmt.Errorf("list addresses of %s: %w", link.Attrs().Name, err)
	}
	return addrs, nil
}

func (a *Agent) pick(addrs []netlink.Addr) *netlink.Addr {
	for i := range addrs {
		ad, ok := netip.AddrFromSlice(addrs[i].IP)
		if ok && ad.Unmap() == a.spec.Addr && addrs[i].Flags&unix.IFA_F_DADFAILED == 0 {
			return &addrs[i]
		}
	}
	return nil
}

// where finds the link that holds the address now: the spec's interface,
// else the recorded one, else any interface. link is nil when the address
// is on none of them.
func (a *Agent) where() (netlink.Link, *netlink.Addr, error) {
	name := a.spec.Iface
	if name == "" {
		if r, ok, err := a.readRecord(); err == nil && ok {
			name = r.Iface
		}
	}
	if name != "" {
		link, err := a.h.LinkByName(name)
		if err != nil {
			var nf netlink.LinkNotFoundError
			if errors.As(err, &nf) {
				return nil, nil, nil
			}
			return nil, nil, fmt.Errorf("interface %s: %w", name, err)
		}
		ad, err := a.findOn(link)
		if err != nil || ad == nil {
			return nil, nil, err
		}
		return link, ad, nil
	}
	addrs, err := a.listOn(nil)
	if err != nil {
		return nil, nil, err
	}
	ad := a.pick(addrs)
	if ad == nil {
		return nil, nil, nil
	}
	link, err := a.h.LinkByIndex(ad.LinkIndex)
	if err != nil {
		return nil, nil, fmt.Errorf("interface #%d: %w", ad.LinkIndex, err)
	}
	return link, ad, nil
}

// Status reports whether the address is on its interface now (for an
// address without IFACE: on any interface).
func (a *Agent) Status(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	link, _, err := a.where()
	return link != nil, err
}

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
	a.cancelFollowup()
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, ours, err := a.readRecord()
	if err != nil {
		return err
	}
	if !ours {
		link, _, err := a.where()
		if err != nil {
			return err
		}
		if link != nil {
			a.log.Warnf("%s%s is on %s but hbd did not add it (no record in %s): leaving it there",
				a.prefix, a.spec.Addr, link.Attrs().Name, a.stateDir)
		} else {
			a.log.Infof("%s%s is not configured: nothing to stop", a.prefix, a.spec.Addr)
		}
		return nil
	}
	link, err := a.h.LinkByName(rec.Iface)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return fmt.Errorf("interface %s: %w", rec.Iface, err)
		}
		a.log.Infof("%sinterface %s is gone, and %s with it", a.prefix, rec.Iface, a.spec.Addr)
		return a.removeRecord()
	}
	have, err := a.findOn(link)
	if err != nil {
		return err
	}
	if have != nil {
		if err := a.h.AddrDel(link, have); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("remove %s from %s: %w", have.IPNet, rec.Iface, err)
		}
		a.log.Infof("%sremoved %s from %s", a.prefix, have.IPNet, rec.Iface)
	} else {
		a.log.Infof("%s%s was already gone from %s", a.prefix, a.spec.Addr, rec.Iface)
	}
	return a.removeRecord()
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
	sent := 0
	var sock *packetSocket
	defer func() {
		if sock != nil {
			// Closing an AF_PACKET socket waits for the kernel's RCU
			// grace period (packet_release calls synchronize_net): 4 to
			// 20 ms on a loaded 2-CPU machine. The frames are out by
			// then, so nothing needs to wait for it: a start returns as
			// soon as its address is on and announced.
			go sock.close()
		}
	}()
	for i := 0; i < rounds; i++ {
		if i > 0 {
			if !sleepCtx(ctx, a.burst.Interval) {
				return ctx.Err()
			}
		}
		link := known
		known = nil
		if link == nil {
			var err error
			if link, _, err = a.where(); err != nil {
				a.log.Warnf("%sannounce: %v", a.prefix, err)
				return err
			}
		}
		if link == nil {
			a.log.Debugf("%s%s is gone: announcements stop after %d", a.prefix, a.spec.Addr, sent)
			return nil
		}
		attrs := link.Attrs()
		if len(attrs.HardwareAddr) != 6 || attrs.RawFlags&unix.IFF_NOARP != 0 {
			a.log.Debugf("%s%s has no Ethernet address or does not ARP: nothing to announce", a.prefix, attrs.Name)
			return nil
		}
		if attrs.Flags&net.FlagUp == 0 || attrs.OperState == netlink.OperDown {
			a.log.Debugf("%s%s is down: no announcements until it is up again", a.prefix, attrs.Name)
			return nil
		}
		if sock == nil {
			if err := a.inNS(func() (err error) { sock, err = openPacketSocket(); return err }); err != nil {
				a.log.Warnf("%sannounce on %s: %v", a.prefix, attrs.Name, err)
				return err
			}
		}
		for _, f := range frames(attrs.HardwareAddr, a.spec.Addr) {
			if err := sock.send(attrs.Index, f); err != nil {
				err = fmt.Errorf("send on %s: %w", attrs.Name, err)
				a.log.Warnf("%sannounce: %v", a.prefix, err)
				return err
			}
			sent++
		}
	}
	kind := "gratuitous ARP (request and reply)"
	if a.spec.Addr.Is6() {
		kind = "unsolicited neighbour advertisement"
	}
	a.log.Debugf("%sannounced %s: %d %s packets", a.prefix, a.spec.Addr, sent, kind)
	return nil
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

// inNS runs fn in the agent's network namespace: on this thread when it
// is the caller's, else on a locked thread that enters the namespace and
// is discarded afterwards. Sockets fn opens stay in that namespace.
func (a *Agent) inNS(fn func() error) error {
	if !a.ns.IsOpen() {
		return fn()
	}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends the thread with the goroutine.
		runtime.LockOSThread()
		if err := netns.Set(a.ns); err != nil {
			errc <- fmt.Errorf("enter network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
