//go:build !noetcd

package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// hangScript is resource.d/hang: its start says it began, then runs
// until it is killed; its stop and status say it is stopped.
const hangScript = `#!/bin/sh
case "$2" in
start) echo begun > %s; exec sleep 30 ;;
status|monitor) echo stopped; exit 3 ;;
esac
`

// TestEtcdStopDuringStart: with the etcd backend, a graceful stop while
// a group's start runs ends the start as an orderly stop: the log
// (Heartbeat's format, as an operator reads it) has no error and calls
// nothing failed.
func TestEtcdStopDuringStart(t *testing.T) {
	n := hangingStart(t, "/hbd-stopstart/")
	n.stop()
	orderlyEnd(t, n, "hbd is stopping")
}

// TestEtcdReloadDuringStart: a reload that restarts the ownership loop
// (a change of etcd_prefix) while a group's start runs ends the start as
// an orderly stop too, and the log says a reload ended it, not a stop of
// hbd.
func TestEtcdReloadDuringStart(t *testing.T) {
	n := hangingStart(t, "/hbd-reloadstart/")
	n.write("ha.cf", n.hacf("/hbd-reloadstart-2/", "resource_timeout 10", "etcd_lease 20"), 0o644)
	n.waitLog("start of group hang::a ended")
	n.stop()
	orderlyEnd(t, n, reloadRestart)
}

// hangingStart starts a node whose one group, hang::a, is starting (its
// script has begun and runs until it is killed).
func hangingStart(t *testing.T, prefix string) *etcdNode {
	c := etcdtest.Start(t, nil)
	n := newEtcdNode(t, c.Endpoints())
	began := filepath.Join(n.dir, "began")
	n.write("resource.d/hang", strings.ReplaceAll(hangScript, "%s", began), 0o755)
	// The start must outlive the test's wait: resource_timeout 10.
	n.write("ha.cf", n.hacf(prefix, "resource_timeout 10", "etcd_lease 20"), 0o644)
	n.write("haresources", "n1 hang::a\n", 0o644)
	n.start()
	n.within("the start of a begun", func() bool { _, err := os.Stat(began); return err == nil })
	return n
}

// orderlyEnd checks the log of n: the start of hang::a ended because
// of why, the start was rolled back and the group not stopped again
// after that, and no line is an error or calls anything failed.
func orderlyEnd(t *testing.T, n *etcdNode, why string) {
	t.Helper()
	b, err := os.ReadFile(n.logfile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "start of group hang::a ended: "+why) {
		t.Errorf("the log does not say the start ended because %s:\n%s", why, log)
	}
	const released = "Releasing resource group: n1 hang::a"
	if !strings.Contains(log, released) {
		t.Errorf("the start that ran was not rolled back:\n%s", log)
	}
	// harc releases before the loop logs the end: nothing after that
	// line, up to the next start, releases the group a second time.
	for _, after := range strings.Split(log, "start of group hang::a ended")[1:] {
		after, _, _ = strings.Cut(after, "acquired group hang::a")
		if strings.Contains(after, released) {
			t.Errorf("hang::a released again after its start's rollback:\n%s", log)
		}
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "ERROR:") || strings.Contains(l, "CRIT:") || strings.Contains(strings.ToLower(l), "fail") {
			t.Errorf("log line: %s", l)
		}
	}
}
