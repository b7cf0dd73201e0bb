package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/config"
)

// reloadFiles is a valid configuration of node1 (ha.cf, authkeys,
// haresources, a resource script).
var reloadFiles = map[string]string{
	"ha.cf":          "node node1 node2\nkeepalive 1\ndeadtime 10\ninitdead 20\nucast lo 127.0.0.2\nauto_failback on\nlogfacility none\n",
	"authkeys":       "auth 1\n1 sha1 a-secret-long-enough-0123\n",
	"haresources":    "node1 rec::a\n",
	"resource.d/rec": "#!/bin/sh\nexit 0\n",
}

// TestReloadErrorKeepsConfig: a reload of files one of which does not
// validate (ha.cf, authkeys, haresources: each), read as hbd run reads
// them (Strict), is refused; the log names the file and the line, and
// the running configuration and keys stay.
func TestReloadErrorKeepsConfig(t *testing.T) {
	for _, tt := range []struct {
		name, file, text string
		line             int
	}{
		{"ha.cf: a bad value", "ha.cf", reloadFiles["ha.cf"] + "keepalive fast\n", 8},
		{"authkeys: an unknown method", "authkeys", "auth 1\n1 sha1 a-secret-long-enough-0123\n2 nosuchmethod another-secret-0123\n", 3},
		{"authkeys: the active key missing", "authkeys", "auth 2\n1 sha1 a-secret-long-enough-0123\n", 1},
		{"haresources: an unknown node", "haresources", "node1 rec::a\nnode9 rec::b\n", 2},
		{"haresources: a script not found", "haresources", "node1 rec::a\nnode2 nosuch::b\n", 2},
		{"haresources: a group twice", "haresources", "node1 rec::a\nnode2 rec::a\n", 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write := func(name, text string) {
				t.Helper()
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				mode := os.FileMode(0o644)
				if name == "authkeys" {
					mode = 0o600
				} else if strings.HasPrefix(name, "resource.d/") {
					mode = 0o755
				}
				if err := os.WriteFile(path, []byte(text), mode); err != nil {
					t.Fatal(err)
				}
			}
			for name, text := range reloadFiles {
				write(name, text)
			}
			load := config.LoadOptions{Node: "node1", Strict: true, Interfaces: func() ([]string, error) { return []string{"lo"}, nil }}
			cfg, diags := config.Load(dir, load)
			if cfg == nil {
				t.Fatalf("the valid configuration does not load: %v", diags)
			}
			d, _, buf := newTestDaemonIn(t, cfg, &fakeRunner{}, dir)
			d.opts.Load = load
			keys := d.keys
			write(tt.file, tt.text)
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
