//go:build !noetcd

package daemon

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// failScript is resource.d/fail: `fail NAME start|stop|status`; its
// start logs itself and exits 1, its stop logs itself, as rec's do.
const failScript = `#!/bin/sh
case "$2" in
start) echo "start $1 $HA_FENCING_TOKEN" >> %[1]s; exit 1 ;;
stop) echo "stop $1 $HA_FENCING_TOKEN" >> %[1]s ;;
status|monitor) echo stopped; exit 3 ;;
esac
`

// TestEtcdStartFailureStopsOnce: with the etcd backend, a start that
// fails outright (a script exits 1, nothing ended its context) is rolled
// back once: each resource it started, the failed one too, is stopped
// exactly once, right to left, and the resources to the right of the
// failed one are never touched; the failure is still recorded and the
// group released.
func TestEtcdStartFailureStopsOnce(t *testing.T) {
	const prefix = "/hbd-startfail/"
	c := etcdtest.Start(t, nil)
	n := newEtcdNode(t, c.Endpoints())
	n.write("resource.d/fail", fmt.Sprintf(failScript, n.events), 0o755)
	n.write("ha.cf", n.hacf(prefix), 0o644)
	n.write("haresources", "n1 rec::a fail::b rec::c\n", 0o644)
	n.start()
	n.waitLog("start of group rec::a failed")
	// The release of the owner key comes after the loop's own stop, if
	// any: once the key is gone, every stop has run.
	n.within("the owner key of rec::a to be released", func() bool {
		return !slices.Contains(ownerKeys(t, c.Endpoints(), prefix), "rec::a")
	})
	var got []string
	for _, e := range n.allEvents() {
		got = append(got, e.op+" "+e.group)
	}
	want := []string{"start a", "start b", "stop b", "stop a"}
	if !slices.Equal(got, want) {
		t.Errorf("scripts run: %q, want %q", got, want)
	}
	n.stop()
	if evs := n.allEvents(); len(evs) != len(want) {
		t.Errorf("after hbd stopped, %d scripts ran in all, want %d: %v", len(evs), len(want), evs)
	}
}
