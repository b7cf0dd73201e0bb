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
	c := etcdtest.Start(t, nil)
	n := newEtcdNode(t, c.Endpoints())
	began := filepath.Join(n.dir, "began")
	n.write("resource.d/hang", strings.ReplaceAll(hangScript, "%s", began), 0o755)
	// The start must outlive the test's wait: resource_timeout 10.
	n.write("ha.cf", n.hacf("/hbd-stopstart/", "resource_timeout 10", "etcd_lease 20"), 0o644)
	n.write("haresources", "n1 hang::a\n", 0o644)
	n.start()
	within(t, "the start of a begun", func() bool { _, err := os.Stat(began); return err == nil })
	n.stop()
	b, err := os.ReadFile(n.logfile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if !strings.Contains(log, "start of group hang::a ended: hbd is stopping") {
		t.Errorf("the log does not say the start ended because hbd is stopping:\n%s", log)
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "ERROR:") || strings.Contains(l, "CRIT:") || strings.Contains(strings.ToLower(l), "fail") {
			t.Errorf("log line: %s", l)
		}
	}
}
