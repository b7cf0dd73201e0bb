package daemon

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// reannounceScript is a resource script whose start waits for the file
// "go" in its directory (at most 10 s) before the resource runs; every
// operation is appended to "ops".
const reannounceScript = `#!/bin/sh
d=$(dirname "$0")
case "$2" in
start)
	echo start-begin >> "$d/ops"
	i=0
	while [ ! -e "$d/go" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done
	touch "$d/running"
	echo start-end >> "$d/ops"
	;;
stop) rm -f "$d/running"; echo stop >> "$d/ops" ;;
status) if [ -e "$d/running" ]; then echo running; else echo stopped; exit 3; fi ;;
esac
exit 0
`

// TestReannounceIsOrdered: a re-announce runs a script resource's start
// again. A release of the group asked for while that start still runs
// calls it off (its script is killed) and stops the resource after it,
// never beside it, or the resource would run on here after the group was
// released (and started on the peer it was released to); a second
// re-announce must not run the start a second time at once.
func TestReannounceIsOrdered(t *testing.T) {
	for _, tc := range []struct {
		name    string
		then    func(spec config.Group) cluster.Action
		want    []string
		running bool
		logged  string // a line the daemon logs
	}{
		{"release", func(spec config.Group) cluster.Action { return cluster.StopGroup{Group: spec.Key(), Spec: spec} },
			[]string{"start-begin", "stop"}, false, "Re-announce of resource group svc::x called off by its next operation: svc::x start stopped"},
		{"again", func(spec config.Group) cluster.Action { return cluster.Reannounce{Group: spec.Key(), Spec: spec} },
			[]string{"start-begin", "start-end", "start-begin", "start-end"}, true, "Re-announcing resource group svc::x: running svc::x start again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			script := filepath.Join(dir, "svc")
			var err error
			if err = os.WriteFile(script, []byte(reannounceScript), 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := loopConfig("node1", "node2")
			spec := config.Group{Preferred: "node1", Resources: []config.Resource{{Spec: "svc::x", Name: "svc", Args: []string{"x"},
				Script: config.Script{Kind: config.ScriptFile, Path: script}}}}
			cfg.Groups = []config.Group{spec}
			d, _, logs := newTestDaemon(t, cfg, &fakeRunner{})
			if d.records, err = harc.OpenRecords(filepath.Join(t.TempDir(), ScriptsDirName), nil); err != nil {
				t.Fatal(err)
			}
			r, err := d.newRunner(cfg)
			if err != nil {
				t.Fatal(err)
			}
			d.runner = r

			d.execute(cluster.Reannounce{Group: spec.Key(), Spec: spec})
			// Begun once its first line is written: the file exists a
			// moment before.
			waitFor(t, func() bool {
				b, _ := os.ReadFile(filepath.Join(dir, "ops"))
				return strings.Contains(string(b), "start-begin\n")
			})
			// The start run again is recorded as a script of its group.
			var rec []byte
			waitFor(t, func() bool {
				ents, _ := os.ReadDir(d.records.Dir())
				if len(ents) == 1 {
					rec, _ = os.ReadFile(filepath.Join(d.records.Dir(), ents[0].Name()))
				}
				return len(rec) > 0
			})
			if want := `"group":"svc::x"`; !strings.Contains(string(rec), want) {
				t.Errorf("record %s, want %s", rec, want)
			}
			d.execute(tc.then(spec))
			// The first start waits for "go": what does not wait for
			// it, or call it off, runs beside it now.
			select {
			case done := <-d.ops:
				t.Logf("operation done: %+v", done)
			case <-time.After(300 * time.Millisecond):
			}
			if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			d.opsWG.Wait()

			b, err := os.ReadFile(filepath.Join(dir, "ops"))
			if err != nil {
				t.Fatal(err)
			}
			if ops := strings.Fields(string(b)); !slices.Equal(ops, tc.want) {
				t.Errorf("operations %q, want %q", ops, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "running")); (err == nil) != tc.running {
				t.Errorf("the resource runs: %v, want %v", err == nil, tc.running)
			}
			if !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("the log lacks %q:\n%s", tc.logged, logs)
			}
		})
	}
}
