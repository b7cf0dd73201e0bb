package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/testenv"
)

func serve(t *testing.T, path string, h Handler) {
	t.Helper()
	s, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	serve(t, path, func(_ context.Context, req Request) Response {
		data, _ := json.Marshal(map[string]any{"cmd": req.Cmd, "args": req.Args})
		return Response{OK: true, Data: data}
	})
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Errorf("socket mode = %#o, want 0600", mode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := Call(ctx, path, Request{Cmd: "standby", Args: []string{"foreign"}})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.OK || string(resp.Data) != `{"args":["foreign"],"cmd":"standby"}` {
		t.Errorf("response = %+v %s", resp, resp.Data)
	}
}

// TestListenKeepsTheUmask: Listen makes the socket 0600 whatever the
// process's umask and leaves the umask as it was, also when Listens run
// at once (tests run several daemons in one process): a umask left
// changed would take the modes off every file the process creates later.
func TestListenKeepsTheUmask(t *testing.T) {
	const umask = 0o002 // a bind under it alone would give 0775
	old := unix.Umask(umask)
	t.Cleanup(func() { unix.Umask(old) })
	dir := t.TempDir()
	for round := range 300 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 4 {
			path := filepath.Join(dir, fmt.Sprint(round, ".", i))
			wg.Go(func() {
				<-start
				s, err := Listen(path)
				if err != nil {
					t.Error(err)
					return
				}
				defer s.Close()
				st, err := os.Stat(path)
				if err != nil {
					t.Error(err)
				} else if st.Mode().Perm() != 0o600 {
					t.Errorf("socket %s: mode %#o, want 0600", path, st.Mode().Perm())
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		if got := unix.Umask(umask); got != umask {
			t.Fatalf("after %d rounds of four Listens at once the umask is %#o, want %#o", round+1, got, umask)
		}
	}
}

// TestOwnerOnlyAtBind: the file bind creates is 0600 already, before
// Listen's chmod: under a umask that leaves the group and others' bits
// (0o002), a bind alone would give 0775.
func TestOwnerOnlyAtBind(t *testing.T) {
	old := unix.Umask(0o002)
	t.Cleanup(func() { unix.Umask(old) })
	path := filepath.Join(t.TempDir(), SocketName)
	lc := net.ListenConfig{Control: ownerOnly}
	ln, err := lc.Listen(context.Background(), "unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Fatalf("socket file at bind: mode %#o, want 0600", mode)
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	serve(t, path, func(context.Context, Request) Response { return Response{OK: true} })
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "another hbd") {
		t.Fatalf("second Listen: err = %v, want 'another hbd is running'", err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	// A socket file with nobody listening, as a kill -9 leaves it.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	serve(t, path, func(context.Context, Request) Response { return Response{OK: true} })
	resp, err := Call(context.Background(), path, Request{Cmd: "x"})
	if err != nil || !resp.OK {
		t.Fatalf("Call after stale replace: %+v, %v", resp, err)
	}
}

// TestNotRunning: no socket, and a socket nobody listens on (as a kill
// -9 leaves it), each said as it is.
func TestNotRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	_, err := Call(context.Background(), path, Request{Cmd: "status"})
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "hbd is not running (no control socket at "+path+")") {
		t.Fatalf("no socket: err = %v, want 'hbd is not running (no control socket ...)'", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	_, err = Call(context.Background(), path, Request{Cmd: "status"})
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "hbd is not running (nothing answers on "+path+", left by an hbd that did not stop cleanly)") {
		t.Fatalf("stale socket: err = %v, want 'hbd is not running (nothing answers ...)'", err)
	}
}

func TestBadRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	serve(t, path, func(context.Context, Request) Response { return Response{OK: true} })
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("{not json\n")); err != nil {
		t.Fatal(err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.OK || !strings.HasPrefix(resp.Error, "bad request") {
		t.Errorf("resp = %+v, want a bad request error", resp)
	}
}

// TestOtherUserRefused: a user other than root and the daemon's own is
// refused twice over. The socket's mode 0600 refuses the connection; and
// where the mode does not (a socket opened to all, as a wrong umask or a
// chmod would leave it), the peer credential check answers "permission
// denied" and the handler never runs. The other user is a child process
// of this test running as nobody.
func TestOtherUserRefused(t *testing.T) {
	if !testenv.InChild(t) {
		testenv.NeedRoot(t, "to connect to the control socket as another user")
	}
	for _, tc := range []struct {
		name string
		mode os.FileMode
		want string // what the child sees
	}{
		{"socket mode 0600", 0o600, "connect"},
		{"socket open to all", 0o666, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if testenv.InChild(t) {
				otherUserCalls(t, os.Getenv("SOCK"), os.Getenv("WANT"))
				return
			}
			dir := t.TempDir()
			testenv.OpenToAll(t, dir)
			path := filepath.Join(dir, SocketName)
			var calls atomic.Int32
			serve(t, path, func(context.Context, Request) Response {
				calls.Add(1)
				return Response{OK: true}
			})
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			out, err := testenv.RunAs(t, testenv.Nobody, testenv.Nobody, "SOCK="+path, "WANT="+tc.want)
			if err != nil {
				t.Fatalf("as nobody: %v\n%s", err, out)
			}
			if n := calls.Load(); n != 0 {
				t.Errorf("the handler ran %d times for another user", n)
			}
			// The daemon's own user still gets through.
			resp, err := Call(context.Background(), path, Request{Cmd: "status"})
			if err != nil || !resp.OK || calls.Load() != 1 {
				t.Errorf("root: %+v, %v, handler ran %d times", resp, err, calls.Load())
			}
		})
	}
}

// otherUserCalls is TestOtherUserRefused's child: it calls the daemon at
// path and checks it is refused as want says.
func otherUserCalls(t *testing.T, path, want string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := Call(ctx, path, Request{Cmd: "standby", Args: []string{"all"}})
	switch want {
	case "connect":
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Fatalf("connect as uid %d: %+v, %v; want permission denied", os.Getuid(), resp, err)
		}
	case "refused":
		if err != nil {
			t.Fatalf("as uid %d: %v; want an answer that refuses", os.Getuid(), err)
		}
		if resp.OK || resp.Error != fmt.Sprintf("permission denied: uid %d may not control hbd", os.Getuid()) {
			t.Fatalf("as uid %d: %+v; want permission denied", os.Getuid(), resp)
		}
	default:
		t.Fatalf("WANT=%q", want)
	}
}
