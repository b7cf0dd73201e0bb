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

// TestStatusWhenNotAnswered: hbd status exits 3 (LSB: not running) only
// when no hbd runs; one that holds the pid file's lock while its socket
// is gone or dead, or that answers with a refusal, is 1, and says so.
func TestStatusWhenNotAnswered(t *testing.T) {
	pidFile := func(t *testing.T, dir string) {
		f, err := os.OpenFile(filepath.Join(dir, ctl.PidFileName), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			t.Fatal(err)
		}
	}
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
		{"the lock held, no socket", []func(*testing.T, string){pidFile}, 1,
			"hbd status: hbd runs with pid " + strconv.Itoa(os.Getpid()) + " (it holds the lock on "},
		{"the lock held, a dead socket", []func(*testing.T, string){pidFile, deadSocket}, 1,
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
