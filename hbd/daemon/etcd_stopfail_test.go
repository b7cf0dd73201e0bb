//go:build !noetcd

package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
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

// TestEtcdStopFailedWaits: with the etcd backend, a group whose stop
// fails when hbd stops (SIGTERM), or when a reload restarts the loop
// (a change of etcd_prefix), keeps its owner key: the stop, or the
// restart, waits, and the daemon serves its socket meanwhile, until
// hbd cleanup stops the group.
func TestEtcdStopFailedWaits(t *testing.T) {
	c := etcdtest.Start(t, nil)
	for _, tt := range []struct {
		name   string
		prefix string
		begin  func(n *etcdNode) (cancel func())
		after  func(t *testing.T, n *etcdNode)
	}{
		{"hbd stops", "/hbd-stopfail-stop/", func(n *etcdNode) func() {
			// SIGTERM, which hbd run takes (signal.Notify): a
			// cancelled context would close the control socket too.
			// No other test runs meanwhile (this one is not parallel).
			n.cancel = nil // this test waits for the stop itself
			return func() {
				if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
		}, func(t *testing.T, n *etcdNode) {
			select {
			case err := <-n.done:
				if err != nil {
					t.Errorf("hbd run: %v", err)
				}
			case <-time.After(waitAtMost):
				t.Fatal("hbd did not stop after the cleanup")
			}
		}},
		{"a reload restarts the loop", "/hbd-stopfail-restart/", func(n *etcdNode) func() {
			return func() { n.write("ha.cf", n.hacf("/hbd-stopfail-restart-new/"), 0o644) }
		}, func(t *testing.T, n *etcdNode) {
			n.waitRunning("a started again by the new loop", "a")
			if !slices.Contains(ownerKeys(t, c.Endpoints(), "/hbd-stopfail-restart-new/"), "sticky::a") {
				t.Error("no owner key of sticky::a under the new prefix")
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newEtcdNode(t, c.Endpoints())
			stuck := filepath.Join(n.dir, "stop-fails")
			n.write("resource.d/sticky", fmt.Sprintf(stickyScript, filepath.Join(n.dir, "groups"), stuck, n.events), 0o755)
			n.write("ha.cf", n.hacf(tt.prefix), 0o644)
			n.write("haresources", "n1 sticky::a\n", 0o644)
			n.start()
			n.waitRunning("a started", "a")
			if err := os.WriteFile(stuck, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			tt.begin(n)()
			n.waitLog("shutdown waits: resource group sticky::a failed to stop")
			if !slices.Contains(ownerKeys(t, c.Endpoints(), tt.prefix), "sticky::a") {
				t.Error("the owner key of sticky::a was released though its stop failed")
			}
			if st := n.status(); len(st.Members) != 0 {
				t.Errorf("members %v while n1 waits for its stop, want none", st.Members)
			}
			if err := os.Remove(stuck); err != nil {
				t.Fatal(err)
			}
			if r := n.command("cleanup", "sticky::a"); !r.OK {
				t.Fatalf("hbd cleanup sticky::a: %s", r.Error)
			}
			tt.after(t, n)
			if slices.Contains(ownerKeys(t, c.Endpoints(), tt.prefix), "sticky::a") {
				t.Error("the owner key of sticky::a is still there after its stop")
			}
		})
	}
}
