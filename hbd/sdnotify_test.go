package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReadyNotifier: with NOTIFY_SOCKET set (a path, or an abstract
// name as systemd gives), the notifier sends READY=1 there once called,
// and takes the variable out of the environment the resource scripts
// get; without it there is nothing to call; a socket nobody listens on
// is said on stderr, and the daemon goes on.
func TestReadyNotifier(t *testing.T) {
	for _, tc := range []struct {
		name   string
		socket func(t *testing.T) string
	}{
		{"a path", func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify") }},
		{"an abstract name", func(t *testing.T) string { return "@hbd-test-notify-" + strconv.Itoa(os.Getpid()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := tc.socket(t)
			l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			t.Setenv(notifySocketEnv, sock)
			var stderr bytes.Buffer
			ready := readyNotifier(&stderr)
			if ready == nil {
				t.Fatal("no notifier with NOTIFY_SOCKET set")
			}
			if os.Getenv(notifySocketEnv) != sock {
				t.Fatalf("NOTIFY_SOCKET removed before the daemon is ready (hbd-etcd needs it)")
			}
			ready()
			_ = l.SetReadDeadline(time.Now().Add(5 * time.Second))
			b := make([]byte, 64)
			n, err := l.Read(b)
			if err != nil || string(b[:n]) != "READY=1" {
				t.Errorf("the socket got %q (%v), want READY=1", b[:n], err)
			}
			if v, ok := os.LookupEnv(notifySocketEnv); ok {
				t.Errorf("NOTIFY_SOCKET=%s is still in the environment once ready", v)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
		})
	}
	t.Run("none asks", func(t *testing.T) {
		t.Setenv(notifySocketEnv, "")
		if readyNotifier(os.Stderr) != nil {
			t.Errorf("a notifier without NOTIFY_SOCKET")
		}
	})
	t.Run("nobody listens", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "gone")
		t.Setenv(notifySocketEnv, sock)
		var stderr bytes.Buffer
		readyNotifier(&stderr)()
		if e := stderr.String(); !strings.Contains(e, "could not tell the service manager") || !strings.Contains(e, sock) {
			t.Errorf("stderr does not say the notification failed, with the socket: %q", e)
		}
	})
}
