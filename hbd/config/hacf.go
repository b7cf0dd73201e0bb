package config

import (
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Defaults applied when ha.cf does not say otherwise. Warntime and
// initdead are derived from deadtime (SetTimingDefaults).
const (
	DefaultKeepalive       = 2 * time.Second
	DefaultDeadtime        = 30 * time.Second
	DefaultUDPPort         = 694 // "ha-cluster" in /etc/services
	DefaultResourceTimeout = 120 * time.Second
	// DefaultFailbackDelay is failback_delay when ha.cf does not set it.
	DefaultFailbackDelay = 2 * time.Second
	DefaultHopfudge      = 1
	// DefaultDrainTime is drain_time when ha.cf does not set it: a
	// planned handover waits at most a tenth of a second for the
	// requests in flight on its addresses.
	DefaultDrainTime = 100 * time.Millisecond
	// MinInitdead is the floor of the derived initdead: networks and
	// switches (spanning tree) take a while to pass traffic after boot.
	MinInitdead = 12 * time.Second
)

// maxFileSize bounds what the parsers read: configuration files are small,
// and a huge one is a mistake (a log file given as ha.cf).
const maxFileSize = 1 << 20

// readAll reads r up to maxFileSize.
func readAll(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxFileSize {
		return "", fmt.Errorf("file is larger than %d bytes; is it the right file?", maxFileSize)
	}
	return string(b), nil
}

// ignoreRule says why hbd reads a directive but does not act on it.
type ignoreRule struct {
	why string
	// when limits the warning to some values; nil means always.
	when func(args []string) bool
}

// ignoredDirectives is the one list of ha.cf directives hbd accepts (and
// checks) but does not act on; each gets a warning. Remove an entry when
// the feature arrives.
func ignoredDirectives() map[string]ignoreRule {
	always := func(why string) ignoreRule { return ignoreRule{why: why} }
	pacemaker := always("it only matters to Pacemaker (crm on), and hbd runs haresources mode only")
	return map[string]ignoreRule{
		"use_logd": {why: "hbd writes logfile, debugfile and syslog itself; there is no ha_logd",
			when: func(a []string) bool { b, _ := parseBool(a[0]); return b }},
		"conn_logd_time":          always("hbd does not use ha_logd"),
		"compression":             always("hbd messages are small and never compressed"),
		"compression_threshold":   always("hbd messages are small and never compressed"),
		"traditional_compression": always("hbd messages are small and never compressed"),
		"msgfmt":                  always("hbd chooses its wire format itself"),
		"coredumps":               always("core dumps follow the system settings (ulimit -c, core_pattern)"),
		"coreroot":                always("core dumps follow the system settings (core_pattern)"),
		"apiauth":                 always("hbd has no Heartbeat API; its control socket is root-only"),
		"serial":                  always("hbd has no serial medium; this line adds no heartbeat path"),
		"baud":                    always("hbd has no serial medium"),
		"watchdog":                always("hbd does not drive a watchdog device yet"),
		"hbgenmethod": {why: "hbd keeps its generation in a file in its state directory",
			when: func(a []string) bool { return a[0] != "file" }},
		"uuidfrom": {why: "hbd keeps its node uuid in a file in its state directory",
			when: func(a []string) bool { return a[0] != "file" }},
		"respawn":      always("hbd does not start or babysit other programs (use systemd)"),
		"stonith":      always("hbd runs no STONITH plugins; use fence_command or fence_aws (docs/split-brain.md)"),
		"stonith_host": always("hbd runs no STONITH plugins; use fence_command or fence_aws (docs/split-brain.md)"),
		"hbaping":      always("hbd has no fibre-channel (HBA) ping; its ping nodes are ping, ping6 and ping_group"),
		"autojoin": {why: "hbd's members are exactly the `node` lines (Heartbeat also refuses autojoin in haresources mode)",
			when: func(a []string) bool { return !strings.EqualFold(a[0], "none") }},
		"env":                   always("hbd passes no extra environment to children"),
		"max_rexmit_delay":      always("hbd does not retransmit heartbeat messages"),
		"log_badpack":           always("hbd always logs bad packets at debug level, rate-limited"),
		"use_apphbd":            always("hbd has no apphbd"),
		"normalpoll":            always("it is an internal Heartbeat switch"),
		"crm_daemon_dir":        pacemaker,
		"crmd_spawns_pengine":   pacemaker,
		"record_config_changes": pacemaker,
		"record_pengine_inputs": pacemaker,
		"enable_config_writes":  pacemaker,
		"memreserve":            always("hbd does not reserve memory"),
	}
}

// IgnoredDirectives lists, sorted, the ha.cf directives hbd reads and
// checks but does not act on (each draws a warning, some only for some
// values). docs/config.md and ha.cf(5) list the same directives.
func IgnoredDirectives() []string {
	return sortedKeys(ignoredDirectives())
}

// directive is one ha.cf keyword: its usage and how to read its arguments.
type directive struct {
	usage string
	// min and max bound the argument count; max < 0 means no limit.
	min, max int
	parse    func(line int, args []string)
}

// hacfParser reads one ha.cf.
type hacfParser struct {
	d diags
	c *Config

	seen          map[string]int // directive → line it was last given on
	mediaLines    []int          // lines of media read so far
	failbackSet   bool
	fbDelaySet    bool
	warntimeSet   bool
	initdeadSet   bool
	nodeLine      map[string]int
	niceFailback  *AutoFailback // from an obsolete nice_failback line
	firstNodeLine int
	known         []string // directive names, sorted, for suggestions
}

// ParseHaCf reads an ha.cf. name is used in diagnostics. The returned Config
// holds what ha.cf says with Heartbeat's (and hbd's) defaults applied; its
// Dir, ThisNode, Auth and Groups are left empty. Checks that need the
// machine or the node name (interfaces, "this node is listed") are Load's.
// The Config is never nil, but it is only meaningful without errors.
func ParseHaCf(name string, r io.Reader) (*Config, []Diag) {
	p := parseHaCf(name, r)
	return p.c, p.d.list
}

// Directives returns the name of every ha.cf directive hbd reads, sorted.
// Besides the parser, it tells which names belong to ha.cf: a hook's
// environment never lets a message field pose as one (harc.RunEvent).
func Directives() []string {
	p := &hacfParser{c: &Config{}}
	return sortedKeys(p.table())
}

func parseHaCf(name string, r io.Reader) *hacfParser {
	p := &hacfParser{
		d:        diags{file: name},
		c:        &Config{},
		seen:     map[string]int{},
		nodeLine: map[string]int{},
	}
	text, err := readAll(r)
	if err != nil {
		p.d.errorf(0, "cannot read ha.cf: %v", err)
		return p
	}
	p.c.UDPPort = DefaultUDPPort
	table := p.table()
	ignored := ignoredDirectives()
	for i, raw := range strings.Split(text, "\n") {
		line := i + 1
		if j := strings.IndexByte(raw, '#'); j >= 0 {
			raw = raw[:j]
		}
		fields := strings.Fields(raw)
		if len(fields) == 0 {
			continue
		}
		name, args := fields[0], fields[1:]
		dir, ok := table[name]
		if !ok {
			p.unknown(line, name, table)
			continue
		}
		if len(args) < dir.min || (dir.max >= 0 && len(args) > dir.max) {
			p.d.errorf(line, "%s: wrong number of arguments (%d); usage: %s", name, len(args), dir.usage)
			continue
		}
		prev, repeated := p.seen[name]
		p.seen[name] = line
		before := len(p.d.list)
		dir.parse(line, args)
		if HasErrors(p.d.list[before:]) {
			continue
		}
		if repeated && dir.max == 1 && isScalar(name) {
			p.d.warnf(line, "%s is set again (first on line %d); the last value wins", name, prev)
		}
		if rule, ok := ignored[name]; ok && (rule.when == nil || rule.when(args)) {
			p.d.warnf(line, "hbd accepts %s but ignores it: %s", name, rule.why)
		}
	}
	p.finish()
	return p
}

// isScalar reports whether a directive holds one value (so a repeat
// overrides), as opposed to list directives such as node or ucast.
func isScalar(name string) bool {
	switch name {
	case "node", "monitor", "exclusive", "bcast", "ucast", "ucast6", "mcast", "mcast6", "serial", "ping", "ping6",
		"ping_group", "hbaping", "respawn", "apiauth", "stonith", "stonith_host", "env", "udpport":
		return false
	}
	return true
}

func (p *hacfParser) unknown(line int, name string, table map[string]directive) {
	if name == "udp" { // Heartbeat's old name, long replaced
		p.d.errorf(line, "unknown directive \"udp\"; it is Heartbeat's old name for \"bcast\": write `bcast IFACE`")
		return
	}
	if p.known == nil {
		p.known = sortedKeys(table)
	}
	if c := closest(name, p.known); c != "" {
		p.d.errorf(line, "unknown directive %q; did you mean %q?", name, c)
		return
	}
	p.d.errorf(line, "unknown directive %q; see docs/config.md for the directives hbd reads", name)
}

// table maps each ha.cf keyword to its reader.
func (p *hacfParser) table() map[string]directive {
	c := p.c
	t := map[string]directive{
		"node":             {"node NAME [NAME...]", 1, -1, p.node},
		"keepalive":        p.timeDir("keepalive TIME", &c.Keepalive, nil),
		"deadtime":         p.timeDir("deadtime TIME", &c.Deadtime, nil),
		"warntime":         p.timeDir("warntime TIME", &c.Warntime, &p.warntimeSet),
		"initdead":         p.timeDir("initdead TIME", &c.Initdead, &p.initdeadSet),
		"deadping":         p.timeDir("deadping TIME", &c.Deadping, nil),
		"resource_timeout": p.timeDir("resource_timeout TIME", &c.ResourceTimeout, nil),
		"on_stop_failure":  {"on_stop_failure block|reboot", 1, 1, p.onStopFailure},
		"insecure_auth":    p.boolDir("insecure_auth yes|no", &c.InsecureAuth),
		"autoreload":       p.offDir("autoreload on|off", &c.NoAutoReload),
		"quiet_passive":    p.offDir("quiet_passive on|off", &c.NoQuietPassive),
		"monitor":          {monitorUsage, 1, -1, p.monitor},
		"exclusive":        {exclusiveUsage, 2, -1, p.exclusive},
		"conn_logd_time":   p.timeDir("conn_logd_time TIME", new(time.Duration), nil),
		"udpport":          {"udpport PORT", 1, 1, p.udpport},
		"ucast":            {"ucast IFACE PEER_IP [LOCAL_IP]", 2, 3, p.ucast(Ucast)},
		"ucast6":           {"ucast6 IFACE PEER_IP6 [LOCAL_IP6]", 2, 3, p.ucast(Ucast6)},
		"bcast":            {"bcast IFACE [IFACE...]", 1, -1, p.bcast},
		"mcast":            {"mcast IFACE GROUP PORT TTL LOOP", 5, 5, p.mcast(Mcast)},
		"mcast6":           {"mcast6 IFACE GROUP PORT HOPS LOOP", 5, 5, p.mcast(Mcast6)},
		"auto_failback":    {"auto_failback on|off|legacy", 1, 1, p.autoFailback},
		"failback_delay":   p.zeroTimeDir("failback_delay TIME", &c.FailbackDelay, &p.fbDelaySet),
		"drain_time":       p.zeroTimeDir("drain_time TIME", &c.DrainTime, nil),
		"quorum":           {"quorum auto|on|off", 1, 1, p.quorum},
		"nice_failback":    {"nice_failback on|off (obsolete)", 1, 1, p.niceFailbackDir},
		"logfile":          {"logfile PATH", 1, 1, p.path(&c.Logfile)},
		"debugfile":        {"debugfile PATH", 1, 1, p.path(&c.Debugfile)},
		"debugfile_ms":     p.boolDir("debugfile_ms on|off", &c.DebugfileMS),
		"logfacility":      {"logfacility FACILITY|none", 1, 1, p.logfacility},
		"use_logd":         p.boolDir("use_logd on|off", &c.UseLogd),
		"debug":            {"debug LEVEL (0-255)", 1, 1, p.intDir("debug level", &c.Debug, 0, 255)},
		"crm":              {"crm off", 1, 1, p.crm("crm")},
		"pacemaker":        {"pacemaker off", 1, 1, p.crm("pacemaker")},
		"hopfudge":         {"hopfudge N (0-255)", 1, 1, p.intDir("hopfudge", &c.Hopfudge, 0, 255)},
		"compression":      {"compression zlib|bz2", 1, 1, p.enumDir("compression", &c.Compression, "zlib", "bz2")},
		"compression_threshold": {"compression_threshold KB", 1, 1,
			p.intDir("compression_threshold", &c.CompressionThreshold, 1, 1<<20)},
		"traditional_compression": p.boolDir("traditional_compression on|off", &c.TraditionalCompression),
		"msgfmt":                  {"msgfmt classic|netstring", 1, 1, p.enumDir("msgfmt", &c.MsgFmt, "classic", "netstring")},
		"autojoin":                {"autojoin none|other|any", 1, 1, p.enumDir("autojoin", &c.Autojoin, "none", "other", "any")},
		"hbgenmethod":             {"hbgenmethod file|time", 1, 1, p.enumDir("hbgenmethod", new(string), "file", "time")},
		"uuidfrom":                {"uuidfrom file|nodename", 1, 1, p.enumDir("uuidfrom", new(string), "file", "nodename")},
		"realtime":                p.offDir("realtime on|off", &c.NoRealtime),
		"rtprio":                  {"rtprio N (1-99)", 1, 1, p.intDir("rtprio", &c.RTPrio, 1, 99)},
		"coredumps":               p.boolDir("coredumps on|off", new(bool)),
		"coreroot":                {"coreroot DIR", 1, 1, p.path(new(string))},
		"apiauth":                 {"apiauth CLIENT uid=UIDS|gid=GIDS...", 2, -1, p.nothing},
		"serial":                  {"serial DEVICE [DEVICE...]", 1, -1, p.nothing},
		"baud":                    {"baud RATE", 1, 1, p.baud},
		"watchdog":                {"watchdog DEVICE", 1, 1, p.path(new(string))},
		"respawn":                 {"respawn USER /PATH/TO/PROGRAM [ARGS...]", 2, -1, p.respawn},
		"stonith":                 {"stonith TYPE CONFIGFILE", 1, -1, p.nothing},
		"stonith_host":            {"stonith_host HOST TYPE [PARAMS...]", 2, -1, p.nothing},
		"ping":                    {"ping IP [IP...]", 1, -1, p.ping(false)},
		"ping6":                   {"ping6 IP6 [IP6...]", 1, -1, p.ping(false)},
		"ping_group":              {"ping_group NAME IP [IP...]", 2, -1, p.ping(true)},
		"hbaping":                 {"hbaping DEVICE", 1, -1, p.nothing},
		"env":                     {"env NAME=VALUE", 1, 1, p.env},
		"max_rexmit_delay":        {"max_rexmit_delay MS", 1, 1, p.intDir("max_rexmit_delay", new(int), 1, 1<<30)},
		"log_badpack":             p.boolDir("log_badpack on|off", new(bool)),
		"use_apphbd":              p.boolDir("use_apphbd on|off", new(bool)),
		"normalpoll":              p.boolDir("normalpoll on|off", new(bool)),
		"crm_daemon_dir":          {"crm_daemon_dir DIR", 1, 1, p.nothing},
		"crmd_spawns_pengine":     p.boolDir("crmd_spawns_pengine on|off", new(bool)),
		"record_config_changes":   p.boolDir("record_config_changes on|off", new(bool)),
		"record_pengine_inputs":   p.boolDir("record_pengine_inputs on|off", new(bool)),
		"enable_config_writes":    p.boolDir("enable_config_writes on|off", new(bool)),
		"memreserve":              {"memreserve PAGES", 1, 1, p.intDir("memreserve", new(int), 0, 1<<30)},
	}
	p.splitBrainTable(t)
	p.etcdTable(t)
	return t
}

func (p *hacfParser) nothing(int, []string) {}

// timeDir is a directive of one time, more than zero.
func (p *hacfParser) timeDir(usage string, dst *time.Duration, set *bool) directive {
	return p.durationDir(usage, dst, set, false)
}

// zeroTimeDir is timeDir for a time that may be 0 (no wait):
// failback_delay, drain_time, safe_start_delay.
func (p *hacfParser) zeroTimeDir(usage string, dst *time.Duration, set *bool) directive {
	return p.durationDir(usage, dst, set, true)
}

func (p *hacfParser) durationDir(usage string, dst *time.Duration, set *bool, zeroOK bool) directive {
	name, _, _ := strings.Cut(usage, " ")
	return directive{usage, 1, 1, func(line int, args []string) {
		d, err := parseTime(args[0])
		if err != nil {
			p.d.errorf(line, "%s: %v", name, err)
			return
		}
		if d <= 0 && !zeroOK {
			p.d.errorf(line, "%s %s: must be more than zero", name, args[0])
			return
		}
		*dst = d
		if set != nil {
			*set = true
		}
	}}
}

func (p *hacfParser) quorum(line int, args []string) {
	switch strings.ToLower(args[0]) {
	case "auto":
		p.c.Quorum = QuorumAuto
	case "on", "yes", "true":
		p.c.Quorum = QuorumOn
	case "off", "no", "false":
		p.c.Quorum = QuorumOff
	default:
		p.d.errorf(line, "quorum: %q is not auto, on or off", args[0])
	}
}

func (p *hacfParser) boolDir(usage string, dst *bool) directive {
	return p.boolInto(usage, func(b bool) { *dst = b })
}

// offDir reads an on|off directive that is on by default into a field
// that says it is off (NoAutoReload, NoRealtime, NoQuietPassive).
func (p *hacfParser) offDir(usage string, dst *bool) directive {
	return p.boolInto(usage, func(b bool) { *dst = !b })
}

func (p *hacfParser) boolInto(usage string, set func(bool)) directive {
	name, _, _ := strings.Cut(usage, " ")
	return directive{usage, 1, 1, func(line int, args []string) {
		b, err := parseBool(args[0])
		if err != nil {
			p.d.errorf(line, "%s: %v", name, err)
			return
		}
		set(b)
	}}
}

func (p *hacfParser) intDir(what string, dst *int, lo, hi int) func(int, []string) {
	return func(line int, args []string) {
		n, err := parseInt(args[0], what, lo, hi)
		if err != nil {
			p.d.errorf(line, "%v", err)
			return
		}
		*dst = n
	}
}

func (p *hacfParser) enumDir(name string, dst *string, values ...string) func(int, []string) {
	return func(line int, args []string) {
		for _, v := range values {
			if strings.EqualFold(args[0], v) {
				*dst = v
				return
			}
		}
		p.d.errorf(line, "%s: %q is not one of %s", name, args[0], strings.Join(values, ", "))
	}
}

func (p *hacfParser) path(dst *string) func(int, []string) {
	return func(line int, args []string) {
		if !filepath.IsAbs(args[0]) {
			p.d.warnf(line, "%q is a relative path; hbd runs from /, so write the full path", args[0])
		}
		*dst = args[0]
	}
}

// MaxNodeName is the longest node name, in bytes: a node name is a host
// name (uname -n), at most 64 bytes on Linux (HOST_NAME_MAX); 100 leaves
// room above it, and the settings' caps (hbd/cluster/settingscap.go)
// are sized from it.
const MaxNodeName = 100

// validNodeName reports what is wrong with a node name, or "".
func validNodeName(n string) string {
	switch {
	case len(n) > MaxNodeName:
		return fmt.Sprintf("is longer than %d characters", MaxNodeName)
	case strings.ContainsAny(n, ",;"):
		return "contains a comma or semicolon; separate node names with spaces"
	case strings.ContainsAny(n, "/\\:=\"'|>"):
		// `|`, `>` and `:` also separate the node names in the lists
		// of the messages between nodes (hbd_want KEY>NODE|…, hbd_seen
		// NODE:EPOCH|…).
		return "contains a character a host name cannot have"
	case strings.ContainsFunc(n, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsGraphic(r) }):
		return "contains a control character or a space; a node name is its host name (uname -n)"
	case !utf8.ValidString(n):
		return "is not valid UTF-8"
	}
	return ""
}

func (p *hacfParser) node(line int, args []string) {
	if p.firstNodeLine == 0 {
		p.firstNodeLine = line
	}
	for _, n := range args {
		if why := validNodeName(n); why != "" {
			p.d.errorf(line, "node %q %s", n, why)
			continue
		}
		n = strings.ToLower(n) // as Heartbeat: node names are compared in lower case
		if prev, ok := p.nodeLine[n]; ok {
			where := fmt.Sprintf(" (also on line %d)", prev)
			if prev == line {
				where = " on this line"
			}
			p.d.warnf(line, "node %s is listed twice%s; hbd counts it once: remove the repeat", n, where)
			continue
		}
		p.nodeLine[n] = line
		p.c.Nodes = append(p.c.Nodes, n)
	}
}

func (p *hacfParser) autoFailback(line int, args []string) {
	if strings.EqualFold(args[0], "legacy") {
		p.c.AutoFailback = FailbackLegacy
	} else if b, err := parseBool(args[0]); err == nil {
		p.c.AutoFailback = FailbackOff
		if b {
			p.c.AutoFailback = FailbackOn
		}
	} else {
		p.d.errorf(line, "auto_failback: %q is not on, off or legacy", args[0])
		return
	}
	p.failbackSet = true
}

// onStopFailure is hbd's on_stop_failure: what happens when a resource
// will not stop and may still run. block (the default) keeps the group
// held here, failed, so no other node starts it, until an operator runs
// hbd cleanup; reboot does that and reboots this node as Heartbeat did.
func (p *hacfParser) onStopFailure(line int, args []string) {
	switch v := strings.ToLower(args[0]); v {
	case "block", "reboot":
		p.c.OnStopFailure = v
	default:
		p.d.errorf(line, "on_stop_failure: %q is not block or reboot", args[0])
	}
}

func (p *hacfParser) niceFailbackDir(line int, args []string) {
	b, err := parseBool(args[0])
	if err != nil {
		p.d.errorf(line, "nice_failback: %v", err)
		return
	}
	fb, instead := FailbackLegacy, "auto_failback legacy"
	if b {
		fb, instead = FailbackOff, "auto_failback off"
	}
	p.niceFailback = &fb
	p.d.warnf(line, "nice_failback is obsolete; read as `%s` (write auto_failback on|off instead)", instead)
}

var syslogFacilities = []string{
	"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news",
	"syslog", "user", "uucp", "local0", "local1", "local2", "local3", "local4",
	"local5", "local6", "local7", "none",
}

func (p *hacfParser) logfacility(line int, args []string) {
	f := strings.ToLower(args[0])
	for _, known := range syslogFacilities {
		if f == known {
			p.c.LogFacility = f
			return
		}
	}
	p.d.errorf(line, "logfacility: %q is not a syslog facility; use one of %s", args[0], strings.Join(syslogFacilities, ", "))
}

func (p *hacfParser) crm(name string) func(int, []string) {
	return func(line int, args []string) {
		if strings.EqualFold(args[0], "respawn") {
			p.d.errorf(line, "%s %s: hbd runs haresources (v1) mode only, never Pacemaker; write `%s off` or remove the line", name, args[0], name)
			return
		}
		b, err := parseBool(args[0])
		if err != nil {
			p.d.errorf(line, "%s: %q is not on, off or respawn", name, args[0])
			return
		}
		if b {
			p.d.errorf(line, "%s %s: hbd runs haresources (v1) mode only, never Pacemaker; write `%s off` or remove the line", name, args[0], name)
		}
	}
}

func (p *hacfParser) baud(line int, args []string) {
	switch args[0] {
	case "9600", "19200", "38400", "57600", "115200", "230400", "460800":
	default:
		p.d.errorf(line, "baud: %q is not a serial rate (9600, 19200, 38400, 57600, 115200, 230400, 460800)", args[0])
	}
}

func (p *hacfParser) respawn(line int, args []string) {
	if !filepath.IsAbs(args[1]) {
		p.d.errorf(line, "respawn: program %q must be a full path", args[1])
		return
	}
	p.c.Respawn = append(p.c.Respawn, Respawn{User: args[0], Command: args[1:], Pos: Pos{p.d.file, line}})
}

func (p *hacfParser) ping(group bool) func(int, []string) {
	return func(line int, args []string) {
		pg := PingGroup{Group: group, Pos: Pos{p.d.file, line}}
		hosts := args
		if group {
			pg.Name, hosts = args[0], args[1:]
		}
		for _, h := range hosts {
			a, err := netip.ParseAddr(h)
			if err != nil {
				p.d.errorf(line, "ping: %q is not an IP address (hbd does not resolve host names)", h)
				return
			}
			pg.Hosts = append(pg.Hosts, a)
		}
		if !group {
			pg.Name = hosts[0]
		}
		p.c.Ping = append(p.c.Ping, pg)
	}
}

func (p *hacfParser) env(line int, args []string) {
	name, _, ok := strings.Cut(args[0], "=")
	if !ok || name == "" {
		p.d.errorf(line, "env: %q is not NAME=VALUE", args[0])
	}
}

// finish applies defaults and checks the rules between directives.
func (p *hacfParser) finish() {
	c := p.c
	c.SetTimingDefaults()
	if c.ResourceTimeout == 0 {
		c.ResourceTimeout = DefaultResourceTimeout
	}
	if !p.fbDelaySet {
		c.FailbackDelay = DefaultFailbackDelay
	}
	if _, set := p.seen["drain_time"]; !set {
		c.DrainTime = min(DefaultDrainTime, c.ResourceTimeout/2)
	}
	if c.DrainTime >= c.ResourceTimeout {
		// The drain runs inside the stop, which resource_timeout bounds:
		// a stop that times out is a failed stop.
		p.d.errorf(p.seen["drain_time"], "drain_time %v must be less than resource_timeout (%v)", c.DrainTime, c.ResourceTimeout)
	}
	if c.DebugfileMS && c.Debugfile == "" {
		p.d.warnf(p.seen["debugfile_ms"], "debugfile_ms on without a debugfile line: no line has milliseconds (only the debug file's do)")
	}
	if _, ok := p.seen["hopfudge"]; !ok {
		c.Hopfudge = DefaultHopfudge
	}
	if c.CompressionThreshold == 0 {
		c.CompressionThreshold = 2
	}
	if c.MsgFmt == "" {
		c.MsgFmt = "classic"
	}
	if c.Autojoin == "" {
		c.Autojoin = "none"
	}

	if c.Deadtime <= 2*c.Keepalive {
		line := p.seen["deadtime"]
		if line == 0 {
			line = p.seen["keepalive"]
		}
		p.d.errorf(line, "deadtime %s must be more than twice keepalive %s (Heartbeat: \"Dead time [%d] is too small compared to keeplive [%d]\"); raise deadtime above %s or lower keepalive",
			fmtDuration(c.Deadtime), fmtDuration(c.Keepalive), c.Deadtime.Milliseconds(), c.Keepalive.Milliseconds(), fmtDuration(2*c.Keepalive))
	}
	if p.initdeadSet {
		if c.Initdead < c.Deadtime {
			p.d.errorf(p.seen["initdead"], "initdead %s is less than deadtime %s; initdead must be at least deadtime (twice deadtime is usual)",
				fmtDuration(c.Initdead), fmtDuration(c.Deadtime))
		} else if c.Initdead < 10*time.Second {
			p.d.warnf(p.seen["initdead"], "initdead %s may be too small: it covers the network coming up after boot; 10s or more is usual", fmtDuration(c.Initdead))
		}
	}
	if p.warntimeSet {
		if c.Warntime <= c.Keepalive {
			p.d.warnf(p.seen["warntime"], "warntime %s is not more than keepalive %s: every heartbeat would be logged as late; set it between keepalive and deadtime",
				fmtDuration(c.Warntime), fmtDuration(c.Keepalive))
		} else if c.Warntime >= c.Deadtime {
			p.d.warnf(p.seen["warntime"], "warntime %s is not less than deadtime %s: no late-heartbeat warning comes before a node is declared dead; set it between keepalive and deadtime",
				fmtDuration(c.Warntime), fmtDuration(c.Deadtime))
		}
	}
	if len(c.Media) == 0 && c.Backend != BackendEtcd {
		p.d.errorf(0, "no heartbeat medium: add at least one `ucast IFACE PEER_IP` (or bcast IFACE, or mcast IFACE GROUP PORT TTL LOOP) line")
	}
	if len(c.Nodes) == 0 {
		p.d.errorf(0, "no nodes: add a `node NAME...` line listing every cluster node by its `uname -n` name")
	}
	p.finishSplitBrain()
	p.finishEtcd()
	if !p.failbackSet {
		if p.niceFailback != nil {
			c.AutoFailback = *p.niceFailback
		} else {
			p.d.warnf(0, "auto_failback is not set; using Heartbeat's default `legacy` (treated like on); write `auto_failback on` or `auto_failback off`")
		}
	}
}
