package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/sim"
)

// TestTimingsSaidOnce holds `hbd check`'s summary, the daemon's
// configuration (config.Load, then the core built from it) and the
// simulation's configuration to the same timings for the same ha.cf
// lines: the defaults are written in one place (config.SetTimingDefaults).
func TestTimingsSaidOnce(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		lines string          // the timing lines of ha.cf
		set   cluster.Timings // what they set (zero: left out)
		want  cluster.Timings
	}{
		{
			name: "none: every default",
			want: cluster.Timings{Keepalive: 2 * s, Warntime: 15 * s, Deadtime: 30 * s, Initdead: 60 * s},
		},
		{
			name:  "deadtime only: warntime half of it, initdead twice it",
			lines: "deadtime 10\n",
			set:   cluster.Timings{Deadtime: 10 * s},
			want:  cluster.Timings{Keepalive: 2 * s, Warntime: 5 * s, Deadtime: 10 * s, Initdead: 20 * s},
		},
		{
			name:  "short deadtime: initdead at its floor",
			lines: "keepalive 500ms\ndeadtime 3\n",
			set:   cluster.Timings{Keepalive: 500 * time.Millisecond, Deadtime: 3 * s},
			want:  cluster.Timings{Keepalive: 500 * time.Millisecond, Warntime: 1500 * time.Millisecond, Deadtime: 3 * s, Initdead: config.MinInitdead},
		},
		{
			name:  "every timing set",
			lines: "keepalive 1\nwarntime 2\ndeadtime 5\ninitdead 20\n",
			set:   cluster.Timings{Keepalive: s, Warntime: 2 * s, Deadtime: 5 * s, Initdead: 20 * s},
			want:  cluster.Timings{Keepalive: s, Warntime: 2 * s, Deadtime: 5 * s, Initdead: 20 * s},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := sampleWithTimings(t, tc.lines)

			var out, errOut bytes.Buffer
			if rc := runCheck([]string{"-c", dir, "--node", "node1"}, &out, &errOut); rc != 0 {
				t.Fatalf("hbd check: exit %d:\n%s", rc, errOut.String())
			}
			row := fmt.Sprintf("keepalive %s, warntime %s, deadtime %s, initdead %s",
				dur(tc.want.Keepalive), dur(tc.want.Warntime), dur(tc.want.Deadtime), dur(tc.want.Initdead))
			if !strings.Contains(out.String(), row) {
				t.Errorf("hbd check's summary lacks %q:\n%s", row, out.String())
			}

			cfg, diags := config.Load(dir, loadOptions("node1", false))
			if cfg == nil {
				t.Fatalf("config.Load: %v", diags)
			}
			loaded := cluster.Timings{Keepalive: cfg.Keepalive, Warntime: cfg.Warntime, Deadtime: cfg.Deadtime, Initdead: cfg.Initdead}
			if loaded != tc.want {
				t.Errorf("config.Load: %+v, want %+v", loaded, tc.want)
			}
			core := cluster.New(cluster.Options{Config: cfg, Now: sim.Epoch})
			if got := core.Timings(); got != tc.want {
				t.Errorf("the daemon's core: %+v, want %+v", got, tc.want)
			}

			sc := sim.Config{Keepalive: tc.set.Keepalive, Warntime: tc.set.Warntime, Deadtime: tc.set.Deadtime, Initdead: tc.set.Initdead}
			nodes := []string{"node1", "node2"}
			simCore := cluster.New(cluster.Options{Config: sc.NodeConfig("node1", nodes, []string{"eth0"}), Now: sim.Epoch})
			if got := simCore.Timings(); got != tc.want {
				t.Errorf("the simulation's core: %+v, want %+v", got, tc.want)
			}
		})
	}
}

// sampleWithTimings is the sample configuration with its timing lines
// replaced by lines.
func sampleWithTimings(t *testing.T, lines string) string {
	t.Helper()
	dir := sampleCopy(t)
	p := filepath.Join(dir, "ha.cf")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 && timingDirective[f[0]] {
			continue
		}
		kept = append(kept, l)
	}
	if err := os.WriteFile(p, []byte(strings.Join(kept, "")+lines), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

var timingDirective = map[string]bool{"keepalive": true, "warntime": true, "deadtime": true, "initdead": true}
