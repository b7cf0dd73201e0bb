//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
)

// Secret signs the bench's heartbeats (sha1, as a real cluster would).
const Secret = "benchSecret42-0123456789"

// HaCf is the ha.cf the Heartbeat-style daemons (Heartbeat 3.0.6 and
// hbd) run with: unicast on eth0 to both nodes, auto_failback on.
func HaCf(names, ips [2]string, t Timing) hbref.HaCf {
	return hbref.HaCf{
		Keepalive: t.Keepalive, Deadtime: t.Deadtime, Initdead: initdead(t),
		UDPPort: 694, AutoFailback: "on",
		Ucast: []hbref.Ucast{{Iface: "eth0", Addr: ips[0]}, {Iface: "eth0", Addr: ips[1]}},
		Nodes: []string{names[0], names[1]},
	}
}

// initdead is the bench's initdead for timing t: twice the deadtime, and
// at least 10 s from a deadtime of 1 s up.
func initdead(t Timing) time.Duration {
	d := 2 * t.Deadtime
	if d < 10*time.Second && t.Deadtime >= time.Second {
		d = 10 * time.Second
	}
	return d
}

// Heartbeat drives Debian's Heartbeat 3.0.6 through hbref: each node is a
// small container (UTS, mount and pid namespaces) in the lab host's
// network namespace, booted once and reused by every run.
type Heartbeat struct {
	nodes [2]*hbref.Node
}

// ForRig is a Heartbeat of its own for another rig (its nodes boot in
// the rig of its first cluster).
func (*Heartbeat) ForRig() Driver { return &Heartbeat{} }

func (*Heartbeat) Key() string   { return "heartbeat" }
func (*Heartbeat) Label() string { return "Heartbeat 3.0.6" }

func (*Heartbeat) Version() string { return dpkgVersion("heartbeat") }

func (*Heartbeat) Missing() string {
	if !hbref.Installed() {
		return hbref.ErrNotInstalled.Error()
	}
	return ""
}

// dpkgVersion is the installed version of a Debian package ("" if none).
func dpkgVersion(pkg string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (h *Heartbeat) Cluster(r *Rig, t Timing) (Cluster, error) {
	cf := HaCf(r.Names, r.IPs(), t).String()
	for i := range 2 {
		if h.nodes[i] == nil {
			n, err := hbref.Start(r.Lab, r.Nodes[i], hbref.NodeConfig{
				Name: r.Names[i], HaCf: cf, Authkeys: hbref.Authkeys("sha1", Secret),
				Haresources: Haresources(r.Names[0]), NoStart: true,
			})
			if err != nil {
				return nil, err
			}
			// /run is private to the node: the web server's pid file
			// lives there, named by the node's own pids.
			if err := writeResources(filepath.Join(n.Dir, "ha.d"), r.Env(i, "/run/bench")); err != nil {
				return nil, err
			}
			h.nodes[i] = n
		}
		if err := os.WriteFile(filepath.Join(h.nodes[i].Dir, "ha.d", "ha.cf"), []byte(cf), 0o644); err != nil {
			return nil, err
		}
	}
	return &hbCluster{h: h}, nil
}

type hbCluster struct{ h *Heartbeat }

func (c *hbCluster) Start(i int) error { return c.h.nodes[i].StartDaemon() }
func (c *hbCluster) Stop(i int) error  { return c.h.nodes[i].Stop() }
func (c *hbCluster) Kill(i int) error  { return c.h.nodes[i].KillDaemon() }

func (c *hbCluster) Standby(i int) error  { return c.groupCommand(i, "hb_standby") }
func (c *hbCluster) Takeover(i int) error { return c.groupCommand(i, "hb_takeover") }

// groupCommand runs Heartbeat's /usr/share/heartbeat/CMD all on node i
// (hb_standby, hb_takeover).
func (c *hbCluster) groupCommand(i int, cmd string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.h.nodes[i].Exec(ctx, "/usr/share/heartbeat/"+cmd, "all")
	return err
}

// PIDs: the heartbeat processes in the node's pid namespace.
func (c *hbCluster) PIDs(i int) ([]int, error) {
	n := c.h.nodes[i]
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", n.PID()))
	if err != nil {
		return nil, err
	}
	return findPIDs(func(st procStat) bool {
		if st.Comm != "heartbeat" {
			return false
		}
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", st.PID))
		return err == nil && l == ns
	})
}

func (c *hbCluster) Deaths(i int) int {
	d := filepath.Join(c.h.nodes[i].Dir, "log")
	return countLines(": is dead", filepath.Join(d, "ha-log"), filepath.Join(d, "ha-debug"))
}

// Returns counts the times node i heard again a peer it had declared
// dead (partitionReturns).
func (c *hbCluster) Returns(i int) int {
	d := filepath.Join(c.h.nodes[i].Dir, "log")
	return countLines(returningLine, filepath.Join(d, "ha-log"), filepath.Join(d, "ha-debug"))
}

func (c *hbCluster) Tail(i int) string {
	return tailFile(filepath.Join(c.h.nodes[i].Dir, "log", "ha-log"), 25)
}

func (c *hbCluster) Clean() error {
	var errs []error
	for i, n := range c.h.nodes {
		if n == nil {
			continue
		}
		if err := n.KillDaemon(); err != nil {
			errs = append(errs, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		for _, s := range []string{"web", "vip"} {
			if _, err := n.Exec(ctx, "/etc/ha.d/resource.d/"+s, "stop"); err != nil {
				errs = append(errs, fmt.Errorf("node %d: %w", i, err))
			}
		}
		cancel()
	}
	return errors.Join(errs...)
}
