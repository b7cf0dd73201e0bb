package ipaddr

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A small namespace lab for this package's tests, with the shape of
// hbd/internal/netlab's (which Go's internal rule keeps out of reach
// from resources/): hosts are network namespaces with an eth0 on one
// bridge that lives in a namespace of its own. Namespaces are named
// "hbdip" + pid + "x" + random hex + "-" + host, removed in t.Cleanup
// (and by the next run if this one was killed).

type lab struct {
	t  *testing.T
	id string
	sw string
	n  int
}

type labHost struct {
	Name string
	NS   string
}

// skipUnlessLab skips the test unless it runs as root with `ip`.
func skipUnlessLab(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces); run the test as root to include it")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs `ip` (iproute2) for the test network")
	}
}

func newLab(t *testing.T) *lab {
	t.Helper()
	skipUnlessLab(t)
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	sweepLabs(t)
	l := &lab{t: t, id: fmt.Sprintf("%s%dx%s", labPrefix, os.Getpid(), hex.EncodeToString(b[:]))}
	l.sw = l.id + "-sw"
	t.Cleanup(l.close)
	l.ip("netns", "add", l.sw)
	l.ip("-n", l.sw, "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0", "mcast_snooping", "0")
	l.ip("-n", l.sw, "link", "set", "br0", "up")
	return l
}

func (l *lab) ip(args ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// Host adds a namespace with eth0 on the bridge carrying addrs (IPv6
// ones without duplicate address detection).
func (l *lab) Host(name string, addrs ...string) *labHost {
	l.t.Helper()
	h := &labHost{Name: name, NS: l.id + "-" + name}
	l.ip("netns", "add", h.NS)
	l.ip("-n", h.NS, "link", "set", "lo", "up")
	port := fmt.Sprintf("p%d", l.n)
	l.n++
	l.ip("-n", l.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.NS)
	l.ip("-n", l.sw, "link", "set", port, "master", "br0", "up")
	for _, a := range addrs {
		args := []string{"-n", h.NS, "addr", "add", a, "dev", "eth0"}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		l.ip(args...)
	}
	l.ip("-n", h.NS, "link", "set", "eth0", "up")
	return h
}

// labPrefix starts every namespace name; the test process's pid follows,
// so sweepLabs can tell a crashed run's namespaces from a live one's.
const labPrefix = "hbdip"

// sweepLabs removes the namespaces of earlier test processes that died
// without cleaning up (killed by a timeout, say).
func sweepLabs(t *testing.T) {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, f := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(f, labPrefix)
		if !ok {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(rest, "%dx", &pid); err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		killIn(f)
		if out, err := exec.Command("ip", "netns", "del", f).CombinedOutput(); err != nil {
			t.Logf("sweep: ip netns del %s: %v: %s", f, err, out)
		}
	}
}

// killIn SIGKILLs the processes inside namespace ns (never this one).
func killIn(ns string) {
	pids, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, p := range strings.Fields(string(pids)) {
		var pid int
		// Our own pid shows up when a thread locked in a namespace
		// happened to be the main one (Go parks it rather than end it).
		if _, err := fmt.Sscan(p, &pid); err == nil && pid > 1 && pid != os.Getpid() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// close kills what still runs in the lab's namespaces (only processes
// inside them: the helpers our tests started) and deletes the namespaces.
func (l *lab) close() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, f := range strings.Fields(string(out)) {
		if !strings.HasPrefix(f, l.id+"-") {
			continue
		}
		killIn(f)
		if out, err := exec.Command("ip", "netns", "del", f).CombinedOutput(); err != nil {
			l.t.Errorf("ip netns del %s: %v: %s", f, err, out)
		}
	}
}

// Path is the namespace's path for Options.Netns.
func (h *labHost) Path() string { return "/run/netns/" + h.NS }

// Command runs name inside the host (through `ip netns exec`).
func (h *labHost) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Exec runs name inside the host and returns its combined output.
func (h *labHost) Exec(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s %s: %w: %s", h.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Do runs fn on a thread inside the host's namespace.
func (h *labHost) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		f, err := os.Open(filepath.Join("/run/netns", h.NS))
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// WaitAddr polls every 10 ms until ip is on the host's eth0 (present) or
// not, until ctx ends.
func (h *labHost) WaitAddr(ctx context.Context, ip string, present bool) error {
	want, err := netip.ParseAddr(ip)
	if err != nil {
		return err
	}
	for {
		out, err := h.Exec(ctx, "ip", "-o", "addr", "show", "dev", "eth0")
		if err == nil && strings.Contains(out, " "+want.String()+"/") == present {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s present=%v not reached: %w", h.Name, ip, present, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
