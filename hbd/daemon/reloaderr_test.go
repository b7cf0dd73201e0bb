package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// reloadFiles is a valid configuration of node1 (ha.cf, authkeys,
// haresources, a resource script).
var reloadFiles = map[string]string{
	"ha.cf":          "node node1 node2\nkeepalive 1\ndeadtime 10\ninitdead 20\nucast lo 127.0.0.2\nauto_failback on\nlogfacility none\n",
	"authkeys":       "auth 1\n1 sha1 a-secret-long-enough-0123\n",
	"haresources":    "node1 rec::a\n",
	"resource.d/rec": "#!/bin/sh\nexit 0\n",
}

// reloadDaemon is a test daemon (no loop) of reloadFiles, written to
// its configuration directory dir, which it reloads with load.
func reloadDaemon(t *testing.T, load config.LoadOptions) (d *Daemon, dir string, buf *testenv.LockedBuffer) {
	t.Helper()
	dir = testenv.WriteConfigDir(t, reloadFiles)
	cfg, diags := config.Load(dir, load)
	if cfg == nil {
		t.Fatalf("the valid configuration does not load: %v", diags)
	}
	d, _, buf = newTestDaemonIn(t, cfg, &fakeRunner{}, dir)
	d.opts.Load = load
	return d, dir, buf
}

// reloadLoad reads a configuration as hbd run does (Strict), on a
// machine whose one interface is lo.
var reloadLoad = config.LoadOptions{Node: "node1", Strict: true, Interfaces: func() ([]string, error) { return []string{"lo"}, nil }}

// groupLines is a haresources of n groups preferring node1, one a line,
// each keyed by a resource spec of keyLen bytes.
func groupLines(n, keyLen int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "node1 rec::%0*d\n", keyLen-5, i)
	}
	return b.String()
}

// announcementLimit is how many groups of groupLines(_, keyLen) fit one
// resource announcement with reloadFiles' ha.cf, as the core counts them.
func announcementLimit(t *testing.T, keyLen int) int {
	t.Helper()
	files := maps.Clone(reloadFiles)
	files["haresources"] = groupLines(400, keyLen)
	cfg, diags := config.Load(testenv.WriteConfigDir(t, files), reloadLoad)
	if cfg == nil {
		t.Fatalf("the configuration does not load: %v", diags)
	}
	fit, size := cluster.AnnouncementFit(cfg)
	if fit == len(cfg.Groups) {
		t.Fatalf("400 groups of %d-byte keys fit one announcement (%d bytes)", keyLen, size)
	}
	return fit
}

// TestReloadErrorKeepsConfig: a reload of files one of which does not
// validate (ha.cf, authkeys, haresources: each), read as hbd run reads
// them (Strict), is refused; the log names the file and the line, and
// the running configuration and keys stay.
func TestReloadErrorKeepsConfig(t *testing.T) {
	// Keys so long that a few groups fill an announcement: were the
	// reload taken, its probes would not outnumber the test daemon's
	// queue of results.
	fit := announcementLimit(t, 1500)
	for _, tt := range []struct {
		name, file, text string
		line             int
	}{
		{"ha.cf: a bad value", "ha.cf", reloadFiles["ha.cf"] + "keepalive fast\n", 8},
		// (the ICMP socket cannot be opened: d.opts.Load.ICMP)
		{"ha.cf: ping nodes this machine cannot ping", "ha.cf", reloadFiles["ha.cf"] + "ping 127.0.0.1\n", 8},
		{"authkeys: an unknown method", "authkeys", "auth 1\n1 sha1 a-secret-long-enough-0123\n2 nosuchmethod another-secret-0123\n", 3},
		{"authkeys: the active key missing", "authkeys", "auth 2\n1 sha1 a-secret-long-enough-0123\n", 1},
		{"haresources: an unknown node", "haresources", "node1 rec::a\nnode9 rec::b\n", 2},
		{"haresources: a script not found", "haresources", "node1 rec::a\nnode2 nosuch::b\n", 2},
		{"haresources: a group twice", "haresources", "node1 rec::a\nnode2 rec::a\n", 2},
		{"haresources: too many groups for one announcement", "haresources", groupLines(fit+1, 1500), fit + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, dir, buf := reloadDaemon(t, reloadLoad)
			cfg := d.cfg
			d.opts.Load.ICMP = func(bool) error { return errors.New("operation not permitted") }
			keys := d.keys
			testenv.WriteConfigFile(t, dir, tt.file, tt.text)
			d.reload(context.Background(), "test", true)
			if d.cfg != cfg || d.keys != keys {
				t.Errorf("after a refused reload: config replaced %v, keys replaced %v", d.cfg != cfg, d.keys != keys)
			}
			log := buf.String()
			at := fmt.Sprintf("ERROR: %s:%d:", filepath.Join(dir, tt.file), tt.line)
			if !strings.Contains(log, "Configuration reload (test) refused") || !strings.Contains(log, at) {
				t.Errorf("the log does not refuse the reload naming %q:\n%s", at, log)
			}
		})
	}
}
