package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestStartSaysEachWarningOnce: a node started by hand with a warning in
// its configuration (a one-node cluster, haresources empty) says it once
// on stderr, whether the log goes there too (no logfile, no syslog) or to
// a file of its own, which has it once as well.
func TestStartSaysEachWarningOnce(t *testing.T) {
	const warning = "no resource groups"
	logfile := filepath.Join(t.TempDir(), "ha-log")
	for _, tc := range []struct {
		name, logging string
		inFile        int // the warning's lines in logfile
	}{
		{"log on stderr", "logfacility none\n", 0},
		{"log in a file", "logfacility none\nlogfile " + logfile + "\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := testenv.WriteConfigDir(t, map[string]string{
				"ha.cf":       fmt.Sprintf("node node1\nkeepalive 1\ndeadtime 10\nudpport %d\nucast lo 127.0.0.1\nauto_failback on\n%s", testenv.FreeUDPPort(t), tc.logging),
				"authkeys":    reloadFiles["authkeys"],
				"haresources": "",
			})
			var stderr bytes.Buffer
			// (cancelled: the node reads its configuration, says its
			// warnings, and stops before it starts)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := Run(ctx, Options{ConfigDir: dir, Node: "node1", RunDir: t.TempDir(), StateDir: t.TempDir(), Load: reloadLoad, Stderr: &stderr})
			if err != nil {
				t.Fatalf("run: %v; stderr:\n%s", err, stderr.String())
			}
			if n := strings.Count(stderr.String(), warning); n != 1 {
				t.Errorf("stderr says %q %d times, want once:\n%s", warning, n, stderr.String())
			}
			if tc.inFile == 0 {
				return
			}
			b, err := os.ReadFile(logfile)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(b), warning); n != tc.inFile {
				t.Errorf("logfile says %q %d times, want %d:\n%s", warning, n, tc.inFile, b)
			}
		})
	}
}

// TestReadyWhenServing: Options.Ready is called once, when the pid file
// and the control socket are there; a start refused beside a running
// hbd returns a RunningError and never calls it.
func TestReadyWhenServing(t *testing.T) {
	dir := testenv.WriteConfigDir(t, map[string]string{
		"ha.cf":       fmt.Sprintf("node node1\nkeepalive 1\ndeadtime 10\nudpport %d\nucast lo 127.0.0.1\nauto_failback on\nlogfacility none\n", testenv.FreeUDPPort(t)),
		"authkeys":    reloadFiles["authkeys"],
		"haresources": "",
	})
	runDir, stateDir := t.TempDir(), t.TempDir()
	// The daemon stops once ready (or after 30 s: never ready).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	calls := 0
	ready := func() {
		calls++
		for _, f := range []string{filepath.Join(runDir, ctl.PidFileName), filepath.Join(runDir, ctl.SocketName), filepath.Join(stateDir, StateLockName)} {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("ready before %s is there: %v", f, err)
			}
		}
		cancel()
	}
	if err := Run(ctx, Options{ConfigDir: dir, Node: "node1", RunDir: runDir, StateDir: stateDir, Load: reloadLoad, Stderr: io.Discard, Ready: ready}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if calls != 1 {
		t.Errorf("Ready called %d times, want once", calls)
	}

	held, _, err := takePidFile(t.TempDir(), stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release()
	calls = 0
	// (were it not refused, it would start and stop once ready)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Run(ctx, Options{ConfigDir: dir, Node: "node1", RunDir: runDir, StateDir: stateDir, Load: reloadLoad, Stderr: io.Discard, Ready: ready})
	var re *RunningError
	if !errors.As(err, &re) || re.Pid != os.Getpid() {
		t.Errorf("run beside a running hbd: %v, want a RunningError naming pid %d", err, os.Getpid())
	}
	if calls != 0 {
		t.Errorf("a refused start called Ready")
	}
}
