package ipaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

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
		var nf netlink.LinkNotFoundError
		switch {
		case errors.As(err, &nf):
			return t, fmt.Errorf("interface %s does not exist on this machine", a.spec.Iface)
		case err != nil:
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
