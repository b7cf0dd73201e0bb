//go:build linux

// Package hbref runs real Heartbeat 3.0.6 nodes (Debian's `heartbeat`
// package) inside a netlab lab, as the reference hbd is compared with.
//
// Each node is a small container in the lab host's network namespace:
// its own UTS namespace (hostname = node name, which Heartbeat goes by),
// mount namespace (private /etc/ha.d, /var/lib/heartbeat, /run and
// /var/log/ha, no-ops over reboot/halt/poweroff/shutdown/init) and pid
// namespace whose PID 1 is a shell that reaps orphans (without it
// `heartbeat -k` never returns). The node's files live in a directory of
// their own on the host (Node.Dir, inside the lab's Dir), removed when the
// lab closes (or by netlab.Sweep after a crash).
package hbref

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// Paths of the Debian package.
const (
	Daemon   = "/usr/libexec/heartbeat/heartbeat"
	ClStatus = "/usr/bin/cl_status"
	haDir    = "/etc/ha.d"
	libDir   = "/var/lib/heartbeat"
)

// ErrNotInstalled is returned by Start when Debian's heartbeat package is
// not installed.
var ErrNotInstalled = errors.New("heartbeat 3.0.6 not installed (" + Daemon + " missing); run .ci/test-deps.sh as root")

// Installed reports whether the heartbeat daemon and cl_status exist.
func Installed() bool {
	for _, p := range []string{Daemon, ClStatus, haDir + "/harc"} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}

// NodeConfig is what one node runs with.
type NodeConfig struct {
	// Name is the node name (its hostname, `node` lines). Required.
	Name string
	// HaCf, Authkeys and Haresources are the files' text (HaCf{}.String(),
	// Authkeys(…)); Haresources may be empty (no resource groups).
	HaCf        string
	Authkeys    string
	Haresources string
	// ResourceScripts are put in the node's /etc/ha.d/resource.d, mode
	// 0755: name -> script text.
	ResourceScripts map[string]string
	// NoStart sets the node up without starting heartbeat (StartDaemon
	// starts it).
	NoStart bool
}

// Node is one running Heartbeat node.
type Node struct {
	Name string
	Host *netlab.Host
	// Dir holds the node's files on the host: ha.d/ (its /etc/ha.d), lib/
	// (/var/lib/heartbeat), log/ (/var/log/ha).
	Dir string

	init    *netlab.Proc // unshare; its child is the node's PID 1
	initPID int          // the node's PID 1, as the host sees it
	// StartOutput is what the last StartDaemon printed (Heartbeat always
	// prints two harmless "must precede media statements" lines).
	StartOutput string
}

var nodeNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,30}$`)

//go:embed init.sh
var initScript string

// Start sets up node cfg.Name in host (a namespace of lab) and starts
// heartbeat in it (unless cfg.NoStart). Its processes die, and its files
// are removed, when the lab closes.
func Start(lab *netlab.Lab, host *netlab.Host, cfg NodeConfig) (*Node, error) {
	if !Installed() {
		return nil, ErrNotInstalled
	}
	if !nodeNameRE.MatchString(cfg.Name) {
		return nil, fmt.Errorf("node name %q: want lower case [a-z][a-z0-9_-]*", cfg.Name)
	}
	labDir, err := lab.Dir()
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	dir := filepath.Join(labDir, "hbref-"+cfg.Name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	n := &Node{Name: cfg.Name, Host: host, Dir: dir}
	if err := n.writeFiles(cfg); err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	if err := n.boot(); err != nil {
		return nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	if cfg.NoStart {
		return n, nil
	}
	if err := n.StartDaemon(); err != nil {
		return n, err
	}
	return n, nil
}

func (n *Node) writeFiles(cfg NodeConfig) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The package's /etc/ha.d (harc, rc.d, resource.d, shellfuncs) and the
	// directory tree of /var/lib/heartbeat with owners and modes — but no
	// state (uuid, generation, host cache, fifo) that may sit there.
	for _, c := range [][]string{
		{"cp", "-a", haDir + "/.", filepath.Join(n.Dir, "ha.d")},
		{"cp", "-a", libDir + "/.", filepath.Join(n.Dir, "lib")},
	} {
		if err := os.MkdirAll(c[3], 0o755); err != nil {
			return err
		}
		if out, err := exec.CommandContext(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(c, " "), err, bytes.TrimSpace(out))
		}
	}
	for _, f := range []string{"hb_uuid", "hb_generation", "hostcache", "delhostcache", "fifo"} {
		if err := os.Remove(filepath.Join(n.Dir, "lib", f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, d := range []string{"log"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
			return err
		}
	}
	files := []struct {
		name, text string
		mode       os.FileMode
	}{
		{"ha.d/ha.cf", cfg.HaCf, 0o644},
		{"ha.d/authkeys", cfg.Authkeys, 0o600},
		{"ha.d/haresources", cfg.Haresources, 0o644},
		{"init.sh", initScript, 0o755},
		{"noop", "#!/bin/sh\n# hbref: reboot/halt/poweroff do nothing inside a test node\necho \"hbref: $0 $* ignored\" >&2\nexit 0\n", 0o755},
	}
	for name, text := range cfg.ResourceScripts {
		if strings.ContainsAny(name, "/") || name == "" || name == "." || name == ".." {
			return fmt.Errorf("resource script name %q", name)
		}
		files = append(files, struct {
			name, text string
			mode       os.FileMode
		}{"ha.d/resource.d/" + name, text, 0o755})
	}
	for _, f := range files {
		p := filepath.Join(n.Dir, f.name)
		if err := os.WriteFile(p, []byte(f.text), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(p, f.mode); err != nil { // WriteFile keeps an old mode
			return err
		}
	}
	return nil
}

// boot starts the node's PID 1 and waits until its mounts are in place.
func (n *Node) boot() error {
	p, err := n.Host.Start(nil, "unshare", "--uts", "--mount", "--pid", "--fork", "--mount-proc",
		"--propagation", "private", "/bin/sh", filepath.Join(n.Dir, "init.sh"), n.Dir, n.Name)
	if err != nil {
		return err
	}
	n.init = p
	ready := filepath.Join(n.Dir, "ready")
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if p.Exited() {
			return fmt.Errorf("node init exited: %s", strings.TrimSpace(p.Output()))
		}
		if time.Now().After(deadline) || i > 2000 {
			return fmt.Errorf("node init not ready after 20 s: %s", strings.TrimSpace(p.Output()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	pid, err := childOf(p.PID)
	if err != nil {
		return err
	}
	n.initPID = pid
	return nil
}

// childOf returns the only child of pid (unshare --fork's child).
func childOf(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0, fmt.Errorf("children of %d: %w", pid, err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		return 0, fmt.Errorf("unshare %d has children %v, want one", pid, f)
	}
	return strconv.Atoi(f[0])
}

// PID is the host pid of the node's PID 1 (0 before it booted).
func (n *Node) PID() int { return n.initPID }

// Command returns a command that runs inside the node: its network, UTS,
// mount and pid namespaces (through nsenter).
func (n *Node) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	a := append([]string{"--target", strconv.Itoa(n.initPID), "--mount", "--uts", "--net", "--pid", "--", name}, args...)
	return exec.CommandContext(ctx, "nsenter", a...)
}

// Start starts name with args in the background inside the node (as
// Command does), tracked by the lab like Host.Start: its process group is
// killed when the lab closes, and everything it leaves in the node dies
// with the node. Use it to run hbd in a node set up with NoStart, or a
// service beside heartbeat.
func (n *Node) Start(setup func(*exec.Cmd), name string, args ...string) (*netlab.Proc, error) {
	a := append([]string{"--target", strconv.Itoa(n.initPID), "--mount", "--uts", "--net", "--pid", "--", name}, args...)
	return n.Host.Start(setup, "nsenter", a...)
}

// Exec runs name with args inside the node and returns its combined
// output; a failure carries the command and the output.
func (n *Node) Exec(ctx context.Context, name string, args ...string) (string, error) {
	cmd := n.Command(ctx, name, args...)
	// Heartbeat daemonizes; its daemon keeps the output pipes of the
	// command that started it. Do not wait for them after the command
	// itself has exited.
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && !(errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success()) {
		return string(out), fmt.Errorf("node %s: %s %s: %w: %s", n.Name, name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// StartDaemon starts heartbeat (it validates the config, then daemonizes).
// A config error makes heartbeat exit 6; the error carries its output.
func (n *Node) StartDaemon() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := n.Command(ctx, Daemon)
	// The daemon inherits stdout/stderr; give it files, not pipes, so that
	// starting returns as soon as the parent exits.
	f, err := os.OpenFile(filepath.Join(n.Dir, "log", "start.out"), os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	runErr := cmd.Run()
	out, _ := os.ReadFile(f.Name())
	n.StartOutput = string(out)
	if runErr != nil {
		return fmt.Errorf("node %s: start heartbeat: %w: %s", n.Name, runErr, bytes.TrimSpace(out))
	}
	return nil
}

// ClStatus runs cl_status with args inside the node (at most 10 s) and
// returns its output without the trailing newline. cl_status exits 1 in
// some normal cases (`nodestatus` of a dead node prints "dead" and exits
// 1): the output is returned with the error.
func (n *Node) ClStatus(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := n.Command(ctx, ClStatus, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("node %s: cl_status %s: %w: %s", n.Name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return strings.TrimSpace(string(out)), err
}

// WaitNodeStatus polls `cl_status nodestatus peer` every 100 ms until it
// prints status ("active", "dead", "up"); it gives up when ctx ends (or
// after 60 s without a deadline) and returns the last answer in the error.
func (n *Node) WaitNodeStatus(ctx context.Context, peer, status string) error {
	ctx, cancel := withDefaultTimeout(ctx, 60*time.Second)
	defer cancel()
	last := ""
	for range maxPolls {
		// cl_status prints "dead" for a dead node but exits 1: the output
		// is what counts.
		out, err := n.ClStatus("nodestatus", peer)
		if out == status {
			return nil
		}
		last = out
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: cl_status nodestatus %s never said %q (last: %s): %w", n.Name, peer, status, last, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("node %s: cl_status nodestatus %s: gave up after %d polls", n.Name, peer, maxPolls)
}

// maxPolls bounds every polling loop by count, besides its time limit.
const maxPolls = 100000

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Stop stops heartbeat gracefully (`heartbeat -k`: resources released,
// peers told) and returns when its master process is gone, at most 60 s.
func (n *Node) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := n.Exec(ctx, Daemon, "-k")
	return err
}

// KillDaemon SIGKILLs heartbeat's processes only; the node (its
// namespaces, the processes its resources started) stays, and
// StartDaemon can start heartbeat again.
func (n *Node) KillDaemon() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// pkill exits 1 when nothing matched: that is fine.
	out, err := n.Command(ctx, "pkill", "-KILL", "-x", "heartbeat").CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return fmt.Errorf("node %s: pkill heartbeat: %w: %s", n.Name, err, bytes.TrimSpace(out))
	}
	return nil
}

// Kill SIGKILLs the whole node: its PID 1, and with it every process in
// its pid namespace (heartbeat, resource scripts, what they started). The
// node cannot be started again; its logs stay readable until the lab
// closes.
func (n *Node) Kill() error {
	if n.init == nil || n.init.Exited() {
		return nil
	}
	if err := syscall.Kill(n.initPID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("node %s: kill: %w", n.Name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = n.init.Wait(ctx) // unshare exits with its child's status (killed)
	if !n.init.Exited() {
		return fmt.Errorf("node %s: still running 10 s after SIGKILL", n.Name)
	}
	return nil
}

// Alive reports whether the node's PID 1 still runs.
func (n *Node) Alive() bool { return n.init != nil && !n.init.Exited() }

// Log returns the node's log file (logfile, /var/log/ha/ha-log).
func (n *Node) Log() string { return n.readLog("ha-log") }

// DebugLog returns the node's debug file (debugfile, /var/log/ha/ha-debug).
func (n *Node) DebugLog() string { return n.readLog("ha-debug") }

func (n *Node) readLog(name string) string {
	b, err := os.ReadFile(filepath.Join(n.Dir, "log", name))
	if err != nil {
		return ""
	}
	return string(b)
}

// WaitLog polls the log every 50 ms until a line contains substr, and
// returns that line; it gives up when ctx ends (60 s without a deadline).
func (n *Node) WaitLog(ctx context.Context, substr string) (string, error) {
	ctx, cancel := withDefaultTimeout(ctx, 60*time.Second)
	defer cancel()
	for range maxPolls {
		for _, l := range strings.Split(n.Log(), "\n") {
			if strings.Contains(l, substr) {
				return l, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("node %s: no log line with %q: %w", n.Name, substr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return "", fmt.Errorf("node %s: no log line with %q after %d polls", n.Name, substr, maxPolls)
}
