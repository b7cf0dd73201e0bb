//go:build linux

package netlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Host is a network namespace joined to the lab's bridges.
type Host struct {
	Name string // as given to Lab.Host
	NS   string // namespace name (lab ID + "-" + Name)

	lab    *Lab
	index  int
	ifaces []Iface
}

// Iface is one interface of a host.
type Iface struct {
	Name   string   // inside the host ("eth0")
	Port   string   // the peer end on the bridge, in the switch namespace
	Bridge *Bridge  // the bridge it is on
	Addrs  []string // addresses given when it was created
}

// Path is the file that names the host's network namespace
// (/run/netns/NS), for APIs that enter a namespace by path.
func (h *Host) Path() string { return filepath.Join(netnsDir, h.NS) }

// Ifaces lists the host's interfaces.
func (h *Host) Ifaces() []Iface {
	h.lab.mu.Lock()
	defer h.lab.mu.Unlock()
	return append([]Iface(nil), h.ifaces...)
}

// IP is the first address of the host's first interface, without prefix
// length ("10.231.0.1"), or "" when it has none.
func (h *Host) IP() string {
	for _, i := range h.Ifaces() {
		for _, a := range i.Addrs {
			if p, err := netip.ParsePrefix(a); err == nil {
				return p.Addr().String()
			}
			if ad, err := netip.ParseAddr(a); err == nil {
				return ad.String()
			}
		}
	}
	return ""
}

// Command returns a command that runs name with args inside the host's
// network namespace (through `ip netns exec`, which also gives it a /sys
// showing the namespace's interfaces).
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}

// Exec runs name with args inside the host and returns its combined
// output; a failure carries the command and its output.
func (h *Host) Exec(ctx context.Context, name string, args ...string) (string, error) {
	out, err := h.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s %s: %w: %s", h.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Proc is a background process started in a host with Host.Start. It runs
// in a process group of its own, which Kill (and Lab.Close) kills.
type Proc struct {
	Host *Host
	Cmd  *exec.Cmd
	PID  int

	out     lockedBuffer
	done    chan struct{}
	waitErr error
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep the last 4 MiB at most: a chatty daemon must not eat memory.
	if b.buf.Len() > 4<<20 {
		rest := b.buf.Bytes()[b.buf.Len()-2<<20:]
		b.buf = *bytes.NewBuffer(append([]byte("[…]\n"), rest...))
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start starts name with args in the background inside the host, in a new
// process group, with stdout and stderr collected (Proc.Output). The lab
// kills it on Close. setup, when not nil, may adjust the command (Env, Dir,
// ExtraFiles…) before it starts.
func (h *Host) Start(setup func(*exec.Cmd), name string, args ...string) (*Proc, error) {
	l := h.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, errors.New("lab closed")
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
	p := &Proc{Host: h, Cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &p.out
	cmd.Stderr = &p.out
	if setup != nil {
		setup(cmd)
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", h.Name, name, err)
	}
	p.PID = cmd.Process.Pid
	l.procs = append(l.procs, p)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	l.logf("host %s: started %s (pid %d)", h.Name, name, p.PID)
	return p, nil
}

// Output is what the process wrote to stdout and stderr so far (the last
// few MiB).
func (p *Proc) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits for the process to exit, at most until ctx ends, and returns
// its exit error.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.waitErr
	case <-ctx.Done():
		return fmt.Errorf("%s: waiting for pid %d: %w", p.Host.Name, p.PID, ctx.Err())
	}
}

// Signal sends sig to the process's whole process group.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := syscall.Kill(-p.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: signal %v to group %d: %w", p.Host.Name, sig, p.PID, err)
	}
	return nil
}

// Kill SIGKILLs the process group and waits (at most 10 s) for the process
// to be reaped. Killing an exited process is not an error.
func (p *Proc) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: pid %d not reaped 10 s after SIGKILL", p.Host.Name, p.PID)
	}
}

// Do runs fn on an OS thread that has entered the host's network
// namespace, and returns its error. Sockets fn creates (net.Dial,
// net.Listen, net.Interfaces) belong to the host's namespace and keep
// working from any goroutine afterwards; goroutines fn starts do not run
// in the namespace. The thread is discarded when fn returns.
func (h *Host) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine ends, the runtime ends the
		// thread, so no other goroutine ever runs in the namespace.
		runtime.LockOSThread()
		f, err := os.Open(h.Path())
		if err != nil {
			errc <- fmt.Errorf("%s: %w", h.Name, err)
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			errc <- fmt.Errorf("%s: setns: %w", h.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// WaitReady waits until every interface of the host, and its port on the
// bridge, is up with carrier and sends: until the kernel's link watcher
// has run (up to a second after carrier comes up) a new veth keeps the
// "noop" queueing discipline, which silently discards every packet. Tests
// that count single packets call it once the host is built. It gives up
// when ctx ends, or after 10 s when ctx has no deadline.
func (h *Host) WaitReady(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	for _, i := range h.Ifaces() {
		for _, dev := range []struct{ ns, name string }{{h.NS, i.Name}, {h.lab.swNS, i.Port}} {
			if err := waitDevReady(ctx, dev.ns, dev.name); err != nil {
				return fmt.Errorf("%s: %w", h.Name, err)
			}
		}
	}
	return nil
}

// waitDevReady polls every 20 ms until device dev of namespace ns is up
// with carrier (LOWER_UP) and past the noop queueing discipline.
func waitDevReady(ctx context.Context, ns, dev string) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var last string
	for range maxPolls {
		out, err := runCmd(ctx, nil, "ip", "-n", ns, "link", "show", "dev", dev)
		if err != nil {
			return err
		}
		if strings.Contains(out, "LOWER_UP") && !strings.Contains(out, "qdisc noop") {
			return nil
		}
		last = strings.TrimSpace(out)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s in %s not ready (%s): %w", dev, ns, last, ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("%s in %s: gave up after %d polls", dev, ns, maxPolls)
}

// Listen is net.Listen inside the host.
func (h *Host) Listen(network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// ListenPacket is net.ListenPacket inside the host.
func (h *Host) ListenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := h.Do(func() (err error) {
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}

// Dial is net.Dialer.DialContext from inside the host.
func (h *Host) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Addrs lists the addresses on the host's interfaces (all of them, lo
// included), without prefix length.
func (h *Host) Addrs() ([]netip.Addr, error) {
	var out []netip.Addr
	err := h.Do(func() error {
		as, err := net.InterfaceAddrs()
		if err != nil {
			return err
		}
		for _, a := range as {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok {
					out = append(out, ip.Unmap())
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: addresses: %w", h.Name, err)
	}
	return out, nil
}

// HasAddr reports whether addr ("10.231.0.100", a prefix length is
// ignored) is on one of the host's interfaces now.
func (h *Host) HasAddr(addr string) (bool, error) {
	want, err := parseAddr(addr)
	if err != nil {
		return false, err
	}
	as, err := h.Addrs()
	if err != nil {
		return false, err
	}
	for _, a := range as {
		if a == want {
			return true, nil
		}
	}
	return false, nil
}

func parseAddr(s string) (netip.Addr, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("address %q: %w", s, err)
	}
	return a, nil
}

// WaitAddr polls every 10 ms until addr is on the host (present) or gone
// from it (!present). It gives up when ctx ends, or after 30 s when ctx
// has no deadline.
func (h *Host) WaitAddr(ctx context.Context, addr string, present bool) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for range maxPolls {
		has, err := h.HasAddr(addr)
		if err != nil {
			return err
		}
		if has == present {
			return nil
		}
		select {
		case <-ctx.Done():
			state := "absent"
			if !present {
				state = "present"
			}
			return fmt.Errorf("%s: %s still %s: %w", h.Name, addr, state, ctx.Err())
		case <-t.C:
		}
	}
	return fmt.Errorf("%s: %s: gave up after %d polls", h.Name, addr, maxPolls)
}

// maxPolls bounds every polling loop by count, besides its time limit.
const maxPolls = 100000

// HostByName returns the lab's host called name, or nil.
func (l *Lab) HostByName(name string) *Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hosts[name]
}
