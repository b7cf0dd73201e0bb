// Package config reads and validates a Heartbeat-style configuration
// directory (/etc/ha.d): ha.cf, authkeys and haresources.
//
// Every problem found is reported as a Diag that names the file and line,
// and loading never stops at the first error: callers get all of them.
// A Config returned without errors is complete and internally consistent;
// the daemon applies nothing else.
package config

import (
	"fmt"
	"net/netip"
	"time"
)

// Pos is a place in a configuration file.
type Pos struct {
	File string // path as given to the loader (e.g. /etc/ha.d/ha.cf)
	Line int    // 1-based; 0 when the problem concerns the whole file
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Severity tells an error from a warning.
type Severity int

const (
	// SevError makes the configuration unusable.
	SevError Severity = iota
	// SevWarning is printed but does not change the outcome.
	SevWarning
)

// Diag is one finding about a configuration: "FILE:LINE: message" or
// "FILE:LINE: warning: message".
type Diag struct {
	Pos      Pos
	Severity Severity
	Msg      string
	// Machine marks an error about this machine's state rather than
	// what the files say: a medium's interface or local address
	// missing, a host name not set yet ("localhost"), a file etcd_cacert,
	// etcd_cert or etcd_key names not there or not written yet (empty,
	// or wrong and changed a moment ago), the ICMP socket refused.
	// It may pass by itself (at boot, an interface brought up or a
	// certificate written a moment later), so `hbd run` exits with a
	// status a service manager retries. What a retry would meet again is
	// not marked: a host name set but not a node (a typo on either
	// side), a program or script the files name missing, an etcd file
	// that has stayed wrong since it changed.
	Machine bool
}

func (d Diag) String() string {
	if d.Severity == SevWarning {
		return fmt.Sprintf("%s: warning: %s", d.Pos, d.Msg)
	}
	return fmt.Sprintf("%s: %s", d.Pos, d.Msg)
}

// AutoFailback is the ha.cf auto_failback setting.
type AutoFailback int

const (
	// FailbackLegacy is Heartbeat's default: failback unless the peer runs
	// nice_failback-aware code (treated like On between hbd nodes).
	FailbackLegacy AutoFailback = iota
	// FailbackOn hands groups back to their preferred node when it returns.
	FailbackOn
	// FailbackOff leaves groups where they are.
	FailbackOff
)

func (a AutoFailback) String() string {
	switch a {
	case FailbackOn:
		return "on"
	case FailbackOff:
		return "off"
	default:
		return "legacy"
	}
}

// QuorumMode is the ha.cf quorum setting.
type QuorumMode int

const (
	// QuorumAuto (the default): on with three or more nodes, off with two.
	QuorumAuto QuorumMode = iota
	// QuorumOn: a majority of the ha.cf nodes is needed to hold groups.
	QuorumOn
	// QuorumOff: Heartbeat's behaviour, every partition acts alone.
	QuorumOff
)

func (q QuorumMode) String() string {
	switch q {
	case QuorumOn:
		return "on"
	case QuorumOff:
		return "off"
	}
	return "auto"
}

// Enabled says whether a cluster of n nodes uses quorum.
func (q QuorumMode) Enabled(n int) bool {
	switch q {
	case QuorumOn:
		return true
	case QuorumOff:
		return false
	}
	return n >= 3
}

// MediumKind is the kind of a heartbeat medium line in ha.cf.
type MediumKind string

// The media hbd drives.
const (
	Ucast  MediumKind = "ucast"
	Ucast6 MediumKind = "ucast6"
	Bcast  MediumKind = "bcast"
	Mcast  MediumKind = "mcast"
	Mcast6 MediumKind = "mcast6"
)

// Medium is one heartbeat path. A `bcast eth0 eth1` line yields one Medium
// per interface; a `ucast eth0 IP` line yields one.
type Medium struct {
	Kind  MediumKind
	Iface string
	// Addr is the peer address (ucast), the group (mcast); invalid for bcast.
	Addr netip.Addr
	// Port is udpport as it stood when the line was read (bcast, ucast),
	// or the port on the mcast line.
	Port int
	// Local is hbd's optional extension `ucast IFACE PEER LOCAL`: the local
	// address to bind, so several nodes can share one host (loopback demo).
	// Invalid means the wildcard address on Iface, as Heartbeat does.
	Local netip.Addr
	TTL   int  // mcast TTL / hops, 1..255
	Loop  bool // mcast loopback
	Pos   Pos
}

// Name is how logs and status call the link, as Heartbeat does: the
// interface name (e.g. "eth0").
func (m Medium) Name() string { return m.Iface }

// PingGroup is a `ping` host (Name == host) or a `ping_group NAME HOST...`.
type PingGroup struct {
	Name  string
	Hosts []netip.Addr
	Group bool // true for ping_group
	Pos   Pos
}

// Respawn is a `respawn USER PROGRAM [ARGS]` line.
type Respawn struct {
	User    string
	Command []string
	Pos     Pos
}

// Key is one authkeys entry.
type Key struct {
	Index  int    // 1..15
	Method string // crc, md5, sha1, and hbd's stronger methods
	Secret string // empty for crc
	Pos    Pos
}

// Auth is the content of authkeys: Active signs outgoing packets, every
// key in Keys is accepted on receive.
type Auth struct {
	Active int
	Keys   []Key // in file order, indexes unique
	Pos    Pos   // the `auth N` line
}

// ActiveKey returns the key that signs outgoing messages.
func (a Auth) ActiveKey() (Key, bool) {
	for _, k := range a.Keys {
		if k.Index == a.Active {
			return k, true
		}
	}
	return Key{}, false
}

// Resource is one entry of a haresources line.
type Resource struct {
	// Spec is the resource as written, after a bare IP was expanded to
	// "IPaddr::IP" (this is Heartbeat's form, used as the group key).
	Spec string
	Name string   // script name, e.g. "IPaddr"
	Args []string // the ::-separated arguments
	// Script is what runs the resource, as Load resolved it; the zero
	// Script means unresolved (harc resolves it when it runs).
	Script Script
	Pos    Pos
}

// ScriptKind says what runs a resource.
type ScriptKind uint8

// The kinds of Script.
const (
	// ScriptNone: not resolved (a Resource built by hand).
	ScriptNone ScriptKind = iota
	// ScriptFile: the executable at Path, DIR/resource.d/NAME or
	// /etc/init.d/NAME, run as `PATH ARGS... OP`.
	ScriptFile
	// ScriptBuiltin: the agent Name compiled into hbd, run as `hbd
	// agent NAME ARGS... OP`.
	ScriptBuiltin
	// ScriptOCF: the OCF agent program at Path, run by hbd's agent Name
	// (ocf) as `hbd agent ocf:PATH ARGS... OP`.
	ScriptOCF
)

// Script is what runs a resource: a file, or an agent built into hbd
// (see Lookup.Resolve).
type Script struct {
	Kind ScriptKind
	// Name is the built-in agent's name in the registry (ScriptBuiltin,
	// ScriptOCF).
	Name string
	// Path is the executable (ScriptFile) or the OCF agent's program
	// (ScriptOCF).
	Path string
}

// Builtin says whether hbd runs the resource itself (`hbd agent`).
func (s Script) Builtin() bool { return s.Kind == ScriptBuiltin || s.Kind == ScriptOCF }

// AgentArg is the first word after `hbd agent` for a resource hbd runs
// itself: NAME, or ocf:PATH for an OCF agent's program.
func (s Script) AgentArg() string {
	if s.Kind == ScriptOCF {
		return s.Name + ":" + s.Path
	}
	return s.Name
}

// File is the file that runs: the script itself, an OCF agent's
// program, or "" for an agent built into hbd.
func (s Script) File() string {
	if s.Kind == ScriptFile || s.Kind == ScriptOCF {
		return s.Path
	}
	return ""
}

// String is how logs and `hbd check` show the script: its path, or
// builtin:NAME (builtin:ocf:PATH) for one hbd runs itself.
func (s Script) String() string {
	switch s.Kind {
	case ScriptFile:
		return s.Path
	case ScriptBuiltin, ScriptOCF:
		return "builtin:" + s.AgentArg()
	}
	return ""
}

// Group is one haresources line: a preferred node and its resources, in
// start order.
type Group struct {
	Preferred string
	Resources []Resource
	Pos       Pos
	// Name is the group's explicit name (`#hbd name NAME` before its
	// haresources line), "" without one: see GroupNames.
	Name string
	// FailureTimeout is how long a failure of the group on a node (its
	// monitor gave up: see Monitor) keeps the group off that node; 0 means
	// until an operator runs `hbd cleanup GROUP`. Set by Load from the
	// failure_timeout= of the group's monitor lines.
	FailureTimeout time.Duration
}

// Key is the group's name as Heartbeat uses it: its first resource.
func (g Group) Key() string {
	if len(g.Resources) == 0 {
		return ""
	}
	return g.Resources[0].Spec
}

// Config is a validated /etc/ha.d.
type Config struct {
	Dir      string // the configuration directory
	ThisNode string // the node we run as (uname -n or --node)

	Nodes []string // ha.cf node lines, in order, de-duplicated
	Media []Medium

	Keepalive time.Duration
	Deadtime  time.Duration
	Warntime  time.Duration
	Initdead  time.Duration
	UDPPort   int

	AutoFailback AutoFailback

	Logfile     string
	Debugfile   string
	DebugfileMS bool   // debugfile_ms (hbd extension): the debug file's times with milliseconds
	LogFacility string // "" when unset; "none" disables syslog
	UseLogd     bool
	Debug       int

	Ping     []PingGroup
	Respawn  []Respawn
	Deadping time.Duration
	Hopfudge int

	Compression            string
	CompressionThreshold   int
	TraditionalCompression bool
	MsgFmt                 string // classic | netstring
	Autojoin               string // none | other | any

	// hbd's own directives.

	// Backend is the backend line (BackendHeartbeat by default); Etcd
	// the etcd_ directives, meaningful with BackendEtcd (etcd.go).
	Backend Backend
	Etcd    Etcd

	// ResourceTimeout bounds every resource script operation.
	ResourceTimeout time.Duration

	// FailbackDelay is failback_delay: a failback (a running group moving
	// back to its returning preferred node) waits until that node has been
	// up and joined this long. 0: at once.
	FailbackDelay time.Duration

	// DrainTime is drain_time: how long a planned release of a built-in
	// IP address (graceful stop, standby, failback, takeover command, a
	// reload's removal) may wait for the TCP connections in flight on it
	// before removing it. 0: at once.
	DrainTime time.Duration

	// Quorum is the quorum directive: with quorum, a node that sees fewer
	// than a majority of the ha.cf nodes (itself included) alive releases
	// its groups and starts none.
	Quorum QuorumMode
	// OnStopFailure is on_stop_failure: "block" (default, also "") or
	// "reboot".
	OnStopFailure string

	// InsecureAuth is insecure_auth: weak authkeys keys (crc, the sample
	// secret, short secrets) are accepted with a warning instead of
	// refused by `hbd run` (authpolicy.go).
	InsecureAuth bool

	// NoRealtime is `realtime off`; RTPrio is rtprio (0: the default).
	// With realtime on (the default, as in Heartbeat) the daemon runs
	// SCHED_RR at RealtimePriority (hbd/daemon/realtime.go).
	NoRealtime bool
	RTPrio     int

	// NoAutoReload is `autoreload off` (hbd extension): edits of the
	// configuration directory are not applied by themselves; only SIGHUP
	// (or a restart) reloads.
	NoAutoReload bool

	// NoQuietPassive is `quiet_passive off` (hbd extension): this node
	// never sends its status less often while it holds nothing, and does
	// not tell its peer that it honours a peer that does (hbd/cluster's
	// quiet.go), so neither node of the pair goes quiet.
	NoQuietPassive bool

	// Split brain (docs/split-brain.md). PingTakeover is ping_takeover:
	// a node that reaches none of its ping nodes still takes over from a
	// silent peer (default off: it does not).
	PingTakeover bool
	// Fence is fence_command / fence_aws with fence_timeout, fence_retry.
	Fence FenceConfig
	// Profile is the profile line ("" reads as default).
	Profile Profile
	// SafeStartDelay is safe_start_delay: with profile safe, a group
	// taken over from a silent peer starts this long after the takeover
	// became allowed (its fence succeeded).
	SafeStartDelay time.Duration

	Auth   Auth
	Groups []Group

	// Monitors are ha.cf `monitor` lines (hbd's own), one per watched
	// resource, in file order. Empty: nothing is watched after it starts,
	// as in Heartbeat.
	Monitors []Monitor

	// Exclusive are ha.cf `exclusive` lines (hbd's own): each a set of
	// haresources group keys (config.Group.Key) that never share a node,
	// highest priority first. Load resolves the words of the line (group
	// keys or 1-based group numbers) to keys; ExclusivePos is where each
	// line is.
	Exclusive    [][]string
	ExclusivePos []Pos
}

// MonitorOp is the operation a monitor runs.
type MonitorOp string

// The operations of a `monitor` line's op=.
const (
	// MonitorAuto runs `monitor`, and falls back to `status` for good
	// when the script does not know `monitor` (see docs/monitoring.md).
	MonitorAuto MonitorOp = "auto"
	// MonitorMonitor runs `monitor` only: exit code 0 is healthy.
	MonitorMonitor MonitorOp = "monitor"
	// MonitorStatus runs `status`, read as harc reads it before a start.
	MonitorStatus MonitorOp = "status"
)

// Monitor is one ha.cf `monitor RESOURCE [name=value...]` line: how a
// resource is checked while this node holds its group, and what a
// failure does (restart it and what follows it in the group here, up to
// Restarts times within Window; then the group fails over).
type Monitor struct {
	// Resource is the resource's Spec, as in haresources; Group the key
	// of its group and Index its place there (both set by Load).
	Resource string
	Group    string
	Index    int
	// InGroup is group= as written (a group key as haresources spells
	// it, or its 1-based number): the resource is looked for in that
	// group only, for a resource that appears in several. "" otherwise.
	InGroup string

	Interval time.Duration // between the end of a check and the next
	Timeout  time.Duration // one check; the script is killed after it
	// Restarts is how many local restarts are allowed within Window;
	// the failure after them fails the group over. 0: the first failure
	// does.
	Restarts int
	Window   time.Duration
	// FailureTimeout is failure_timeout= (Group.FailureTimeout); 0 means
	// never (until hbd cleanup). FailureTimeoutSet says it was written.
	FailureTimeout    time.Duration
	FailureTimeoutSet bool
	Op                MonitorOp

	Pos Pos
}

// Group returns the group with the given key.
func (c *Config) Group(key string) (Group, bool) {
	for _, g := range c.Groups {
		if g.Key() == key {
			return g, true
		}
	}
	return Group{}, false
}

// Profile names a set of defaults and rules chosen with one `profile`
// line (docs/split-brain.md).
type Profile string

// Profiles.
const (
	// ProfileDefault is Heartbeat's behaviour: a node takes over from a
	// silent peer after deadtime (after fencing it, if fencing is set).
	ProfileDefault Profile = "default"
	// ProfileSafe is for services that must never run on two nodes at
	// once (validators, signers): takeover from a silent peer only after
	// it was fenced (or ping nodes showed it isolated), safe_start_delay
	// before any takeover start, auto_failback off.
	ProfileSafe Profile = "safe"
)

// FenceConfig is how a silent peer is fenced (STONITH) before its groups
// are taken over: an external command, or the built-in AWS fence, or
// neither (no fencing).
type FenceConfig struct {
	// Command is fence_command: PROGRAM [ARGS...], run with the node's
	// name appended; exit status 0 means the node is fenced.
	Command []string
	// AWS is fence_aws (nil: not configured).
	AWS *FenceAWS
	// Timeout bounds one attempt (fence_timeout); Retry is the pause
	// before a failed fence is tried again (fence_retry).
	Timeout time.Duration
	Retry   time.Duration
	Pos     Pos
}

// Enabled says whether a fencing method is configured.
func (f FenceConfig) Enabled() bool { return len(f.Command) > 0 || f.AWS != nil }

// FenceAWS actions.
const (
	FenceAWSStop        = "stop-instance"
	FenceAWSReassociate = "reassociate"
)

// FenceAWS is the built-in AWS fence: stop the node's instance
// (StopInstances, Force), or move the Elastic IP AllocationID to this
// node's instance (AssociateAddress with AllowReassociation).
type FenceAWS struct {
	Action       string            // FenceAWSStop or FenceAWSReassociate
	AllocationID string            // reassociate only
	Instances    map[string]string // node name → instance id
	Region       string            // "" : from IMDS
	Endpoint     string            // EC2 endpoint URL ("" : AWS's)
}

// DefaultRTPrio is the real-time priority without an rtprio line: the
// lowest SCHED_RR priority, as Heartbeat 3.0.6 runs (ps shows its
// processes RR at priority 1).
const DefaultRTPrio = 1

// RealtimePriority is the SCHED_RR priority the daemon runs at, 0 for
// normal scheduling (realtime off).
func (c *Config) RealtimePriority() int {
	switch {
	case c.NoRealtime:
		return 0
	case c.RTPrio > 0:
		return c.RTPrio
	}
	return DefaultRTPrio
}
