package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSplitBrainDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		in   string // appended to hacfBase (lines 4...)
		want []want
	}{
		{"ping acted on", "ping 10.0.0.254\nping_group gw 10.0.0.1 10.0.0.2\ndeadping 5\n", nil},
		{"ping_takeover bad", "ping_takeover maybe\n", []want{e(4, "ping_takeover")}},
		{"fence_command relative", "fence_command fence.sh\n", []want{e(4, "must be a full path")}},
		{"fence_command ok", "fence_command /usr/local/sbin/fence --force\nfence_timeout 20\nfence_retry 2s\n", nil},
		{"fence_timeout zero", "fence_timeout 0\n", []want{e(4, "more than zero")}},
		{"two methods", "fence_command /bin/true\nfence_aws stop-instance node1=i-1 node2=i-2\n", []want{e(5, "use one fencing method")}},
		{"aws unknown action", "fence_aws reboot node1=i-1 node2=i-2\n", []want{e(4, "unknown action")}},
		{"aws bad alloc", "fence_aws reassociate 1.2.3.4 node1=i-1 node2=i-2\n", []want{e(4, "not an allocation id")}},
		{"aws not k=v", "fence_aws stop-instance node1\n", []want{e(4, "is not NAME=VALUE")}},
		{"aws bad instance", "fence_aws stop-instance node1=x node2=i-2\n", []want{e(4, "not an instance id")}},
		{"aws bad endpoint", "fence_aws stop-instance node1=i-1 node2=i-2 endpoint=nowhere\n", []want{e(4, "not a URL")}},
		{"aws node missing", "fence_aws stop-instance node1=i-1\n", []want{e(4, "node node2 has no instance id")}},
		{"aws unknown node", "fence_aws stop-instance node1=i-1 node2=i-2 node9=i-9\n", []want{e(4, "node9 is not a node")}},
		{"aws ok", "fence_aws reassociate eipalloc-1 node1=i-1 node2=i-2 region=eu-west-1 endpoint=http://127.0.0.1:1\n", nil},
		{"profile unknown", "profile paranoid\n", []want{e(4, "unknown profile")}},
		{"safe without fencing", "profile safe\n", []want{e(4, "profile safe needs"), w(4, "turns auto_failback off")}},
		{"safe with fence", "profile safe\nfence_command /bin/true\n", []want{w(4, "turns auto_failback off")}},
		{"safe with ping only", "profile safe\nping 10.0.0.254\n", []want{w(4, "turns auto_failback off")}},
		{"safe ping_takeover", "profile safe\nping 10.0.0.254\nping_takeover on\n", []want{w(4, "turns auto_failback off"), w(6, "ignores ping_takeover")}},
		{"safe_start_delay without safe", "safe_start_delay 3s\n", []want{w(4, "only applies with `profile safe`")}},
		{"safe_start_delay bad", "safe_start_delay soon\n", []want{e(4, "safe_start_delay")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, got := ParseHaCf("ha.cf", strings.NewReader(hacfBase+tt.in))
			checkDiags(t, got, tt.want)
		})
	}
}

func TestSplitBrainValues(t *testing.T) {
	tests := []struct {
		name string
		in   string // a complete ha.cf
		want func(c *Config)
	}{
		{"defaults", "node node1 node2\nucast eth0 10.0.0.2\nauto_failback on\n", func(c *Config) {
			c.Fence.Timeout, c.Fence.Retry = DefaultFenceTimeout, DefaultFenceRetry
		}},
		{"safe", "node node1 node2\nucast eth0 10.0.0.2\nprofile safe\nfence_command /sbin/fence-peer -v\nfence_retry 1500ms\nping_takeover on\n", func(c *Config) {
			c.Profile = ProfileSafe
			c.AutoFailback = FailbackOff
			c.SafeStartDelay = DefaultSafeStartDelay
			c.Fence = FenceConfig{Command: []string{"/sbin/fence-peer", "-v"}, Timeout: DefaultFenceTimeout, Retry: 1500 * time.Millisecond, Pos: Pos{"ha.cf", 4}}
		}},
		{"aws", "node node1 node2\nucast eth0 10.0.0.2\nauto_failback off\nfence_aws stop-instance node1=i-1 node2=i-2 region=us-east-1\nfence_timeout 30\nping_takeover yes\nprofile safe\nsafe_start_delay 0\n", func(c *Config) {
			c.Profile = ProfileSafe
			c.AutoFailback = FailbackOff
			c.Fence = FenceConfig{AWS: &FenceAWS{Action: FenceAWSStop, Instances: map[string]string{"node1": "i-1", "node2": "i-2"}, Region: "us-east-1"},
				Timeout: 30 * time.Second, Retry: DefaultFenceRetry, Pos: Pos{"ha.cf", 4}}
		}},
		{"ping_takeover", "node node1 node2\nucast eth0 10.0.0.2\nauto_failback on\nping 10.0.0.254\nping_takeover on\n", func(c *Config) {
			c.PingTakeover = true
			c.Fence.Timeout, c.Fence.Retry = DefaultFenceTimeout, DefaultFenceRetry
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := ParseHaCf("ha.cf", strings.NewReader(tt.in))
			if HasErrors(diags) {
				t.Fatalf("errors: %v", diags)
			}
			want := &Config{Profile: ProfileDefault, AutoFailback: c.AutoFailback}
			tt.want(want)
			got := &Config{Profile: c.Profile, AutoFailback: c.AutoFailback, PingTakeover: c.PingTakeover, Fence: c.Fence, SafeStartDelay: c.SafeStartDelay}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v %+v\nwant %+v %+v", got, got.Fence.AWS, want, want.Fence.AWS)
			}
		})
	}
}

func TestSplitBrainDiff(t *testing.T) {
	parse := func(s string) *Config {
		c, d := ParseHaCf("ha.cf", strings.NewReader("node node1 node2\nucast eth0 10.0.0.2\nauto_failback off\n"+s))
		if HasErrors(d) {
			t.Fatalf("%v", d)
		}
		return c
	}
	old := parse("")
	nw := parse("profile safe\nfence_command /bin/true\nping 10.0.0.1\n")
	var texts []string
	for _, c := range Diff(old, nw) {
		texts = append(texts, c.Text)
	}
	got := strings.Join(texts, "; ")
	for _, sub := range []string{"profile default -> safe", "fence none -> command /bin/true", "ping nodes [] -> [10.0.0.1]", "safe_start_delay 0s -> 5s"} {
		if !strings.Contains(got, sub) {
			t.Errorf("Diff = %q, want %q in it", got, sub)
		}
	}
	if d := Diff(nw, parse("profile safe\nfence_command /bin/true\nping 10.0.0.1\n")); len(d) != 0 {
		t.Errorf("Diff of equal configs = %v", d)
	}
}

// TestLoadFenceCommand: Load (hbd check, hbd run) refuses a fence_command
// whose program is missing, not a regular file, or not executable.
func TestLoadFenceCommand(t *testing.T) {
	bin := t.TempDir()
	for name, mode := range map[string]os.FileMode{"fence": 0o755, "noexec": 0o644} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\nexit 0\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		prog string
		want []want
	}{
		{"executable", filepath.Join(bin, "fence") + " --hard", nil},
		{"missing", filepath.Join(bin, "nofence"), []want{e(4, "fence_command: program "+filepath.Join(bin, "nofence")+" does not exist")}},
		{"not executable", filepath.Join(bin, "noexec"), []want{e(4, "is not an executable file (chmod 755 "+filepath.Join(bin, "noexec")+")")}},
		{"directory", bin, []want{e(4, "fence_command: program "+bin+" is not an executable file")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeConfig(t, map[string]string{
				HaCfFile:         "node node1 node2\nucast lo 127.0.0.1\nauto_failback on\nfence_command " + tt.prog + "\n",
				AuthkeysFile:     "auth 1\n1 sha1 test-secret-0123456789\n",
				HaresourcesFile:  "node1 web\n",
				"resource.d/web": "#!/bin/sh\n",
			})
			cfg, diags := Load(dir, LoadOptions{Node: "node1", Interfaces: func() ([]string, error) { return []string{"lo"}, nil }})
			var ds []Diag
			for _, d := range diags {
				if d.Pos.File == filepath.Join(dir, HaCfFile) {
					ds = append(ds, d)
				}
			}
			checkDiags(t, ds, tt.want)
			if (cfg != nil) != (tt.want == nil) {
				t.Errorf("config returned: %v, want %v", cfg != nil, tt.want == nil)
			}
		})
	}
}
