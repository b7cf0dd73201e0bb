package link

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/hbdproject/hbd/hbd/config"
)

// kindOrder decides which kind of medium gets the plain interface name when
// several kinds share an interface: the first one present in this list. It
// does not depend on the order of the ha.cf lines, so reordering them never
// renames a link.
var kindOrder = []config.MediumKind{config.Ucast, config.Ucast6, config.Bcast, config.Mcast, config.Mcast6}

// noBroadcastError is a bcast medium's interface without an IPv4
// broadcast address: this machine's state (its address may come a
// moment later, from DHCP at boot), not a fault of ha.cf.
type noBroadcastError struct{ iface string }

func (e noBroadcastError) Error() string {
	return fmt.Sprintf("interface %s has no IPv4 broadcast address", e.iface)
}

// sockRole says which datagrams a receive socket accepts.
type sockRole int

const (
	// roleUnicast sockets drop datagrams addressed to a broadcast or
	// multicast address: a wildcard-bound socket also sees those, and they
	// belong to the bcast / mcast link of the same interface.
	roleUnicast sockRole = iota
	roleBroadcast
	roleMulticast
)

// ifaceInfo is what a plan needs to know about one network interface.
type ifaceInfo struct {
	Index int
	Name  string
	// CanBroadcast is IFF_BROADCAST: loopback and point-to-point
	// interfaces have no broadcast address.
	CanBroadcast bool
	// Prefixes are the interface's addresses with their prefix length.
	Prefixes []netip.Prefix
}

// broadcast returns the IPv4 broadcast address of the interface's first
// IPv4 address, as Heartbeat's bcast medium uses (SIOCGIFBRDADDR).
func (i ifaceInfo) broadcast() (netip.Addr, bool) {
	if !i.CanBroadcast {
		return netip.Addr{}, false
	}
	for _, p := range i.Prefixes {
		if !p.Addr().Is4() || p.Bits() >= 31 {
			continue
		}
		b := p.Addr().As4()
		host := uint32(1)<<(32-p.Bits()) - 1
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		v |= host
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
	}
	return netip.Addr{}, false
}

func (i ifaceInfo) has(a netip.Addr) bool {
	a = a.WithZone("")
	for _, p := range i.Prefixes {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// sockPlan is one receive (and send) socket.
type sockPlan struct {
	Bind  netip.AddrPort
	Role  sockRole
	Group netip.Addr // multicast group to join (roleMulticast)
	TTL   int        // multicast TTL / hop limit
	Loop  bool       // multicast loopback
	// Broadcasts are the destination addresses a unicast socket must not
	// accept (the interface's broadcast address and 255.255.255.255).
	Broadcasts []netip.Addr
	Pos        config.Pos // the first ha.cf line that needs this socket
}

// target is one destination of a link, sent from socket Sock.
type target struct {
	Sock int
	Dst  netip.AddrPort
}

// linkPlan is one link: every medium of one kind on one interface.
type linkPlan struct {
	Name    string
	Kind    config.MediumKind
	Iface   ifaceInfo
	Socks   []sockPlan
	Targets []target
	// Skipped are ucast peers not sent to because they are our own address.
	Skipped []netip.AddrPort
}

// plan groups media into links and works out their sockets and
// destinations. lookup resolves an interface name; its error is wrapped
// with the medium's ha.cf position.
func plan(media []config.Medium, lookup func(string) (ifaceInfo, error)) ([]linkPlan, error) {
	type key struct {
		iface string
		kind  config.MediumKind
	}
	kindsOn := map[string][]config.MediumKind{}
	var order []key
	links := map[key]*linkPlan{}
	for _, m := range media {
		if !slices.Contains(kindOrder, m.Kind) {
			return nil, fmt.Errorf("%s: %s %s: unsupported medium kind %q", m.Pos, m.Kind, m.Iface, m.Kind)
		}
		if m.Port <= 0 || m.Port > 65535 {
			return nil, fmt.Errorf("%s: %s %s: invalid port %d", m.Pos, m.Kind, m.Iface, m.Port)
		}
		k := key{m.Iface, m.Kind}
		if links[k] == nil {
			ifi, err := lookup(m.Iface)
			if err != nil {
				return nil, fmt.Errorf("%s: %s %s: interface %q: %w", m.Pos, m.Kind, m.Iface, m.Iface, err)
			}
			links[k] = &linkPlan{Kind: m.Kind, Iface: ifi}
			order = append(order, k)
			kindsOn[m.Iface] = append(kindsOn[m.Iface], m.Kind)
		}
		if err := links[k].add(m); err != nil {
			return nil, fmt.Errorf("%s: %s %s: %w", m.Pos, m.Kind, m.Iface, err)
		}
	}
	out := make([]linkPlan, 0, len(order))
	for _, k := range order {
		lp := links[k]
		lp.Name = linkName(k.iface, k.kind, kindsOn[k.iface])
		out = append(out, *lp)
	}
	return out, nil
}

// linkName is the interface name for the kind that comes first in
// kindOrder among those on the interface, "IFACE/KIND" for the others.
func linkName(iface string, kind config.MediumKind, kinds []config.MediumKind) string {
	for _, k := range kindOrder {
		if slices.Contains(kinds, k) {
			if k == kind {
				return iface
			}
			break
		}
	}
	return iface + "/" + string(kind)
}

// sock returns the index of the socket bound to bind, adding it if new.
func (lp *linkPlan) sock(sp sockPlan) int {
	for i, s := range lp.Socks {
		if s.Bind == sp.Bind {
			return i
		}
	}
	lp.Socks = append(lp.Socks, sp)
	return len(lp.Socks) - 1
}

func (lp *linkPlan) target(sock int, dst netip.AddrPort) {
	t := target{Sock: sock, Dst: dst}
	if !slices.Contains(lp.Targets, t) {
		lp.Targets = append(lp.Targets, t)
	}
}

// zoned gives a link-local IPv6 address the interface as its zone.
func zoned(a netip.Addr, iface string) netip.Addr {
	if a.Is6() && a.Zone() == "" && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()) {
		return a.WithZone(iface)
	}
	return a
}

func (lp *linkPlan) add(m config.Medium) error {
	port := uint16(m.Port)
	iface := lp.Iface.Name
	switch m.Kind {
	case config.Ucast, config.Ucast6:
		if !m.Addr.IsValid() {
			return fmt.Errorf("no peer address")
		}
		peer := zoned(m.Addr.Unmap(), iface)
		bind := m.Local.Unmap()
		if bind.IsValid() && bind.Is4() != peer.Is4() {
			return fmt.Errorf("local address %s and peer %s are of different families", bind, peer)
		}
		if !bind.IsValid() {
			bind = netip.IPv4Unspecified()
			if peer.Is6() {
				bind = netip.IPv6Unspecified()
			}
		}
		bind = zoned(bind, iface)
		sp := sockPlan{Bind: netip.AddrPortFrom(bind, port), Role: roleUnicast, Pos: m.Pos}
		if bc, ok := lp.Iface.broadcast(); ok && bind.Is4() {
			sp.Broadcasts = append(sp.Broadcasts, bc)
		}
		if bind.Is4() {
			sp.Broadcasts = append(sp.Broadcasts, netip.AddrFrom4([4]byte{255, 255, 255, 255}))
		}
		s := lp.sock(sp)
		dst := netip.AddrPortFrom(peer, port)
		// Sending to ourselves is pointless: a ucast line naming our own
		// address (ha.cf usually lists every node) is skipped. Without an
		// explicit local address, "ours" means assigned to the interface.
		if peer.WithZone("") == m.Local.Unmap().WithZone("") || (!m.Local.IsValid() && lp.Iface.has(peer)) {
			if !slices.Contains(lp.Skipped, dst) {
				lp.Skipped = append(lp.Skipped, dst)
			}
			return nil
		}
		lp.target(s, dst)
	case config.Bcast:
		bc, ok := lp.Iface.broadcast()
		if !ok {
			return noBroadcastError{iface: iface}
		}
		// Bound to the broadcast address, the socket hears only broadcasts,
		// never the unicast traffic of a ucast link on the same port.
		s := lp.sock(sockPlan{Bind: netip.AddrPortFrom(bc, port), Role: roleBroadcast, Pos: m.Pos})
		lp.target(s, netip.AddrPortFrom(bc, port))
	case config.Mcast, config.Mcast6:
		g := m.Addr.Unmap()
		if !g.IsMulticast() {
			return fmt.Errorf("%s is not a multicast group", m.Addr)
		}
		g = zoned(g, iface)
		ttl := m.TTL
		if ttl <= 0 {
			ttl = 1
		}
		// Bound to the group, the socket hears only that group.
		s := lp.sock(sockPlan{Bind: netip.AddrPortFrom(g, port), Role: roleMulticast, Group: g, TTL: ttl, Loop: m.Loop, Pos: m.Pos})
		lp.target(s, netip.AddrPortFrom(g, port))
	}
	return nil
}

// lookupIface is the real interface lookup.
func lookupIface(name string) (ifaceInfo, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return ifaceInfo{}, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return ifaceInfo{}, fmt.Errorf("addresses: %w", err)
	}
	info := ifaceInfo{Index: ifi.Index, Name: ifi.Name, CanBroadcast: ifi.Flags&net.FlagBroadcast != 0}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ones, _ := n.Mask.Size()
		ip = ip.Unmap()
		if ip.Is4() && ones > 32 {
			ones -= 96
		}
		info.Prefixes = append(info.Prefixes, netip.PrefixFrom(ip, ones))
	}
	return info, nil
}
