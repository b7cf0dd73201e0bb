package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults of a `monitor` line (hbd's own ha.cf directive).
const (
	DefaultMonitorInterval = 10 * time.Second
	DefaultMonitorTimeout  = 20 * time.Second
	DefaultMonitorRestarts = 2
	DefaultMonitorWindow   = 10 * time.Minute
	// maxMonitorRestarts bounds restarts=: more local restarts than this
	// is a service that should have failed over long ago.
	maxMonitorRestarts = 1000
)

const monitorUsage = "monitor RESOURCE [interval=TIME] [timeout=TIME] [restarts=N] [window=TIME] [failure_timeout=TIME] [op=auto|monitor|status] [group=GROUP]"

// monitorKeys are the name=value settings of a monitor line.
var monitorKeys = []string{"interval", "timeout", "restarts", "window", "failure_timeout", "op", "group"}

// monitor reads `monitor RESOURCE [name=value...]`. The resource is
// matched against haresources by Load (resolveMonitors).
func (p *hacfParser) monitor(line int, args []string) {
	m := Monitor{
		Resource: args[0],
		Interval: DefaultMonitorInterval,
		Timeout:  DefaultMonitorTimeout,
		Restarts: DefaultMonitorRestarts,
		Window:   DefaultMonitorWindow,
		Op:       MonitorAuto,
		Pos:      Pos{p.d.file, line},
	}
	if isBareIPv4(m.Resource) {
		m.Resource = "IPaddr::" + m.Resource
	}
	// The resource is written as in haresources, where arguments after
	// "::" may hold "=" (ocf:heartbeat:IPaddr2::ip=10.0.0.5); a first
	// word that is one of the settings means the resource was left out.
	if key, _, found := strings.Cut(args[0], "="); found && !strings.Contains(key, "::") && slices.Contains(monitorKeys, strings.ToLower(key)) {
		p.d.errorf(line, "monitor: the first word must be a resource of haresources, not %q; usage: %s", args[0], monitorUsage)
		return
	}
	seen := map[string]bool{}
	ok := true
	for _, a := range args[1:] {
		key, val, found := strings.Cut(a, "=")
		key = strings.ToLower(key)
		if !found || val == "" {
			p.d.errorf(line, "monitor %s: %q is not name=value; usage: %s", args[0], a, monitorUsage)
			ok = false
			continue
		}
		if !slices.Contains(monitorKeys, key) {
			if c := closest(key, monitorKeys); c != "" {
				p.d.errorf(line, "monitor %s: unknown setting %q; did you mean %q?", args[0], key, c)
			} else {
				p.d.errorf(line, "monitor %s: unknown setting %q; the settings are %s", args[0], key, strings.Join(monitorKeys, ", "))
			}
			ok = false
			continue
		}
		if seen[key] {
			p.d.errorf(line, "monitor %s: %s is given twice", args[0], key)
			ok = false
			continue
		}
		seen[key] = true
		if err := setMonitor(&m, key, val); err != nil {
			p.d.errorf(line, "monitor %s: %v", args[0], err)
			ok = false
		}
	}
	if !ok {
		return
	}
	if m.Restarts > 0 && m.Window < time.Duration(m.Restarts)*m.Interval {
		p.d.warnf(line, "monitor %s: window=%s is shorter than restarts=%d checks %s apart; %d failures can never fall within it, so the group never fails over; raise window to at least %s",
			args[0], fmtDuration(m.Window), m.Restarts, fmtDuration(m.Interval), m.Restarts+1, fmtDuration(time.Duration(m.Restarts)*m.Interval))
	}
	p.c.Monitors = append(p.c.Monitors, m)
}

// setMonitor applies one name=value of a monitor line.
func setMonitor(m *Monitor, key, val string) error {
	switch key {
	case "group":
		m.InGroup = val
		return nil
	case "restarts":
		n, err := parseInt(val, "restarts", 0, maxMonitorRestarts)
		if err != nil {
			return err
		}
		m.Restarts = n
		return nil
	case "op":
		switch op := MonitorOp(strings.ToLower(val)); op {
		case MonitorAuto, MonitorMonitor, MonitorStatus:
			m.Op = op
			return nil
		}
		return fmt.Errorf("op %q is not auto, monitor or status", val)
	}
	if key == "failure_timeout" && strings.EqualFold(val, "never") {
		m.FailureTimeout, m.FailureTimeoutSet = 0, true
		return nil
	}
	d, err := parseLongTime(val)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	switch key {
	case "interval":
		m.Interval = d
	case "timeout":
		m.Timeout = d
	case "window":
		m.Window = d
	case "failure_timeout":
		m.FailureTimeout, m.FailureTimeoutSet = d, true
		return nil // 0 is allowed: never expires
	}
	if d <= 0 {
		return fmt.Errorf("%s=%s: must be more than zero", key, val)
	}
	return nil
}

// parseLongTime is parseTime plus minutes and hours ("10m", "5min",
// "1h"), which monitor windows and failure timeouts are usually said in.
func parseLongTime(s string) (time.Duration, error) {
	num, unit := splitNumber(s)
	var scale time.Duration
	switch strings.ToLower(unit) {
	case "m", "min":
		scale = time.Minute
	case "h":
		scale = time.Hour
	default:
		return parseTime(s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("%q is not a time; write seconds (\"30\", \"30s\"), minutes (\"10m\") or hours (\"1h\")", s)
	}
	d := time.Duration(v * float64(scale))
	if d > maxTime {
		return 0, fmt.Errorf("%q is more than 24 hours; that cannot be what you mean", s)
	}
	return d.Round(time.Millisecond), nil
}

// resolveMonitors ties ha.cf's monitor lines to haresources: each must
// name one resource of one group (its spec as written, or its script name
// when only one resource has it; with group=GROUP, among that group's
// resources only), at most one line per resource, and the monitor lines
// of a group must agree on failure_timeout, which becomes the group's
// FailureTimeout. Diagnostics point at the monitor lines.
func resolveMonitors(c *Config, groups []Group) []Diag {
	if len(c.Monitors) == 0 {
		return nil
	}
	d := diags{file: c.Monitors[0].Pos.File}
	type place struct{ g, r int }
	taken := map[place]int{}       // resource → monitor line
	ftLine := map[string]Monitor{} // group key → first monitor line that set failure_timeout
	kept := c.Monitors[:0]
	for _, m := range c.Monitors {
		line := m.Pos.Line
		in := groups
		first := 0 // index in groups of in[0]
		if m.InGroup != "" {
			gi, warning, err := findGroup(groups, "monitor "+m.Resource, "group=", m.InGroup)
			if err != nil {
				d.errorf(line, "monitor %s: group=%s: %v", m.Resource, m.InGroup, err)
				continue
			}
			if warning != "" {
				d.warnf(line, "%s", warning)
			}
			in, first = groups[gi:gi+1], gi
		}
		var all []string
		bySpec, byName := map[string][]place{}, map[string][]place{}
		for gi, g := range in {
			for ri, r := range g.Resources {
				bySpec[r.Spec] = append(bySpec[r.Spec], place{first + gi, ri})
				byName[r.Name] = append(byName[r.Name], place{first + gi, ri})
				all = append(all, r.Spec)
			}
		}
		where := ""
		if m.InGroup != "" {
			where = " of group " + groups[first].Key()
		}
		places := bySpec[m.Resource]
		if len(places) == 0 && !strings.Contains(m.Resource, "::") {
			places = byName[m.Resource]
		}
		switch {
		case len(places) == 0:
			hint := ""
			if s := closest(m.Resource, append(slices.Clone(all), sortedKeys(byName)...)); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			} else if len(all) > 0 {
				hint = fmt.Sprintf(" (its resources: %s)", strings.Join(all, " "))
			}
			d.errorf(line, "monitor: %s is not a resource%s of haresources%s", m.Resource, where, hint)
			continue
		case len(places) > 1:
			var at []string
			for _, pl := range places {
				g := groups[pl.g]
				at = append(at, fmt.Sprintf("%s (group %d, %s, %s)", g.Resources[pl.r].Spec, pl.g+1, g.Key(), g.Pos))
			}
			d.errorf(line, "monitor: %s names %d resources%s: %s; write the full resource as in haresources, and group=GROUP (its key or number) when it is in several groups",
				m.Resource, len(places), where, strings.Join(at, ", "))
			continue
		}
		pl := places[0]
		g := &groups[pl.g]
		m.Resource = g.Resources[pl.r].Spec
		m.Group, m.Index = g.Key(), pl.r
		if prev, dup := taken[pl]; dup {
			d.errorf(line, "monitor: %s%s is already monitored (line %d); one monitor line per resource", m.Resource, where, prev)
			continue
		}
		taken[pl] = line
		if m.FailureTimeoutSet {
			if prev, set := ftLine[m.Group]; set && prev.FailureTimeout != m.FailureTimeout {
				d.errorf(line, "monitor %s: failure_timeout=%s differs from failure_timeout=%s on line %d for the same group %s; a group has one failure timeout",
					m.Resource, fmtDuration(m.FailureTimeout), fmtDuration(prev.FailureTimeout), prev.Pos.Line, m.Group)
				continue
			}
			ftLine[m.Group] = m
			g.FailureTimeout = m.FailureTimeout
		}
		kept = append(kept, m)
	}
	c.Monitors = kept
	return d.list
}

// GroupMonitors returns the monitor lines of the group with the given
// key, in the group's resource order.
func (c *Config) GroupMonitors(key string) []Monitor {
	var out []Monitor
	for _, m := range c.Monitors {
		if m.Group == key {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Monitor) int { return a.Index - b.Index })
	return out
}

// String renders a monitor line with every setting, as `hbd check` and
// reload messages show it.
func (m Monitor) String() string {
	ft := "never"
	if m.FailureTimeout > 0 {
		ft = fmtDuration(m.FailureTimeout)
	}
	group := ""
	if m.InGroup != "" {
		group = " group=" + m.InGroup
	}
	return fmt.Sprintf("monitor %s%s interval=%s timeout=%s restarts=%d window=%s failure_timeout=%s op=%s",
		m.Resource, group, fmtDuration(m.Interval), fmtDuration(m.Timeout), m.Restarts, fmtDuration(m.Window), ft, m.Op)
}
