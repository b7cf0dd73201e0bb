package config

import (
	"strings"
	"testing"
)

func TestParseHaresourcesDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"simple", "node1 IPaddr::10.0.0.1 web\n", nil},
		{"comments", "# groups\n\nnode1 web # the web server\n  # more\n", nil},
		{"empty", "", []want{w(0, "no resource groups")}},
		{"only comments", "# nothing yet\n", []want{w(0, "no resource groups")}},
		{"node alone", "node1\n", []want{e(1, "group for node node1 lists no resources")}},
		{"node alone after comment", "# x\nnode1   # no resources\n", []want{e(2, "lists no resources")}},
		{"resource first", "IPaddr::10.0.0.1 web\n", []want{e(1, "a group starts with its preferred node's name")}},
		{"ip first", "10.0.0.1 web\n", []want{e(1, "a group starts with its preferred node's name")}},
		{"duplicate group", "node1 web\nnode2 web db\n", []want{e(2, "group web is defined twice (also on line 1)")}},
		{"duplicate bare ip", "node1 10.0.0.1\nnode2 IPaddr::10.0.0.1\n", []want{e(2, "group IPaddr::10.0.0.1 is defined twice")}},
		{"no name", "node1 ::x\n", []want{e(1, `resource "::x" has no script name`)}},
		{"path", "node1 ../../bin/sh\n", []want{e(1, `"../../bin/sh" is not a script name`)}},
		{"empty arg", "node1 Filesystem::::/mnt\n", []want{e(1, "argument 1 is empty")}},
		{"trailing empty arg", "node1 web::\n", []want{e(1, "argument 1 is empty")}},
		// Not UTF-8 (Latin-1 é): a key, another resource, an explicit
		// name; UTF-8 and a Latin-1 comment are fine.
		{"key not UTF-8", "node1 Filesystem::/dev/sdb1::/srv/caf\xe9::ext4\n", []want{e(1, `resource "Filesystem::/dev/sdb1::/srv/caf\xe9::ext4" is not UTF-8 text`)}},
		{"second resource not UTF-8", "node1 web svc::caf\xe9\n", []want{e(1, `resource "svc::caf\xe9" is not UTF-8 text`)}},
		{"name not UTF-8", "#hbd name caf\xe9\nnode1 web\n", []want{e(1, `group name "caf\xe9" is not UTF-8 text`)}},
		{"UTF-8 and a Latin-1 comment", "# caf\xe9\nnode1 svc::café::日本\n", nil},
		{"bad bare ip", "node1 10.0.0.256\n", []want{e(1, `resource "10.0.0.256": IPaddr 10.0.0.256: bad IP address "10.0.0.256"`)}},
		{"short bare ip", "node1 10.0.0\n", []want{e(1, `bad IP address "10.0.0"`)}},
		{"ipaddr no arg", "node1 IPaddr\n", []want{e(1, "IPaddr: no address given (want IP[/CIDR[/IFACE[/BROADCAST]]] or ip=IP ...)")}},
		{"ipaddr2 bad cidr", "node1 IPaddr2::10.0.0.1/33\n", []want{e(1, "prefix length 33 is too long for 10.0.0.1")}},
		{"ipaddr2 zero cidr", "node1 IPaddr2::10.0.0.1/0\n", []want{e(1, `bad prefix length "0"`)}},
		{"ipaddr2 dotted mask", "node1 IPaddr2::10.0.0.1/255.255.255.0/eth0\n", nil},
		{"ipaddr2 holey mask", "node1 IPaddr2::10.0.0.1/255.0.255.0\n", []want{e(1, `netmask "255.0.255.0" is not contiguous`)}},
		{"ipaddr2 word mask", "node1 IPaddr2::10.0.0.1/big\n", []want{e(1, `bad netmask "big"`)}},
		{"ipaddr2 bad broadcast", "node1 IPaddr2::10.0.0.1/24/eth0/10.0.0.300\n", []want{e(1, `bad broadcast address "10.0.0.300"`)}},
		{"ipaddr2 too many parts", "node1 IPaddr2::10.0.0.1/24/eth0/10.0.0.255/x\n", []want{e(1, "too many '/' parts")}},
		{"ipaddr2 bad iface", "node1 IPaddr2::10.0.0.1/24/eth0:1\n", []want{e(1, `bad interface name "eth0:1"`)}},
		{"ipaddr2 empty iface", "node1 IPaddr2::10.0.0.1/24//10.0.0.255\n", nil},
		{"ipaddr2 empty cidr", "node1 IPaddr2::10.0.0.5//eth0\n", nil},
		{"ipaddr2 ipv6", "node1 IPaddr2::fd00::1/64\n", nil},
		{"ipaddr2 ipv6 iface", "node1 IPaddr2::fd00::5/64/eth0\n", nil},
		{"ipaddr2 ipv6 name=value", "node1 IPaddr2::ip=fd00::5::cidr_netmask=64::nic=eth0\n", nil},
		{"ipaddr2 ipv6 broadcast", "node1 IPaddr2::fd00::5/64/eth0/10.0.0.255\n", []want{e(1, "IPv6 has no broadcast address")}},
		{"ipaddr2 ipv6 link-local", "node1 IPaddr2::fe80::5/64\n", []want{e(1, "a link-local IPv6 address needs its interface")}},
		{"ipaddr2 name=value", "node1 IPaddr2::ip=10.0.0.5::cidr_netmask=24::nic=eth0::iflabel=web\n", nil},
		{"ipaddr2 short then name=value", "node1 IPaddr2::10.0.0.5/24/eth0::arp_count=3\n", nil},
		{"ipaddr2 unknown parameter", "node1 IPaddr2::10.0.0.5/24::mask=24\n", []want{e(1, `unknown parameter "mask" (known: arp_count, arp_interval, broadcast, cidr_netmask, iflabel, ip, nic)`)}},
		{"ipaddr2 parameter twice", "node1 IPaddr2::ip=10.0.0.5::ip=10.0.0.6\n", []want{e(1, "parameter ip given twice")}},
		{"ipaddr2 no ip", "node1 IPaddr2::nic=eth0\n", []want{e(1, "no address given (ip=...)")}},
		{"ipaddr2 word after address", "node1 IPaddr2::10.0.0.5/24::eth0\n", []want{e(1, `argument "eth0": want name=value after the address`)}},
		{"ipaddr2 bad arp_count", "node1 IPaddr2::10.0.0.5::arp_count=0\n", []want{e(1, "want a count from 1 to 100")}},
		{"ipaddr2 multicast", "node1 IPaddr2::224.0.0.1/24\n", []want{e(1, "224.0.0.1 cannot be a floating address")}},
		{"ipaddr2 loopback", "node1 IPaddr2::127.0.0.2/8\n", []want{e(1, "127.0.0.2 cannot be a floating address")}},
		{"ipaddr2 broadcast outside", "node1 IPaddr2::10.0.0.5/24/eth0/10.0.1.255\n", []want{e(1, "broadcast 10.0.1.255 is outside 10.0.0.0/24")}},
		{"ipaddr2 label too long", "node1 IPaddr2::ip=10.0.0.5::nic=eth0123456::iflabel=abcdefg\n", []want{e(1, "longer than 15 characters")}},
		{"ipaddr broadcast third", "node1 IPaddr::10.0.0.1/24/10.0.0.255\n", nil},
		{"bare ip forms", "node1 10.0.0.1\nnode2 10.0.0.2/24\nnode1 10.0.0.3/24/eth0\nnode2 10.0.0.4/24/eth0/10.0.0.255\n", nil},
		{"continuation error at group start", "node1 web \\\n  db \\\n  10.0.0.999\nnode2 x\n", []want{e(1, `bad IP address "10.0.0.999"`)}},
		{"continuation with comment", "node1 web \\ # the web\n  db\n", nil},
		{"continuation at eof", "node1 web \\\n", []want{w(1, "the file ends inside a `\\` continuation")}},
		{"bad node name", "node,1 web\n", []want{e(1, `preferred node "node,1" contains a comma`)}},
		{"node name with a pipe", "node|1 web\n", []want{e(1, `preferred node "node|1" contains a character a host name cannot have`)}},
		{"key with a pipe", "node1 MailTo::a|b web\n", []want{e(1, `group key "MailTo::a|b" (the group's first resource) contains "|"`)}},
		{"pipe after the key", "node1 web MailTo::a|b\n", nil},
		{"node name with a control character", "node\x1b1 web\n", []want{e(1, `preferred node "node\x1b1" contains a control character`)}},
		{"every error reported", "node1\nnode2 ::a\nnode1 IPaddr::1.2.3.4/99\n",
			[]want{e(1, "lists no resources"), e(2, "has no script name"), e(3, "prefix length 99")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseHaresources("haresources", strings.NewReader(tt.in), hbdAgents)
			checkDiags(t, got, tt.want)
		})
	}
}

func TestParseHaresourcesGroups(t *testing.T) {
	in := `# two groups
NODE1 10.0.0.100/24/eth0 \
      Filesystem::/dev/sdb1::/srv::ext4 \
      nginx   # web
node2 IPaddr2::10.0.0.101
`
	groups, diags := ParseHaresources("haresources", strings.NewReader(in), hbdAgents)
	checkDiags(t, diags, nil)
	if len(groups) != 2 {
		t.Fatalf("got %d groups, want 2: %+v", len(groups), groups)
	}
	g := groups[0]
	if g.Preferred != "node1" || g.Pos.Line != 2 || g.Key() != "IPaddr::10.0.0.100/24/eth0" {
		t.Errorf("group 0 = preferred %q line %d key %q", g.Preferred, g.Pos.Line, g.Key())
	}
	want := []struct {
		spec, name, args string
	}{
		{"IPaddr::10.0.0.100/24/eth0", "IPaddr", "10.0.0.100/24/eth0"},
		{"Filesystem::/dev/sdb1::/srv::ext4", "Filesystem", "/dev/sdb1 /srv ext4"},
		{"nginx", "nginx", ""},
	}
	if len(g.Resources) != len(want) {
		t.Fatalf("got %d resources, want %d", len(g.Resources), len(want))
	}
	for i, wr := range want {
		r := g.Resources[i]
		if r.Spec != wr.spec || r.Name != wr.name || strings.Join(r.Args, " ") != wr.args || r.Pos.Line != 2 {
			t.Errorf("resource %d = %+v, want %+v at line 2", i, r, wr)
		}
	}
	if groups[1].Pos.Line != 5 || groups[1].Key() != "IPaddr2::10.0.0.101" {
		t.Errorf("group 1 = %+v", groups[1])
	}
}
