//go:build linux

// Package netlab builds small throw-away networks of Linux network
// namespaces for tests: hosts joined by veth pairs to a bridge, processes
// started inside the hosts, links cut and healed, an HTTP prober.
//
// Everything a lab creates lives in namespaces whose names start with the
// lab's prefix ("hbdt" + four random characters); the bridges live in a
// namespace of their own, so nothing is ever added to the host's network
// namespace. Close removes processes and namespaces; Sweep removes what a
// crashed earlier run left behind. It needs root and iproute2.
//
// Address plan: bridge i carries 10.231.i.0/24 (see Bridge.Addr); the
// addresses exist only inside the lab's namespaces.
package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// Prefix starts the name of every namespace a lab creates. Sweep refuses
// any prefix that does not start with it.
const Prefix = "hbdt"

// markerDir holds one file per live lab: its owner's pid and start time, so
// Sweep can tell a live lab from a crashed one.
const markerDir = "/run/hbd-netlab"

// netnsDir is where `ip netns` keeps its named namespaces.
const netnsDir = "/run/netns"

// cmdTimeout bounds every setup command (ip, nft) a lab runs.
const cmdTimeout = 20 * time.Second

var hostNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// Lab is one test network. Its methods are safe for concurrent use.
type Lab struct {
	// Name is the human name given to New (for messages only).
	Name string
	// ID is the unique prefix of every namespace of this lab ("hbdt1a2b").
	ID string
	// Logf, when set, receives a line for each setup step (NewT sets t.Logf).
	Logf func(format string, args ...any)

	mu       sync.Mutex
	swNS     string
	bridges  map[string]*Bridge
	brOrder  []*Bridge
	hosts    map[string]*Host
	hostList []*Host
	procs    []*Proc
	probers  []*Prober
	cuts     map[[2]string]bool // host pairs (sorted) cut with CutBetween
	loss     map[string]float64 // host name -> loss percent
	useRoute bool               // CutBetween by routes instead of nft
	onClose  []func() error     // run by Close after the namespaces are gone
	dir      string             // Dir(), created on first use
	closed   bool
	closeErr error
}

// Bridge is an Ethernet bridge in the lab's switch namespace.
type Bridge struct {
	Name  string // link name inside the switch namespace ("br0")
	Index int    // i in 10.231.i.0/24
}

// Addr is address n of the bridge's subnet, with its prefix length:
// Addr(1) on bridge 0 is "10.231.0.1/24".
func (b *Bridge) Addr(n int) string { return fmt.Sprintf("10.231.%d.%d/24", b.Index, n) }

// IP is address n of the bridge's subnet without prefix length.
func (b *Bridge) IP(n int) string { return fmt.Sprintf("10.231.%d.%d", b.Index, n) }

// Skip skips the test, with the reason, unless the lab can run here: root,
// `ip` from iproute2 and working network namespaces. Where these tests
// must run (CI, see testenv.Required) it fails the test instead.
func Skip(t testing.TB) {
	t.Helper()
	if reason := unavailable(); reason != "" {
		testenv.Skip(t, "netlab: %s", reason)
	}
}

func unavailable() string {
	if os.Geteuid() != 0 {
		return "needs root (network namespaces); run the test as root to include it"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "`ip` (iproute2) not found; run .ci/test-deps.sh as root"
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return "kernel without network namespaces (/proc/self/ns/net missing)"
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "list").CombinedOutput(); err != nil {
		return fmt.Sprintf("`ip netns list` fails: %v: %s", err, bytes.TrimSpace(out))
	}
	return ""
}

// NewT is New for tests: it skips the test when the lab cannot run here,
// fails it when setup fails, logs setup steps with t.Logf and closes the lab
// in t.Cleanup (which runs even when the test fails).
func NewT(t testing.TB, name string) *Lab {
	t.Helper()
	Skip(t)
	lab, err := New(context.Background(), name)
	if err != nil {
		t.Fatalf("netlab: %v", err)
	}
	lab.Logf = t.Logf
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("netlab: close: %v", err)
		}
	})
	return lab
}

// New creates an empty lab with a fresh prefix and its switch namespace.
// It first sweeps what crashed earlier labs left behind. The caller must
// Close it.
func New(ctx context.Context, name string) (*Lab, error) {
	if reason := unavailable(); reason != "" {
		return nil, errors.New(reason)
	}
	if err := Sweep(Prefix); err != nil {
		return nil, fmt.Errorf("sweep leftovers: %w", err)
	}
	id, err := newID()
	if err != nil {
		return nil, err
	}
	l := &Lab{
		Name:    name,
		ID:      id,
		swNS:    id + "-sw",
		bridges: map[string]*Bridge{},
		hosts:   map[string]*Host{},
		cuts:    map[[2]string]bool{},
		loss:    map[string]float64{},
	}
	if err := writeMarker(id, name); err != nil {
		return nil, err
	}
	if err := l.addNS(ctx, l.swNS); err != nil {
		_ = os.Remove(filepath.Join(markerDir, id))
		return nil, err
	}
	// Bridged frames must not be handed to iptables of this namespace.
	for _, k := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"} {
		_, _ = l.run(ctx, "ip", "netns", "exec", l.swNS, "sysctl", "-q", "-w", "net.bridge."+k+"=0")
	}
	return l, nil
}

func newID() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for range 20 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("random lab id: %w", err)
		}
		id := Prefix
		for _, c := range b {
			id += string(alphabet[int(c)%len(alphabet)])
		}
		if _, err := os.Stat(filepath.Join(markerDir, id)); errors.Is(err, os.ErrNotExist) {
			return id, nil
		}
	}
	return "", errors.New("no free lab id after 20 tries")
}

// writeMarker writes lab id's marker whole: into a file of its own, then
// renamed to the marker's name. A sweeper starting beside the lab reads
// the marker as it may be at any moment; written in place, it would find
// it empty, take the lab for a dead one and remove its marker and
// directories (and the next sweep its namespaces).
func writeMarker(id, name string) error {
	if err := os.MkdirAll(markerDir, 0o755); err != nil {
		return fmt.Errorf("lab marker: %w", err)
	}
	st, err := procStart(os.Getpid())
	if err != nil {
		return fmt.Errorf("lab marker: %w", err)
	}
	f, err := os.CreateTemp(markerDir, "."+id+"-*") // not a lab's name: Sweep passes it by
	if err != nil {
		return fmt.Errorf("lab marker: %w", err)
	}
	_, err = fmt.Fprintf(f, "%d %d %s\n", os.Getpid(), st, name)
	err = errors.Join(err, f.Chmod(0o644), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(markerDir, id))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("lab marker: %w", err)
	}
	return nil
}

// procStart is the start time of a process in clock ticks since boot
// (field 22 of /proc/PID/stat): a pid plus its start time names a process
// even when pids are reused.
func procStart(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// labAlive reports whether the process that created lab id still runs.
func labAlive(id string) bool {
	b, err := os.ReadFile(filepath.Join(markerDir, id))
	if err != nil {
		return false
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &start); err != nil {
		return false
	}
	st, err := procStart(pid)
	return err == nil && st == start
}

func (l *Lab) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf("netlab %s: "+format, append([]any{l.ID}, args...)...)
	}
}

// run runs a setup command with a bounded time and returns its output; the
// error carries the command line and its output.
func (l *Lab) run(ctx context.Context, name string, args ...string) (string, error) {
	return runCmd(ctx, nil, name, args...)
}

func runCmd(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

func (l *Lab) addNS(ctx context.Context, ns string) error {
	if _, err := l.run(ctx, "ip", "netns", "add", ns); err != nil {
		return err
	}
	if _, err := l.run(ctx, "ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
		return err
	}
	l.logf("namespace %s", ns)
	return nil
}

// Bridge returns the lab's bridge called name, creating it (in the switch
// namespace, with forwarding delay 0 and multicast snooping off, so
// broadcast and multicast heartbeats flood like on a hub) when it does not
// exist yet. Bridge names are short: [a-z][a-z0-9]{0,7}.
func (l *Lab) Bridge(name string) (*Bridge, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bridgeLocked(context.Background(), name)
}

func (l *Lab) bridgeLocked(ctx context.Context, name string) (*Bridge, error) {
	if l.closed {
		return nil, errors.New("lab closed")
	}
	if b, ok := l.bridges[name]; ok {
		return b, nil
	}
	if !regexp.MustCompile(`^[a-z][a-z0-9]{0,7}$`).MatchString(name) {
		return nil, fmt.Errorf("bridge name %q: want [a-z][a-z0-9]{0,7}", name)
	}
	if len(l.brOrder) >= 250 {
		return nil, errors.New("too many bridges")
	}
	b := &Bridge{Name: name, Index: len(l.brOrder)}
	if _, err := l.run(ctx, "ip", "-n", l.swNS, "link", "add", name, "type", "bridge",
		"forward_delay", "0", "stp_state", "0", "mcast_snooping", "0"); err != nil {
		return nil, err
	}
	if _, err := l.run(ctx, "ip", "-n", l.swNS, "link", "set", name, "up"); err != nil {
		return nil, err
	}
	l.bridges[name] = b
	l.brOrder = append(l.brOrder, b)
	l.logf("bridge %s (10.231.%d.0/24)", name, b.Index)
	return b, nil
}

// Host creates a host called name (its own network namespace) with an
// interface eth0 on bridge "br0" (created if needed) carrying addrs
// ("10.231.0.1/24"; IPv6 addresses are added without duplicate address
// detection; when one is link-local, fe80::/10, the kernel makes none of
// its own, so the interface's link-local address is known). Names are
// [a-z][a-z0-9]{0,11}.
func (l *Lab) Host(name string, addrs ...string) (*Host, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ctx := context.Background()
	if l.closed {
		return nil, errors.New("lab closed")
	}
	if !hostNameRE.MatchString(name) || name == "sw" {
		return nil, fmt.Errorf("host name %q: want [a-z][a-z0-9]{0,11}, not \"sw\"", name)
	}
	if _, ok := l.hosts[name]; ok {
		return nil, fmt.Errorf("host %q exists", name)
	}
	br, err := l.bridgeLocked(ctx, "br0")
	if err != nil {
		return nil, err
	}
	h := &Host{lab: l, Name: name, NS: l.ID + "-" + name, index: len(l.hostList)}
	if err := l.addNS(ctx, h.NS); err != nil {
		return nil, err
	}
	l.hosts[name] = h
	l.hostList = append(l.hostList, h)
	if err := l.joinLocked(ctx, h, br, "eth0", addrs); err != nil {
		return nil, err
	}
	return h, nil
}

// Join gives host h another interface, ifname (eth1 …), on bridge br with
// addrs (as Lab.Host does eth0).
func (h *Host) Join(br *Bridge, ifname string, addrs ...string) error {
	l := h.lab
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("lab closed")
	}
	return l.joinLocked(context.Background(), h, br, ifname, addrs)
}

func (l *Lab) joinLocked(ctx context.Context, h *Host, br *Bridge, ifname string, addrs []string) error {
	if !regexp.MustCompile(`^[a-z][a-z0-9]{0,9}$`).MatchString(ifname) {
		return fmt.Errorf("interface name %q: want [a-z][a-z0-9]{0,9}", ifname)
	}
	for _, i := range h.ifaces {
		if i.Name == ifname {
			return fmt.Errorf("host %s already has %s", h.Name, ifname)
		}
	}
	// The bridge-side end: p<host index>e<interface index>, short enough
	// for IFNAMSIZ whatever the names; created in the switch namespace with
	// its peer moved straight into the host's, never in ours.
	port := fmt.Sprintf("p%de%d", h.index, len(h.ifaces))
	if _, err := l.run(ctx, "ip", "-n", l.swNS, "link", "add", port, "type", "veth",
		"peer", "name", ifname, "netns", h.NS); err != nil {
		return err
	}
	if _, err := l.run(ctx, "ip", "-n", l.swNS, "link", "set", port, "master", br.Name, "up"); err != nil {
		return err
	}
	if hasLinkLocal(addrs) {
		if _, err := l.run(ctx, "ip", "-n", h.NS, "link", "set", ifname, "addrgenmode", "none"); err != nil {
			return err
		}
	}
	for _, a := range addrs {
		args := []string{"-n", h.NS, "addr", "add", a, "dev", ifname}
		if strings.Contains(a, ":") {
			args = append(args, "nodad")
		}
		if _, err := l.run(ctx, "ip", args...); err != nil {
			return err
		}
	}
	if _, err := l.run(ctx, "ip", "-n", h.NS, "link", "set", ifname, "up"); err != nil {
		return err
	}
	h.ifaces = append(h.ifaces, Iface{Name: ifname, Port: port, Bridge: br, Addrs: append([]string(nil), addrs...)})
	l.logf("host %s: %s on %s (port %s) %v", h.Name, ifname, br.Name, port, addrs)
	return nil
}

// hasLinkLocal reports whether one of addrs is an IPv6 link-local address.
func hasLinkLocal(addrs []string) bool {
	for _, a := range addrs {
		if ip, err := parseAddr(a); err == nil && ip.Is6() && ip.IsLinkLocalUnicast() {
			return true
		}
	}
	return false
}

// Hosts lists the lab's hosts in creation order.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hostList...)
}

// SwitchNS is the name of the namespace that holds the lab's bridges.
func (l *Lab) SwitchNS() string { return l.swNS }

// Close stops the lab's probers, kills its processes (their process groups
// and anything else left in its namespaces), deletes its namespaces and
// returns what went wrong. Calling it again returns the first result.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.closeErr
	}
	l.closed = true
	probers := l.probers
	procs := l.procs
	namespaces := []string{}
	for _, h := range l.hostList {
		namespaces = append(namespaces, h.NS)
	}
	namespaces = append(namespaces, l.swNS)
	l.mu.Unlock()

	var errs []error
	for _, p := range probers {
		p.Stop()
	}
	for _, p := range procs {
		if err := p.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	ctx := context.Background()
	for _, ns := range namespaces {
		if err := killNS(ctx, ns); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ns := range namespaces {
		if _, err := os.Stat(filepath.Join(netnsDir, ns)); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if _, err := runCmd(ctx, nil, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(filepath.Join(markerDir, l.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	l.mu.Lock()
	fns := l.onClose
	l.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](); err != nil {
			errs = append(errs, err)
		}
	}
	l.mu.Lock()
	l.closeErr = errors.Join(errs...)
	l.mu.Unlock()
	l.logf("closed")
	return l.closeErr
}

// Dir returns the lab's scratch directory (os.TempDir()/ID), creating it
// on first use. Close removes it, after the lab's processes are gone;
// Sweep removes those of crashed labs.
func (l *Lab) Dir() (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return "", errors.New("lab closed")
	}
	if l.dir != "" {
		return l.dir, nil
	}
	d := filepath.Join(os.TempDir(), l.ID)
	if err := os.Mkdir(d, 0o755); err != nil {
		return "", fmt.Errorf("lab dir: %w", err)
	}
	l.dir = d
	l.onClose = append([]func() error{func() error { return os.RemoveAll(d) }}, l.onClose...)
	return d, nil
}

// RunDir makes a directory for a daemon's run directory (a node's
// /run): on a tmpfs (/dev/shm) as /run is on the machines the daemons
// run on, or, where /dev/shm is not one, in the lab's scratch directory
// (Dir). It reports which. Close removes it. A file created on the
// lab's disk filesystem can wait for its journal: hbd's IP agent writes
// its record there before it adds the address, 0.4 to 3 ms of a takeover
// on ext4 against about 0.07 ms on a tmpfs.
func (l *Lab) RunDir(name string) (dir string, tmpfs bool, err error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &fs); err != nil || fs.Type != tmpfsMagic {
		d, err := l.Dir()
		if err != nil {
			return "", false, err
		}
		dir, err := os.MkdirTemp(d, name+"-run-")
		return dir, false, err
	}
	dir, err = os.MkdirTemp("/dev/shm", l.ID+"-"+name+"-")
	if err != nil {
		return "", false, fmt.Errorf("run directory: %w", err)
	}
	if err := l.OnClose(func() error { return os.RemoveAll(dir) }); err != nil {
		return "", false, err
	}
	return dir, true, nil
}

// tmpfsMagic is statfs's f_type of a tmpfs (linux/magic.h TMPFS_MAGIC).
const tmpfsMagic = 0x01021994

// OnClose registers fn to run in Close, after every process and namespace
// of the lab is gone (last registered, first run): the place to remove
// files that processes in the lab used. On a closed lab fn runs at once.
func (l *Lab) OnClose(fn func() error) error {
	l.mu.Lock()
	if !l.closed {
		l.onClose = append(l.onClose, fn)
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	return fn()
}

// nsPIDs lists the pids of processes (in any pid namespace) whose network
// namespace is the named one.
func nsPIDs(ctx context.Context, ns string) ([]int, error) {
	if _, err := os.Stat(filepath.Join(netnsDir, ns)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	out, err := runCmd(ctx, nil, "ip", "netns", "pids", ns)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killNS SIGKILLs every process left in namespace ns (all of them were
// started in it by the lab, or by what the lab started) and waits, at most
// 10 s, until none is left.
func killNS(ctx context.Context, ns string) error {
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		pids, err := nsPIDs(ctx, ns)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) || i > 1000 {
			return fmt.Errorf("namespace %s: processes %v still alive after SIGKILL", ns, pids)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sweepNS kills the processes of a dead lab's namespace ns and deletes
// it. Another sweeper (a test starting beside this one) may delete ns
// meanwhile: a failure after which ns is gone is that, not an error.
func sweepNS(ctx context.Context, ns string) error {
	err := killNS(ctx, ns)
	if err == nil {
		_, err = runCmd(ctx, nil, "ip", "netns", "del", ns)
	}
	if _, serr := os.Stat(filepath.Join(netnsDir, ns)); err != nil && errors.Is(serr, os.ErrNotExist) {
		return nil
	}
	return err
}

// Sweep removes namespaces left by labs whose creating process is gone:
// every namespace whose name starts with prefix (which must start with
// Prefix, "hbdt") and belongs to a dead lab loses its processes (SIGKILL)
// and is deleted, and the lab's scratch directory (Lab.Dir) is removed.
// Namespaces of live labs, and anything not named with the prefix, are
// never touched.
func Sweep(prefix string) error {
	if !strings.HasPrefix(prefix, Prefix) {
		return fmt.Errorf("sweep: prefix %q does not start with %q", prefix, Prefix)
	}
	entries, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sweep: %w", err)
	}
	ctx := context.Background()
	var errs []error
	dead := map[string]bool{}
	for _, e := range entries {
		ns := e.Name()
		if !strings.HasPrefix(ns, prefix) {
			continue
		}
		id, _, ok := strings.Cut(ns, "-")
		if !ok || !strings.HasPrefix(id, Prefix) || labAlive(id) {
			continue
		}
		dead[id] = true
		if err := sweepNS(ctx, ns); err != nil {
			errs = append(errs, err)
		}
	}
	// Markers of dead labs, with or without namespaces left.
	if ms, err := os.ReadDir(markerDir); err == nil {
		for _, m := range ms {
			if strings.HasPrefix(m.Name(), prefix) && !labAlive(m.Name()) {
				dead[m.Name()] = true
			}
		}
	}
	// Their scratch directories go too (their processes are gone by now).
	for id := range dead {
		if len(id) != len(Prefix)+4 {
			continue
		}
		if err := os.RemoveAll(filepath.Join(os.TempDir(), id)); err != nil {
			errs = append(errs, err)
		}
		runDirs, _ := filepath.Glob(filepath.Join("/dev/shm", id+"-*")) // RunDir's
		for _, d := range runDirs {
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, err)
			}
		}
		if err := os.Remove(filepath.Join(markerDir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
