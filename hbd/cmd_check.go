package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/paths"
	"github.com/hbdproject/hbd/resources/agents"
)

// runCheck is `hbd check [-c DIR] [--node NAME]`: load the configuration
// as `hbd run` would, print every problem, and summarize the cluster it
// describes. Exit 0 when run would start with it (warnings allowed), 1
// on errors, 2 on a usage error.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", `usage: hbd check [-c DIR] [--node NAME] [--run-dir DIR] [--state-dir DIR] [--files-only]
Checks ha.cf, authkeys and haresources in DIR like `+"`nginx -t`"+`, prints every
error and warning as FILE:LINE: message, and summarizes the cluster. When an
hbd runs from DIR, it also says what a reload would change.
Every reason `+"`hbd run`"+` would refuse to start with these files on this machine is
an error: a weak key, a medium on an interface this machine lacks (even one
that is made later at boot: start hbd after it), a bcast interface without a
broadcast address, a ucast LOCAL address no interface has; as root, also a
run or state directory hbd cannot write and a state file it cannot read. A
running hbd is no error (run refuses a second one). --files-only checks the
files for another machine: what depends on this one's interfaces is a warning
and the directories are not looked at.
Exit status: 0 usable (warnings allowed), 1 errors, 2 usage error.`, stdout, stderr)
	dir := fs.String("c", paths.ConfigDir, "configuration `DIR` (ha.cf, authkeys, haresources)")
	node := fs.String("node", "", "this node's `NAME` (default: uname -n)")
	runDir := fs.runDirFlag()
	stateDir := fs.String("state-dir", paths.StateDir, "the daemon's state `DIR` (hb_uuid, hb_generation)")
	filesOnly := fs.Bool("files-only", false, "check the files for another machine: not this one's interfaces, addresses and directories")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fs.usageError("unexpected argument %q", fs.Arg(0))
	}
	name, err := nodeName(*node)
	if err != nil {
		fmt.Fprintf(stderr, "hbd check: %v\n", err)
		return 1
	}
	opts := loadOptions(name, true)
	opts.AnyMachine = *filesOnly
	if os.Geteuid() != 0 {
		// hbd run, as root, may open the raw ICMP socket this user
		// cannot: not judged here (startRefusals says so).
		opts.ICMP = nil
	}
	cfg, diags := daemon.LoadConfig(*dir, opts)
	warnings, errors := 0, 0
	for _, d := range diags {
		fmt.Fprintln(stderr, d.String())
		if d.Severity == config.SevError {
			errors++
		} else {
			warnings++
		}
	}
	if cfg != nil {
		e, w := startRefusals(stderr, cfg, *runDir, *stateDir, *filesOnly, os.Geteuid())
		errors, warnings = errors+e, warnings+w
	}
	if cfg == nil || errors > 0 {
		fmt.Fprintf(stderr, "hbd check: %s: %s, %s; fix the errors above\n", *dir, plural(errors, "error"), plural(warnings, "warning"))
		return 1
	}
	// The scripts as Heartbeat ran them: a missing #! line, a file that
	// is not executable, a shell script that does not parse.
	for _, d := range harc.LintScripts(context.Background(), cfg, "") {
		fmt.Fprintln(stderr, d.String())
		warnings++
	}
	// What only the installed agents can say (an OCF agent's meta-data).
	for _, d := range validateAgents(context.Background(), cfg, builtinAgents()) {
		fmt.Fprintln(stderr, d.String())
		warnings++
	}
	printSummary(stdout, cfg, warnings)
	printPending(stdout, *dir, *runDir)
	return 0
}

// startRefusals prints what `hbd run` would refuse after reading cfg,
// beyond the files themselves, and how many errors and warnings: a build without the
// etcd backend without the program that has it, and, as root (whom hbd
// runs as: euid 0) and unless filesOnly, the run and state directories
// (daemon.CheckDirs); as another user, a note that they were not.
func startRefusals(stderr io.Writer, cfg *config.Config, runDir, stateDir string, filesOnly bool, euid int) (errs, warns int) {
	// A build without the etcd backend hands it to hbd-etcd: say now what
	// `hbd run` would refuse, before the init script starts it.
	if cfg.Backend == config.BackendEtcd && !daemon.EtcdLinked {
		if _, err := etcdProgramPath(); err != nil {
			fmt.Fprintln(stderr, config.Diag{Pos: cfg.Etcd.Pos, Severity: config.SevError, Msg: "backend etcd: " + err.Error()}.String())
			errs++
		}
	}
	if filesOnly {
		return errs, 0
	}
	if euid != 0 {
		fmt.Fprintf(stderr, "hbd check: note: run as uid %d, not root: the run and state directories (%s, %s) were not checked; hbd run, as root, creates and writes them\n", euid, runDir, stateDir)
		if len(cfg.Ping) > 0 && cfg.Backend != config.BackendEtcd {
			fmt.Fprintf(stderr, "hbd check: note: nor whether hbd run may open the ICMP socket its ping nodes need (%s:%d): check as root\n", cfg.Ping[0].Pos.File, cfg.Ping[0].Pos.Line)
		}
		return errs, 0
	}
	dirErrs, dirWarnings := daemon.CheckDirs(runDir, stateDir, cfg)
	for _, err := range dirErrs {
		fmt.Fprintf(stderr, "hbd check: %v\n", err)
	}
	for _, w := range dirWarnings {
		fmt.Fprintf(stderr, "hbd check: warning: %s\n", w)
	}
	return errs + len(dirErrs), len(dirWarnings)
}

// printPending shows, when an hbd runs from the same directory, what a
// reload would change in it. Silent when no daemon runs there.
func printPending(w io.Writer, dir, runDir string) {
	resp, err := call(runDir, ctl.Request{Cmd: "pending"})
	if err != nil {
		return
	}
	var p ctl.Pending
	if json.Unmarshal(resp.Data, &p) != nil || !sameDir(p.ConfigDir, dir) {
		return
	}
	fmt.Fprintln(w)
	if len(p.Changes) == 0 {
		fmt.Fprintln(w, "the running hbd already uses this configuration")
		return
	}
	fmt.Fprintln(w, "a reload of the running hbd would change:")
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
}

func sameDir(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	if err1 != nil || err2 != nil {
		return a == b
	}
	if ra, err := filepath.EvalSymlinks(aa); err == nil {
		aa = ra
	}
	if rb, err := filepath.EvalSymlinks(bb); err == nil {
		bb = rb
	}
	return aa == bb
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// printSummary writes the one-screen description of a valid configuration.
// Secrets are never printed.
func printSummary(w io.Writer, c *config.Config, warnings int) {
	fmt.Fprintf(w, "%s is valid for node %s", c.Dir, c.ThisNode)
	if warnings > 0 {
		fmt.Fprintf(w, " (%s above)", plural(warnings, "warning"))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)

	nodes := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		nodes[i] = n
		if n == c.ThisNode {
			nodes[i] += " (this node)"
		}
	}
	row(w, "nodes", strings.Join(nodes, ", "))
	etcd := c.Backend == config.BackendEtcd
	if etcd {
		describeEtcd(w, c)
	} else {
		for i, m := range c.Media {
			label := ""
			if i == 0 {
				label = "media"
			}
			row(w, label, describeMedium(m))
		}
		row(w, "timings", fmt.Sprintf("keepalive %s, warntime %s, deadtime %s, initdead %s",
			dur(c.Keepalive), dur(c.Warntime), dur(c.Deadtime), dur(c.Initdead)))
	}
	row(w, "auto_failback", c.AutoFailback.String())
	row(w, "failback_delay", durOrNone(c.FailbackDelay, "none: a failback starts as soon as the preferred node is back"))
	row(w, "drain_time", durOrNone(c.DrainTime, "none: a planned release removes its addresses at once"))
	row(w, "resource timeout", dur(c.ResourceTimeout))
	row(w, "on_stop_failure", describeStopFailure(c.OnStopFailure))
	if !etcd {
		describeHeartbeat(w, c)
	}
	row(w, "logging", describeLogging(c))
	if c.NoRealtime {
		row(w, "realtime", "off: the daemon runs at normal priority")
	} else {
		row(w, "realtime", fmt.Sprintf("on: the daemon's threads run SCHED_RR at priority %d", c.RealtimePriority()))
	}
	if !etcd {
		// Status packets, which quiet_passive spaces out, are the
		// Heartbeat backend's: with etcd nothing is sent.
		row(w, "quiet_passive", describeQuiet(c))
	}
	if c.NoAutoReload {
		row(w, "reload", "on SIGHUP only (autoreload off)")
	} else {
		row(w, "reload", "on SIGHUP, and on edits once the files are quiet and valid (autoreload on)")
	}

	fmt.Fprintln(w)
	if len(c.Groups) == 0 {
		fmt.Fprintln(w, "no resource groups")
		return
	}
	fmt.Fprintf(w, "resource groups (%d), each started left to right, stopped right to left:\n", len(c.Groups))
	for i, g := range c.Groups {
		pref := g.Preferred
		if pref == c.ThisNode {
			pref += " (this node)"
		}
		fmt.Fprintf(w, "  %d. %s  preferred node %s\n", i+1, g.Key(), pref)
		for _, r := range g.Resources {
			cmd := append([]string{r.Script.String()}, r.Args...)
			fmt.Fprintf(w, "       %-24s %s start|stop|status\n", r.Name, strings.Join(cmd, " "))
		}
		for _, m := range c.GroupMonitors(g.Key()) {
			fmt.Fprintf(w, "       watched: %s\n", m)
		}
		if g.FailureTimeout > 0 {
			fmt.Fprintf(w, "       a failure keeps it off a node for %s (failure_timeout)\n", dur(g.FailureTimeout))
		}
	}
	if len(c.Monitors) == 0 {
		fmt.Fprintln(w, "no monitor lines: a resource is not checked after it starts, as in Heartbeat")
	}
	for _, set := range c.Exclusive {
		fmt.Fprintf(w, "exclusive: %s never share a node; the first listed wins\n", strings.Join(set, ", "))
	}
}

// describeHeartbeat writes the rows of what only the Heartbeat backend
// uses: quorum, split-brain profile, fencing, ping nodes, authkeys.
func describeHeartbeat(w io.Writer, c *config.Config) {
	row(w, "quorum", describeQuorum(c))
	row(w, "profile", describeProfile(c))
	row(w, "fencing", describeFence(c.Fence))
	for i, p := range describePing(c) {
		label := ""
		if i == 0 {
			label = "ping nodes"
		}
		row(w, label, p)
	}
	if k, ok := c.Auth.ActiveKey(); ok {
		accepts := make([]string, len(c.Auth.Keys))
		for i, k := range c.Auth.Keys {
			accepts[i] = fmt.Sprintf("%d (%s)", k.Index, k.Method)
		}
		row(w, "authkeys", fmt.Sprintf("signs with key %d (%s); accepts %s", k.Index, k.Method, strings.Join(accepts, ", ")))
	}
	if c.InsecureAuth {
		row(w, "insecure_auth", "yes: hbd run accepts weak keys (crc, short or sample secrets) with a warning")
	} else {
		row(w, "insecure_auth", "no: hbd run refuses weak keys")
	}
}

// describeEtcd writes the etcd backend's rows: where etcd is, and the
// lease with the time a node cut off from it keeps to stop its groups.
func describeEtcd(w io.Writer, c *config.Config) {
	tls := "plain http"
	switch {
	case c.Etcd.Cert != "":
		tls = "TLS with a client certificate"
	case c.Etcd.CACert != "" || strings.HasPrefix(c.Etcd.Endpoints[0], "https:"):
		tls = "TLS"
	}
	row(w, "backend", fmt.Sprintf("etcd at %s (%s), keys under %s; no heartbeats: membership is the set of live leases",
		strings.Join(c.Etcd.Endpoints, " "), tls, c.Etcd.Prefix))
	how := "etcd_lease"
	if c.Etcd.LeasePos.Line == 0 {
		how = "default: twice the slowest stop"
	}
	row(w, "etcd lease", fmt.Sprintf("%s (%s); a holder killed is replaced about a lease later; one cut off from etcd stops its groups before its lease can expire",
		dur(c.Etcd.Lease), how))
}

func durOrNone(d time.Duration, none string) string {
	if d <= 0 {
		return none
	}
	return dur(d)
}

func describeStopFailure(s string) string {
	if s == "" {
		s = "block"
	}
	if s == "reboot" {
		return "reboot: a stop that fails reboots this node, so the group can move"
	}
	return s + ": a stop that fails leaves the group here, held, until an operator acts"
}

func describeQuorum(c *config.Config) string {
	on := "off: every partition acts alone, as Heartbeat"
	if c.Quorum.Enabled(len(c.Nodes)) {
		on = fmt.Sprintf("on: a node holds groups only while it sees %d of the %d nodes", len(c.Nodes)/2+1, len(c.Nodes))
	}
	return fmt.Sprintf("%s (%s)", c.Quorum, on)
}

func describeProfile(c *config.Config) string {
	p := c.Profile
	if p == "" {
		p = config.ProfileDefault
	}
	if p != config.ProfileSafe {
		return string(p) + ": a silent peer's groups are taken over after deadtime"
	}
	return fmt.Sprintf("%s: a silent peer's groups are taken over only once it is fenced (or shown isolated by ping), then after safe_start_delay %s",
		p, dur(c.SafeStartDelay))
}

func describeFence(f config.FenceConfig) string {
	var how string
	switch {
	case len(f.Command) > 0:
		how = "fence_command " + strings.Join(f.Command, " ") + " NODE"
	case f.AWS != nil:
		nodes := make([]string, 0, len(f.AWS.Instances))
		for n, id := range f.AWS.Instances {
			nodes = append(nodes, n+"="+id)
		}
		slices.Sort(nodes)
		how = "fence_aws " + f.AWS.Action
		if f.AWS.AllocationID != "" {
			how += " " + f.AWS.AllocationID
		}
		how += " " + strings.Join(nodes, " ")
		if f.AWS.Region != "" {
			how += " region " + f.AWS.Region
		}
		if f.AWS.Endpoint != "" {
			how += " endpoint " + f.AWS.Endpoint
		}
	default:
		return "none: a silent peer is not fenced before a takeover"
	}
	return fmt.Sprintf("%s before taking over from a silent peer (fence_timeout %s, fence_retry %s)", how, dur(f.Timeout), dur(f.Retry))
}

// describePing is one line per ping, ping6 or ping_group line, then how
// they are used.
func describePing(c *config.Config) []string {
	if len(c.Ping) == 0 {
		return nil
	}
	var out []string
	for _, p := range c.Ping {
		hosts := make([]string, len(p.Hosts))
		for i, h := range p.Hosts {
			hosts[i] = h.String()
		}
		if p.Group {
			out = append(out, fmt.Sprintf("group %s: %s (reachable when one answers)", p.Name, strings.Join(hosts, " ")))
		} else {
			out = append(out, strings.Join(hosts, " "))
		}
	}
	takeover := "off: a node that reaches none of them does not take over from a silent peer"
	if c.PingTakeover {
		takeover = "on: a node takes over from a silent peer even when it reaches none of them"
	}
	return append(out, fmt.Sprintf("deadping %s; ping_takeover %s", dur(c.Deadping), takeover))
}

func row(w io.Writer, label, value string) {
	if label != "" {
		label += ":"
	}
	fmt.Fprintf(w, "%-18s%s\n", label, value)
}

func describeMedium(m config.Medium) string {
	switch m.Kind {
	case config.Ucast, config.Ucast6:
		s := fmt.Sprintf("%s %s to %s", m.Kind, m.Iface, netip.AddrPortFrom(m.Addr, uint16(m.Port)))
		if m.Local.IsValid() {
			s += " from " + m.Local.String()
		}
		return s
	case config.Mcast, config.Mcast6:
		loop := "off"
		if m.Loop {
			loop = "on"
		}
		return fmt.Sprintf("%s %s group %s ttl %d loop %s", m.Kind, m.Iface, netip.AddrPortFrom(m.Addr, uint16(m.Port)), m.TTL, loop)
	default:
		return fmt.Sprintf("%s %s port %d", m.Kind, m.Iface, m.Port)
	}
}

// describeQuiet says what quiet_passive does with c's timings: how often
// a node that holds nothing sends its status, and how late its peer then
// notices its death.
func describeQuiet(c *config.Config) string {
	s, why := cluster.QuietInterval(c)
	switch {
	case c.NoQuietPassive:
		return "off: a node that holds nothing sends its status every keepalive"
	case s == 0:
		return "on, but never in force here (" + why + ")"
	}
	return fmt.Sprintf("on: a node that holds nothing sends its status every %s (its peer notices its death within %s)",
		s, time.Duration(int64(c.Deadtime)*int64(s/c.Keepalive)))
}

func describeLogging(c *config.Config) string {
	var parts []string
	if c.Logfile != "" {
		parts = append(parts, "logfile "+c.Logfile)
	}
	if c.Debugfile != "" {
		d := "debugfile " + c.Debugfile
		if c.DebugfileMS {
			d += " (times in milliseconds)"
		}
		parts = append(parts, d)
	}
	if c.LogFacility != "" && c.LogFacility != "none" {
		parts = append(parts, "syslog "+c.LogFacility)
	}
	if len(parts) == 0 {
		parts = append(parts, "stderr")
	}
	if c.Debug > 0 {
		parts = append(parts, fmt.Sprintf("debug %d", c.Debug))
	}
	return strings.Join(parts, ", ")
}

// dur prints a duration the way ha.cf users write it ("1s", "500ms", "1.5s").
func dur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	if d < time.Second {
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return d.String()
}

// validateAgents asks each agent that runs a resource of cfg and can
// validate one (agents.Agent.Validate) about it: warnings at the
// resource's haresources line.
func validateAgents(ctx context.Context, cfg *config.Config, reg *agents.Registry) []config.Diag {
	var out []config.Diag
	for _, g := range cfg.Groups {
		for _, r := range g.Resources {
			if !r.Script.Builtin() {
				continue
			}
			a, ok := reg.Lookup(r.Name)
			if !ok || a.Validate == nil {
				continue
			}
			for _, msg := range a.Validate(ctx, r.Name, r.Args) {
				out = append(out, config.Diag{Pos: g.Pos, Severity: config.SevWarning, Msg: msg})
			}
		}
	}
	return out
}
