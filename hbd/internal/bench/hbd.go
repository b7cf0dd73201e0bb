//go:build linux

package bench

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
)

// HbdResources is what holds the address in an hbd row.
type HbdResources int

const (
	// HbdScripts runs the group every daemon runs: the vip and web
	// scripts (haresources `node1 vip web`).
	HbdScripts HbdResources = iota
	// HbdBuiltin runs hbd's own IPaddr2 as the only resource
	// (`node1 IPaddr2::VIP/24/eth0`); the web server runs on both nodes
	// all the time, as with keepalived's built-in VIP.
	HbdBuiltin
	// HbdResourceD is hbd on a machine that keeps Heartbeat's resource.d:
	// the same haresources line as HbdBuiltin, but resource.d/IPaddr2 is
	// the one Debian's heartbeat package installs (a wrapper of
	// resource-agents' OCF IPaddr2), which hbd runs as a script. The web
	// server runs on both nodes all the time.
	HbdResourceD
)

// ResourceDIPaddr2 is Heartbeat's resource.d/IPaddr2 (Debian's heartbeat
// package) and OCFIPaddr2 the resource-agents script it wraps.
const (
	ResourceDIPaddr2 = "/etc/ha.d/resource.d/IPaddr2"
	OCFIPaddr2       = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2"
)

// Hbd drives hbd: `hbd run` in the lab host's network namespace, with the
// same ha.cf and authkeys as Heartbeat, and the resources Resources says.
type Hbd struct {
	// Bin is the hbd program.
	Bin       string
	Resources HbdResources
	// HaCf are lines added to the nodes' ha.cf ("realtime off").
	HaCf []string
}

// hbdRows names each row: its key (-daemons) and its label.
var hbdRows = map[HbdResources][2]string{
	HbdScripts:   {"hbd", "hbd"},
	HbdBuiltin:   {"hbd-builtin", "hbd (built-in IPaddr2)"},
	HbdResourceD: {"hbd-resourced", "hbd (resource.d IPaddr2)"},
}

func (d *Hbd) Key() string   { return hbdRows[d.Resources][0] }
func (d *Hbd) Label() string { return hbdRows[d.Resources][1] }

// webEverywhere: the rows whose only resource is the address.
func (d *Hbd) webEverywhere() bool { return d.Resources != HbdScripts }

func (d *Hbd) Version() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, d.Bin, "version").Output()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if b := hbdBuild(d.Bin); b != "" {
		v += ", " + b
	}
	if id := fileID(d.Bin); id != "" {
		v += ", " + id
	}
	return v
}

// fileID tells one program file from another whatever it says of
// itself (every build of the tree says "hbd dev"): the first 12 hex
// digits of its SHA-256, and the commit it was built from when its build
// information has one ("" when it cannot be read).
func fileID(bin string) string {
	f, err := os.Open(bin)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	id := fmt.Sprintf("sha256 %x", h.Sum(nil)[:6])
	if info, err := buildinfo.ReadFile(bin); err == nil {
		rev, modified := "", ""
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			id += ", vcs.revision " + rev
			if modified == "true" {
				id += " (modified)"
			}
		}
	}
	return id
}

// hbdBuild says whether the hbd program links the etcd client, which
// the idle memory depends on: "-tags noetcd" is make build's bin/hbd, the
// installed program; a build without the tag (bin/hbd-etcd, go build
// ./hbd) links and initialises it whatever the backend. "" when the
// program carries no build information.
func hbdBuild(bin string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "-tags" && slices.Contains(strings.Split(s.Value, ","), "noetcd") {
			return "-tags noetcd"
		}
	}
	return "etcd client linked (built without -tags noetcd)"
}

func (d *Hbd) Missing() string {
	if fi, err := os.Stat(d.Bin); err != nil || fi.IsDir() {
		return fmt.Sprintf("hbd binary %q not found (make build)", d.Bin)
	}
	if d.Resources == HbdResourceD {
		for _, p := range []string{ResourceDIPaddr2, OCFIPaddr2} {
			if _, err := os.Stat(p); err != nil {
				return p + " not found (Debian's heartbeat and resource-agents; run .ci/test-deps.sh as root)"
			}
		}
	}
	return ""
}

// haresources is the group line of the row.
func (d *Hbd) haresources(r *Rig) string {
	if d.Resources == HbdScripts {
		return Haresources(r.Names[0])
	}
	return fmt.Sprintf("%s %s\n", r.Names[0], d.ipaddr2(r))
}

// ipaddr2 is the address resource of the rows that run IPaddr2.
func (d *Hbd) ipaddr2(r *Rig) string {
	return fmt.Sprintf("IPaddr2::%s/%d/eth0", r.VIP, r.Prefix)
}

func (d *Hbd) Cluster(r *Rig, t Timing) (Cluster, error) {
	c := &hbdCluster{d: d, r: r}
	hc := HaCf(r.Names, r.IPs(), t)
	hc.Extra = append(hc.Extra, d.HaCf...)
	cf := hc.String()
	for i := range 2 {
		dir := filepath.Join(r.Dir, d.Key()+"-"+r.Names[i])
		c.dirs[i] = dir
		run, err := r.RunDir(d.Key() + "-" + r.Names[i])
		if err != nil {
			return nil, err
		}
		c.runDirs[i] = run
		for _, s := range []string{"ha.d/resource.d", "state", "log", "res", "rsctmp"} {
			if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
				return nil, err
			}
		}
		text := strings.ReplaceAll(cf, hbref.DefaultLogfile, filepath.Join(dir, "log/ha-log"))
		text = strings.ReplaceAll(text, hbref.DefaultDebugfile, filepath.Join(dir, "log/ha-debug"))
		for name, content := range map[string]string{
			"ha.cf": text, "authkeys": hbref.Authkeys("sha1", Secret), "haresources": d.haresources(r),
		} {
			if err := os.WriteFile(filepath.Join(dir, "ha.d", name), []byte(content), 0o600); err != nil {
				return nil, err
			}
		}
		if err := writeResources(filepath.Join(dir, "ha.d"), r.Env(i, filepath.Join(dir, "res"))); err != nil {
			return nil, err
		}
		if d.Resources == HbdResourceD {
			// As Debian's heartbeat package installs it: resource.d/IPaddr2
			// is found before hbd's built-in agent of that name.
			link := filepath.Join(dir, "ha.d", "resource.d", "IPaddr2")
			if err := os.Symlink(ResourceDIPaddr2, link); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, err
			}
		}
	}
	return c, nil
}

// env is node i's hbd environment: resource-agents keep their state
// (send_arp's pid file, IPaddr2's lock) under HA_RSCTMP, /run/resource-agents
// by default, which both nodes of the lab would share.
func (c *hbdCluster) env(i int) []string {
	return append(os.Environ(), "HA_RSCTMP="+filepath.Join(c.dirs[i], "rsctmp"))
}

type hbdCluster struct {
	d    *Hbd
	r    *Rig
	dirs [2]string
	// runDirs are the nodes' run directories (--run-dir: the control
	// socket, the IP agent's records), on a tmpfs where there is one.
	runDirs [2]string
	procs   [2]procNode
}

func (c *hbdCluster) Start(i int) error {
	if c.procs[i].running() {
		return fmt.Errorf("%s: hbd already runs", c.r.Names[i])
	}
	dir := c.dirs[i]
	if c.d.webEverywhere() {
		// The service runs everywhere; only the address moves.
		if err := scriptRun(c.r.Nodes[i], filepath.Join(dir, "ha.d"), "web", "start"); err != nil {
			return err
		}
	}
	env := c.env(i)
	p, err := c.r.Nodes[i].Start(func(cmd *exec.Cmd) { cmd.Env = env }, c.d.Bin, "run", "-c", filepath.Join(dir, "ha.d"), "--node", c.r.Names[i],
		"--run-dir", c.runDirs[i], "--state-dir", filepath.Join(dir, "state"))
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

func (c *hbdCluster) Standby(i int) error  { return c.groupCommand(i, "standby") }
func (c *hbdCluster) Takeover(i int) error { return c.groupCommand(i, "takeover") }

// groupCommand runs `hbd CMD all` on node i (standby, takeover).
func (c *hbdCluster) groupCommand(i int, cmd string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := c.r.Nodes[i].Exec(ctx, c.d.Bin, cmd, "--run-dir", c.runDirs[i], "all")
	return err
}

// PIDs: hbd and whatever runs below it at the moment (a resource
// script, an agent).
func (c *hbdCluster) PIDs(i int) ([]int, error) {
	if !c.procs[i].running() {
		return nil, nil
	}
	return descendants(c.procs[i].proc.PID)
}

func (c *hbdCluster) Deaths(i int) int {
	d := filepath.Join(c.dirs[i], "log")
	return countLines(": is dead", filepath.Join(d, "ha-log"), filepath.Join(d, "ha-debug"))
}

// Returns counts the times node i heard again a peer it had declared
// dead (partitionReturns).
func (c *hbdCluster) Returns(i int) int {
	d := filepath.Join(c.dirs[i], "log")
	return countLines(returningLine, filepath.Join(d, "ha-log"), filepath.Join(d, "ha-debug"))
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
		if c.d.Resources == HbdResourceD {
			// Its send_arp may still be running.
			if err := c.ipaddr2Stop(i); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// ipaddr2Stop runs resource.d/IPaddr2's stop on node i, as hbd would.
func (c *hbdCluster) ipaddr2Stop(i int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	arg := strings.TrimPrefix(c.d.ipaddr2(c.r), "IPaddr2::")
	cmd := c.r.Nodes[i].Command(ctx, filepath.Join(c.dirs[i], "ha.d", "resource.d", "IPaddr2"), arg, "stop")
	cmd.Env = c.env(i)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: IPaddr2 %s stop: %w: %s", c.r.Names[i], arg, err, strings.TrimSpace(string(out)))
	}
	return nil
}
