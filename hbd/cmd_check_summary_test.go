package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// summaryConfig loads a configuration that uses every directive the
// summary describes: ping nodes, fencing, profile safe, monitors, an
// exclusive pair.
func summaryConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"ha.cf": "node node1 node2\nucast lo 127.0.0.1\nkeepalive 1\ndeadtime 10\nauto_failback on\n" +
			"ping 127.0.0.1\nping_takeover off\nfence_command /bin/true\nprofile safe\nquorum auto\n" +
			"failback_delay 5\nmonitor web interval=10s\nmonitor db group=2 restarts=1\nexclusive 1 2\n",
		"authkeys":       "auth 1\n1 sha1 0123456789abcdef0123456789abcdef\n",
		"haresources":    "node1 IPaddr::10.0.0.1 web db\nnode2 IPaddr::10.0.0.2 db\n",
		"resource.d/web": "#!/bin/sh\n", "resource.d/db": "#!/bin/sh\n", "resource.d/IPaddr": "#!/bin/sh\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(name, "resource.d/") {
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg, diags := config.Load(dir, loadOptions("node1", false))
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	return cfg
}

func summaryOf(c *config.Config) string {
	var b bytes.Buffer
	printSummary(&b, c, 0)
	return b.String()
}

// TestCheckSummaryShowsEveryDirective holds `hbd check`'s summary to the
// parsed configuration: changing any field of config.Config that changes
// what the daemon does changes the summary, which then shows the new
// value; a field the summary leaves out must say why here. A field added
// to config.Config without either fails the test.
func TestCheckSummaryShowsEveryDirective(t *testing.T) {
	ignored := "an ignored directive (config.IgnoredDirectives): read, checked, warned about, not acted on"
	notShown := map[string]string{
		"UDPPort":                "shown as the port of each medium (it is the default port of media lines)",
		"Hopfudge":               "hbd forwards no messages for other nodes, so the hop count changes nothing",
		"Respawn":                ignored,
		"UseLogd":                ignored,
		"Compression":            ignored,
		"CompressionThreshold":   ignored,
		"TraditionalCompression": ignored,
		"MsgFmt":                 ignored,
		"Autojoin":               ignored,
		"ExclusivePos":           "where the exclusive lines are, for diagnostics",
		"Backend":                "hbd check refuses backend etcd in this build, so a summary always shows the heartbeat backend",
		"Etcd":                   "only meaningful with backend etcd, which hbd check refuses in this build",
	}
	// Each mutation changes one field and returns what the summary must
	// then say.
	mutations := map[string]func(c *config.Config) string{
		"Dir":      func(c *config.Config) string { c.Dir = "/etc/ha.d.other"; return "/etc/ha.d.other is valid" },
		"ThisNode": func(c *config.Config) string { c.ThisNode = "node2"; return "node2 (this node)" },
		"Nodes":    func(c *config.Config) string { c.Nodes = append(slices.Clone(c.Nodes), "node3"); return "node3" },
		"Media": func(c *config.Config) string {
			c.Media = append(slices.Clone(c.Media), config.Medium{Kind: config.Bcast, Iface: "eth9", Port: 695})
			return "bcast eth9 port 695"
		},
		"Keepalive": func(c *config.Config) string { c.Keepalive = 3 * time.Second; return "keepalive 3s" },
		"Deadtime":  func(c *config.Config) string { c.Deadtime = 17 * time.Second; return "deadtime 17s" },
		"Warntime":  func(c *config.Config) string { c.Warntime = 7 * time.Second; return "warntime 7s" },
		"Initdead":  func(c *config.Config) string { c.Initdead = 61 * time.Second; return "initdead 61s" },
		"AutoFailback": func(c *config.Config) string {
			c.AutoFailback = config.FailbackLegacy
			return "auto_failback:    legacy"
		},
		"Logfile":   func(c *config.Config) string { c.Logfile = "/var/log/hbd-x"; return "logfile /var/log/hbd-x" },
		"Debugfile": func(c *config.Config) string { c.Debugfile = "/var/log/hbd-d"; return "debugfile /var/log/hbd-d" },
		"DebugfileMS": func(c *config.Config) string {
			c.Debugfile, c.DebugfileMS = "/var/log/hbd-d", true
			return "debugfile /var/log/hbd-d (times in milliseconds)"
		},
		"LogFacility": func(c *config.Config) string { c.LogFacility = "daemon"; return "syslog daemon" },
		"Debug": func(c *config.Config) string {
			c.Debug = 2
			return "debug 2"
		},
		"Ping": func(c *config.Config) string {
			c.Ping = []config.PingGroup{{Name: "gw", Group: true, Hosts: []netip.Addr{netip.MustParseAddr("10.9.9.9")}}}
			return "group gw: 10.9.9.9"
		},
		"Deadping":        func(c *config.Config) string { c.Deadping = 44 * time.Second; return "deadping 44s" },
		"ResourceTimeout": func(c *config.Config) string { c.ResourceTimeout = 33 * time.Second; return "resource timeout: 33s" },
		"FailbackDelay":   func(c *config.Config) string { c.FailbackDelay = 0; return "failback_delay:   none" },
		"DrainTime":       func(c *config.Config) string { c.DrainTime = 0; return "drain_time:       none: a planned release" },
		"Quorum": func(c *config.Config) string {
			c.Quorum = config.QuorumOn
			return "quorum:           on (on: a node holds groups only while it sees 2 of the 2 nodes)"
		},
		"OnStopFailure": func(c *config.Config) string { c.OnStopFailure = "reboot"; return "on_stop_failure:  reboot" },
		"InsecureAuth":  func(c *config.Config) string { c.InsecureAuth = true; return "insecure_auth:    yes" },
		"NoRealtime": func(c *config.Config) string {
			c.NoRealtime = true
			return "realtime:         off: the daemon runs at normal priority"
		},
		"RTPrio": func(c *config.Config) string {
			c.RTPrio = 7
			return "realtime:         on: the daemon's threads run SCHED_RR at priority 7"
		},
		"NoQuietPassive": func(c *config.Config) string {
			c.NoQuietPassive = true
			return "quiet_passive:    off: a node that holds nothing sends its status every keepalive"
		},
		"NoAutoReload": func(c *config.Config) string {
			c.NoAutoReload = true
			return "reload:           on SIGHUP only (autoreload off)"
		},
		"PingTakeover": func(c *config.Config) string { c.PingTakeover = true; return "ping_takeover on" },
		"Fence": func(c *config.Config) string {
			c.Fence.AWS, c.Fence.Command = &config.FenceAWS{Action: config.FenceAWSStop, Instances: map[string]string{"node1": "i-0aaa", "node2": "i-0bbb"}}, nil
			return "fence_aws stop-instance node1=i-0aaa node2=i-0bbb"
		},
		"Profile":        func(c *config.Config) string { c.Profile = config.ProfileDefault; return "profile:          default" },
		"SafeStartDelay": func(c *config.Config) string { c.SafeStartDelay = 12 * time.Second; return "safe_start_delay 12s" },
		"Auth": func(c *config.Config) string {
			c.Auth = config.Auth{Active: 2, Keys: []config.Key{{Index: 2, Method: "sha1"}}}
			return "signs with key 2 (sha1)"
		},
		"Groups": func(c *config.Config) string {
			c.Groups = slices.Clone(c.Groups)
			c.Groups[1].Preferred = "node1"
			return "2. IPaddr::10.0.0.2  preferred node node1 (this node)"
		},
		"Monitors": func(c *config.Config) string {
			c.Monitors = slices.Clone(c.Monitors)
			c.Monitors[0].Interval = 7 * time.Second
			return "watched: monitor web interval=7s"
		},
		"Exclusive": func(c *config.Config) string {
			c.Exclusive = [][]string{{"IPaddr::10.0.0.2", "IPaddr::10.0.0.1"}}
			return "exclusive: IPaddr::10.0.0.2, IPaddr::10.0.0.1 never share a node"
		},
	}
	rt := reflect.TypeFor[config.Config]()
	for i := range rt.NumField() {
		name := rt.Field(i).Name
		_, mutated := mutations[name]
		_, why := notShown[name]
		if mutated == why {
			t.Errorf("config.Config.%s: give it a mutation (the summary shows it) or say why the summary leaves it out", name)
		}
	}
	base := summaryConfig(t)
	before := summaryOf(base)
	for name, mutate := range mutations {
		c := *base
		want := mutate(&c)
		after := summaryOf(&c)
		if after == before {
			t.Errorf("%s: changing it does not change the summary", name)
			continue
		}
		if !strings.Contains(after, want) {
			t.Errorf("%s: the summary lacks %q:\n%s", name, want, after)
		}
	}
}

// TestCheckSummaryEtcd: with backend etcd the summary describes etcd and
// leaves out what only the Heartbeat backend does (media, timings,
// quiet_passive: nothing is sent).
func TestCheckSummaryEtcd(t *testing.T) {
	c := summaryConfig(t)
	if !strings.Contains(summaryOf(c), "quiet_passive:") {
		t.Fatalf("the Heartbeat backend's summary has no quiet_passive line:\n%s", summaryOf(c))
	}
	c.Backend = config.BackendEtcd
	c.Etcd = config.Etcd{Endpoints: []string{"https://10.0.0.11:2379"}, Prefix: "/hbd/", Cert: "/etc/ha.d/etcd/node1.pem", Lease: 20 * time.Second}
	got := summaryOf(c)
	if !strings.Contains(got, "backend:          etcd at https://10.0.0.11:2379 (TLS with a client certificate), keys under /hbd/") {
		t.Errorf("no backend line:\n%s", got)
	}
	for _, hb := range []string{"quiet_passive:", "media:", "timings:"} {
		if strings.Contains(got, hb) {
			t.Errorf("the etcd summary has %q:\n%s", hb, got)
		}
	}
}
