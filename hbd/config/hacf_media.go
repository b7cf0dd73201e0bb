// The heartbeat media directives of ha.cf (udpport, ucast, bcast, mcast,
// and their IPv6 forms), checked as they are parsed.
package config

import (
	"net/netip"
	"strings"
)

func (p *hacfParser) udpport(line int, args []string) {
	port, err := parseInt(args[0], "udpport", 1, 65535)
	if err != nil {
		p.d.errorf(line, "%v", err)
		return
	}
	for _, m := range p.c.Media {
		if m.Kind == Ucast || m.Kind == Ucast6 || m.Kind == Bcast {
			p.d.warnf(line, "udpport %d comes after the medium on line %d, which keeps port %d; put udpport before the media lines (as Heartbeat requires)", port, m.Pos.Line, m.Port)
			break
		}
	}
	p.c.UDPPort = port
}

// validIface reports what is wrong with an interface name, or "".
func validIface(s string) string {
	switch {
	case len(s) > 15:
		return "is longer than 15 characters, the Linux limit"
	case strings.ContainsAny(s, "/:") || s == "." || s == "..":
		return "is not an interface name (aliases like eth0:0 are not interfaces; name the device, e.g. eth0)"
	case looksLikeIP(s):
		return "is an address, not an interface name (write the device first, e.g. `ucast eth0 10.0.0.2`)"
	}
	return ""
}

func looksLikeIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func (p *hacfParser) iface(line int, kind MediumKind, s string) bool {
	if why := validIface(s); why != "" {
		p.d.errorf(line, "%s: interface %q %s", kind, s, why)
		return false
	}
	return true
}

// addr parses an IP of the family the medium needs.
func (p *hacfParser) addr(line int, kind MediumKind, what, s string, v6 bool) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		p.d.errorf(line, "%s: %s %q is not an IP address (hbd does not resolve host names: DNS may be down when you need failover)", kind, what, s)
		return netip.Addr{}, false
	}
	if v6 && !a.Is6() || !v6 && !a.Is4() {
		fam, other := "IPv4", "ucast6/mcast6"
		if v6 {
			fam, other = "IPv6", "ucast/mcast"
		}
		p.d.errorf(line, "%s: %s %s is not an %s address; use %s for it", kind, what, s, fam, other)
		return netip.Addr{}, false
	}
	if a.Zone() != "" && !a.Is6() {
		p.d.errorf(line, "%s: %s %s has a zone", kind, what, s)
		return netip.Addr{}, false
	}
	return a, true
}

func (p *hacfParser) addMedium(m Medium) {
	p.c.Media = append(p.c.Media, m)
	p.mediaLines = append(p.mediaLines, m.Pos.Line)
}

func (p *hacfParser) ucast(kind MediumKind) func(int, []string) {
	v6 := kind == Ucast6
	return func(line int, args []string) {
		okIf := p.iface(line, kind, args[0])
		peer, okPeer := p.addr(line, kind, "peer", args[1], v6)
		var local netip.Addr
		okLocal := true
		if len(args) == 3 {
			local, okLocal = p.addr(line, kind, "local address", args[2], v6)
		}
		if okPeer && (peer.IsUnspecified() || peer.IsMulticast()) {
			p.d.errorf(line, "%s: peer %s must be a unicast address of another node (use bcast or mcast for broadcast/multicast)", kind, peer)
			okPeer = false
		}
		if !okIf || !okPeer || !okLocal {
			return
		}
		p.addMedium(Medium{Kind: kind, Iface: args[0], Addr: peer, Port: p.c.UDPPort, Local: local, Pos: Pos{p.d.file, line}})
	}
}

func (p *hacfParser) bcast(line int, args []string) {
	for _, ifc := range args {
		if p.iface(line, Bcast, ifc) {
			p.addMedium(Medium{Kind: Bcast, Iface: ifc, Port: p.c.UDPPort, Pos: Pos{p.d.file, line}})
		}
	}
}

func (p *hacfParser) mcast(kind MediumKind) func(int, []string) {
	v6 := kind == Mcast6
	return func(line int, args []string) {
		ok := p.iface(line, kind, args[0])
		group, okGroup := p.addr(line, kind, "group", args[1], v6)
		if okGroup && !group.IsMulticast() {
			p.d.errorf(line, "%s: group %s is not a multicast address (IPv4: 224.0.0.0 to 239.255.255.255; IPv6: ff00::/8)", kind, group)
			okGroup = false
		}
		port, err := parseInt(args[2], string(kind)+" port", 1, 65535)
		if err != nil {
			p.d.errorf(line, "%v", err)
			ok = false
		}
		ttlName := "TTL"
		if v6 {
			ttlName = "hops"
		}
		ttl, err := parseInt(args[3], string(kind)+" "+ttlName, 1, 255)
		if err != nil {
			p.d.errorf(line, "%v", err)
			ok = false
		}
		var loop bool
		switch args[4] {
		case "0":
		case "1":
			loop = true
		default:
			p.d.errorf(line, "%s: loop %q must be 0 or 1 (0 is usual: do not hear our own packets)", kind, args[4])
			ok = false
		}
		if !ok || !okGroup {
			return
		}
		p.addMedium(Medium{Kind: kind, Iface: args[0], Addr: group, Port: port, TTL: ttl, Loop: loop, Pos: Pos{p.d.file, line}})
	}
}
