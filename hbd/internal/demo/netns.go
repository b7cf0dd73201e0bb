package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// runNetns is the demo with a real floating IP: node_1, node_2 and a
// client in network namespaces on one bridge (netlab), the group
// `node_1 IPaddr2::10.231.0.100/24/eth0 demoweb::10.231.0.100::8080`.
// Needs root.
func (d *demo) runNetns(ctx context.Context) error {
	lab, err := netlab.New(ctx, "hbd-demo")
	if err != nil {
		return fmt.Errorf("network namespaces: %w", err)
	}
	defer func() {
		if err := lab.Close(); err != nil {
			fmt.Fprintf(d.stderr, "hbd-demo: cleanup: %v\n", err)
		}
	}()
	root, cleanup, err := d.tempRoot()
	if err != nil {
		return err
	}
	defer cleanup()

	br, err := lab.Bridge("br0")
	if err != nil {
		return err
	}
	specs := []NodeSpec{{Name: "node_1", Addr: br.IP(1)}, {Name: "node_2", Addr: br.IP(2)}}
	hosts := map[string]*netlab.Host{}
	for i, s := range specs {
		h, err := lab.Host(fmt.Sprintf("node%d", i+1), br.Addr(i+1))
		if err != nil {
			return err
		}
		hosts[s.Name] = h
	}
	client, err := lab.Host("client", br.Addr(3))
	if err != nil {
		return err
	}
	vip := br.IP(100)
	plan := &Plan{
		Root: root, Nodes: specs, UDPPort: 694, Timings: DefaultTimings,
		Iface: "eth0", ServiceIP: vip, ServicePort: 8080, DemoBin: d.self,
		VIP:           br.Addr(100) + "/eth0",
		IPaddr2Script: filepath.Join(filepath.Dir(filepath.Dir(d.self)), "etc", "ha.d", "resource.d", "IPaddr2"),
	}
	nodes, err := plan.Write()
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s:8080/", vip)
	d.intro(plan, nodes, url, "in network namespaces (root), with a real floating IP "+vip+" added and removed by IPaddr2")

	c := &netnsCluster{hbd: d.hbd, hosts: hosts, procs: map[string]*netlab.Proc{}, nodes: nodes, vip: br.Addr(100)}
	defer c.Close()

	prober, err := lab.StartProber(client, url, netlab.ProberOptions{Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond})
	if err != nil {
		return err
	}
	src := &netlabProbes{p: prober}
	tr := NewTracker(d.out)
	fctx, stopFeed := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		src.feed(fctx, tr)
	}()
	defer func() {
		stopFeed()
		wg.Wait()
		prober.Stop()
	}()
	return d.tell(ctx, c, nodes, src)
}

// netlabProbes adapts a netlab.Prober to the demo's probes.
type netlabProbes struct{ p *netlab.Prober }

func (n *netlabProbes) Probes() []Probe {
	ps := n.p.Probes()
	out := make([]Probe, len(ps))
	for i, p := range ps {
		out[i] = Probe{At: p.At, Took: p.Took}
		if p.OK() {
			out[i].Whom = p.Whom
		} else {
			out[i].Err = shortProbeError(p.Err)
			if out[i].Err == "" {
				out[i].Err = fmt.Sprintf("status %d", p.Status)
			}
		}
	}
	return out
}

// feed hands the tracker, in start order, every probe old enough that
// all probes started before it have finished.
func (n *netlabProbes) feed(ctx context.Context, tr *Tracker) {
	var last time.Time
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		settled := time.Now().Add(-n.p.Timeout - 50*time.Millisecond)
		for _, p := range n.Probes() {
			if p.At.After(last) && p.At.Before(settled) {
				tr.Add(p)
				last = p.At
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// netnsCluster runs each node's hbd inside its namespace.
type netnsCluster struct {
	hbd   string
	hosts map[string]*netlab.Host
	procs map[string]*netlab.Proc
	nodes []*Node
	vip   string // with prefix length, as `ip addr del` wants it
}

func (c *netnsCluster) Start(n *Node) (int, error) {
	if p := c.procs[n.Name]; p != nil && !p.Exited() {
		return 0, fmt.Errorf("%s already runs (pid %d)", n.Name, p.PID)
	}
	out, err := os.OpenFile(filepath.Join(n.LogDir, "hbd.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	p, err := c.hosts[n.Name].Start(func(cmd *exec.Cmd) { cmd.Stdout, cmd.Stderr = out, out }, c.hbd, n.RunArgs()...)
	if err != nil {
		return 0, err
	}
	c.procs[n.Name] = p
	return p.PID, nil
}

func (c *netnsCluster) Crash(n *Node) (string, error) {
	p := c.procs[n.Name]
	if p == nil || p.Exited() {
		return "", fmt.Errorf("%s does not run", n.Name)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return "", fmt.Errorf("kill %s: %w", n.Name, err)
	}
	what := fmt.Sprintf("hbd (pid %d)", p.PID)
	if wpid, ok := killWeb(n); ok {
		what += fmt.Sprintf(" and its web server (pid %d)", wpid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.hosts[n.Name].Exec(ctx, "ip", "addr", "del", c.vip, "dev", "eth0"); err == nil {
		what += " and removed " + c.vip + " from its eth0"
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		return what, fmt.Errorf("%s (pid %d) still runs 5 s after SIGKILL", n.Name, p.PID)
	}
	return what, nil
}

func (c *netnsCluster) Stop(ctx context.Context, n *Node) error {
	p := c.procs[n.Name]
	if p == nil || p.Exited() {
		return fmt.Errorf("%s does not run", n.Name)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop %s: %w", n.Name, err)
	}
	select {
	case <-p.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s (pid %d) did not exit after SIGTERM", n.Name, p.PID)
	}
}

func (c *netnsCluster) Status(ctx context.Context, n *Node) ([]byte, error) {
	return hbdStatus(ctx, c.hbd, n)
}

func (c *netnsCluster) Close() error {
	for _, p := range c.procs {
		if !p.Exited() {
			_ = p.Kill()
		}
	}
	for _, n := range c.nodes {
		killWeb(n)
	}
	return nil
}

// shortProbeError shortens a netlab probe's error text the way
// shortError does for the loopback client.
func shortProbeError(s string) string {
	switch {
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "timeout"), strings.Contains(s, "deadline"):
		return "timed out"
	case strings.Contains(s, "connection reset"):
		return "connection reset"
	case strings.Contains(s, "unreachable"):
		return "unreachable"
	}
	return s
}
