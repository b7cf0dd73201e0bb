//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Keepalived drives keepalived 2.2.7 (VRRPv3 over unicast) in the lab
// hosts' network namespaces. With BuiltinVIP it adds the VIP itself and
// the web server runs on both nodes all the time; otherwise its notify
// scripts run the same vip and web scripts as the other daemons.
type Keepalived struct {
	BuiltinVIP bool
}

// KeepalivedBin is the daemon.
const KeepalivedBin = "/usr/sbin/keepalived"

func (k *Keepalived) Key() string {
	if k.BuiltinVIP {
		return "keepalived-vip"
	}
	return "keepalived"
}

func (k *Keepalived) Label() string {
	v := dpkgVersion("keepalived")
	if i := strings.IndexAny(v, "-+"); i > 0 {
		v = v[:i]
	}
	l := "keepalived " + strings.TrimPrefix(v, "1:")
	if k.BuiltinVIP {
		l += " (built-in VIP)"
	}
	return l
}

func (*Keepalived) Version() string { return dpkgVersion("keepalived") }

func (*Keepalived) Missing() string {
	if _, err := os.Stat(KeepalivedBin); err != nil {
		return KeepalivedBin + " not found; run .ci/test-deps.sh as root"
	}
	return ""
}

func (k *Keepalived) Cluster(r *Rig, t Timing) (Cluster, error) {
	c := &kaCluster{k: k, r: r}
	for i := range 2 {
		dir := filepath.Join(r.Dir, k.Key()+"-"+r.Names[i])
		c.dirs[i] = dir
		for _, s := range []string{"ha.d/resource.d", "res", "run"} {
			if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
				return nil, err
			}
		}
		if err := writeResources(filepath.Join(dir, "ha.d"), r.Env(i, filepath.Join(dir, "res"))); err != nil {
			return nil, err
		}
		conf := KeepalivedConf{
			Node: r.Names[i], Dev: "eth0", Src: r.IP(i), Peers: []string{r.IP(1 - i)},
			Priority: 150 - 50*i, Advert: t.Advert, RouterID: 51,
			VIP: fmt.Sprintf("%s/%d", r.VIP, r.Prefix), BuiltinVIP: k.BuiltinVIP,
			Notify:     filepath.Join(dir, "ha.d", "resource.d", "notify"),
			RTPriority: 1,
		}
		if err := os.WriteFile(filepath.Join(dir, "keepalived.conf"), []byte(conf.String()), 0o644); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type kaCluster struct {
	k     *Keepalived
	r     *Rig
	dirs  [2]string
	procs [2]procNode
}

func (c *kaCluster) Start(i int) error {
	if c.procs[i].running() {
		return fmt.Errorf("%s: keepalived already runs", c.r.Names[i])
	}
	dir := c.dirs[i]
	if c.k.BuiltinVIP {
		// The service runs everywhere; only the address moves.
		if err := scriptRun(c.r.Nodes[i], filepath.Join(dir, "ha.d"), "web", "start"); err != nil {
			return err
		}
	}
	run := filepath.Join(dir, "run")
	// After a kill -9 the pid files stay, and a reused pid makes
	// keepalived think it already runs.
	for _, f := range []string{"keepalived.pid", "vrrp.pid", "checkers.pid", "bfd.pid"} {
		_ = os.Remove(filepath.Join(run, f))
	}
	p, err := c.r.Nodes[i].Start(nil, KeepalivedBin, "-n", "-l", "-D", "-P", "-G",
		"-f", filepath.Join(dir, "keepalived.conf"), "-i", c.r.Names[i],
		"-p", filepath.Join(run, "keepalived.pid"), "-r", filepath.Join(run, "vrrp.pid"),
		"-c", filepath.Join(run, "checkers.pid"), "-b", filepath.Join(run, "bfd.pid"))
	if err != nil {
		return err
	}
	c.procs[i].proc = p
	select {
	case <-p.Done():
		return fmt.Errorf("%s: keepalived exited at start: %s", c.r.Names[i], strings.TrimSpace(p.Output()))
	case <-time.After(50 * time.Millisecond):
	}
	return nil
}

func (c *kaCluster) Stop(i int) error { return c.procs[i].term(60 * time.Second) }
func (c *kaCluster) Kill(i int) error { return c.procs[i].kill() }

// Lacks: keepalived has no command that gives the VIP away or asks
// for it (Standby, Takeover).
func (*Keepalived) Lacks(sc string) bool { return sc == ScStandby || sc == ScTakeover }

func (c *kaCluster) Standby(int) error  { return errors.ErrUnsupported }
func (c *kaCluster) Takeover(int) error { return errors.ErrUnsupported }

// PIDs: keepalived's parent and its VRRP child (one process group).
func (c *kaCluster) PIDs(i int) ([]int, error) {
	if !c.procs[i].running() {
		return nil, nil
	}
	pg := c.procs[i].proc.PID
	return findPIDs(func(st procStat) bool { return st.Comm == "keepalived" && st.PGID == pg })
}

// Deaths: keepalived has no "is dead"; a backup that becomes master is
// its failover.
func (c *kaCluster) Deaths(i int) int {
	if p := c.procs[i].proc; p != nil {
		return strings.Count(p.Output(), "Entering MASTER STATE")
	}
	return -1
}

func (c *kaCluster) Tail(i int) string {
	p := c.procs[i].proc
	if p == nil {
		return ""
	}
	ls := strings.Split(strings.TrimRight(p.Output(), "\n"), "\n")
	if len(ls) > 25 {
		ls = ls[len(ls)-25:]
	}
	return strings.Join(ls, "\n")
}

func (c *kaCluster) Clean() error {
	var errs []error
	for i := range 2 {
		if err := c.procs[i].kill(); err != nil {
			errs = append(errs, err)
		}
		c.procs[i].proc = nil
	}
	// Detached notify scripts may still be at work: wait until none
	// runs (keepalived is gone, so none starts any more), and stop what
	// they started after.
	for i := range 2 {
		if err := waitGone(filepath.Join(c.dirs[i], "ha.d", "resource.d", "notify"), notifyWait); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.r.Names[i], err))
		}
	}
	for i := range 2 {
		ha := filepath.Join(c.dirs[i], "ha.d")
		for _, s := range []string{"web", "vip"} {
			if err := scriptRun(c.r.Nodes[i], ha, s, "stop"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// notifyWait bounds the wait for a notify script at work when keepalived
// is killed: it runs vip and web, well under a second.
const notifyWait = 5 * time.Second

// waitGone waits until no process runs script (its path in the command
// line, as sh runs it), polling every 10 ms, at most max.
func waitGone(script string, max time.Duration) error {
	deadline := time.Now().Add(max)
	for {
		pids, err := scriptPIDs(script)
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still runs after %s (pids %v)", script, max, pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scriptPIDs lists the processes whose command line names script as its
// program or first argument (sh SCRIPT, SCRIPT).
func scriptPIDs(script string) ([]int, error) {
	all, err := allPIDs()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, pid := range all {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue // gone meanwhile
		}
		args := strings.SplitN(string(b), "\x00", 3)
		if slices.Contains(args[:min(len(args), 2)], script) {
			out = append(out, pid)
		}
	}
	return out, nil
}

// keepalivedOK checks a config with `keepalived -t` (used by tests).
func keepalivedOK(conf string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, KeepalivedBin, "-t", "-f", conf).CombinedOutput()
	if err != nil {
		return fmt.Errorf("keepalived -t: %w: %s", err, out)
	}
	return nil
}
