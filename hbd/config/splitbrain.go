package config

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hbdproject/hbd/resources/agents"
)

// Defaults of the split-brain directives (docs/split-brain.md).
const (
	// DefaultFenceTimeout bounds one fencing attempt.
	DefaultFenceTimeout = 60 * time.Second
	// DefaultFenceRetry is the pause before a failed fence is retried.
	DefaultFenceRetry = 5 * time.Second
	// DefaultSafeStartDelay is safe_start_delay with profile safe.
	DefaultSafeStartDelay = 5 * time.Second
)

// splitBrainTable adds the split-brain directives to the ha.cf table.
func (p *hacfParser) splitBrainTable(t map[string]directive) {
	c := p.c
	t["ping_takeover"] = p.boolDir("ping_takeover on|off", &c.PingTakeover)
	t["fence_command"] = directive{"fence_command /PATH/TO/PROGRAM [ARGS...]", 1, -1, p.fenceCommand}
	t["fence_aws"] = directive{"fence_aws stop-instance NODE=INSTANCE_ID... [region=REGION] [endpoint=URL] | fence_aws reassociate ALLOCATION_ID NODE=INSTANCE_ID... [region=REGION] [endpoint=URL]", 2, -1, p.fenceAWS}
	t["fence_timeout"] = p.timeDir("fence_timeout TIME", &c.Fence.Timeout, nil)
	t["fence_retry"] = p.timeDir("fence_retry TIME", &c.Fence.Retry, nil)
	t["profile"] = directive{"profile default|safe", 1, 1, p.profile}
	t["safe_start_delay"] = p.zeroTimeDir("safe_start_delay TIME", &p.c.SafeStartDelay, nil)
}

func (p *hacfParser) fenceCommand(line int, args []string) {
	if !filepath.IsAbs(args[0]) {
		p.d.errorf(line, "fence_command: program %q must be a full path", args[0])
		return
	}
	if p.c.Fence.AWS != nil {
		p.d.errorf(line, "fence_command: fence_aws is set too (line %d); use one fencing method", p.seen["fence_aws"])
		return
	}
	p.c.Fence.Command = append([]string(nil), args...)
	p.c.Fence.Pos = Pos{p.d.file, line}
}

func (p *hacfParser) fenceAWS(line int, args []string) {
	if len(p.c.Fence.Command) > 0 {
		p.d.errorf(line, "fence_aws: fence_command is set too (line %d); use one fencing method", p.seen["fence_command"])
		return
	}
	f := &FenceAWS{Action: args[0], Instances: map[string]string{}}
	rest := args[1:]
	switch f.Action {
	case FenceAWSStop:
	case FenceAWSReassociate:
		if !strings.HasPrefix(rest[0], "eipalloc-") {
			p.d.errorf(line, "fence_aws reassociate: %q is not an allocation id (eipalloc-...)", rest[0])
			return
		}
		f.AllocationID, rest = rest[0], rest[1:]
	default:
		p.d.errorf(line, "fence_aws: unknown action %q (stop-instance or reassociate)", f.Action)
		return
	}
	for _, a := range rest {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || v == "" {
			p.d.errorf(line, "fence_aws: %q is not NAME=VALUE (NODE=INSTANCE_ID, region=, endpoint=)", a)
			return
		}
		switch k {
		case "region":
			f.Region = v
		case "endpoint":
			if u, err := url.Parse(v); err != nil || u.Scheme == "" || u.Host == "" {
				p.d.errorf(line, "fence_aws: endpoint %q is not a URL (https://ec2.REGION.amazonaws.com)", v)
				return
			}
			f.Endpoint = v
		default:
			if !strings.HasPrefix(v, "i-") {
				p.d.errorf(line, "fence_aws: %s=%s: %q is not an instance id (i-...)", k, v, v)
				return
			}
			f.Instances[k] = v
		}
	}
	if len(f.Instances) == 0 {
		p.d.errorf(line, "fence_aws: no NODE=INSTANCE_ID given: name the instance of every node")
		return
	}
	p.c.Fence.AWS = f
	p.c.Fence.Pos = Pos{p.d.file, line}
}

func (p *hacfParser) profile(line int, args []string) {
	switch Profile(strings.ToLower(args[0])) {
	case ProfileDefault:
		p.c.Profile = ProfileDefault
	case ProfileSafe:
		p.c.Profile = ProfileSafe
	default:
		p.d.errorf(line, "profile: unknown profile %q (default or safe)", args[0])
	}
}

// finishSplitBrain applies the defaults and the cross-checks of the
// split-brain directives (after every line was read).
func (p *hacfParser) finishSplitBrain() {
	c := p.c
	if c.Profile == "" {
		c.Profile = ProfileDefault
	}
	if c.Fence.Timeout == 0 {
		c.Fence.Timeout = DefaultFenceTimeout
	}
	if c.Fence.Retry == 0 {
		c.Fence.Retry = DefaultFenceRetry
	}
	if _, set := p.seen["safe_start_delay"]; !set && c.Profile == ProfileSafe {
		c.SafeStartDelay = DefaultSafeStartDelay
	}
	if line, set := p.seen["safe_start_delay"]; set && c.SafeStartDelay > 0 && c.Profile != ProfileSafe {
		p.d.warnf(line, "safe_start_delay only applies with `profile safe`")
	}
	if f := c.Fence.AWS; f != nil && len(c.Nodes) > 0 {
		for _, n := range c.Nodes {
			if _, ok := f.Instances[n]; !ok {
				p.d.errorf(p.seen["fence_aws"], "fence_aws: node %s has no instance id: add %s=i-...", n, n)
			}
		}
		for n := range f.Instances {
			if !isNode(c.Nodes, n) {
				p.d.errorf(p.seen["fence_aws"], "fence_aws: %s is not a node (node lines: %s)", n, strings.Join(c.Nodes, " "))
			}
		}
	}
	if c.Profile != ProfileSafe {
		return
	}
	line := p.seen["profile"]
	if !c.Fence.Enabled() && len(c.Ping) == 0 {
		p.d.errorf(line, "profile safe needs a way to know a silent peer is not running its groups: add fence_command or fence_aws (or ping nodes, which only allow taking over groups an isolated peer gave up)")
	}
	if p.failbackSet && c.AutoFailback != FailbackOff {
		p.d.warnf(line, "profile safe turns auto_failback off (ha.cf says %s on line %d)", c.AutoFailback, p.seen["auto_failback"])
	}
	c.AutoFailback = FailbackOff
	p.failbackSet = true // no "auto_failback is not set" warning
	if c.PingTakeover {
		p.d.warnf(p.seen["ping_takeover"], "profile safe ignores ping_takeover on: a node that reaches none of its ping nodes never takes over")
		c.PingTakeover = false
	}
}

// checkFenceCommand makes sure fence_command names an executable regular
// file. A fence that cannot run fails every attempt, and no group of a
// silent peer is ever taken over: better said by `hbd check` than found
// out during an outage. Like a resource script that is missing, it is an
// error in the files (a retry finds the same), not in the machine's state.
func checkFenceCommand(c *Config) []Diag {
	if len(c.Fence.Command) == 0 {
		return nil
	}
	d := diags{file: c.Fence.Pos.File}
	prog := c.Fence.Command[0]
	fi, err := os.Stat(prog)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.errorf(c.Fence.Pos.Line, "fence_command: program %s does not exist; without it no silent peer is fenced and none of its groups is taken over: install it or fix the path", prog)
	case err != nil:
		d.errorf(c.Fence.Pos.Line, "fence_command: cannot use program %s: %v", prog, err)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		d.errorf(c.Fence.Pos.Line, "fence_command: program %s is not an executable file (chmod 755 %s)", prog, prog)
	}
	return d.list
}

func isNode(nodes []string, n string) bool {
	for _, x := range nodes {
		if x == n {
			return true
		}
	}
	return false
}

// diffSplitBrain adds the split-brain changes to a Diff.
func diffSplitBrain(old, new *Config, add func(area, format string, args ...any)) {
	if old.Profile != new.Profile {
		add("other", "profile %s -> %s", old.Profile, new.Profile)
	}
	if o, n := old.Fence.describe(), new.Fence.describe(); o != n {
		add("other", "fence %s -> %s", o, n)
	}
	if o, n := pingList(old.Ping), pingList(new.Ping); o != n {
		add("other", "ping nodes [%s] -> [%s]", o, n)
	}
	if old.Deadping != new.Deadping {
		add("other", "deadping %s -> %s", old.Deadping, new.Deadping)
	}
	if old.PingTakeover != new.PingTakeover {
		add("other", "ping_takeover %v -> %v", old.PingTakeover, new.PingTakeover)
	}
	if old.SafeStartDelay != new.SafeStartDelay {
		add("other", "safe_start_delay %s -> %s", old.SafeStartDelay, new.SafeStartDelay)
	}
}

// describe words a fencing configuration for Diff and logs.
func (f FenceConfig) describe() string {
	var b strings.Builder
	switch {
	case len(f.Command) > 0:
		b.WriteString("command " + strings.Join(f.Command, " "))
	case f.AWS != nil:
		b.WriteString("aws " + f.AWS.Action)
		if f.AWS.AllocationID != "" {
			b.WriteString(" " + f.AWS.AllocationID)
		}
		for _, n := range sortedKeys(f.AWS.Instances) {
			b.WriteString(" " + n + "=" + f.AWS.Instances[n])
		}
	default:
		return "none"
	}
	b.WriteString(" (timeout " + f.Timeout.String() + ", retry " + f.Retry.String() + ")")
	return b.String()
}

func pingList(ps []PingGroup) string {
	var s []string
	for _, p := range ps {
		var hs []string
		for _, h := range p.Hosts {
			hs = append(hs, h.String())
		}
		if p.Group {
			s = append(s, p.Name+"("+strings.Join(hs, " ")+")")
		} else {
			s = append(s, strings.Join(hs, " "))
		}
	}
	return strings.Join(s, " ")
}

// Method words the fencing method for log lines ("fence_command
// /sbin/fence-peer", "fence_aws stop-instance"); "none" without one.
func (f FenceConfig) Method() string {
	switch {
	case len(f.Command) > 0:
		return "fence_command " + strings.Join(f.Command, " ")
	case f.AWS != nil:
		return "fence_aws " + f.AWS.Action
	}
	return "none"
}

// checkFenceAWS checks fence_aws's allocation id and region with the
// parsers of the agent that runs the AWS fence (the registry's "aws"
// fence), so `hbd check` refuses what that agent would refuse.
func checkFenceAWS(c *Config, reg *agents.Registry) []Diag {
	a := c.Fence.AWS
	if a == nil {
		return nil
	}
	f, ok := reg.Fencer("aws")
	if !ok || f.CheckFence == nil {
		return nil
	}
	r := agents.FenceRequest{Action: agents.FenceStop, Region: a.Region, Endpoint: a.Endpoint}
	if a.Action == FenceAWSReassociate {
		r.Action, r.AllocationID = agents.FenceReassociate, a.AllocationID
	}
	d := diags{file: c.Fence.Pos.File}
	if err := f.CheckFence(r); err != nil {
		d.errorf(c.Fence.Pos.Line, "fence_aws: %v", err)
	}
	return d.list
}
