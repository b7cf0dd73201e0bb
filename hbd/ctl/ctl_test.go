package ctl

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func TestNotRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketName)
	_, err := Call(context.Background(), path, Request{Cmd: "status"})
	if err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("err = %v, want 'hbd is not running'", err)
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
