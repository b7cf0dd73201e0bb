package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// recordingScript appends its operation to the file beside it and says
// it is not running.
const recordingScript = `#!/bin/sh
for a; do op=$a; done
echo "$op" >> "$(dirname "$0")/ops"
[ "$op" = status ] && echo "not running"
exit 0
`

// TestExecutePrepareGroup: a PrepareGroup has the runner read the
// group's statuses at once, in the background, and the StartGroup that
// follows uses them: the script's status runs once, before the start.
func TestExecutePrepareGroup(t *testing.T) {
	d, _, logs := newTestDaemon(t, loopConfig("node1"), &fakeRunner{})
	dir := t.TempDir()
	script := filepath.Join(dir, "web")
	if err := os.WriteFile(script, []byte(recordingScript), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := d.newRunner(d.cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.runner = r
	spec := config.Group{Preferred: "node2", Resources: []config.Resource{{Spec: "web", Name: "web",
		Script: config.Script{Kind: config.ScriptFile, Path: script}}}}
	ops := func() string {
		b, _ := os.ReadFile(filepath.Join(dir, "ops"))
		return strings.TrimSpace(string(b))
	}
	d.execute(cluster.PrepareGroup{Group: spec.Key(), Spec: spec, From: "node2"})
	for deadline := time.Now().Add(10 * time.Second); ops() != "status"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no status read after the PrepareGroup: ops %q", ops())
		}
	}
	d.execute(cluster.StartGroup{Group: spec.Key(), Spec: spec})
	select {
	case done := <-d.ops:
		if done.Result != cluster.ResultOK {
			t.Fatalf("start: %+v", done)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the start did not end")
	}
	if got, want := ops(), "status\nstart"; got != want {
		t.Errorf("ran %q, want %q: the status read ahead serves the start", got, want)
	}
	for _, line := range []string{"node2 releases resource group web to this node", "statuses: 1 read ahead, 0 read by the start"} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}
