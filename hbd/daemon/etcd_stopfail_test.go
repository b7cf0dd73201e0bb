//go:build !noetcd

package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// stickyScript is resource.d/sticky: `sticky NAME start|stop|status`,
// logged as rec's; its stop fails (exit 1, NAME goes on running) while
// the file %[2]s exists.
const stickyScript = `#!/bin/sh
state="%[1]s/$1"
case "$2" in
start) touch "$state"; echo "start $1 $HA_FENCING_TOKEN" >> %[3]s ;;
stop) echo "stop $1 $HA_FENCING_TOKEN" >> %[3]s; [ -e %[2]s ] && exit 1; rm -f "$state" ;;
status|monitor) if [ -e "$state" ]; then echo running; else echo stopped; exit 3; fi ;;
esac
`

// TestEtcdStopFailedRetriedAsStarted: with the etcd backend, a group
// whose stop fails when a reload changed it keeps its owner key (no
// other node may start it) and is not stopped again at every pass; hbd
// cleanup stops it again as it was started (the new definition's added
// resource is not stopped, it never ran), then the new definition
// starts.
func TestEtcdStopFailedRetriedAsStarted(t *testing.T) {
	const prefix = "/hbd-stopfail/"
	c := etcdtest.Start(t, nil)
	n := newEtcdNode(t, c.Endpoints())
	stuck := filepath.Join(n.dir, "stop-fails")
	n.write("resource.d/sticky", fmt.Sprintf(stickyScript, filepath.Join(n.dir, "groups"), stuck, n.events), 0o755)
	n.write("ha.cf", n.hacf(prefix), 0o644)
	n.write("haresources", "n1 sticky::a\n", 0o644)
	n.start()
	n.waitRunning("a started", "a")
	n.newEvents()
	if err := os.WriteFile(stuck, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	n.write("haresources", "n1 sticky::a rec::c\n", 0o644)
	n.waitLog("stop of group sticky::a failed")
	// harc tried the stop several times within its timeout; then
	// passes go by, and nothing stops the group again.
	tried := n.newEvents()
	time.Sleep(2 * time.Second)
	if more := n.newEvents(); len(more) > 0 {
		t.Errorf("scripts run while sticky::a was stop-failed: %v", more)
	}
	for _, e := range tried {
		if e.op+" "+e.group != "stop a" {
			t.Errorf("the reload ran %s %s, want only stops of a", e.op, e.group)
		}
	}
	if !slices.Contains(ownerKeys(t, c.Endpoints(), prefix), "sticky::a") {
		t.Error("the owner key of sticky::a was released though its stop failed")
	}
	for _, g := range n.status().Groups {
		if g.Key == "sticky::a" && (!g.StopFailed || !g.Running) {
			t.Errorf("hbd status shows sticky::a %+v, want running and stop-failed", g)
		}
	}
	if err := os.Remove(stuck); err != nil {
		t.Fatal(err)
	}
	if r := n.command("cleanup", "sticky::a"); !r.OK {
		t.Fatalf("hbd cleanup sticky::a: %s", r.Error)
	}
	n.waitRunning("a and c started by the new definition", "a", "c")
	var got []string
	for _, e := range n.newEvents() {
		got = append(got, e.op+" "+e.group)
	}
	want := []string{"stop a", "start a", "start c"}
	if !slices.Equal(got, want) {
		t.Errorf("scripts run after the cleanup: %q, want %q", got, want)
	}
}
