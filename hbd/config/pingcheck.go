package config

import "fmt"

// checkPingSockets says, at the first ping line of each address family,
// when this machine would not let hbd open the ICMP socket its ping
// nodes need (LoadOptions.ICMP). Strict (hbd run, hbd check) it is an
// error, as for a medium's missing interface: a node that cannot ping
// would run with none of its ping nodes watched, the split-brain rules
// that rely on them silently off. With AnyMachine (the files are for
// another machine), or not Strict, a warning.
func checkPingSockets(c *Config, opts LoadOptions) []Diag {
	if opts.ICMP == nil || c.Backend == BackendEtcd || len(c.Ping) == 0 {
		return nil
	}
	d := diags{file: c.Ping[0].Pos.File}
	tried := map[bool]bool{}
	for _, pg := range c.Ping {
		for _, h := range pg.Hosts {
			v6 := h.Is6() && !h.Is4In6()
			if tried[v6] {
				continue
			}
			tried[v6] = true
			err := opts.ICMP(v6)
			if err == nil {
				continue
			}
			directive := "ping"
			if pg.Group {
				directive = "ping_group " + pg.Name
			}
			family := map[bool]string{false: "IPv4", true: "IPv6"}[v6]
			msg := fmt.Sprintf("%s: %s cannot be pinged from here: %v", directive, h, err)
			fix := fmt.Sprintf("run hbd as root with CAP_NET_RAW (a unit's CapabilityBoundingSet or a container that drops it must give it back), or allow hbd's group unprivileged %s ping sockets (sysctl net.ipv4.ping_group_range), or remove the ping lines", family)
			if opts.Strict && !opts.AnyMachine {
				d.machinef(pg.Pos.Line, "%s; hbd run refuses to start with ping nodes it cannot ping: %s", msg, fix)
			} else {
				d.warnf(pg.Pos.Line, "%s; `hbd run` refuses to start on a machine that does not allow it: %s", msg, fix)
			}
		}
	}
	return d.list
}
