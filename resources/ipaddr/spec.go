package ipaddr

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/resources/agents"
)

// The names the agent answers to. Both take the same arguments and behave
// the same; IPaddr2 is what the resource-agents package calls the
// iproute2-based one, IPaddr the ifconfig-era one.
const (
	NameIPaddr  = "IPaddr"
	NameIPaddr2 = "IPaddr2"
)

// IsName reports whether name is one of the agent's names.
func IsName(name string) bool { return name == NameIPaddr || name == NameIPaddr2 }

// Spec is one address resource: what address goes on which interface.
// Parse builds it from haresources arguments; the zero values of the
// optional fields mean "work it out" (see Resolve).
type Spec struct {
	// Agent is the name the resource was called by (IPaddr or IPaddr2);
	// it only changes what the log lines say.
	Agent string
	// Addr is the address, IPv4 or IPv6 (no zone).
	Addr netip.Addr
	// Bits is the prefix length; -1 means "the prefix length of the
	// connected route that covers Addr" (IPaddr's calculated netmask).
	Bits int
	// Iface is the interface; "" means "the interface whose connected
	// route covers Addr".
	Iface string
	// Broadcast is the IPv4 broadcast address; the zero Addr means the
	// highest address of the subnet (none for /31 and /32).
	Broadcast netip.Addr
	// Label is IPaddr2's iflabel: the IPv4 address gets the label
	// IFACE:LABEL. "" means the first free IFACE:N (N = 0, 1, ...).
	Label string
	// ARPCount and ARPInterval override the announcement burst (packets
	// of each form per burst, pause between them); 0 keeps the defaults.
	ARPCount    int
	ARPInterval time.Duration
}

// String is the resource in IPaddr's own notation, as far as it was given:
// "10.0.0.5/24/eth0", "10.0.0.5", "fd00::5/64/eth0".
func (s Spec) String() string {
	var b strings.Builder
	b.WriteString(s.Addr.String())
	switch {
	case s.Bits >= 0:
		fmt.Fprintf(&b, "/%d", s.Bits)
	case s.Iface != "" || s.Broadcast.IsValid():
		b.WriteString("/")
	}
	if s.Iface != "" {
		b.WriteString("/" + s.Iface)
	}
	if s.Broadcast.IsValid() {
		if s.Iface == "" {
			b.WriteString("/")
		}
		b.WriteString("/" + s.Broadcast.String())
	}
	return b.String()
}

// ifnameRE is what Linux accepts as an interface name (IFNAMSIZ-1 bytes,
// no '/', no ':' , no whitespace), kept to the usual characters.
var ifnameRE = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,15}$`)

// labelRE is what an iflabel may hold.
var labelRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,14}$`)

// Parameter names accepted in name=value form (IPaddr2's OCF parameters).
var knownParams = map[string]string{
	"ip":           "the address",
	"cidr_netmask": "prefix length (24) or IPv4 netmask (255.255.255.0)",
	"nic":          "interface",
	"broadcast":    "IPv4 broadcast address",
	"iflabel":      "IPv4 label suffix (eth0:LABEL)",
	"arp_count":    "announcement packets of each form per burst",
	"arp_interval": "milliseconds between announcement packets",
}

// Parse reads the arguments of an IPaddr / IPaddr2 resource (the
// haresources arguments, without the operation):
//
//	IP[/CIDR[/IFACE[/BROADCAST]]]      10.0.0.5/24/eth0
//	IP/CIDR/BROADCAST                  a numeric third part is the broadcast
//	name=value ...                     ip=10.0.0.5 cidr_netmask=24 nic=eth0
//	IP/CIDR/IFACE name=value ...       the short form, then parameters
//
// CIDR is a prefix length or, for IPv4, a dotted netmask; an empty part
// is left to be worked out (10.0.0.5//eth0). The name=value names are
// IPaddr2's OCF parameters: ip, cidr_netmask, nic, broadcast, iflabel,
// arp_count, arp_interval (ms). An IPv6 address that haresources' `::`
// separator split (fd00::5/64 written as IPaddr2::fd00::5/64 arrives as
// "fd00", "5/64") is joined back first.
//
// Parse is the one parser of these arguments: the agent runs with it and
// `hbd check` checks haresources with it (see Agents).
func Parse(agent string, args []string) (Spec, error) {
	s := Spec{Agent: agent, Bits: -1}
	if agent == "" {
		s.Agent = NameIPaddr2
	}
	args = agents.JoinIPv6(args)
	if len(args) == 0 {
		return s, fmt.Errorf("%s: no address given (want IP[/CIDR[/IFACE[/BROADCAST]]] or ip=IP ...)", s.Agent)
	}
	rest := args
	if !strings.Contains(args[0], "=") {
		if err := s.parseShort(args[0]); err != nil {
			return s, fmt.Errorf("%s %s: %w", s.Agent, args[0], err)
		}
		rest = args[1:]
	}
	seen := map[string]bool{}
	for _, a := range rest {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			return s, fmt.Errorf("%s: argument %q: want name=value after the address (or a single IP[/CIDR[/IFACE[/BROADCAST]]])", s.Agent, a)
		}
		if _, known := knownParams[name]; !known {
			return s, fmt.Errorf("%s: unknown parameter %q (known: %s)", s.Agent, name, paramList())
		}
		if seen[name] {
			return s, fmt.Errorf("%s: parameter %s given twice", s.Agent, name)
		}
		seen[name] = true
		if err := s.setParam(name, value); err != nil {
			return s, fmt.Errorf("%s: %s=%s: %w", s.Agent, name, value, err)
		}
	}
	if !s.Addr.IsValid() {
		return s, fmt.Errorf("%s: no address given (ip=...)", s.Agent)
	}
	if err := s.check(); err != nil {
		return s, fmt.Errorf("%s %s: %w", s.Agent, s, err)
	}
	return s, nil
}

func paramList() string {
	names := make([]string, 0, len(knownParams))
	for n := range knownParams {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// parseShort reads IP[/CIDR[/IFACE[/BROADCAST]]].
func (s *Spec) parseShort(arg string) error {
	parts := strings.Split(arg, "/")
	if len(parts) > 4 {
		return errors.New("too many '/' parts (want IP[/CIDR[/IFACE[/BROADCAST]]])")
	}
	if err := s.setParam("ip", parts[0]); err != nil {
		return err
	}
	if len(parts) > 1 && parts[1] != "" {
		if err := s.setParam("cidr_netmask", parts[1]); err != nil {
			return err
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		if _, err := netip.ParseAddr(parts[2]); err == nil || isDigits(parts[2]) {
			// IP/CIDR/BROADCAST: a numeric third part is the broadcast.
			if len(parts) > 3 {
				return fmt.Errorf("third part %q is an address (the broadcast), so there can be no fourth part", parts[2])
			}
			return s.setParam("broadcast", parts[2])
		}
		if err := s.setParam("nic", parts[2]); err != nil {
			return err
		}
	}
	if len(parts) > 3 && parts[3] != "" {
		return s.setParam("broadcast", parts[3])
	}
	return nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return s != ""
}

func (s *Spec) setParam(name, value string) error {
	switch name {
	case "ip":
		a, err := netip.ParseAddr(value)
		if err != nil {
			return fmt.Errorf("bad IP address %q", value)
		}
		if a.Zone() != "" {
			return fmt.Errorf("IP address %q: no zone, please (give the interface as IFACE / nic=)", value)
		}
		s.Addr = a.Unmap()
	case "cidr_netmask":
		bits, err := parseBits(value)
		if err != nil {
			return err
		}
		s.Bits = bits
	case "nic":
		if !ifnameRE.MatchString(value) {
			return fmt.Errorf("bad interface name %q (1 to 15 letters, digits, '_', '.', '-', '@')", value)
		}
		s.Iface = value
	case "broadcast":
		a, err := netip.ParseAddr(value)
		if err != nil || !a.Is4() {
			return fmt.Errorf("bad broadcast address %q (want an IPv4 address)", value)
		}
		s.Broadcast = a
	case "iflabel":
		if !labelRE.MatchString(value) {
			return fmt.Errorf("bad label %q (letters, digits, '_', '.', '-')", value)
		}
		s.Label = value
	case "arp_count":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 100 {
			return fmt.Errorf("want a count from 1 to 100")
		}
		s.ARPCount = n
	case "arp_interval":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 10000 {
			return fmt.Errorf("want milliseconds from 1 to 10000")
		}
		s.ARPInterval = time.Duration(n) * time.Millisecond
	}
	return nil
}

// parseBits reads a prefix length ("24") or a dotted IPv4 netmask
// ("255.255.255.0").
func parseBits(v string) (int, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 || n > 128 {
			return 0, fmt.Errorf("bad prefix length %q (1 to 32 for IPv4, 1 to 128 for IPv6)", v)
		}
		return n, nil
	}
	m, err := netip.ParseAddr(v)
	if err != nil || !m.Is4() {
		return 0, fmt.Errorf("bad netmask %q (want a prefix length like 24 or a netmask like 255.255.255.0)", v)
	}
	b := m.As4()
	x := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for x&0x80000000 != 0 {
		ones++
		x <<= 1
	}
	if x != 0 {
		return 0, fmt.Errorf("netmask %q is not contiguous", v)
	}
	return ones, nil
}

// check validates the combination of fields.
func (s *Spec) check() error {
	a := s.Addr
	if a.IsUnspecified() || a.IsMulticast() || a.IsLoopback() {
		return fmt.Errorf("%s cannot be a floating address (unspecified, multicast or loopback)", a)
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("%s cannot be a floating address (broadcast)", a)
	}
	if s.Bits > a.BitLen() {
		return fmt.Errorf("prefix length %d is too long for %s", s.Bits, a)
	}
	if a.Is6() {
		if s.Broadcast.IsValid() {
			return errors.New("IPv6 has no broadcast address")
		}
		if s.Label != "" {
			return errors.New("IPv6 addresses have no labels (iflabel is IPv4 only)")
		}
		if a.IsLinkLocalUnicast() && s.Iface == "" {
			return errors.New("a link-local IPv6 address needs its interface (IP/CIDR/IFACE or nic=)")
		}
	}
	if s.Broadcast.IsValid() && s.Bits >= 0 {
		if p := netip.PrefixFrom(a, s.Bits).Masked(); !p.Contains(s.Broadcast) {
			return fmt.Errorf("broadcast %s is outside %s", s.Broadcast, p)
		}
	}
	if s.Label != "" && s.Iface != "" && len(s.Iface)+1+len(s.Label) > 15 {
		return fmt.Errorf("label %s:%s is longer than 15 characters", s.Iface, s.Label)
	}
	return nil
}
