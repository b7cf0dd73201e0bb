package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestRunCancelledBeforeStart: a daemon told to stop before it starts
// (Run with a context already ended) returns at once and leaves nothing
// behind: no script run (its resource found running, whose stop fails,
// would otherwise hold a graceful stop until an operator's cleanup), no
// pid file or control socket, neither lock held, nothing sent to the
// peer.
func TestRunCancelledBeforeStart(t *testing.T) {
	port := testenv.FreeUDPPort(t)
	ran := filepath.Join(t.TempDir(), "ran")
	dir := testenv.WriteConfigDir(t, map[string]string{
		"ha.cf":       fmt.Sprintf("node node1 node2\nkeepalive 1\ndeadtime 10\ninitdead 20\nudpport %d\nucast lo 127.0.0.2 127.0.0.1\nauto_failback on\nlogfacility none\n", port),
		"authkeys":    reloadFiles["authkeys"],
		"haresources": "node1 rec::a\n",
		// Running, and will not stop.
		"resource.d/rec": fmt.Sprintf("#!/bin/sh\necho \"$*\" >> %s\n[ \"$2\" = status ] && echo running\n[ \"$2\" = stop ] && exit 1\nexit 0\n", ran),
	})
	peer, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.2:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	runDir, stateDir := t.TempDir(), t.TempDir()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr testenv.LockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigDir: dir, Node: "node1", RunDir: runDir, StateDir: stateDir, Load: reloadLoad, Stderr: &stderr,
			Ready: func() { t.Error("a daemon told to stop before it started said it serves") }})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("Run with a cancelled context has not returned after 20 s; its log:\n%s", stderr.String())
	}

	if b, err := os.ReadFile(ran); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the resource script ran: %q (%v)", b, err)
	}
	for _, f := range []string{filepath.Join(runDir, ctl.PidFileName), filepath.Join(runDir, ctl.SocketName)} {
		if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is left behind (%v)", f, err)
		}
	}
	held, _, err := takePidFile(runDir, stateDir)
	if err != nil {
		t.Errorf("the pid file or the state lock is still held: %v", err)
	}
	held.release()
	must(t, peer.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	if n, _, err := peer.ReadFrom(make([]byte, 2048)); err == nil {
		t.Errorf("the peer got a message of %d bytes", n)
	}
}
