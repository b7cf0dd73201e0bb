package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cluster is where the demo's nodes run: on loopback (localCluster) or in
// network namespaces (netnsCluster).
type cluster interface {
	// Start starts node n's hbd and returns its pid.
	Start(n *Node) (int, error)
	// Crash kills n's hbd with SIGKILL and takes down what a machine
	// death takes with it (its web server; in namespaces, its address),
	// and says in words what it did.
	Crash(n *Node) (string, error)
	// Stop sends SIGTERM to n's hbd and waits (at most until ctx ends)
	// for it to exit.
	Stop(ctx context.Context, n *Node) error
	// Status is the output of `hbd status --json` for n.
	Status(ctx context.Context, n *Node) ([]byte, error)
	// Close kills whatever still runs (hbd, web servers), by pid.
	Close() error
}

// proc is an hbd process the demo started.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// localCluster runs each node as a plain process on this machine.
type localCluster struct {
	hbd   string
	procs map[string]*proc
	nodes []*Node
}

func newLocalCluster(hbd string, nodes []*Node) *localCluster {
	return &localCluster{hbd: hbd, procs: map[string]*proc{}, nodes: nodes}
}

func (c *localCluster) Start(n *Node) (int, error) {
	if p := c.procs[n.Name]; p != nil && p.running() {
		return 0, fmt.Errorf("%s already runs (pid %d)", n.Name, p.cmd.Process.Pid)
	}
	out, err := os.OpenFile(n.LogDir+"/hbd.out", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	cmd := exec.Command(c.hbd, n.RunArgs()...)
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group: a Ctrl-C in the terminal reaches the demo,
	// which stops the nodes itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", n.Name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	c.procs[n.Name] = p
	return cmd.Process.Pid, nil
}

func (c *localCluster) Crash(n *Node) (string, error) {
	p := c.procs[n.Name]
	if p == nil || !p.running() {
		return "", fmt.Errorf("%s does not run", n.Name)
	}
	pid := p.cmd.Process.Pid
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return "", fmt.Errorf("kill %s: %w", n.Name, err)
	}
	what := fmt.Sprintf("hbd (pid %d)", pid)
	if wpid, ok := killWeb(n); ok {
		what += fmt.Sprintf(" and its web server (pid %d)", wpid)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		return what, fmt.Errorf("%s (pid %d) still runs 5 s after SIGKILL", n.Name, pid)
	}
	return what, nil
}

func (c *localCluster) Stop(ctx context.Context, n *Node) error {
	p := c.procs[n.Name]
	if p == nil || !p.running() {
		return fmt.Errorf("%s does not run", n.Name)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop %s: %w", n.Name, err)
	}
	select {
	case <-p.done:
		if st := p.cmd.ProcessState; st != nil && !st.Success() {
			return fmt.Errorf("%s exited after SIGTERM: %s", n.Name, st)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s (pid %d) did not exit after SIGTERM", n.Name, p.cmd.Process.Pid)
	}
}

func (c *localCluster) Status(ctx context.Context, n *Node) ([]byte, error) {
	return hbdStatus(ctx, c.hbd, n)
}

// hbdStatus runs `hbd status --json` for n (its control socket is a file,
// reachable from any network namespace).
func hbdStatus(ctx context.Context, hbd string, n *Node) ([]byte, error) {
	cmd := exec.CommandContext(ctx, hbd, "status", "--json", "--run-dir", n.RunDir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("hbd status %s: %w: %s", n.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

func (c *localCluster) Close() error {
	var errs []error
	for name, p := range c.procs {
		if !p.running() {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("%s (pid %d) still runs after SIGKILL", name, p.cmd.Process.Pid))
		}
	}
	for _, n := range c.nodes {
		killWeb(n)
	}
	return errors.Join(errs...)
}

// webPID reads n's web server pid file and checks that the pid is an
// hbd-demo process (a stale file must not make us kill a stranger).
func webPID(n *Node) (int, bool) {
	b, err := os.ReadFile(n.WebPID)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("hbd-demo")) || !bytes.Contains(cmdline, []byte(n.WebPID)) {
		return 0, false
	}
	return pid, true
}

// killWeb SIGKILLs n's web server, if it runs, and waits (briefly) for it
// to be gone.
func killWeb(n *Node) (int, bool) {
	pid, ok := webPID(n)
	if !ok {
		return 0, false
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, false
	}
	for range 250 {
		if syscall.Kill(pid, 0) != nil {
			break
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && zombie(b) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return pid, true
}

// zombie reports whether a /proc/PID/stat line is a zombie's (state Z):
// the web server's parent is gone, so it may linger until init reaps it.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// freeUDPPort finds a UDP port free on every one of addrs.
func freeUDPPort(addrs []string) (int, error) {
	for range 50 {
		c, err := net.ListenPacket("udp", net.JoinHostPort(addrs[0], "0"))
		if err != nil {
			return 0, err
		}
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		ok := true
		for _, a := range addrs[1:] {
			c2, err := net.ListenPacket("udp", net.JoinHostPort(a, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			c2.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, errors.New("no UDP port free on all of " + strings.Join(addrs, ", "))
}

// freeTCPPort returns preferred if ip:preferred can be bound, else the
// next free one up to preferred+19, else any free port.
func freeTCPPort(ip string, preferred int) (int, error) {
	for port := preferred; port < preferred+20; port++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err == nil {
			ln.Close()
			return port, nil
		}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("no TCP port free on %s: %w", ip, err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
