package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// holdPidLock holds the lock on dir's pid file, as a running hbd does,
// until the test ends.
func holdPidLock(t *testing.T, dir string) {
	f, err := os.OpenFile(filepath.Join(dir, ctl.PidFileName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}

// refusingDaemon serves dir's control socket, as a daemon that is
// stopping does: every query refused, until the test ends.
func refusingDaemon(t *testing.T, dir string) {
	srv, err := ctl.Listen(filepath.Join(dir, ctl.SocketName))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, func(context.Context, ctl.Request) ctl.Response {
			return ctl.Response{Error: "hbd is shutting down"}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// TestStatusWhenNotAnswered: hbd status exits 3 (LSB: not running) only
// when no hbd runs; one that holds the pid file's lock while its socket
// is gone or dead, or that answers with a refusal, is 1, and says so.
func TestStatusWhenNotAnswered(t *testing.T) {
	deadSocket := func(t *testing.T, dir string) {
		// As a kill -9 leaves it: the socket file, nobody listening.
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, ctl.SocketName), Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false)
		ln.Close()
	}
	for _, tc := range []struct {
		name  string
		setup []func(*testing.T, string)
		code  int
		want  string
	}{
		{"nothing there", nil, 3, "hbd status: hbd is not running (no control socket at "},
		{"a stale pid file, no lock", []func(*testing.T, string){func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, ctl.PidFileName), []byte("1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}}, 3, "hbd status: hbd is not running (no control socket at "},
		{"the lock held, no socket", []func(*testing.T, string){holdPidLock}, 1,
			"hbd status: hbd runs with pid " + strconv.Itoa(os.Getpid()) + " (it holds the lock on "},
		{"the lock held, a dead socket", []func(*testing.T, string){holdPidLock, deadSocket}, 1,
			"but nothing answers on its control socket"},
		{"a dead socket, no lock", []func(*testing.T, string){deadSocket}, 3, "hbd status: hbd is not running (nothing answers on "},
		{"a refusal", []func(*testing.T, string){refusingDaemon}, 1, "hbd status: hbd is shutting down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, s := range tc.setup {
				s(t, dir)
			}
			var out, errOut bytes.Buffer
			code := runStatus([]string{"--run-dir", dir}, &out, &errOut)
			if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, want %d saying %q:\n%s", code, tc.code, tc.want, errOut.String())
			}
		})
	}
}

// TestClStatusWhenNotAnswered: cl_status hbstatus says what Heartbeat
// says of a daemon it cannot ask, exit 1, and why on stderr only when a
// daemon runs (the pid file's lock held, or one answers with a
// refusal); every other query fails with exit 1, saying why on stderr
// and nothing on stdout.
func TestClStatusWhenNotAnswered(t *testing.T) {
	const stopped = "Heartbeat is stopped on this machine.\n"
	runs := "cl_status: hbd runs with pid " + strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name   string
		setup  func(*testing.T, string)
		query  []string
		stdout string
		stderr string // "": none
	}{
		{"hbstatus, none runs", nil, []string{"hbstatus"}, stopped, ""},
		{"hbstatus, one runs without a socket", holdPidLock, []string{"hbstatus"}, stopped, runs},
		{"hbstatus, a refusal", refusingDaemon, []string{"hbstatus"}, stopped, "cl_status: hbd is shutting down\n"},
		{"listnodes, none runs", nil, []string{"listnodes"}, "", "cl_status: hbd is not running"},
		{"listnodes, a refusal", refusingDaemon, []string{"listnodes"}, "", "cl_status: hbd is shutting down\n"},
		{"nodestatus, a refusal", refusingDaemon, []string{"nodestatus", "node1"}, "", "cl_status: hbd is shutting down\n"},
		{"rscstatus, a refusal", refusingDaemon, []string{"rscstatus"}, "", "cl_status: hbd is shutting down\n"},
		{"hblinkstatus, a refusal", refusingDaemon, []string{"hblinkstatus", "node2", "eth0"}, "", "cl_status: hbd is shutting down\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			var out, errOut bytes.Buffer
			code := runClStatus(append([]string{"--run-dir", dir}, tc.query...), &out, &errOut)
			if code != 1 || out.String() != tc.stdout {
				t.Errorf("exit %d, stdout %q; want 1 and %q", code, out.String(), tc.stdout)
			}
			if tc.stderr == "" && errOut.Len() > 0 || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stderr %q, want %q", errOut.String(), tc.stderr)
			}
		})
	}
}
