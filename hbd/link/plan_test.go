package link

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
)

// testIfaces is a host with eth0 (10.0.0.1/24, fe80::1/64), eth1
// (10.0.1.1/24) and lo.
func testIfaces(name string) (ifaceInfo, error) {
	switch name {
	case "eth0":
		return ifaceInfo{Index: 2, Name: name, CanBroadcast: true, Prefixes: []netip.Prefix{
			netip.MustParsePrefix("10.0.0.1/24"), netip.MustParsePrefix("fe80::1/64")}}, nil
	case "eth1":
		return ifaceInfo{Index: 3, Name: name, CanBroadcast: true, Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.1/24")}}, nil
	case "lo":
		return ifaceInfo{Index: 1, Name: name, Prefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/8")}}, nil
	}
	return ifaceInfo{}, errors.New("no such network interface")
}

func medium(kind config.MediumKind, iface, addr string, port, line int) config.Medium {
	m := config.Medium{Kind: kind, Iface: iface, Port: port, TTL: 1, Pos: config.Pos{File: "ha.cf", Line: line}}
	if addr != "" {
		m.Addr = netip.MustParseAddr(addr)
	}
	return m
}

// describe renders plans as "NAME KIND socks=[BIND...] to=[DST...] skip=[...]".
func describe(plans []linkPlan) []string {
	var out []string
	for _, p := range plans {
		var socks, to []string
		for _, s := range p.Socks {
			socks = append(socks, s.Bind.String())
		}
		for _, t := range p.Targets {
			to = append(to, fmt.Sprintf("%s@%d", t.Dst, t.Sock))
		}
		out = append(out, fmt.Sprintf("%s %s socks=%v to=%v skip=%v", p.Name, p.Kind, socks, to, p.Skipped))
	}
	return out
}

func TestPlan(t *testing.T) {
	local2 := medium(config.Ucast, "lo", "127.0.0.1", 694, 3)
	local2.Local = netip.MustParseAddr("127.0.0.2")
	local2b := medium(config.Ucast, "lo", "127.0.0.2", 694, 4)
	local2b.Local = netip.MustParseAddr("127.0.0.2")
	tests := []struct {
		name  string
		media []config.Medium
		want  []string
	}{
		{"ucast lines on one interface are one link, own address skipped",
			[]config.Medium{medium(config.Ucast, "eth0", "10.0.0.1", 694, 1), medium(config.Ucast, "eth0", "10.0.0.2", 694, 2), medium(config.Ucast, "eth0", "10.0.0.3", 694, 3)},
			[]string{"eth0 ucast socks=[0.0.0.0:694] to=[10.0.0.2:694@0 10.0.0.3:694@0] skip=[10.0.0.1:694]"}},
		{"two interfaces are two links",
			[]config.Medium{medium(config.Ucast, "eth0", "10.0.0.2", 694, 1), medium(config.Ucast, "eth1", "10.0.1.2", 694, 2)},
			[]string{"eth0 ucast socks=[0.0.0.0:694] to=[10.0.0.2:694@0] skip=[]", "eth1 ucast socks=[0.0.0.0:694] to=[10.0.1.2:694@0] skip=[]"}},
		{"duplicate line sends once",
			[]config.Medium{medium(config.Ucast, "eth0", "10.0.0.2", 694, 1), medium(config.Ucast, "eth0", "10.0.0.2", 694, 2)},
			[]string{"eth0 ucast socks=[0.0.0.0:694] to=[10.0.0.2:694@0] skip=[]"}},
		{"udpport changed between lines: a socket per port",
			[]config.Medium{medium(config.Ucast, "eth0", "10.0.0.2", 694, 1), medium(config.Ucast, "eth0", "10.0.0.3", 695, 2)},
			[]string{"eth0 ucast socks=[0.0.0.0:694 0.0.0.0:695] to=[10.0.0.2:694@0 10.0.0.3:695@1] skip=[]"}},
		{"local address: bound to it, skipped as a peer",
			[]config.Medium{local2, local2b},
			[]string{"lo ucast socks=[127.0.0.2:694] to=[127.0.0.1:694@0] skip=[127.0.0.2:694]"}},
		{"bcast binds and sends to the broadcast address",
			[]config.Medium{medium(config.Bcast, "eth0", "", 694, 1), medium(config.Bcast, "eth1", "", 694, 1)},
			[]string{"eth0 bcast socks=[10.0.0.255:694] to=[10.0.0.255:694@0] skip=[]", "eth1 bcast socks=[10.0.1.255:694] to=[10.0.1.255:694@0] skip=[]"}},
		{"kinds sharing an interface: ucast keeps the name whatever the line order",
			[]config.Medium{medium(config.Mcast, "eth0", "239.0.0.9", 694, 1), medium(config.Bcast, "eth0", "", 694, 2), medium(config.Ucast, "eth0", "10.0.0.2", 694, 3), medium(config.Mcast, "eth1", "239.0.0.9", 695, 4)},
			[]string{"eth0/mcast mcast socks=[239.0.0.9:694] to=[239.0.0.9:694@0] skip=[]",
				"eth0/bcast bcast socks=[10.0.0.255:694] to=[10.0.0.255:694@0] skip=[]",
				"eth0 ucast socks=[0.0.0.0:694] to=[10.0.0.2:694@0] skip=[]",
				"eth1 mcast socks=[239.0.0.9:695] to=[239.0.0.9:695@0] skip=[]"}},
		{"bcast and mcast sharing an interface: bcast keeps the name",
			[]config.Medium{medium(config.Mcast, "eth0", "239.0.0.9", 694, 1), medium(config.Bcast, "eth0", "", 694, 2)},
			[]string{"eth0/mcast mcast socks=[239.0.0.9:694] to=[239.0.0.9:694@0] skip=[]", "eth0 bcast socks=[10.0.0.255:694] to=[10.0.0.255:694@0] skip=[]"}},
		{"ucast6 link-local gets the interface as zone",
			[]config.Medium{medium(config.Ucast6, "eth0", "fe80::2", 694, 1), medium(config.Ucast6, "eth0", "fe80::1", 694, 2)},
			[]string{"eth0 ucast6 socks=[[::]:694] to=[[fe80::2%eth0]:694@0] skip=[[fe80::1%eth0]:694]"}},
		{"mcast6 link-local group is zoned",
			[]config.Medium{medium(config.Mcast6, "eth0", "ff02::694", 694, 1)},
			[]string{"eth0 mcast6 socks=[[ff02::694%eth0]:694] to=[[ff02::694%eth0]:694@0] skip=[]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plans, err := plan(tt.media, testIfaces)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(plans); !slices.Equal(got, tt.want) {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
			}
		})
	}
}

func TestPlanUnicastIgnoresBroadcasts(t *testing.T) {
	plans, err := plan([]config.Medium{medium(config.Ucast, "eth0", "10.0.0.2", 694, 1)}, testIfaces)
	if err != nil {
		t.Fatal(err)
	}
	got := plans[0].Socks[0].Broadcasts
	want := []netip.Addr{netip.MustParseAddr("10.0.0.255"), netip.MustParseAddr("255.255.255.255")}
	if !slices.Equal(got, want) {
		t.Fatalf("unicast socket ignores %v, want %v", got, want)
	}
}

func TestPlanErrors(t *testing.T) {
	mixed := medium(config.Ucast, "eth0", "10.0.0.2", 694, 6)
	mixed.Local = netip.MustParseAddr("fe80::1")
	tests := []struct {
		name  string
		media []config.Medium
		want  string
	}{
		{"unknown interface", []config.Medium{medium(config.Ucast, "eth0", "10.0.0.2", 694, 1), medium(config.Bcast, "wlan9", "", 694, 2)}, `ha.cf:2: bcast wlan9: interface "wlan9"`},
		{"unknown kind", []config.Medium{medium("serial", "eth0", "", 694, 3)}, `ha.cf:3: serial eth0: unsupported`},
		{"port out of range", []config.Medium{medium(config.Bcast, "eth0", "", 70000, 4)}, `ha.cf:4: bcast eth0: invalid port 70000`},
		{"bcast on loopback", []config.Medium{medium(config.Bcast, "lo", "", 694, 5)}, `ha.cf:5: bcast lo: interface lo has no IPv4 broadcast address`},
		{"mixed families", []config.Medium{mixed}, `ha.cf:6: ucast eth0: local address fe80::1`},
		{"ucast without peer", []config.Medium{medium(config.Ucast, "eth0", "", 694, 7)}, `ha.cf:7: ucast eth0: no peer address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan(tt.media, testIfaces)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
