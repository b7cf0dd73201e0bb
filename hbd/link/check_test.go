package link

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
)

// TestCheck: what link.Open would refuse, found without it.
func TestCheck(t *testing.T) {
	ifaces := map[string]ifaceInfo{
		"lo":   {Index: 1, Name: "lo", Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}},
		"eth0": {Index: 2, Name: "eth0", CanBroadcast: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.1/24")}},
	}
	lookup := func(name string) (ifaceInfo, error) {
		if i, ok := ifaces[name]; ok {
			return i, nil
		}
		return ifaceInfo{}, errors.New("no such network interface")
	}
	// The kernel's answer: 10.0.0.1 and 127/8 are this machine's.
	bind := func(a netip.Addr) error {
		if a == netip.MustParseAddr("10.0.0.1") || netip.MustParsePrefix("127.0.0.0/8").Contains(a) {
			return nil
		}
		return &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
	}
	pos := config.Pos{File: "ha.cf", Line: 7}
	for _, tc := range []struct {
		name string
		m    config.Medium
		want string // "" for no error
		// machine: the error is about this machine's state
		// (config.Diag.Machine), not what ha.cf says.
		machine bool
	}{
		{"ucast", config.Medium{Kind: config.Ucast, Iface: "eth0", Addr: netip.MustParseAddr("10.0.0.2"), Port: 694}, "", false},
		{"ucast from an address here", config.Medium{Kind: config.Ucast, Iface: "eth0", Addr: netip.MustParseAddr("10.0.0.2"), Local: netip.MustParseAddr("10.0.0.1"), Port: 694}, "", false},
		{"ucast from an address not here", config.Medium{Kind: config.Ucast, Iface: "eth0", Addr: netip.MustParseAddr("10.0.0.2"), Local: netip.MustParseAddr("10.0.0.9"), Port: 694},
			"ha.cf:7: ucast eth0: local address 10.0.0.9 is not an address of this machine, so hbd cannot send from it (listen udp: bind: cannot assign requested address)", true},
		{"ucast from a loopback address not on lo", config.Medium{Kind: config.Ucast, Iface: "lo", Addr: netip.MustParseAddr("127.0.0.2"), Local: netip.MustParseAddr("127.0.0.9"), Port: 694}, "", false},
		{"ucast from another family", config.Medium{Kind: config.Ucast, Iface: "eth0", Addr: netip.MustParseAddr("10.0.0.2"), Local: netip.MustParseAddr("fe80::1"), Port: 694},
			"ha.cf:7: ucast eth0: local address fe80::1 and peer 10.0.0.2 are of different families", false},
		{"bcast", config.Medium{Kind: config.Bcast, Iface: "eth0", Port: 694}, "", false},
		{"bcast without a broadcast address", config.Medium{Kind: config.Bcast, Iface: "lo", Port: 694},
			"ha.cf:7: bcast lo: interface lo has no IPv4 broadcast address", true},
		{"mcast", config.Medium{Kind: config.Mcast, Iface: "eth0", Addr: netip.MustParseAddr("239.0.0.1"), Port: 694}, "", false},
		{"interface missing: config.Load says it", config.Medium{Kind: config.Bcast, Iface: "eth9", Port: 694}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.m.Pos = pos
			ds := check([]config.Medium{tc.m}, lookup, bind)
			if tc.want == "" {
				if len(ds) > 0 {
					t.Fatalf("got %v, want nothing", ds)
				}
				return
			}
			if len(ds) != 1 || ds[0].Severity != config.SevError || !strings.HasPrefix(ds[0].String(), tc.want) {
				t.Fatalf("got %v, want one error starting %q", ds, tc.want)
			}
			if ds[0].Machine != tc.machine {
				t.Errorf("Machine = %v, want %v", ds[0].Machine, tc.machine)
			}
		})
	}
}
