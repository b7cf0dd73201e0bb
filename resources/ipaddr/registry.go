package ipaddr

import (
	"context"
	"strings"
	"time"

	"github.com/vishvananda/netns"

	"github.com/hbdproject/hbd/resources/agents"
)

// Agents are the agent's entries in hbd's registry, one for each of its
// names: hbd checks haresources with Parse, and against this machine's
// interfaces with Here, runs the agent with Main
// (also when linked as resource.d/IPaddr or resource.d/IPaddr2; its
// start converges: an address already there is kept and announced), a
// daemon that holds the address keeps it in place with Watch, and
// announces every address resource, whoever runs it, with Address.
// The keepers of both names share one subscription per kind of netlink
// event (events), in the caller's namespace.
func Agents() []agents.Agent {
	ev := newEvents(netns.None())
	return []agents.Agent{entry(NameIPaddr, ev), entry(NameIPaddr2, ev)}
}

func entry(name string, ev *events) agents.Agent {
	keep := func(name string, args []string, o agents.KeepOptions) (agents.Keeper, error) {
		return keep(name, args, o, ev)
	}
	return agents.Agent{Name: name, Program: true, Check: check, Here: Here, Main: Main, Run: Run, Converges: true, Keep: keep, Address: address}
}

func check(name string, args []string) error {
	_, err := Parse(name, args)
	return err
}

func keep(name string, args []string, o agents.KeepOptions, ev *events) (agents.Keeper, error) {
	spec, err := Parse(name, args)
	if err != nil {
		return nil, err
	}
	a, err := New(spec, Options{StateDir: o.StateDir, Log: o.Log})
	if err != nil {
		return nil, err
	}
	a.events = ev // New made it in the caller's namespace, as ev's
	return keeper{a, o.Wake}, nil
}

// keeper is an Agent as an agents.Keeper: Keep is Watch with the
// default intervals, woken by the daemon's wake channel if it gave one.
type keeper struct {
	*Agent
	wake <-chan time.Time
}

func (k keeper) Keep(ctx context.Context) error { return k.Watch(ctx, WatchOptions{Wake: k.wake}) }

// addressTypes are the resource names (or the TYPE of
// ocf:PROVIDER:TYPE) whose resources put an IP address on an interface:
// this agent's, and Heartbeat's IPv6 one.
var addressTypes = map[string]bool{NameIPaddr: true, NameIPaddr2: true, "IPv6addr": true}

// IsAddress reports whether a resource named name is an IP address
// resource (IPaddr, IPaddr2, IPv6addr, ocf:PROVIDER:IPaddr2, ...),
// whoever runs it.
func IsAddress(name string) bool {
	if rest, ok := strings.CutPrefix(name, "ocf:"); ok {
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			name = rest[i+1:]
		}
	}
	return addressTypes[name]
}

// AddressSpec reads the address of an address resource (IsAddress) from
// its arguments with Parse. OCF parameters this agent does not take
// (lvs_support, arp_bg, ...) do not matter for announcing and are left
// out; IPv6addr's ipv6addr= is the address.
func AddressSpec(name string, args []string) (Spec, error) {
	kept := make([]string, 0, len(args))
	for _, w := range agents.JoinIPv6(args) {
		k, v, ok := strings.Cut(w, "=")
		switch {
		case !ok:
		case k == "ipv6addr":
			w = "ip=" + v
		case knownParams[k] == "":
			continue
		}
		kept = append(kept, w)
	}
	return Parse(name, kept)
}

// address is the registry's Address: an Agent that announces the
// address of any address resource, which the resource's own script
// put on an interface (the announcements find it there).
func address(name string, args []string, o agents.KeepOptions) (agents.Announcer, bool, error) {
	if !IsAddress(name) {
		return nil, false, nil
	}
	spec, err := AddressSpec(name, args)
	if err != nil {
		return nil, true, err
	}
	a, err := New(spec, Options{StateDir: o.StateDir, Log: o.Log})
	if err != nil {
		return nil, true, err
	}
	return a, true, nil
}
