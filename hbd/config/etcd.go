package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Backend is the source of truth for who holds a group (ha.cf backend).
type Backend string

// The backends.
const (
	// BackendHeartbeat is Heartbeat's protocol: UDP heartbeats, peers'
	// announcements and hbd's placement rule (the default).
	BackendHeartbeat Backend = "heartbeat"
	// BackendEtcd keeps each group's owner in etcd under a lease
	// (docs/guide-etcd.md).
	BackendEtcd Backend = "etcd"
)

// DefaultEtcdPrefix is etcd_prefix's default. etcd_lease has no fixed
// default: without the line it is MinEtcdLease of the longest group (in
// whole seconds), the shortest lease that is safe.
const DefaultEtcdPrefix = "/hbd/"

// Etcd is the etcd backend's settings (the etcd_ directives).
type Etcd struct {
	// Endpoints are the etcd client URLs (http:// or https://).
	Endpoints []string
	// Prefix starts every key hbd writes; it ends with "/".
	Prefix string
	// CACert verifies the servers; Cert and Key authenticate this node.
	// Empty: not used.
	CACert, Cert, Key string
	// User is the common name of Cert's certificate, the etcd user this
	// node is when etcd's authentication is on, read by Load from the
	// certificate and key it checked on this machine; empty when it did
	// not (no etcd_cert, or the files were not checked or are wrong).
	User string
	// Lease is the TTL of this node's lease: a node that cannot renew it
	// stops its groups before it can expire. Whole seconds (etcd grants
	// leases in seconds); without etcd_lease, MinEtcdLease of the longest
	// group, set by Load (0 from ParseHaCf alone).
	Lease time.Duration
	// Pos is the backend line; LeasePos the etcd_lease line (zero when
	// the default applies).
	Pos, LeasePos Pos
}

// etcdTable adds the backend and etcd directives to the ha.cf table.
func (p *hacfParser) etcdTable(t map[string]directive) {
	c := p.c
	t["backend"] = directive{"backend heartbeat|etcd", 1, 1, p.backend}
	t["etcd_endpoints"] = directive{"etcd_endpoints URL [URL...]", 1, -1, p.etcdEndpoints}
	t["etcd_prefix"] = directive{"etcd_prefix /PREFIX/", 1, 1, p.etcdPrefix}
	t["etcd_cacert"] = directive{"etcd_cacert PATH", 1, 1, p.path(&c.Etcd.CACert)}
	t["etcd_cert"] = directive{"etcd_cert PATH", 1, 1, p.path(&c.Etcd.Cert)}
	t["etcd_key"] = directive{"etcd_key PATH", 1, 1, p.path(&c.Etcd.Key)}
	t["etcd_lease"] = p.timeDir("etcd_lease TIME", &c.Etcd.Lease, nil)
}

func (p *hacfParser) backend(line int, args []string) {
	switch b := Backend(strings.ToLower(args[0])); b {
	case BackendHeartbeat, BackendEtcd:
		p.c.Backend = b
	default:
		p.d.errorf(line, "backend: unknown backend %q (heartbeat or etcd)", args[0])
	}
}

func (p *hacfParser) etcdEndpoints(line int, args []string) {
	var eps []string
	for _, a := range args {
		for _, s := range strings.Split(a, ",") {
			if s == "" {
				continue
			}
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" {
				p.d.errorf(line, "etcd_endpoints: %q is not an etcd client URL (http://HOST:PORT or https://HOST:PORT)", s)
				return
			}
			eps = append(eps, s)
		}
	}
	p.c.Etcd.Endpoints = eps
}

func (p *hacfParser) etcdPrefix(line int, args []string) {
	s := args[0]
	if !strings.HasPrefix(s, "/") {
		p.d.errorf(line, "etcd_prefix %q: must start with /", s)
		return
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	p.c.Etcd.Prefix = s
}

// finishEtcd applies the etcd defaults and cross-checks (after every line
// was read). The lease check here knows resource_timeout only; Load checks
// the longest group too (checkEtcdLease).
func (p *hacfParser) finishEtcd() {
	c := p.c
	if c.Backend == "" {
		c.Backend = BackendHeartbeat
	}
	if c.Etcd.Prefix == "" {
		c.Etcd.Prefix = DefaultEtcdPrefix
	}
	if l := p.seen["backend"]; l > 0 {
		c.Etcd.Pos = Pos{p.d.file, l}
	}
	if l := p.seen["etcd_lease"]; l > 0 {
		c.Etcd.LeasePos = Pos{p.d.file, l}
	}
	if c.Backend != BackendEtcd {
		for _, name := range []string{"etcd_endpoints", "etcd_prefix", "etcd_cacert", "etcd_cert", "etcd_key", "etcd_lease"} {
			if line, set := p.seen[name]; set {
				p.d.warnf(line, "%s only applies with `backend etcd`", name)
			}
		}
		return
	}
	line := p.seen["backend"]
	for _, m := range c.Media {
		p.d.warnf(m.Pos.Line, "%s is not used with `backend etcd`: membership is the set of nodes with a live etcd lease, and hbd sends no heartbeats", m.Kind)
	}
	if len(c.Etcd.Endpoints) == 0 {
		p.d.errorf(line, "backend etcd needs etcd_endpoints: add `etcd_endpoints https://HOST:2379 ...` listing the etcd members")
	}
	if (c.Etcd.Cert == "") != (c.Etcd.Key == "") {
		l := p.seen["etcd_cert"]
		if l == 0 {
			l = p.seen["etcd_key"]
		}
		p.d.errorf(l, "etcd_cert and etcd_key go together: set both (a client certificate and its key) or neither")
	}
	l, set := p.seen["etcd_lease"]
	if !set {
		return // the default: MinEtcdLease of the longest group (checkEtcd)
	}
	switch {
	case c.Etcd.Lease%time.Second != 0:
		p.d.errorf(l, "etcd_lease %s: etcd grants leases in whole seconds; write a whole number of seconds", fmtDuration(c.Etcd.Lease))
	case c.Etcd.Lease < MinEtcdLease(c.ResourceTimeout, 1):
		p.d.errorf(l, "%s", leaseTooShort(c, 1, ""))
	}
}

// MinEtcdLease is the shortest etcd_lease that leaves a node cut off
// from etcd time to stop a group of n resources, each stop bounded by
// resourceTimeout, before its lease can expire: the slowest stop takes
// at most half the lease, the other half covers renewals and the etcd
// calls that time out before the node knows it is cut off
// (hbd/etcdown, "Cut off"). It is rounded up to whole seconds, as etcd
// grants leases.
func MinEtcdLease(resourceTimeout time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := 2 * time.Duration(n) * resourceTimeout
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return d
}

func leaseTooShort(c *Config, n int, group string) string {
	what := "a one-resource group"
	if group != "" {
		what = fmt.Sprintf("group %s (%d resources)", group, n)
	}
	return fmt.Sprintf("etcd_lease %s is too short: stopping %s may take %s (resource_timeout %s per resource), and the lease must be at least twice that (%s) so that a node cut off from etcd stops its groups before its lease expires; raise etcd_lease or lower resource_timeout",
		fmtDuration(c.Etcd.Lease), what, fmtDuration(time.Duration(n)*c.ResourceTimeout), fmtDuration(c.ResourceTimeout),
		fmtDuration(MinEtcdLease(c.ResourceTimeout, n)))
}

// checkEtcd checks the etcd backend against the groups (the slowest stop)
// and, without an etcd_lease line, sets the lease to the shortest safe
// one: twice the slowest stop (MinEtcdLease of the longest group).
func checkEtcd(file string, c *Config, groups []Group) []Diag {
	if c == nil || c.Backend != BackendEtcd {
		return nil
	}
	d := diags{file: file}
	n, key := 1, ""
	for i := range groups {
		if len(groups[i].Resources) > n {
			n, key = len(groups[i].Resources), groups[i].Key()
		}
	}
	min := MinEtcdLease(c.ResourceTimeout, n)
	switch {
	case c.Etcd.LeasePos.Line == 0:
		c.Etcd.Lease = min
	case n > 1 && c.Etcd.Lease < min:
		d.errorf(c.Etcd.LeasePos.Line, "%s", leaseTooShort(c, n, key))
	}
	return d.list
}

// diffEtcd lists changes of the backend and of the etcd_ lines (area
// "backend"). The lease is compared as in force: without etcd_lease it
// follows the longest group.
func diffEtcd(old, new *Config, add func(area, format string, args ...any)) {
	if old.Backend != new.Backend {
		add("backend", "backend %s -> %s", old.Backend, new.Backend)
	}
	o, n := old.Etcd, new.Etcd
	if !slices.Equal(o.Endpoints, n.Endpoints) {
		add("backend", "etcd_endpoints %s -> %s", strings.Join(o.Endpoints, " "), strings.Join(n.Endpoints, " "))
	}
	diffStrings("backend", add,
		stringSetting{"etcd_prefix", o.Prefix, n.Prefix},
		stringSetting{"etcd_cacert", o.CACert, n.CACert},
		stringSetting{"etcd_cert", o.Cert, n.Cert},
		stringSetting{"etcd_key", o.Key, n.Key},
	)
	if o.Lease != n.Lease {
		add("backend", "etcd_lease %s -> %s", fmtDuration(o.Lease), fmtDuration(n.Lease))
	}
}
