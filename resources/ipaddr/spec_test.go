package ipaddr

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		name  string
		agent string
		args  []string
		want  Spec
		str   string // want.String()
	}{
		{"short full", "IPaddr", []string{"10.0.0.5/24/eth0/10.0.0.255"},
			Spec{Agent: "IPaddr", Addr: a("10.0.0.5"), Bits: 24, Iface: "eth0", Broadcast: a("10.0.0.255")}, "10.0.0.5/24/eth0/10.0.0.255"},
		{"short ip only", "IPaddr", []string{"10.0.0.5"},
			Spec{Agent: "IPaddr", Addr: a("10.0.0.5"), Bits: -1}, "10.0.0.5"},
		{"short ip cidr iface", "IPaddr2", []string{"10.0.0.5/24/eth0"},
			Spec{Agent: "IPaddr2", Addr: a("10.0.0.5"), Bits: 24, Iface: "eth0"}, "10.0.0.5/24/eth0"},
		{"numeric third part is broadcast", "IPaddr", []string{"10.0.0.5/24/10.0.0.255"},
			Spec{Agent: "IPaddr", Addr: a("10.0.0.5"), Bits: 24, Broadcast: a("10.0.0.255")}, "10.0.0.5/24//10.0.0.255"},
		{"dotted netmask", "IPaddr", []string{"10.0.0.5/255.255.255.0/eth1"},
			Spec{Agent: "IPaddr", Addr: a("10.0.0.5"), Bits: 24, Iface: "eth1"}, "10.0.0.5/24/eth1"},
		{"empty cidr, iface given", "IPaddr2", []string{"10.0.0.5//eth0"},
			Spec{Agent: "IPaddr2", Addr: a("10.0.0.5"), Bits: -1, Iface: "eth0"}, "10.0.0.5//eth0"},
		{"ipv6", "IPaddr2", []string{"fd00::5/64/eth0"},
			Spec{Agent: "IPaddr2", Addr: a("fd00::5"), Bits: 64, Iface: "eth0"}, "fd00::5/64/eth0"},
		{"ipv6 split by haresources' ::", "IPaddr2", []string{"fd00", "5/64/eth0"},
			Spec{Agent: "IPaddr2", Addr: a("fd00::5"), Bits: 64, Iface: "eth0"}, "fd00::5/64/eth0"},
		{"ipv6 split, then params", "IPaddr2", []string{"fd00", "5/64/eth0", "arp_count=2"},
			Spec{Agent: "IPaddr2", Addr: a("fd00::5"), Bits: 64, Iface: "eth0", ARPCount: 2}, "fd00::5/64/eth0"},
		{"ipv6 param split by haresources' ::", "IPaddr2", []string{"ip=fd00", "5", "cidr_netmask=64", "nic=eth0"},
			Spec{Agent: "IPaddr2", Addr: a("fd00::5"), Bits: 64, Iface: "eth0"}, "fd00::5/64/eth0"},
		{"ocf params", "IPaddr2", []string{"ip=10.0.0.5", "cidr_netmask=24", "nic=eth0", "broadcast=10.0.0.255", "iflabel=vip"},
			Spec{Agent: "IPaddr2", Addr: a("10.0.0.5"), Bits: 24, Iface: "eth0", Broadcast: a("10.0.0.255"), Label: "vip"}, "10.0.0.5/24/eth0/10.0.0.255"},
		{"short then params", "IPaddr2", []string{"10.0.0.5/24/eth0", "arp_count=3", "arp_interval=100"},
			Spec{Agent: "IPaddr2", Addr: a("10.0.0.5"), Bits: 24, Iface: "eth0", ARPCount: 3, ARPInterval: 100 * time.Millisecond}, "10.0.0.5/24/eth0"},
		{"ipv4-mapped is unmapped", "IPaddr2", []string{"ip=::ffff:10.0.0.5"},
			Spec{Agent: "IPaddr2", Addr: a("10.0.0.5"), Bits: -1}, "10.0.0.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.agent, tc.args)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.args, err)
			}
			if got != tc.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tc.args, got, tc.want)
			}
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error
	}{
		{nil, "no address"},
		{[]string{"10.0.0.256/24/eth0"}, `bad IP address "10.0.0.256"`},
		{[]string{"10.0.0.5/33/eth0"}, "too long"},
		{[]string{"10.0.0.5/0/eth0"}, `bad prefix length "0"`},
		{[]string{"fd00", "5", "6"}, `argument "6": want name=value`},
		{[]string{"10.0.0.5/x/eth0"}, `bad netmask "x"`},
		{[]string{"10.0.0.5/255.0.255.0"}, "not contiguous"},
		{[]string{"10.0.0.5/24/eth0/10.0.0.255/x"}, "too many"},
		{[]string{"10.0.0.5/24/10.0.0.255/eth0"}, "no fourth part"},
		{[]string{"10.0.0.5/24/eth0/10.0.1.255"}, "outside 10.0.0.0/24"},
		{[]string{"10.0.0.5/24/this-name-is-far-too-long"}, "bad interface name"},
		{[]string{"fd00::5/64/eth0/10.0.0.255"}, "IPv6 has no broadcast"},
		{[]string{"ip=fd00::5", "iflabel=x"}, "no labels"},
		{[]string{"fe80::5/64"}, "link-local"},
		{[]string{"224.0.0.5/24/eth0"}, "cannot be a floating address"},
		{[]string{"127.0.0.5/8/lo"}, "cannot be a floating address"},
		{[]string{"ip=10.0.0.5", "mask=24"}, `unknown parameter "mask"`},
		{[]string{"ip=10.0.0.5", "ip=10.0.0.6"}, "given twice"},
		{[]string{"nic=eth0"}, "no address given"},
		{[]string{"10.0.0.5/24", "eth0"}, "want name=value"},
		{[]string{"ip=10.0.0.5", "arp_count=0"}, "count from 1"},
		{[]string{"ip=10.0.0.5", "nic=eth0123456", "iflabel=abcdef"}, "longer than 15"},
	}
	for _, tc := range tests {
		_, err := Parse("IPaddr2", tc.args)
		if err == nil {
			t.Errorf("Parse(%q): no error, want one containing %q", tc.args, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "IPaddr2") {
			t.Errorf("Parse(%q) = %q, want an error starting IPaddr2 containing %q", tc.args, err, tc.want)
		}
	}
}

func TestGARPFrames(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	ip := netip.MustParseAddr("10.1.2.3")
	for _, op := range []uint16{arpRequest, arpReply} {
		f := garp(op, mac, ip)
		if len(f) != minFrame {
			t.Fatalf("frame length %d, want %d", len(f), minFrame)
		}
		if !bytes.Equal(f[0:6], ethBroadcast) || !bytes.Equal(f[6:12], mac) || binary.BigEndian.Uint16(f[12:]) != etherTypeARP {
			t.Errorf("op %d: bad Ethernet header % x", op, f[:14])
		}
		p := f[14:]
		if got := binary.BigEndian.Uint16(p[6:]); got != op {
			t.Errorf("op field %d, want %d", got, op)
		}
		if !bytes.Equal(p[14:18], []byte{10, 1, 2, 3}) || !bytes.Equal(p[24:28], []byte{10, 1, 2, 3}) {
			t.Errorf("op %d: sender/target IP % x / % x, want both 10.1.2.3", op, p[14:18], p[24:28])
		}
		wantTHA := make([]byte, 6)
		if op == arpReply {
			wantTHA = mac
		}
		if !bytes.Equal(p[18:24], wantTHA) {
			t.Errorf("op %d: target MAC % x, want % x", op, p[18:24], wantTHA)
		}
	}
}

func TestNAFrame(t *testing.T) {
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	ip := netip.MustParseAddr("fd00::5")
	f := unsolicitedNA(mac, ip)
	if binary.BigEndian.Uint16(f[12:]) != etherTypeIPv6 || !bytes.Equal(f[0:6], allNodesMAC) {
		t.Fatalf("bad Ethernet header % x", f[:14])
	}
	h := f[14:54]
	if h[6] != 58 || h[7] != 255 {
		t.Errorf("next header %d hop limit %d, want 58 and 255", h[6], h[7])
	}
	m := f[54:]
	if m[0] != 136 || m[4]&0x20 == 0 || m[4]&0x40 != 0 {
		t.Errorf("type %d flags %#x: want NA with Override and not Solicited", m[0], m[4])
	}
	// A correct checksum makes the sum over pseudo-header and message
	// (checksum included) come out as 0xffff, i.e. recomputing gives 0.
	var src, dst [16]byte
	copy(src[:], h[8:24])
	copy(dst[:], h[24:40])
	if c := icmpv6Checksum(src, dst, m); c != 0 {
		t.Errorf("checksum does not verify: residue %#x", c)
	}
	// A known value: the same message with a flipped bit must not verify.
	m[10] ^= 1
	if c := icmpv6Checksum(src, dst, m); c == 0 {
		t.Error("a corrupted message verifies")
	}
}

func TestMainArguments(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"IPaddr2", nil, ExitBadArgs, "usage: IPaddr2"},
		{"IPaddr2", []string{"start"}, ExitBadArgs, "usage: IPaddr2"},
		{"IPaddr2", []string{"10.0.0.5/24/eth0", "restart"}, ExitUnimplemented, `unknown operation "restart"`},
		{"IPaddr", []string{"10.0.0.500/24/eth0", "start"}, ExitBadArgs, `bad IP address "10.0.0.500"`},
		{"IPaddr2", []string{"ip=10.0.0.5", "colour=blue", "status"}, ExitBadArgs, `unknown parameter "colour"`},
		{"awseip", []string{"10.0.0.5", "start"}, ExitBadArgs, "not an agent of this package"},
		{"IPaddr2", []string{"--help"}, ExitOK, ""},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := Main(tc.name, tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("Main(%s, %q) = %d, stderr %q; want %d with %q", tc.name, tc.args, code, errb.String(), tc.code, tc.stderr)
		}
		if tc.code != ExitOK && out.Len() != 0 {
			t.Errorf("Main(%s, %q) wrote %q to stdout; a failure must not look like a status", tc.name, tc.args, out.String())
		}
	}
}

func TestAddressResources(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // the address announced; "" : not an address resource
		err  bool
	}{
		{"IPaddr", []string{"10.0.0.5"}, "10.0.0.5", false},
		{"IPaddr2", []string{"10.0.0.5/24/eth0"}, "10.0.0.5", false},
		{"IPv6addr", []string{"fd00", "5/64/eth0"}, "fd00::5", false},
		{"ocf:heartbeat:IPaddr2", []string{"ip=10.0.0.7", "cidr_netmask=24", "nic=eth0", "lvs_support=false"}, "10.0.0.7", false},
		{"ocf:heartbeat:IPv6addr", []string{"ipv6addr=fd00", "7", "cidr_netmask=64"}, "fd00::7", false},
		{"ocf:heartbeat:IPaddr2", []string{"cidr_netmask=24"}, "", true},
		{"IPaddr2", []string{"not-an-ip"}, "", true},
		{"apache", []string{"10.0.0.5"}, "", false},
		{"ocf:heartbeat:apache", []string{"configfile=/etc/apache2.conf"}, "", false},
		{"awseip", []string{"eipalloc-0123456789abcdef0"}, "", false},
	} {
		if !IsAddress(tc.name) {
			if tc.want != "" || tc.err {
				t.Errorf("IsAddress(%q) = false, want true", tc.name)
			}
			continue
		}
		if tc.want == "" && !tc.err {
			t.Errorf("IsAddress(%q) = true, want false", tc.name)
			continue
		}
		s, err := AddressSpec(tc.name, tc.args)
		switch {
		case tc.err && err == nil:
			t.Errorf("AddressSpec(%q, %q) = %v, want an error", tc.name, tc.args, s)
		case !tc.err && err != nil:
			t.Errorf("AddressSpec(%q, %q): %v", tc.name, tc.args, err)
		case !tc.err && s.Addr.String() != tc.want:
			t.Errorf("AddressSpec(%q, %q).Addr = %s, want %s", tc.name, tc.args, s.Addr, tc.want)
		}
	}
}
