package config

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

func baseConfig() *Config {
	return &Config{
		ThisNode: "node1", Nodes: []string{"node1", "node2"},
		Keepalive: time.Second, Warntime: 2 * time.Second, Deadtime: 5 * time.Second, Initdead: 20 * time.Second,
		UDPPort: 694, AutoFailback: FailbackOn, ResourceTimeout: 120 * time.Second,
		Media: []Medium{{Kind: Ucast, Iface: "eth0", Addr: netip.MustParseAddr("10.0.0.2"), Port: 694}},
		Auth:  Auth{Active: 1, Keys: []Key{{Index: 1, Method: "sha1", Secret: "s1"}}},
		Groups: []Group{{Preferred: "node1", Resources: []Resource{
			{Spec: "IPaddr2::10.0.0.100/24/eth0"}, {Spec: "nginx"}}}},
		Backend: BackendHeartbeat,
		Etcd:    Etcd{Endpoints: []string{"https://a:2379"}, Prefix: DefaultEtcdPrefix, Lease: 20 * time.Second},
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"nothing", func(*Config) {}, nil},
		{"timings", func(c *Config) { c.Keepalive = 500 * time.Millisecond; c.Deadtime = 2 * time.Second },
			[]string{"keepalive 1s -> 500ms", "deadtime 5s -> 2s"}},
		{"failback", func(c *Config) { c.AutoFailback = FailbackOff }, []string{"auto_failback on -> off"}},
		{"medium", func(c *Config) { c.Media[0].Addr = netip.MustParseAddr("10.0.0.3") },
			[]string{"medium removed: ucast eth0 10.0.0.2 port 694", "medium added: ucast eth0 10.0.0.3 port 694"}},
		{"secret changed, never printed", func(c *Config) { c.Auth.Keys[0].Secret = "s2" },
			[]string{"key 1 changed (sha1 -> sha1)"}},
		{"key rotation", func(c *Config) {
			c.Auth.Keys = append(c.Auth.Keys, Key{Index: 2, Method: "blake2b", Secret: "x"})
			c.Auth.Active = 2
		}, []string{"signing key 1 -> 2", "key 2 added (blake2b)"}},
		{"group added and changed", func(c *Config) {
			c.Groups[0].Resources = c.Groups[0].Resources[:1]
			c.Groups = append(c.Groups, Group{Preferred: "node2", Resources: []Resource{{Spec: "IPaddr2::10.0.0.101"}}})
		}, []string{
			"group IPaddr2::10.0.0.100/24/eth0 changed: node1 IPaddr2::10.0.0.100/24/eth0 nginx -> node1 IPaddr2::10.0.0.100/24/eth0",
			"group IPaddr2::10.0.0.101 added (preferred on node2)",
		}},
		{"group removed", func(c *Config) { c.Groups = nil },
			[]string{"group IPaddr2::10.0.0.100/24/eth0 removed (was preferred on node1)"}},
		{"group named", func(c *Config) { c.Groups[0].Name = "web" },
			[]string{`group IPaddr2::10.0.0.100/24/eth0 name "" -> "web"`}},
		{"autoreload", func(c *Config) { c.NoAutoReload = true }, []string{"autoreload on -> off"}},
		{"logging", func(c *Config) { c.Debugfile = "/var/log/ha-debug"; c.Debug = 1; c.DebugfileMS = true },
			[]string{`debugfile "" -> "/var/log/ha-debug"`, "debug 0 -> 1", "debugfile_ms off -> on"}},
		{"backend", func(c *Config) { c.Backend = BackendEtcd }, []string{"backend heartbeat -> etcd"}},
		{"etcd lines", func(c *Config) {
			c.Etcd.Endpoints = []string{"https://a:2379", "https://b:2379"}
			c.Etcd.Prefix, c.Etcd.CACert, c.Etcd.Lease = "/ha/", "/etc/ha.d/ca.pem", 40*time.Second
		}, []string{"etcd_endpoints https://a:2379 -> https://a:2379 https://b:2379", `etcd_prefix "/hbd/" -> "/ha/"`,
			`etcd_cacert "" -> "/etc/ha.d/ca.pem"`, "etcd_lease 20s -> 40s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, cur := baseConfig(), baseConfig()
			tc.change(cur)
			var got []string
			for _, c := range Diff(old, cur) {
				got = append(got, c.Text)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Diff:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
