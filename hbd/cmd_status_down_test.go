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
	refusing := func(t *testing.T, dir string) {
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
		{"a refusal", []func(*testing.T, string){refusing}, 1, "hbd status: hbd is shutting down"},
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

// TestClStatusHbstatusWhenNotAnswered: cl_status hbstatus says what
// Heartbeat says of a daemon it cannot ask, exit 1; why, on stderr, only
// when a daemon runs (the pid file's lock held). (A refusal's words are
// TestStatusWhenNotAnswered's.)
func TestClStatusHbstatusWhenNotAnswered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lock   bool
		stderr string
	}{
		{"none runs", false, ""},
		{"one runs without a socket", true, "cl_status: hbd runs with pid " + strconv.Itoa(os.Getpid())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.lock {
				holdPidLock(t, dir)
			}
			var out, errOut bytes.Buffer
			code := runClStatus([]string{"--run-dir", dir, "hbstatus"}, &out, &errOut)
			if code != 1 || out.String() != "Heartbeat is stopped on this machine.\n" {
				t.Errorf("exit %d, stdout %q; want 1 and Heartbeat's line", code, out.String())
			}
			if tc.stderr == "" && errOut.Len() > 0 || !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stderr %q, want %q", errOut.String(), tc.stderr)
			}
		})
	}
}
