package config

import (
	"fmt"
	"slices"
	"strings"
)

// Change is one difference between a running configuration and a new one,
// worded for an operator ("keepalive 1s -> 500ms", "group web added").
type Change struct {
	// Area says what a reload must redo: "timing", "nodes", "media",
	// "auth", "logging", "groups", "reload" (the watch of the files),
	// "backend" (backend and the etcd_ lines), "other".
	Area string
	Text string
}

func (c Change) String() string { return c.Text }

// Diff lists what changes from old to new, in a stable order. Secrets are
// never printed: a changed key says only which index changed.
func Diff(old, new *Config) []Change {
	var out []Change
	add := func(area, format string, args ...any) {
		out = append(out, Change{Area: area, Text: fmt.Sprintf(format, args...)})
	}
	if old.ThisNode != new.ThisNode {
		add("nodes", "this node %s -> %s", old.ThisNode, new.ThisNode)
	}
	if !slices.Equal(old.Nodes, new.Nodes) {
		add("nodes", "nodes %s -> %s", strings.Join(old.Nodes, " "), strings.Join(new.Nodes, " "))
	}
	durs := []struct {
		name     string
		old, new fmt.Stringer
	}{
		{"keepalive", old.Keepalive, new.Keepalive},
		{"warntime", old.Warntime, new.Warntime},
		{"deadtime", old.Deadtime, new.Deadtime},
		{"initdead", old.Initdead, new.Initdead},
		{"resource_timeout", old.ResourceTimeout, new.ResourceTimeout},
		{"failback_delay", old.FailbackDelay, new.FailbackDelay},
		{"drain_time", old.DrainTime, new.DrainTime},
	}
	for _, d := range durs {
		if d.old.String() != d.new.String() {
			add("timing", "%s %s -> %s", d.name, d.old, d.new)
		}
	}
	if old.AutoFailback != new.AutoFailback {
		add("timing", "auto_failback %s -> %s", old.AutoFailback, new.AutoFailback)
	}
	if old.Quorum != new.Quorum {
		add("other", "quorum %s -> %s", old.Quorum, new.Quorum)
	}
	diffSplitBrain(old, new, add)
	diffEtcd(old, new, add)
	if old.UDPPort != new.UDPPort {
		add("media", "udpport %d -> %d", old.UDPPort, new.UDPPort)
	}
	om, nm := mediaSet(old.Media), mediaSet(new.Media)
	for _, m := range om {
		if !slices.Contains(nm, m) {
			add("media", "medium removed: %s", m)
		}
	}
	for _, m := range nm {
		if !slices.Contains(om, m) {
			add("media", "medium added: %s", m)
		}
	}
	if o, n := old.RealtimePriority(), new.RealtimePriority(); o != n {
		add("realtime", "real-time priority %d -> %d (0: realtime off)", o, n)
	}
	if old.NoQuietPassive != new.NoQuietPassive {
		add("quiet_passive", "quiet_passive %s -> %s", onOff(!old.NoQuietPassive), onOff(!new.NoQuietPassive))
	}
	if old.NoAutoReload != new.NoAutoReload {
		add("reload", "autoreload %s -> %s", onOff(!old.NoAutoReload), onOff(!new.NoAutoReload))
	}
	if old.InsecureAuth != new.InsecureAuth {
		add("auth", "insecure_auth %v -> %v", old.InsecureAuth, new.InsecureAuth)
	}
	if old.Auth.Active != new.Auth.Active {
		add("auth", "signing key %d -> %d", old.Auth.Active, new.Auth.Active)
	}
	for _, k := range new.Auth.Keys {
		o, ok := findKey(old.Auth.Keys, k.Index)
		switch {
		case !ok:
			add("auth", "key %d added (%s)", k.Index, k.Method)
		case o.Method != k.Method || o.Secret != k.Secret:
			add("auth", "key %d changed (%s -> %s)", k.Index, o.Method, k.Method)
		}
	}
	for _, k := range old.Auth.Keys {
		if _, ok := findKey(new.Auth.Keys, k.Index); !ok {
			add("auth", "key %d removed", k.Index)
		}
	}
	diffStrings("logging", add,
		stringSetting{"logfile", old.Logfile, new.Logfile},
		stringSetting{"debugfile", old.Debugfile, new.Debugfile},
		stringSetting{"logfacility", old.LogFacility, new.LogFacility},
	)
	if old.Debug != new.Debug {
		add("logging", "debug %d -> %d", old.Debug, new.Debug)
	}
	if old.DebugfileMS != new.DebugfileMS {
		add("logging", "debugfile_ms %s -> %s", onOff(old.DebugfileMS), onOff(new.DebugfileMS))
	}
	for _, g := range old.Groups {
		ng, ok := new.Group(g.Key())
		switch {
		case !ok:
			add("groups", "group %s removed (was preferred on %s)", g.Key(), g.Preferred)
		case !sameGroup(g, ng):
			add("groups", "group %s changed: %s -> %s", g.Key(), describeGroup(g), describeGroup(ng))
		case g.Name != ng.Name:
			add("groups", "group %s name %q -> %q", g.Key(), g.Name, ng.Name)
		}
	}
	for _, g := range new.Groups {
		if _, ok := old.Group(g.Key()); !ok {
			add("groups", "group %s added (preferred on %s)", g.Key(), g.Preferred)
		}
	}
	diffMonitors(old, new, add)
	if o, n := exclusiveString(old.Exclusive), exclusiveString(new.Exclusive); o != n {
		add("groups", "exclusive %s -> %s", o, n)
	}
	return out
}

// diffMonitors lists monitor lines removed, added or changed (area
// "monitors").
func diffMonitors(old, new *Config, add func(area, format string, args ...any)) {
	// A monitor is the same line when it watches the same resource of the
	// same group, or the only one of that resource (its group changed).
	find := func(ms []Monitor, want Monitor) (Monitor, bool) {
		var same []Monitor
		for _, m := range ms {
			if m.Resource == want.Resource {
				if m.Group == want.Group {
					return m, true
				}
				same = append(same, m)
			}
		}
		if len(same) == 1 {
			return same[0], true
		}
		return Monitor{}, false
	}
	for _, m := range old.Monitors {
		n, ok := find(new.Monitors, m)
		switch {
		case !ok:
			add("monitors", "monitor of %s removed", m.Resource)
		case n.String() != m.String() || n.Group != m.Group:
			add("monitors", "%s -> %s", m, n)
		}
	}
	for _, m := range new.Monitors {
		if _, ok := find(old.Monitors, m); !ok {
			add("monitors", "monitor of %s added: %s", m.Resource, m)
		}
	}
}

// stringSetting is one string directive as the old and the new
// configuration give it.
type stringSetting struct{ name, old, new string }

// diffStrings lists, in area, each setting whose old and new values
// differ; values are quoted (a path may be empty or hold spaces).
func diffStrings(area string, add func(area, format string, args ...any), settings ...stringSetting) {
	for _, s := range settings {
		if s.old != s.new {
			add(area, "%s %q -> %q", s.name, s.old, s.new)
		}
	}
}

func mediaSet(ms []Medium) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		s := fmt.Sprintf("%s %s", m.Kind, m.Iface)
		if m.Addr.IsValid() {
			s += " " + m.Addr.String()
		}
		if m.Local.IsValid() {
			s += " from " + m.Local.String()
		}
		s += fmt.Sprintf(" port %d", m.Port)
		if m.Kind == Mcast || m.Kind == Mcast6 {
			s += fmt.Sprintf(" ttl %d loop %t", m.TTL, m.Loop)
		}
		out = append(out, s)
	}
	return out
}

func findKey(keys []Key, idx int) (Key, bool) {
	for _, k := range keys {
		if k.Index == idx {
			return k, true
		}
	}
	return Key{}, false
}

// SameDefinition: a and b have the same resources, in the same order,
// resolved to the same scripts (the preferred node may differ: that moves
// a group, it does not restart it).
func SameDefinition(a, b Group) bool {
	return slices.EqualFunc(a.Resources, b.Resources, func(x, y Resource) bool {
		return x.Spec == y.Spec && x.Script == y.Script
	})
}

func sameGroup(a, b Group) bool {
	return a.Preferred == b.Preferred && describeGroup(a) == describeGroup(b)
}

func describeGroup(g Group) string {
	parts := []string{g.Preferred}
	for _, r := range g.Resources {
		parts = append(parts, r.Spec)
	}
	return strings.Join(parts, " ")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
