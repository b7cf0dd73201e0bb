package ipaddr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// hereNames is how many of this machine's interfaces a warning lists.
const hereNames = 16

// Here checks a resource against this machine (the caller's network
// namespace) as a start of it would find it, and returns what would make
// the start fail, one sentence each: an interface it names that does not
// exist, or, when it names none, an address that no interface's
// connected route covers (the start finds its interface by that route).
// Nothing for arguments Parse refuses: check says those. It only reads:
// `hbd check` warns with it, and the daemon logs it at its start and at
// each reload, never refusing (an interface may come later: a VLAN, a
// bond).
func Here(name string, args []string) []string {
	spec, err := Parse(name, args)
	if err != nil {
		return nil
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return []string{fmt.Sprintf("%s %s: interfaces not checked: netlink: %v", spec.Agent, spec, err)}
	}
	defer h.Close()
	return spec.here(h)
}

// here is Here with the handle of the namespace to look in.
func (s Spec) here(h *netlink.Handle) []string {
	prefix := s.Agent + " " + s.String() + ": "
	if s.Iface != "" {
		_, err := h.LinkByName(s.Iface)
		var nf netlink.LinkNotFoundError
		switch {
		case errors.As(err, &nf):
			return []string{fmt.Sprintf("%sinterface %s does not exist on this machine (it has: %s); the group's start fails on this node while it is missing: fix the name, or have the interface exist before the group starts here (one made at boot, a VLAN, a bond or a bridge: order the heartbeat service after it)",
				prefix, s.Iface, linkNames(h))}
		case err != nil:
			return []string{fmt.Sprintf("%sinterface %s not checked: %v", prefix, s.Iface, err)}
		}
		return nil
	}
	a := &Agent{spec: s, h: h} // the start's own route lookup
	r, err := a.connectedRoute(nil)
	switch {
	case err != nil:
		return []string{fmt.Sprintf("%sinterface not checked: %v", prefix, err)}
	case r == nil:
		return []string{fmt.Sprintf("%sno interface has a connected route covering %s, by which the start finds the interface: the group's start fails on this node until one has; give the interface and prefix length (%s/24/eth0 or nic=eth0 cidr_netmask=24), or put an address of its subnet on an interface first",
			prefix, s.Addr, s.Addr)}
	}
	return nil
}

// linkNames lists the interfaces of h's namespace, at most hereNames of
// them, for a warning.
func linkNames(h *netlink.Handle) string {
	links, err := h.LinkList()
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return "unknown: " + err.Error()
	}
	names := make([]string, 0, min(len(links), hereNames))
	for i, l := range links {
		if i == hereNames {
			names = append(names, fmt.Sprintf("and %d more", len(links)-hereNames))
			break
		}
		names = append(names, l.Attrs().Name)
	}
	return strings.Join(names, ", ")
}
