//go:build linux

package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// Driver runs one daemon's two-node cluster in the rig.
type Driver interface {
	// Key is short and stable ("heartbeat"); Label names the row
	// ("Heartbeat 3.0.6").
	Key() string
	Label() string
	// Version is what the installed daemon says it is.
	Version() string
	// Missing says why the daemon cannot run here ("" when it can).
	Missing() string
	// Cluster configures both nodes for timing t (node 0 preferred),
	// without starting anything.
	Cluster(r *Rig, t Timing) (Cluster, error)
}

// Lacking is what a driver whose daemon has no command for some
// scenarios (keepalived: no standby, no takeover) implements, so that
// those runs are skipped before a cluster is set up for nothing.
type Lacking interface {
	Lacks(sc string) bool
}

// Cluster is one configured pair of nodes. Node 0 is the preferred one.
type Cluster interface {
	Start(i int) error   // start the daemon on node i
	Stop(i int) error    // graceful stop; returns when the daemon is gone
	Kill(i int) error    // kill -9 of the daemon only (resources stay)
	Standby(i int) error // give the group away (errors.ErrUnsupported)
	// Takeover has node i ask the other node for the group
	// (errors.ErrUnsupported).
	Takeover(i int) error
	// PIDs lists node i's daemon processes (for RSS and CPU time).
	PIDs(i int) ([]int, error)
	// Deaths counts "is dead" lines in node i's logs so far (-1: unknown).
	Deaths(i int) int
	// Tail is the end of node i's logs, for notes when a run fails.
	Tail(i int) string
	// Clean kills both daemons and removes their resources, leaving the
	// nodes as they were before the first Start.
	Clean() error
}

// partitionReturns is a Cluster whose logs say when a node hears again a
// peer it had declared dead without the peer having restarted: a false
// death, a partition however short (Heartbeat's and hbd's "Cluster node
// NAME returning after partition."). keepalived logs nothing of the kind.
type partitionReturns interface {
	// Returns counts such lines in node i's logs so far.
	Returns(i int) int
}

// returningLine is the part of that log line the count looks for.
const returningLine = " returning after partition."

// returns is both nodes' count of partitionReturns, and false for a
// cluster that cannot tell.
func returns(cl Cluster) (int, bool) {
	pr, ok := cl.(partitionReturns)
	if !ok {
		return 0, false
	}
	return pr.Returns(0) + pr.Returns(1), true
}

// falseDeathNote is a run's note that its nodes went through n false
// deaths after the action: what was on both nodes then was the heal of
// a partition, not the handover's doing.
func falseDeathNote(n int) string {
	return fmt.Sprintf("a false death after the action: a node heard again, %d time(s), a peer it had declared dead (\"returning after partition\"); the VIP on both nodes then is that partition's heal", n)
}

// Rig is the bench's network: two nodes and a client on one bridge.
type Rig struct {
	Lab    *netlab.Lab
	Nodes  [2]*netlab.Host
	Client *netlab.Host
	Names  [2]string // node names ("node1", "node2")
	VIP    string    // "10.231.0.100"
	Prefix int
	Port   int
	Web    string // the program serving `web` (this binary)
	Dir    string // scratch directory (the lab's)
	// WebDelay is how long the web server takes to answer each request
	// (0: at once): a request in flight when the address moves.
	WebDelay time.Duration

	runDirs map[string]string // RunDir's, by name
}

// NewRig builds the lab: hosts n1, n2 (10.231.0.1, .2) and client (.10).
func NewRig(ctx context.Context, web string) (*Rig, error) {
	lab, err := netlab.New(ctx, "bench")
	if err != nil {
		return nil, err
	}
	r := &Rig{Lab: lab, Names: [2]string{"node1", "node2"}, VIP: "10.231.0.100", Prefix: 24, Port: 8080, Web: web}
	fail := func(err error) (*Rig, error) {
		_ = lab.Close()
		return nil, err
	}
	for i := range 2 {
		h, err := lab.Host(fmt.Sprintf("n%d", i+1), fmt.Sprintf("10.231.0.%d/24", i+1))
		if err != nil {
			return fail(err)
		}
		r.Nodes[i] = h
	}
	if r.Client, err = lab.Host("client", "10.231.0.10/24"); err != nil {
		return fail(err)
	}
	if r.Dir, err = lab.Dir(); err != nil {
		return fail(err)
	}
	return r, nil
}

// RunDir is the run directory of the daemon named name (its row and
// node), made on its first use and kept for the rig's life: on a tmpfs,
// as /run is on a real node, where /dev/shm is one (netlab's Lab.RunDir).
// hbd's IP agent writes its record there before it adds the address.
func (r *Rig) RunDir(name string) (string, error) {
	if d, ok := r.runDirs[name]; ok {
		return d, nil
	}
	d, _, err := r.Lab.RunDir(name)
	if err != nil {
		return "", err
	}
	if r.runDirs == nil {
		r.runDirs = map[string]string{}
	}
	r.runDirs[name] = d
	return d, nil
}

// Close removes everything the rig started.
func (r *Rig) Close() error { return r.Lab.Close() }

// Keep copies the regular files of the rig's scratch directory (every
// daemon's configuration and logs, the scripts' state and notify.log)
// into dir, which must not exist yet, so that they outlive Close.
func (r *Rig) Keep(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("keep the lab's files: %w", err)
	}
	return filepath.WalkDir(r.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(r.Dir, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(dst, 0o755)
		case !e.Type().IsRegular():
			return nil // sockets, fifos, links: nothing to read later
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// URL is what the client requests.
func (r *Rig) URL() string { return fmt.Sprintf("http://%s:%d/", r.VIP, r.Port) }

// IP is node i's own address.
func (r *Rig) IP(i int) string { return r.Nodes[i].IP() }

// IPs are both nodes' own addresses.
func (r *Rig) IPs() [2]string { return [2]string{r.IP(0), r.IP(1)} }

// Env is node i's bench.env with state kept in state.
func (r *Rig) Env(i int, state string) Env {
	return Env{VIP: r.VIP, Prefix: r.Prefix, Dev: "eth0", Node: r.Names[i], Port: r.Port, Web: r.Web, WebDelay: r.WebDelay, State: state}
}

// DropVIP removes the VIP from both nodes (cleanup between runs).
func (r *Rig) DropVIP() {
	for _, h := range r.Nodes {
		_, _ = h.Exec(context.Background(), "ip", "addr", "del", fmt.Sprintf("%s/%d", r.VIP, r.Prefix), "dev", "eth0")
	}
}

// writeResources writes bench.env and the resource scripts (vip, web,
// notify) under haDir (haDir/bench.env, haDir/resource.d/…).
func writeResources(haDir string, env Env) error {
	if err := os.MkdirAll(filepath.Join(haDir, "resource.d"), 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"bench.env":         env.String(),
		"resource.d/vip":    VIPScript,
		"resource.d/web":    WebScript,
		"resource.d/notify": NotifyScript,
	}
	for name, text := range files {
		p := filepath.Join(haDir, name)
		if err := os.WriteFile(p, []byte(text), 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// procStat is what the bench reads from /proc/PID/stat.
type procStat struct {
	PID, PPID, PGID int
	Comm            string
	CPUTicks        uint64 // utime + stime
	ChildTicks      uint64 // cutime + cstime: children waited for
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if i < 0 || j < i {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(string(b[j+1:]))
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	st := procStat{PID: pid, Comm: string(b[i+1 : j])}
	st.PPID, _ = strconv.Atoi(f[1])
	st.PGID, _ = strconv.Atoi(f[2])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	stt, _ := strconv.ParseUint(f[12], 10, 64)
	st.CPUTicks = ut + stt
	cut, _ := strconv.ParseUint(f[13], 10, 64)
	cst, _ := strconv.ParseUint(f[14], 10, 64)
	st.ChildTicks = cut + cst
	return st, nil
}

// descendants lists root and every process below it (by parent pid).
// Resources that detach (setsid and exit, as the web script does) are
// re-parented away and not counted.
func descendants(root int) ([]int, error) {
	parent := map[int]int{}
	if _, err := findPIDs(func(st procStat) bool { parent[st.PID] = st.PPID; return false }); err != nil {
		return nil, err
	}
	if _, ok := parent[root]; !ok {
		return nil, nil
	}
	out := []int{root}
	for pid := range parent {
		// Bounded: a pid reused while /proc was read could make a loop.
		p := parent[pid]
		for depth := 0; depth < 64 && p > 1 && pid != root; depth++ {
			if p == root {
				out = append(out, pid)
				break
			}
			p = parent[p]
		}
	}
	return out, nil
}

// allPIDs lists every process (/proc's numbered entries).
func allPIDs() ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out, nil
}

// findPIDs lists the processes for which keep is true.
func findPIDs(keep func(procStat) bool) ([]int, error) {
	all, err := allPIDs()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, pid := range all {
		st, err := readStat(pid)
		if err != nil {
			continue
		}
		if keep(st) {
			out = append(out, pid)
		}
	}
	return out, nil
}

// rssKB is a process's resident set (VmRSS), in KiB.
func rssKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, nil
}

// countLines counts lines containing sub in the files (missing files
// count 0); it returns the largest count of any one file, since a daemon
// may write the same line to its log and its debug log.
func countLines(sub string, files ...string) int {
	best := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if n := strings.Count(string(b), sub); n > best {
			best = n
		}
	}
	return best
}

// tailFile is the last n lines of file.
func tailFile(file string, n int) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// procNode is a daemon started as a netlab.Proc in a node's namespace.
type procNode struct {
	proc *netlab.Proc
}

func (p *procNode) running() bool { return p.proc != nil && !p.proc.Exited() }

// term sends SIGTERM to the daemon itself (not its group) and waits.
func (p *procNode) term(d time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := syscall.Kill(p.proc.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.proc.Wait(ctx); err != nil && ctx.Err() != nil {
		return fmt.Errorf("not gone %s after SIGTERM: %w", d, err)
	}
	return nil
}

// kill SIGKILLs the daemon's process group (its own processes; the
// resources run detached, in sessions of their own).
func (p *procNode) kill() error {
	if p.proc == nil {
		return nil
	}
	return p.proc.Kill()
}

// scriptRun runs a resource script op in host h (the bench's cleanup).
func scriptRun(h *netlab.Host, haDir, script, op string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := h.Exec(ctx, filepath.Join(haDir, "resource.d", script), op)
	return err
}
