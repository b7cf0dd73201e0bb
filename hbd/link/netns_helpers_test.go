package link

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/config"
)

// Network namespace helpers for this package's tests only (the general lab
// lives elsewhere; this package does not depend on it).

var netnsSeq atomic.Int32

// requireNetns skips the test unless it runs as root with a working
// `ip netns`.
func requireNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: network namespace tests need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: `ip` (iproute2) is not installed")
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		t.Skipf("skipping: `ip netns` unavailable: %v: %s", err, out)
	}
}

// ipCmd runs `ip ARGS...` and fails the test on error.
func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNetns creates a network namespace with lo up, deleted when the test
// ends (also on failure).
func newNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("hbdlink-%d-%d", os.Getpid(), netnsSeq.Add(1))
	ipCmd(t, "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Logf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	ipCmd(t, "-n", name, "link", "set", "lo", "up")
	return name
}

// veth joins namespaces a and b with a veth pair named ifA in a and ifB in
// b, assigns the addresses (CIDR, IPv6 ones without DAD) and sets both ends
// up. The pair disappears with the namespaces.
func veth(t *testing.T, a, ifA string, addrsA []string, b, ifB string, addrsB []string) {
	t.Helper()
	ipCmd(t, "link", "add", ifA, "netns", a, "type", "veth", "peer", "name", ifB, "netns", b)
	for _, side := range []struct {
		ns, ifc string
		addrs   []string
	}{{a, ifA, addrsA}, {b, ifB, addrsB}} {
		for _, ad := range side.addrs {
			args := []string{"-n", side.ns, "addr", "add", ad, "dev", side.ifc}
			if strings.Contains(ad, ":") {
				args = append(args, "nodad")
			}
			ipCmd(t, args...)
		}
		ipCmd(t, "-n", side.ns, "link", "set", side.ifc, "up")
	}
}

// inNetns runs fn on an OS thread switched into namespace ns. The thread
// is never unlocked: when fn's goroutine ends, the runtime destroys the
// thread instead of handing a thread in the wrong namespace to other
// goroutines. Sockets fn creates belong to ns and can be used from any
// goroutine afterwards.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// openIn opens a Set inside namespace ns and closes it when the test ends.
func openIn(t *testing.T, ns string, media []config.Medium, opts Options) *Set {
	t.Helper()
	var s *Set
	err := inNetns(ns, func() error {
		var err error
		s, err = Open(context.Background(), media, opts)
		return err
	})
	if err != nil {
		t.Fatalf("Open in %s: %v", ns, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
