package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// hacfBase is a valid ha.cf of three lines; case lines start at line 4.
const hacfBase = "node node1 node2\nucast eth0 10.0.0.2\nauto_failback on\n"

func TestParseHaCfDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		in   string // appended to hacfBase
		want []want
	}{
		{"valid base", "", nil},
		{"comments and blanks", "# comment\n\n   \t\nkeepalive 1 # trailing\n", nil},
		// unknown directives
		{"typo suggests", "kepalive 2", []want{e(4, `unknown directive "kepalive"; did you mean "keepalive"?`)}},
		{"case suggests", "Keepalive 2", []want{e(4, `did you mean "keepalive"`)}},
		{"unknown no suggestion", "frobnicate 1", []want{e(4, `unknown directive "frobnicate"; see docs/config.md`)}},
		{"old udp alias", "udp eth0", []want{e(4, `Heartbeat's old name for "bcast"`)}},
		// argument counts
		{"missing value", "keepalive", []want{e(4, "keepalive: wrong number of arguments (0); usage: keepalive TIME")}},
		{"extra value", "deadtime 10 20", []want{e(4, "wrong number of arguments (2)")}},
		{"node without names", "node", []want{e(4, "usage: node NAME")}},
		// times
		{"time unit", "keepalive 3x", []want{e(4, `keepalive: "3x" has an unknown unit "x"`)}},
		{"time minutes", "deadtime 1m", []want{e(4, `unknown unit "m"`)}},
		{"time negative", "keepalive -1", []want{e(4, `"-1" is negative`)}},
		{"time zero", "keepalive 0", []want{e(4, "keepalive 0: must be more than zero")}},
		{"time rounds to zero", "keepalive 400us", []want{e(4, "must be more than zero")}},
		{"time garbage", "deadtime abc", []want{e(4, `deadtime: "abc" is not a time`)}},
		{"time two dots", "deadtime 1.2.3", []want{e(4, `"1.2.3" is not a time`)}},
		{"time exponent", "deadtime 1e3", []want{e(4, `unknown unit "e3"`)}},
		{"time huge", "initdead 100000", []want{e(4, "more than 24 hours")}},
		{"time seconds suffix accepted", "keepalive 1s\ndeadtime 3.5s", nil},
		// failback_delay and quorum (hbd's own)
		{"failback_delay zero allowed", "failback_delay 0", nil},
		{"failback_delay garbage", "failback_delay soon", []want{e(4, `failback_delay: "soon" is not a time`)}},
		{"failback_delay negative", "failback_delay -2", []want{e(4, `"-2" is negative`)}},
		{"debugfile_ms with a debugfile", "debugfile /var/log/ha-debug\ndebugfile_ms on", nil},
		{"debugfile_ms off alone", "debugfile_ms off", nil},
		{"debugfile_ms without a debugfile", "debugfile_ms yes", []want{w(4, "debugfile_ms on without a debugfile line")}},
		{"debugfile_ms garbage", "debugfile_ms 3ms", []want{e(4, "debugfile_ms: ")}},
		{"drain_time zero allowed", "drain_time 0", nil},
		{"drain_time garbage", "drain_time soon", []want{e(4, `drain_time: "soon" is not a time`)}},
		{"drain_time past resource_timeout", "resource_timeout 2\ndrain_time 2", []want{e(5, "drain_time 2s must be less than resource_timeout (2s)")}},
		{"quorum on", "quorum on", nil},
		{"quorum off", "quorum off", nil},
		{"quorum bad", "quorum majority", []want{e(4, `quorum: "majority" is not auto, on or off`)}},
		{"resource_timeout zero", "resource_timeout 0", []want{e(4, "resource_timeout 0: must be more than zero")}},
		{"warntime bad", "warntime soon", []want{e(4, "warntime: ")}},
		{"initdead bad", "initdead -5", []want{e(4, "initdead: ")}},
		// timing rules
		{"deadtime too small", "keepalive 1\ndeadtime 2", []want{e(5, "deadtime 2s must be more than twice keepalive 1s")}},
		{"deadtime too small echoes heartbeat", "deadtime 4", []want{e(4, "Dead time [4000] is too small compared to keeplive [2000]")}},
		{"keepalive too big for default deadtime", "keepalive 20", []want{e(4, "deadtime 30s must be more than twice keepalive 20s")}},
		{"deadtime just above twice", "keepalive 500ms\ndeadtime 1001ms\ninitdead 10", nil},
		{"initdead below deadtime", "deadtime 10\ninitdead 5", []want{e(5, "initdead 5s is less than deadtime 10s")}},
		{"initdead small", "keepalive 1\ndeadtime 5\ninitdead 6", []want{w(6, "initdead 6s may be too small")}},
		{"warntime below keepalive", "warntime 1", []want{w(4, "warntime 1s is not more than keepalive 2s")}},
		{"warntime equals keepalive", "keepalive 1\nwarntime 1", []want{w(5, "is not more than keepalive")}},
		{"warntime above deadtime", "warntime 40", []want{w(4, "warntime 40s is not less than deadtime 30s")}},
		{"warntime fine", "keepalive 1\nwarntime 2\ndeadtime 5\ninitdead 20", nil},
		{"scalar repeated", "keepalive 1\nkeepalive 1.5", []want{w(5, "keepalive is set again (first on line 4)")}},
		// udpport
		{"udpport zero", "udpport 0", []want{e(4, "udpport 0 is out of range; expected 1 to 65535")}},
		{"udpport big", "udpport 65536", []want{e(4, "out of range")}},
		{"udpport word", "udpport ha", []want{e(4, `udpport "ha" is not a number`)}},
		{"udpport after media", "udpport 700", []want{w(4, "udpport 700 comes after the medium on line 2, which keeps port 694")}},
		// ucast
		{"ucast host name", "ucast eth0 node2.example", []want{e(4, `ucast: peer "node2.example" is not an IP address (hbd does not resolve host names`)}},
		{"ucast v6 peer", "ucast eth0 fe80::1", []want{e(4, "is not an IPv4 address; use ucast6/mcast6")}},
		{"ucast swapped", "ucast 10.0.0.3 eth0", []want{e(4, `interface "10.0.0.3" is an address`), e(4, `peer "eth0" is not an IP`)}},
		{"ucast alias", "ucast eth0:0 10.0.0.3", []want{e(4, "aliases like eth0:0 are not interfaces")}},
		{"ucast long iface", "ucast averyveryverylongname 10.0.0.3", []want{e(4, "longer than 15 characters")}},
		{"ucast multicast peer", "ucast eth0 224.0.0.1", []want{e(4, "must be a unicast address")}},
		{"ucast unspecified peer", "ucast eth0 0.0.0.0", []want{e(4, "must be a unicast address")}},
		{"ucast too many", "ucast eth0 10.0.0.3 10.0.0.4 x", []want{e(4, "usage: ucast IFACE PEER_IP [LOCAL_IP]")}},
		{"ucast bad local", "ucast eth0 10.0.0.3 me", []want{e(4, `local address "me" is not an IP`)}},
		{"ucast local v6", "ucast eth0 10.0.0.3 ::1", []want{e(4, "local address ::1 is not an IPv4 address")}},
		{"ucast6 v4 peer", "ucast6 eth0 10.0.0.3", []want{e(4, "ucast6: peer 10.0.0.3 is not an IPv6 address")}},
		{"ucast6 ok", "ucast6 eth0 fd00::2 fd00::1", nil},
		// bcast
		{"bcast bad iface", "bcast eth0 eth1:1", []want{e(4, `bcast: interface "eth1:1"`)}},
		{"bcast needs iface", "bcast", []want{e(4, "usage: bcast IFACE")}},
		// mcast
		{"mcast ok", "mcast eth0 239.0.0.1 694 1 0", nil},
		{"mcast not multicast", "mcast eth0 10.0.0.1 694 1 0", []want{e(4, "group 10.0.0.1 is not a multicast address")}},
		{"mcast port", "mcast eth0 239.0.0.1 0 1 0", []want{e(4, "mcast port 0 is out of range")}},
		{"mcast ttl zero", "mcast eth0 239.0.0.1 694 0 0", []want{e(4, "mcast TTL 0 is out of range; expected 1 to 255")}},
		{"mcast ttl big", "mcast eth0 239.0.0.1 694 256 0", []want{e(4, "mcast TTL 256 is out of range")}},
		{"mcast loop", "mcast eth0 239.0.0.1 694 1 2", []want{e(4, `loop "2" must be 0 or 1`)}},
		{"mcast arity", "mcast eth0 239.0.0.1 694 1", []want{e(4, "usage: mcast IFACE GROUP PORT TTL LOOP")}},
		{"mcast6 v4 group", "mcast6 eth0 239.0.0.1 694 1 0", []want{e(4, "is not an IPv6 address")}},
		{"mcast6 hops", "mcast6 eth0 ff02::1:2 694 300 0", []want{e(4, "mcast6 hops 300 is out of range")}},
		// nodes
		{"node comma", "node node3,node4", []want{e(4, "contains a comma or semicolon; separate node names with spaces")}},
		{"node twice", "node NODE2", []want{w(4, "node node2 is listed twice (also on line 1); hbd counts it once: remove the repeat")}},
		{"node twice on a line", "node a A", []want{w(4, "node a is listed twice on this line; hbd counts it once: remove the repeat")}},
		{"node bad char", "node a/b", []want{e(4, "contains a character")}},
		{"node pipe", "node node|3", []want{e(4, `node "node|3" contains a character a host name cannot have`)}},
		{"node angle bracket", "node node>3", []want{e(4, `node "node>3" contains a character a host name cannot have`)}},
		{"node escape sequence", "node node3\x1b[2J", []want{e(4, `node "node3\x1b[2J" contains a control character`)}},
		{"node NUL", "node no\x00de", []want{e(4, "contains a control character")}},
		{"node bidi override", "node node\u202e3", []want{e(4, "contains a control character")}},
		{"node not UTF-8", "node node\xff", []want{e(4, "is not valid UTF-8")}},
		{"node non-ASCII letters", "node nœud3", nil},
		// auto_failback and friends
		{"auto_failback bad", "auto_failback maybe", []want{e(4, `auto_failback: "maybe" is not on, off or legacy`)}},
		{"on_stop_failure bad", "on_stop_failure panic", []want{e(4, `on_stop_failure: "panic" is not block or reboot`)}},
		{"on_stop_failure reboot", "on_stop_failure reboot", nil},
		{"auto_failback legacy", "auto_failback legacy", []want{w(4, "auto_failback is set again")}},
		{"nice_failback bad", "nice_failback sometimes", []want{e(4, "nice_failback: ")}},
		{"nice_failback obsolete", "nice_failback on", []want{w(4, "nice_failback is obsolete; read as `auto_failback off`")}},
		// logging
		{"logfacility bad", "logfacility local9", []want{e(4, `logfacility: "local9" is not a syslog facility`)}},
		{"logfacility none", "logfacility none", nil},
		{"logfile relative", "logfile ha-log", []want{w(4, `"ha-log" is a relative path`)}},
		{"debugfile ok", "debugfile /var/log/ha-debug", nil},
		{"debug range", "debug 256", []want{e(4, "debug level 256 is out of range; expected 0 to 255")}},
		{"debug word", "debug lots", []want{e(4, `debug level "lots" is not a number`)}},
		{"use_logd bad", "use_logd maybe", []want{e(4, `use_logd: "maybe" is not a boolean`)}},
		{"use_logd off is fine", "use_logd off", nil},
		{"use_logd on ignored", "use_logd yes", []want{w(4, "hbd accepts use_logd but ignores it")}},
		// crm
		{"crm on", "crm on", []want{e(4, "crm on: hbd runs haresources (v1) mode only")}},
		{"crm yes", "crm yes", []want{e(4, "haresources (v1) mode only")}},
		{"crm respawn", "crm respawn", []want{e(4, "crm respawn: hbd runs haresources (v1) mode only")}},
		{"crm off", "crm off", nil},
		{"crm no", "crm no", nil},
		{"crm bad", "crm maybe", []want{e(4, `crm: "maybe" is not on, off or respawn`)}},
		{"pacemaker on", "pacemaker on", []want{e(4, "pacemaker on: hbd runs haresources (v1) mode only")}},
		{"pacemaker off", "pacemaker off", nil},
		// value errors of accepted-but-ignored directives
		{"hopfudge range", "hopfudge 300", []want{e(4, "hopfudge 300 is out of range")}},
		{"hopfudge acted on", "hopfudge 3", nil}, // sets the TTL of every message (hbd/cluster)
		{"compression bad", "compression lz4", []want{e(4, `compression: "lz4" is not one of zlib, bz2`)}},
		{"compression_threshold bad", "compression_threshold 0", []want{e(4, "compression_threshold 0 is out of range")}},
		{"traditional_compression bad", "traditional_compression perhaps", []want{e(4, "traditional_compression: ")}},
		{"msgfmt bad", "msgfmt xml", []want{e(4, `msgfmt: "xml" is not one of classic, netstring`)}},
		{"autojoin bad", "autojoin all", []want{e(4, `autojoin: "all" is not one of none, other, any`)}},
		{"autojoin none", "autojoin none", nil},
		{"hbgenmethod bad", "hbgenmethod random", []want{e(4, "hbgenmethod: ")}},
		{"hbgenmethod file", "hbgenmethod file", nil},
		{"uuidfrom bad", "uuidfrom mac", []want{e(4, "uuidfrom: ")}},
		{"uuidfrom file", "uuidfrom file", nil},
		{"realtime bad", "realtime fast", []want{e(4, "realtime: ")}},
		{"rtprio bad", "rtprio 200", []want{e(4, "rtprio 200 is out of range")}},
		{"coredumps bad", "coredumps sure", []want{e(4, "coredumps: ")}},
		{"baud bad", "baud 1234", []want{e(4, `baud: "1234" is not a serial rate`)}},
		{"respawn relative", "respawn hacluster ipfail", []want{e(4, `respawn: program "ipfail" must be a full path`)}},
		{"respawn arity", "respawn hacluster", []want{e(4, "usage: respawn USER")}},
		{"ping host name", "ping gateway", []want{e(4, `ping: "gateway" is not an IP address`)}},
		{"ping_group arity", "ping_group g", []want{e(4, "usage: ping_group NAME IP")}},
		{"env bad", "env NOVALUE", []want{e(4, `env: "NOVALUE" is not NAME=VALUE`)}},
		{"deadping bad", "deadping never", []want{e(4, "deadping: ")}},
		{"conn_logd_time bad", "conn_logd_time 0", []want{e(4, "conn_logd_time 0: must be more than zero")}},
		{"max_rexmit_delay bad", "max_rexmit_delay 0", []want{e(4, "max_rexmit_delay 0 is out of range")}},
		{"memreserve bad", "memreserve lots", []want{e(4, "memreserve ")}},
		{"apiauth arity", "apiauth ipfail", []want{e(4, "usage: apiauth")}},
		{"stonith_host arity", "stonith_host *", []want{e(4, "usage: stonith_host")}},
		{"log_badpack bad", "log_badpack loud", []want{e(4, "log_badpack: ")}},
		// several errors on several lines, all reported
		{"every error reported", "keepalive x\ndeadtime y\nbogus 1\ncrm on",
			[]want{e(4, "keepalive: "), e(5, "deadtime: "), e(6, "unknown directive"), e(7, "crm on")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseHaCf("ha.cf", strings.NewReader(hacfBase+tt.in))
			checkDiags(t, got, tt.want)
			for _, d := range got {
				if d.Pos.File != "ha.cf" {
					t.Errorf("diag %v names file %q, want ha.cf", d, d.Pos.File)
				}
			}
		})
	}
}

// TestParseHaCfIgnored covers every directive hbd accepts but does not act
// on: a valid value gives exactly one warning, on its line, saying so.
func TestParseHaCfIgnored(t *testing.T) {
	lines := map[string]string{
		"use_logd":                "use_logd on",
		"conn_logd_time":          "conn_logd_time 60",
		"compression":             "compression bz2",
		"compression_threshold":   "compression_threshold 2",
		"traditional_compression": "traditional_compression off",
		"msgfmt":                  "msgfmt netstring",
		"coredumps":               "coredumps true",
		"coreroot":                "coreroot /var/lib/heartbeat/cores",
		"apiauth":                 "apiauth ipfail gid=haclient uid=hacluster",
		"serial":                  "serial /dev/ttyS0",
		"baud":                    "baud 19200",
		"watchdog":                "watchdog /dev/watchdog",
		"hbgenmethod":             "hbgenmethod time",
		"uuidfrom":                "uuidfrom nodename",
		"respawn":                 "respawn hacluster /usr/lib/heartbeat/ipfail -v",
		"stonith":                 "stonith baytech /etc/ha.d/conf/stonith.baytech",
		"stonith_host":            "stonith_host * baytech 10.0.0.3 mylogin mysecretpassword",
		"hbaping":                 "hbaping fc-card-name",
		"autojoin":                "autojoin any",
		"env":                     "env HA_FOO=bar",
		"max_rexmit_delay":        "max_rexmit_delay 250",
		"log_badpack":             "log_badpack false",
		"use_apphbd":              "use_apphbd yes",
		"normalpoll":              "normalpoll true",
		"crm_daemon_dir":          "crm_daemon_dir /usr/lib/pacemaker",
		"crmd_spawns_pengine":     "crmd_spawns_pengine yes",
		"record_config_changes":   "record_config_changes on",
		"record_pengine_inputs":   "record_pengine_inputs on",
		"enable_config_writes":    "enable_config_writes on",
		"memreserve":              "memreserve 6500",
	}
	for name := range ignoredDirectives() {
		if _, ok := lines[name]; !ok {
			t.Errorf("ignored directive %s has no test line", name)
		}
	}
	for name, line := range lines {
		t.Run(name, func(t *testing.T) {
			_, got := ParseHaCf("ha.cf", strings.NewReader(hacfBase+line))
			checkDiags(t, got, []want{w(4, "hbd accepts "+name+" but ignores it: ")})
		})
	}
}

// TestParseHaCfDirectivesKnown makes sure every ignored directive is in the
// directive table (a typo in one table would make it unknown).
func TestParseHaCfDirectivesKnown(t *testing.T) {
	p := &hacfParser{c: &Config{}}
	table := p.table()
	for name := range ignoredDirectives() {
		if _, ok := table[name]; !ok {
			t.Errorf("ignored directive %s is not in the directive table", name)
		}
	}
}

func TestParseHaCfValues(t *testing.T) {
	in := `logfile /var/log/ha-log
debugfile /var/log/ha-debug
logfacility LOCAL3
debug 2
keepalive 500ms
warntime 1.5
deadtime 3
initdead 12
resource_timeout 45s
ucast eth0 10.0.0.11
udpport 5000
ucast eth1 10.0.1.12 10.0.1.11
bcast eth2 eth3
mcast eth4 239.1.2.3 5001 3 1
ucast6 eth5 fd00::2
node Node1 node2
node node3
auto_failback off
hopfudge 4
compression zlib
compression_threshold 8
traditional_compression yes
msgfmt netstring
autojoin other
ping 10.0.0.254
ping_group gw 10.0.0.253 10.0.0.252
respawn hacluster /bin/true x
deadping 20
debugfile_ms on
`
	c, diags := ParseHaCf("ha.cf", strings.NewReader(in))
	for _, d := range diags {
		if d.Severity == SevError {
			t.Fatalf("unexpected error: %v", d)
		}
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Logfile", c.Logfile, "/var/log/ha-log"},
		{"Debugfile", c.Debugfile, "/var/log/ha-debug"},
		{"DebugfileMS", c.DebugfileMS, true},
		{"LogFacility", c.LogFacility, "local3"},
		{"Debug", c.Debug, 2},
		{"Keepalive", c.Keepalive, 500 * time.Millisecond},
		{"Warntime", c.Warntime, 1500 * time.Millisecond},
		{"Deadtime", c.Deadtime, 3 * time.Second},
		{"Initdead", c.Initdead, 12 * time.Second},
		{"ResourceTimeout", c.ResourceTimeout, 45 * time.Second},
		{"UDPPort", c.UDPPort, 5000},
		{"Nodes", strings.Join(c.Nodes, ","), "node1,node2,node3"},
		{"AutoFailback", c.AutoFailback, FailbackOff},
		{"Hopfudge", c.Hopfudge, 4},
		{"Compression", c.Compression, "zlib"},
		{"CompressionThreshold", c.CompressionThreshold, 8},
		{"TraditionalCompression", c.TraditionalCompression, true},
		{"MsgFmt", c.MsgFmt, "netstring"},
		{"Autojoin", c.Autojoin, "other"},
		{"Deadping", c.Deadping, 20 * time.Second},
		{"Ping count", len(c.Ping), 2},
		{"Ping group hosts", len(c.Ping[1].Hosts), 2},
		{"Ping group name", c.Ping[1].Name, "gw"},
		{"Ping group flag", c.Ping[1].Group, true},
		{"Respawn", strings.Join(c.Respawn[0].Command, " "), "/bin/true x"},
		{"Respawn user", c.Respawn[0].User, "hacluster"},
		{"Media count", len(c.Media), 6},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	media := []Medium{
		{Kind: Ucast, Iface: "eth0", Addr: netip.MustParseAddr("10.0.0.11"), Port: 694, Pos: Pos{"ha.cf", 10}},
		{Kind: Ucast, Iface: "eth1", Addr: netip.MustParseAddr("10.0.1.12"), Local: netip.MustParseAddr("10.0.1.11"), Port: 5000, Pos: Pos{"ha.cf", 12}},
		{Kind: Bcast, Iface: "eth2", Port: 5000, Pos: Pos{"ha.cf", 13}},
		{Kind: Bcast, Iface: "eth3", Port: 5000, Pos: Pos{"ha.cf", 13}},
		{Kind: Mcast, Iface: "eth4", Addr: netip.MustParseAddr("239.1.2.3"), Port: 5001, TTL: 3, Loop: true, Pos: Pos{"ha.cf", 14}},
		{Kind: Ucast6, Iface: "eth5", Addr: netip.MustParseAddr("fd00::2"), Port: 5000, Pos: Pos{"ha.cf", 15}},
	}
	for i, m := range media {
		if i < len(c.Media) && c.Media[i] != m {
			t.Errorf("medium %d = %+v, want %+v", i, c.Media[i], m)
		}
	}
	// The udpport after the first medium is worth a warning on its line.
	found := false
	for _, d := range diags {
		if d.Pos.Line == 11 && d.Severity == SevWarning && strings.Contains(d.Msg, "medium on line 10") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning about udpport after the medium on line 10: %v", diags)
	}
}

func TestParseHaCfDefaults(t *testing.T) {
	tests := []struct {
		name                                    string
		in                                      string
		keepalive, deadtime, warntime, initdead time.Duration
	}{
		{"heartbeat defaults", "", 2 * time.Second, 30 * time.Second, 15 * time.Second, 60 * time.Second},
		{"short deadtime floors initdead", "keepalive 1\ndeadtime 3\n", time.Second, 3 * time.Second, 1500 * time.Millisecond, 12 * time.Second},
		{"initdead twice deadtime", "deadtime 10\n", 2 * time.Second, 10 * time.Second, 5 * time.Second, 20 * time.Second},
		{"explicit values kept", "keepalive 1\nwarntime 2\ndeadtime 5\ninitdead 20\n", time.Second, 5 * time.Second, 2 * time.Second, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := ParseHaCf("ha.cf", strings.NewReader("node a\nucast eth0 10.0.0.1\n"+tt.in))
			checkDiags(t, diags, []want{w(0, "auto_failback is not set")})
			if c.Keepalive != tt.keepalive || c.Deadtime != tt.deadtime || c.Warntime != tt.warntime || c.Initdead != tt.initdead {
				t.Errorf("keepalive/deadtime/warntime/initdead = %v/%v/%v/%v, want %v/%v/%v/%v",
					c.Keepalive, c.Deadtime, c.Warntime, c.Initdead, tt.keepalive, tt.deadtime, tt.warntime, tt.initdead)
			}
			if c.UDPPort != DefaultUDPPort || c.ResourceTimeout != DefaultResourceTimeout || c.AutoFailback != FailbackLegacy ||
				c.Hopfudge != 1 || c.MsgFmt != "classic" || c.Autojoin != "none" || c.Deadping != c.Deadtime {
				t.Errorf("defaults not applied: %+v", c)
			}
		})
	}
}

func TestParseHaCfFileLevel(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []want
	}{
		{"empty", "", []want{e(0, "no heartbeat medium"), e(0, "no nodes"), w(0, "auto_failback is not set")}},
		{"no media", "node a\nauto_failback on\n", []want{e(0, "no heartbeat medium: add at least one `ucast IFACE PEER_IP`")}},
		{"serial is no medium", "node a\nauto_failback on\nserial /dev/ttyS0\n", []want{e(0, "no heartbeat medium"), w(3, "hbd accepts serial but ignores it")}},
		{"no nodes", "ucast eth0 10.0.0.1\nauto_failback on\n", []want{e(0, "no nodes: add a `node NAME...` line")}},
		{"nice_failback maps", "node a\nucast eth0 10.0.0.1\nnice_failback on\n", []want{w(3, "nice_failback is obsolete")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseHaCf("ha.cf", strings.NewReader(tt.in))
			checkDiags(t, got, tt.want)
		})
	}
	c, _ := ParseHaCf("ha.cf", strings.NewReader("node a\nucast eth0 10.0.0.1\nnice_failback on\n"))
	if c.AutoFailback != FailbackOff {
		t.Errorf("nice_failback on gave auto_failback %v, want off", c.AutoFailback)
	}
}

func TestParseHaCfTooLarge(t *testing.T) {
	_, got := ParseHaCf("ha.cf", strings.NewReader(strings.Repeat("#", maxFileSize+1)))
	checkDiags(t, got, []want{e(0, "larger than")})
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"2", 2 * time.Second, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{".5", 500 * time.Millisecond, ""},
		{"0.001", time.Millisecond, ""},
		{"500ms", 500 * time.Millisecond, ""},
		{"500MS", 500 * time.Millisecond, ""},
		{"1.5ms", 2 * time.Millisecond, ""},
		{"2s", 2 * time.Second, ""},
		{"1000000us", time.Second, ""},
		{"1499us", time.Millisecond, ""},
		{"0", 0, ""},
		{"", 0, "is not a time"},
		{"ms", 0, "is not a time"},
		{".", 0, "is not a time"},
		{"-1", 0, "negative"},
		{"+1", 0, "is not a time"},
		{"1..2", 0, "is not a time"},
		{"3x", 0, "unknown unit"},
		{"2 s", 0, "unknown unit"},
		{"1h", 0, "unknown unit"},
		{"NaN", 0, "is not a time"},
		{"86401", 0, "more than 24 hours"},
		{"99999999999999999999999999", 0, "more than 24 hours"},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseTime(%q) error = %v, want it to contain %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, s := range []string{"true", "on", "yes", "y", "1", "TRUE", "On", "Y"} {
		if b, err := parseBool(s); err != nil || !b {
			t.Errorf("parseBool(%q) = %v, %v; want true", s, b, err)
		}
	}
	for _, s := range []string{"false", "off", "no", "n", "0", "OFF", "No"} {
		if b, err := parseBool(s); err != nil || b {
			t.Errorf("parseBool(%q) = %v, %v; want false", s, b, err)
		}
	}
	for _, s := range []string{"", "2", "enabled", "t", "nope"} {
		if _, err := parseBool(s); err == nil {
			t.Errorf("parseBool(%q) accepted", s)
		}
	}
}

func TestFmtDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		500 * time.Millisecond:  "500ms",
		2 * time.Second:         "2s",
		1500 * time.Millisecond: "1.5s",
		120 * time.Second:       "120s",
		24 * time.Hour:          "86400s",
	} {
		if got := fmtDuration(d); got != want {
			t.Errorf("fmtDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseHaCfDrainTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", DefaultDrainTime},
		{"drain_time 0\n", 0},
		{"drain_time 250ms\n", 250 * time.Millisecond},
		{"drain_time 1.5\n", 1500 * time.Millisecond},
		// Not set: at most half of resource_timeout, so that the drain
		// never makes a stop time out.
		{"resource_timeout 100ms\n", 50 * time.Millisecond},
	}
	for _, tc := range tests {
		c, diags := ParseHaCf("ha.cf", strings.NewReader(hacfBase+tc.in))
		for _, d := range diags {
			if d.Severity == SevError {
				t.Errorf("%q: %s", tc.in, d)
			}
		}
		if c.DrainTime != tc.want {
			t.Errorf("%q: drain_time %v, want %v", tc.in, c.DrainTime, tc.want)
		}
	}
}

func TestParseHaCfFailbackDelayAndQuorum(t *testing.T) {
	tests := []struct {
		in     string
		delay  time.Duration
		quorum QuorumMode
	}{
		{"", DefaultFailbackDelay, QuorumAuto},
		{"failback_delay 0\n", 0, QuorumAuto},
		{"failback_delay 30s\nquorum on\n", 30 * time.Second, QuorumOn},
		{"failback_delay 1500ms\nquorum off\n", 1500 * time.Millisecond, QuorumOff},
		{"quorum auto\n", DefaultFailbackDelay, QuorumAuto},
	}
	for _, tc := range tests {
		c, diags := ParseHaCf("ha.cf", strings.NewReader(hacfBase+tc.in))
		for _, d := range diags {
			if d.Severity == SevError {
				t.Errorf("%q: %s", tc.in, d)
			}
		}
		if c.FailbackDelay != tc.delay || c.Quorum != tc.quorum {
			t.Errorf("%q: failback_delay %v quorum %v, want %v %v", tc.in, c.FailbackDelay, c.Quorum, tc.delay, tc.quorum)
		}
	}
	for _, tc := range []struct {
		q     QuorumMode
		nodes int
		want  bool
	}{{QuorumAuto, 2, false}, {QuorumAuto, 3, true}, {QuorumAuto, 5, true}, {QuorumOn, 2, true}, {QuorumOff, 5, false}} {
		if got := tc.q.Enabled(tc.nodes); got != tc.want {
			t.Errorf("%s with %d nodes: %v, want %v", tc.q, tc.nodes, got, tc.want)
		}
	}
}

func TestParseHaCfAutoreload(t *testing.T) {
	tests := []struct {
		in     string
		off    bool
		errMsg string
	}{
		{"", false, ""},
		{"autoreload on\n", false, ""},
		{"autoreload off\n", true, ""},
		{"autoreload no\n", true, ""},
		{"autoreload sometimes\n", false, "autoreload:"},
	}
	for _, tc := range tests {
		c, diags := ParseHaCf("ha.cf", strings.NewReader(hacfBase+tc.in))
		var errs []string
		for _, d := range diags {
			if d.Severity == SevError {
				errs = append(errs, d.String())
			}
		}
		if tc.errMsg == "" && len(errs) > 0 || tc.errMsg != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.errMsg)) {
			t.Errorf("%q: errors %q, want %q", tc.in, errs, tc.errMsg)
		}
		if tc.errMsg == "" && c.NoAutoReload != tc.off {
			t.Errorf("%q: NoAutoReload %v, want %v", tc.in, c.NoAutoReload, tc.off)
		}
	}
}
