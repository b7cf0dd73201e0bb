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

// Hbd drives hbd: `hbd run` in the lab host's network namespace, with the
// same ha.cf, authkeys, haresources and scripts as Heartbeat.
type Hbd struct {
	// Bin is the hbd program.
	Bin string
}

func (*Hbd) Key() string   { return "hbd" }
func (*Hbd) Label() string { return "hbd" }

func (d *Hbd) Version() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, d.Bin, "version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func (d *Hbd) Missing() string {
	if fi, err := os.Stat(d.Bin); err != nil || fi.IsDir() {
		return fmt.Sprintf("hbd binary %q not found (make build)", d.Bin)
	}
	return ""
}

func (d *Hbd) Cluster(r *Rig, t Timing) (Cluster, error) {
	c := &hbdCluster{d: d, r: r}
	cf := HaCf(r.Names, r.IPs(), t).String()
	for i := range 2 {
		dir := filepath.Join(r.Dir, "hbd-"+r.Names[i])
		c.dirs[i] = dir
		for _, s := range []string{"ha.d/resource.d", "run", "state", "log", "res"} {
			if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
				return nil, err
			}
		}
		text := strings.ReplaceAll(cf, hbref.DefaultLogfile, filepath.Join(dir, "log/ha-log"))
		text = strings.ReplaceAll(text, hbref.DefaultDebugfile, filepath.Join(dir, "log/ha-debug"))
		for name, content := range map[string]string{
			"ha.cf": text, "authkeys": hbref.Authkeys("sha1", Secret), "haresources": Haresources(r.Names[0]),
		} {
			if err := os.WriteFile(filepath.Join(dir, "ha.d", name), []byte(content), 0o600); err != nil {
				return nil, err
			}
		}
		if err := writeResources(filepath.Join(dir, "ha.d"), r.Env(i, filepath.Join(dir, "res"))); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type hbdCluster struct {
	d     *Hbd
	r     *Rig
	dirs  [2]string
	procs [2]procNode
}

func (c *hbdCluster) Start(i int) error {
	if c.procs[i].running() {
		return fmt.Errorf("%s: hbd already runs", c.r.Names[i])
	}
	dir := c.dirs[i]
	p, err := c.r.Nodes[i].Start(nil, c.d.Bin, "run", "-c", filepath.Join(dir, "ha.d"), "--node", c.r.Names[i],
		"--run-dir", filepath.Join(dir, "run"), "--state-dir", filepath.Join(dir, "state"))
	if err != nil {
		return err
	}
	c.procs[i].proc = p
	// A config error ends it at once.
	select {
	case <-p.Done():
		return fmt.Errorf("%s: hbd exited at start: %s", c.r.Names[i], strings.TrimSpace(p.Output()))
	case <-time.After(50 * time.Millisecond):
	}
	return nil
}

func (c *hbdCluster) Stop(i int) error { return c.procs[i].term(60 * time.Second) }
func (c *hbdCluster) Kill(i int) error { return c.procs[i].kill() }

func (c *hbdCluster) Standby(i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.r.Nodes[i].Exec(ctx, c.d.Bin, "standby", "--run-dir", filepath.Join(c.dirs[i], "run"), "all")
	return err
}

func (c *hbdCluster) PIDs(i int) ([]int, error) {
	if !c.procs[i].running() {
		return nil, nil
	}
	return []int{c.procs[i].proc.PID}, nil
}

func (c *hbdCluster) Deaths(i int) int {
	d := filepath.Join(c.dirs[i], "log")
	return countLines(": is dead", filepath.Join(d, "ha-log"), filepath.Join(d, "ha-debug"))
}

func (c *hbdCluster) Tail(i int) string {
	t := tailFile(filepath.Join(c.dirs[i], "log", "ha-log"), 25)
	if p := c.procs[i].proc; p != nil {
		if o := strings.TrimSpace(p.Output()); o != "" {
			t += "\n[stderr] " + o
		}
	}
	return t
}

func (c *hbdCluster) Clean() error {
	var errs []error
	for i := range 2 {
		if err := c.procs[i].kill(); err != nil {
			errs = append(errs, err)
		}
		c.procs[i].proc = nil
		ha := filepath.Join(c.dirs[i], "ha.d")
		for _, s := range []string{"web", "vip"} {
			if err := scriptRun(c.r.Nodes[i], ha, s, "stop"); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
