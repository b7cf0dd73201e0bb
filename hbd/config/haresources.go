package config

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hbdproject/hbd/resources/ocf"
	"github.com/hbdproject/hbd/resources/service"
)

// ParseHaresources reads a haresources file. name is used in diagnostics.
// It checks the syntax and the addresses of IPaddr / IPaddr2 resources;
// Load checks the preferred nodes against ha.cf and resolves the scripts.
//
// One logical line is one group: `NODE RES[::ARG...]...`. A line ending in
// `\` continues on the next; `#` starts a comment, also after a resource.
// Diagnostics about a group point at the line where the group starts.
func ParseHaresources(name string, r io.Reader) ([]Group, []Diag) {
	d := diags{file: name}
	text, err := readAll(r)
	if err != nil {
		d.errorf(0, "cannot read haresources: %v", err)
		return nil, d.list
	}
	var (
		groups    []Group
		keyLine   = map[string]int{}
		buf       []string
		startLine int
	)
	flush := func() {
		if len(buf) > 0 {
			if g, ok := parseGroup(&d, startLine, buf); ok {
				if prev, dup := keyLine[g.Key()]; dup {
					d.errorf(startLine, "group %s is defined twice (also on line %d); a resource group's first resource names it and must be unique", g.Key(), prev)
				} else {
					keyLine[g.Key()] = startLine
					groups = append(groups, g)
				}
			}
		}
		buf, startLine = nil, 0
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	continued := false
	for i, raw := range lines {
		line := i + 1
		if j := strings.IndexByte(raw, '#'); j >= 0 {
			raw = raw[:j]
		}
		raw = strings.TrimRight(raw, " \t\r\f\v")
		continued = strings.HasSuffix(raw, "\\")
		raw = strings.TrimSuffix(raw, "\\")
		if fields := strings.Fields(raw); len(fields) > 0 {
			if startLine == 0 {
				startLine = line
			}
			buf = append(buf, fields...)
		}
		if !continued {
			flush()
		}
	}
	if continued && len(buf) > 0 {
		d.warnf(startLine, "the file ends inside a `\\` continuation; the group is read as it stands")
	}
	flush()
	if len(groups) == 0 && !HasErrors(d.list) {
		d.warnf(0, "no resource groups: hbd will exchange heartbeats but manage no resources")
	}
	return groups, d.list
}

// parseGroup reads one logical line split in words.
func parseGroup(d *diags, line int, words []string) (Group, bool) {
	g := Group{Pos: Pos{d.file, line}}
	node := words[0]
	if strings.Contains(node, "::") || isBareIPv4(node) {
		d.errorf(line, "a group starts with its preferred node's name, not a resource (%q); write `NODE %s ...`", node, node)
		return g, false
	}
	if why := validNodeName(node); why != "" {
		d.errorf(line, "preferred node %q %s", node, why)
		return g, false
	}
	g.Preferred = strings.ToLower(node)
	if len(words) == 1 {
		d.errorf(line, "group for node %s lists no resources; write `%s RESOURCE...` or remove the line", g.Preferred, g.Preferred)
		return g, false
	}
	ok := true
	for _, w := range words[1:] {
		res, err := parseResource(w)
		if err != nil {
			d.errorf(line, "%v", err)
			ok = false
			continue
		}
		res.Pos = g.Pos
		g.Resources = append(g.Resources, res)
	}
	return g, ok
}

// isBareIPv4 reports whether a haresources word is Heartbeat's shorthand for
// IPaddr::WORD: it starts like a dotted quad.
func isBareIPv4(w string) bool {
	if strings.Contains(w, "::") {
		return false
	}
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	return i > 0 && i < len(w) && w[i] == '.'
}

// parseResource reads one `NAME[::ARG...]` word.
func parseResource(w string) (Resource, error) {
	spec := w
	if isBareIPv4(w) {
		spec = "IPaddr::" + w
	}
	parts := strings.Split(spec, "::")
	r := Resource{Spec: spec, Name: parts[0], Args: parts[1:]}
	switch {
	case r.Name == "":
		return r, fmt.Errorf("resource %q has no script name before `::`", w)
	case strings.ContainsAny(r.Name, "/\\") || r.Name == "." || r.Name == "..":
		return r, fmt.Errorf("resource %q: %q is not a script name (no paths; put the script in resource.d/)", w, r.Name)
	}
	for i, a := range r.Args {
		if a == "" {
			return r, fmt.Errorf("resource %q: argument %d is empty (check the `::` separators)", w, i+1)
		}
	}
	switch {
	case ocf.IsName(r.Name):
		if _, err := ocf.Parse("", r.Name, r.Args); err != nil {
			return r, fmt.Errorf("resource %q: %v", w, err)
		}
	case r.Name == "service":
		if len(r.Args) != 1 {
			return r, fmt.Errorf("resource %q: service takes one argument, the unit or init script: service::NAME (e.g. service::nginx)", w)
		}
		if err := service.CheckName(r.Args[0]); err != nil {
			return r, fmt.Errorf("resource %q: %v", w, err)
		}
	}
	if r.Name == "IPaddr" || r.Name == "IPaddr2" {
		if len(r.Args) == 0 {
			return r, fmt.Errorf("resource %s needs an address: %s::IP[/CIDR[/IFACE[/BROADCAST]]]", r.Name, r.Name)
		}
		if err := checkIPaddrArg(r.Args[0]); err != nil {
			return r, fmt.Errorf("resource %s: %v", w, err)
		}
	}
	return r, nil
}

// checkIPaddrArg checks IP[/CIDR[/IFACE[/BROADCAST]]] (or IP/CIDR/BROADCAST).
func checkIPaddrArg(a string) error {
	const form = "expected IP[/CIDR[/IFACE[/BROADCAST]]], e.g. 10.0.0.100/24/eth0"
	parts := strings.Split(a, "/")
	if len(parts) > 4 {
		return fmt.Errorf("%q has too many parts; %s", a, form)
	}
	ip, err := netip.ParseAddr(parts[0])
	if err != nil || !ip.Is4() {
		return fmt.Errorf("%q is not an IPv4 address; %s", parts[0], form)
	}
	if ip.IsUnspecified() || ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Errorf("%s cannot be a service address; %s", ip, form)
	}
	if len(parts) > 1 {
		if err := checkNetmask(parts[1]); err != nil {
			return fmt.Errorf("%s: %v; %s", a, err, form)
		}
	}
	if len(parts) > 2 {
		if b, err := netip.ParseAddr(parts[2]); err == nil {
			if len(parts) == 4 || !b.Is4() {
				return fmt.Errorf("%s: the third part must be an interface name (or, as the last part, an IPv4 broadcast); %s", a, form)
			}
		} else if why := validIface(parts[2]); why != "" || parts[2] == "" {
			if parts[2] == "" {
				why = "is empty"
			}
			return fmt.Errorf("%s: interface %q %s; %s", a, parts[2], why, form)
		}
	}
	if len(parts) == 4 {
		b, err := netip.ParseAddr(parts[3])
		if err != nil || !b.Is4() {
			return fmt.Errorf("%s: broadcast %q is not an IPv4 address; %s", a, parts[3], form)
		}
	}
	return nil
}

// checkNetmask accepts a prefix length 1..32 or a dotted netmask.
func checkNetmask(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 32 {
			return fmt.Errorf("prefix length %d is out of range (1 to 32)", n)
		}
		return nil
	}
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() {
		return fmt.Errorf("netmask %q is neither a prefix length (24) nor a dotted mask (255.255.255.0)", s)
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if inv := ^v; v == 0 || inv&(inv+1) != 0 {
		return fmt.Errorf("netmask %s is not contiguous", s)
	}
	return nil
}
