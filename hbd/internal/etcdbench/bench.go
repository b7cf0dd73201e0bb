package etcdbench

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config is one benchmark: Nodes nodes (processes of Self) and Groups
// groups against one three-member etcd.
type Config struct {
	Nodes, Groups int
	TTL           time.Duration
	// Runs: how many kills; Rest: how long the cluster is measured at
	// rest.
	Runs int
	Rest time.Duration
	// Self is the harness binary, run as "Self node ..." for each node;
	// Hbd, if set, the hbd binary, run as "hbd run" for each node instead.
	Self, Hbd string
	// StartSleep, with Hbd: how long each group's start script sleeps
	// before it reports the start (0: not at all).
	StartSleep time.Duration
	// Dir holds etcd's data.
	Dir string
	// Log gets progress lines.
	Log io.Writer
}

// Result is what one benchmark measured.
type Result struct {
	Config
	// ReqPerSec is etcd's requests per second at rest, all nodes, by
	// gRPC method and in all.
	ReqByMethod map[string]float64
	ReqPerSec   float64
	// NodeCPU is each node's CPU at rest (share of one core); NodeRSS
	// its resident memory (bytes), after the rest; EtcdCPU the harness
	// process's (the three etcd members).
	NodeCPU []float64
	NodeRSS []int64
	EtcdCPU float64
	EtcdRSS int64
	// Placed: from the nodes' start to every group on its node.
	Placed time.Duration
	// Failover: for each run, from the kill -9 of a node to every one
	// of its groups started on another node; Takeover: from the first of
	// those starts to the last (the new owners' claims and starts, without
	// the lease); Moved: how many groups that was. Failback: from its
	// restart to all of them back. Begun (with Config.StartSleep): from
	// the first of those groups' start scripts begun to the last.
	Failover, Takeover, Failback, Begun []time.Duration
	Moved                               []int
}

// node is a running node process.
type node struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// tracker follows every node's reported starts and stops. Each node's
// lines are read apart, so those of two nodes may be read in another
// order than they happened: they are ordered by the time each carries.
type tracker struct {
	mu      sync.Mutex
	running map[string]string    // group → node
	started map[string]time.Time // group → its last start
	begun   map[string]time.Time // group → when its last start script began
}

func (t *tracker) line(nodeName, l string) {
	f := strings.Fields(l)
	if len(f) != 4 {
		return
	}
	ns, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return
	}
	at, g := time.Unix(0, ns), f[1]
	t.mu.Lock()
	defer t.mu.Unlock()
	if at.Before(t.started[g]) {
		return // a later start was read first
	}
	switch f[0] {
	case "begin":
		t.begun[g] = at
	case "start":
		t.running[g], t.started[g] = nodeName, at
	case "stop":
		if t.running[g] == nodeName {
			delete(t.running, g)
		}
	}
}

// misplaced describes up to max groups not on their preferred node.
func (t *tracker) misplaced(nodes []string, groups, max int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for i := 0; i < groups && len(out) < max; i++ {
		g := groupName(i)
		if n := t.running[g]; n != preferred(nodes, i) {
			out = append(out, fmt.Sprintf("%s on %q, not %s", g, n, preferred(nodes, i)))
		}
	}
	return strings.Join(out, ", ")
}

// drop forgets what a killed node ran.
func (t *tracker) drop(nodeName string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for g, n := range t.running {
		if n == nodeName {
			delete(t.running, g)
		}
	}
}

// placed counts the groups running on their preferred node.
func (t *tracker) placed(nodes []string, groups int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := 0
	for i := range groups {
		if t.running[groupName(i)] == preferred(nodes, i) {
			c++
		}
	}
	return c
}

// begunSpread is from the first of groups' start scripts begun after t0
// to the last; false unless every one has begun since t0.
func (t *tracker) begunSpread(groups []string, t0 time.Time) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var first, last time.Time
	for _, g := range groups {
		at := t.begun[g]
		if !at.After(t0) {
			return 0, false
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	return last.Sub(first), true
}

// movedSince: each of groups runs on a node other than dead, started
// after t0; it returns the first and the last of those starts.
func (t *tracker) movedSince(groups []string, dead string, t0 time.Time) (first, last time.Time, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range groups {
		n, ok := t.running[g]
		at := t.started[g]
		if !ok || n == dead || !at.After(t0) {
			return time.Time{}, time.Time{}, false
		}
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	return first, last, true
}

type bench struct {
	cfg   Config
	names []string
	etcd  *etcdCluster
	tr    *tracker
	nodes map[string]*node
}

func (b *bench) logf(format string, args ...any) {
	if b.cfg.Log != nil {
		fmt.Fprintf(b.cfg.Log, format+"\n", args...)
	}
}

// Run runs one benchmark.
func Run(ctx context.Context, cfg Config) (Result, error) {
	r := Result{Config: cfg}
	etcd, err := startEtcd(cfg.Dir)
	if err != nil {
		return r, err
	}
	defer etcd.close()
	b := &bench{cfg: cfg, etcd: etcd, nodes: map[string]*node{},
		tr: &tracker{running: map[string]string{}, started: map[string]time.Time{}, begun: map[string]time.Time{}}}
	for i := range cfg.Nodes {
		b.names = append(b.names, fmt.Sprintf("n%02d", i+1))
	}
	defer b.stopAll()
	t0 := time.Now()
	for _, n := range b.names {
		if err := b.start(n); err != nil {
			return r, err
		}
	}
	if err := b.waitPlaced(ctx); err != nil {
		return r, err
	}
	r.Placed = time.Since(t0)
	b.logf("%d nodes, %d groups: every group on its node %s after the start", cfg.Nodes, cfg.Groups, r.Placed.Round(time.Millisecond))
	if err := b.rest(ctx, &r); err != nil {
		return r, err
	}
	for run := range cfg.Runs {
		victim := b.names[run%len(b.names)]
		k, err := b.killOne(ctx, victim)
		if err != nil {
			return r, fmt.Errorf("run %d: %w", run+1, err)
		}
		r.Failover, r.Takeover = append(r.Failover, k.failover), append(r.Takeover, k.takeover)
		r.Failback, r.Moved = append(r.Failback, k.failback), append(r.Moved, k.moved)
		begun := ""
		if k.begun >= 0 {
			r.Begun = append(r.Begun, k.begun)
			begun = fmt.Sprintf(", start scripts begun within %s", k.begun.Round(time.Millisecond))
		}
		b.logf("run %d: kill -9 %s: its %d groups elsewhere after %s (first to last start %s%s); back %s after its restart",
			run+1, victim, k.moved, k.failover.Round(time.Millisecond), k.takeover.Round(time.Millisecond), begun, k.failback.Round(time.Millisecond))
	}
	return r, nil
}

// start starts node name's process: the loop alone, or hbd run.
func (b *bench) start(name string) error {
	n := &node{name: name, done: make(chan struct{})}
	var events string
	if b.cfg.Hbd != "" {
		cmd, ev, err := b.hbdNode(name)
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		n.cmd, events = cmd, ev
	} else {
		n.cmd = exec.Command(b.cfg.Self, "node", "-name", name, "-nodes", strings.Join(b.names, ","),
			"-groups", strconv.Itoa(b.cfg.Groups), "-endpoints", strings.Join(b.etcd.clients, ","), "-ttl", b.cfg.TTL.String())
	}
	n.cmd.Stderr = os.Stderr
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start node %s: %w", name, err)
	}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if events == "" {
				b.tr.line(name, sc.Text())
			}
		}
		_ = n.cmd.Wait()
		close(exited)
	}()
	if events == "" {
		go func() { <-exited; close(n.done) }()
	} else {
		go func() {
			// The last lines a stop wrote are read before done.
			stop := make(chan struct{})
			go func() { <-exited; time.Sleep(50 * time.Millisecond); close(stop) }()
			follow(events, stop, func(l string) { b.tr.line(name, l) })
			close(n.done)
		}()
	}
	b.nodes[name] = n
	return nil
}

func (b *bench) stopAll() {
	for _, n := range b.nodes {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, n := range b.nodes {
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
	}
}

// waitPlaced waits until every group runs on its preferred node: at
// most two leases and 100 ms per group (a write or two each, and the
// nodes' passes on a machine they share).
func (b *bench) waitPlaced(ctx context.Context) error {
	limit := 2*b.cfg.TTL + time.Duration(b.cfg.Groups)*100*time.Millisecond
	err := poll(ctx, limit, "every group on its preferred node", func() bool { return b.tr.placed(b.names, b.cfg.Groups) == b.cfg.Groups })
	if err != nil {
		return fmt.Errorf("%w (%d of %d placed; %s)", err, b.tr.placed(b.names, b.cfg.Groups), b.cfg.Groups, b.tr.misplaced(b.names, b.cfg.Groups, 5))
	}
	return nil
}

func poll(ctx context.Context, limit time.Duration, what string, cond func() bool) error {
	end := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(end) {
			return fmt.Errorf("not within %s: %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// rest measures etcd's requests and every process's CPU over cfg.Rest,
// and their memory after it.
func (b *bench) rest(ctx context.Context, r *Result) error {
	time.Sleep(2 * time.Second) // the last writes and watches settle
	before, cpu0, err := b.sample(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(b.cfg.Rest)
	after, cpu1, err := b.sample(ctx)
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	r.ReqByMethod = map[string]float64{}
	for m, v := range after {
		if d := v - before[m]; d > 0 {
			r.ReqByMethod[m] = d / secs
			r.ReqPerSec += d / secs
		}
	}
	for i := range b.names {
		r.NodeCPU = append(r.NodeCPU, (cpu1[i].cpu-cpu0[i].cpu).Seconds()/secs)
		r.NodeRSS = append(r.NodeRSS, cpu1[i].rss)
	}
	last := len(cpu1) - 1
	r.EtcdCPU, r.EtcdRSS = (cpu1[last].cpu-cpu0[last].cpu).Seconds()/secs, cpu1[last].rss
	b.logf("at rest: %.2f etcd requests/s %v; node CPU %s, RSS %s", r.ReqPerSec, r.ReqByMethod, spread(r.NodeCPU, pct), spread(r.NodeRSS, mib))
	return nil
}

// sample reads etcd's request counts and every process's usage.
func (b *bench) sample(ctx context.Context) (map[string]float64, []usage, error) {
	reqs, err := requests(ctx, b.etcd.metrics[0])
	if err != nil {
		return nil, nil, err
	}
	us, err := b.usages()
	return reqs, us, err
}

// usages reads every node's usage, in name order, then this process's.
func (b *bench) usages() ([]usage, error) {
	var out []usage
	for _, n := range b.names {
		u, err := usageOf(b.nodes[n].cmd.Process.Pid)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n, err)
		}
		out = append(out, u)
	}
	u, err := usageOf(os.Getpid())
	if err != nil {
		return nil, err
	}
	return append(out, u), nil
}

// kill is what one kill measured (Result's fields of one run).
type kill struct {
	failover, takeover, failback time.Duration
	begun                        time.Duration // -1: not recorded
	moved                        int
}

// killOne kills victim with SIGKILL, measures until its groups run
// elsewhere, restarts it and measures until they are back.
func (b *bench) killOne(ctx context.Context, victim string) (kill, error) {
	var groups []string
	for i := range b.cfg.Groups {
		if preferred(b.names, i) == victim {
			groups = append(groups, groupName(i))
		}
	}
	n := b.nodes[victim]
	t0 := time.Now()
	if err := n.cmd.Process.Kill(); err != nil {
		return kill{}, err
	}
	<-n.done
	b.tr.drop(victim)
	var first, last time.Time
	err := poll(ctx, 3*b.cfg.TTL+30*time.Second, "the killed node's groups elsewhere", func() bool {
		var ok bool
		first, last, ok = b.tr.movedSince(groups, victim, t0)
		return ok
	})
	if err != nil {
		return kill{}, err
	}
	k := kill{failover: last.Sub(t0), takeover: last.Sub(first), begun: -1, moved: len(groups)}
	if d, ok := b.tr.begunSpread(groups, t0); ok {
		k.begun = d
	}
	t1 := time.Now()
	if err := b.start(victim); err != nil {
		return kill{}, err
	}
	if err := b.waitPlaced(ctx); err != nil {
		return kill{}, err
	}
	k.failback = time.Since(t1)
	return k, nil
}

func pct(v float64) string      { return fmt.Sprintf("%.2f%%", 100*v) }
func mib(v int64) string        { return fmt.Sprintf("%.1f MiB", float64(v)/(1<<20)) }
func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// spread is "min / median / max" of vs, each written by f.
func spread[T cmp.Ordered](vs []T, f func(T) string) string {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s) == 0 {
		return "-"
	}
	return f(s[0]) + " / " + f(s[len(s)/2]) + " / " + f(s[len(s)-1])
}

// Table writes results as a Markdown table.
func Table(w io.Writer, rs []Result) {
	fmt.Fprintln(w, "| nodes | groups | lease TTL | kill -9 → its groups elsewhere, ms (min / median / max) | of which first → last start, ms | restart → groups back, ms (min / median / max) | etcd requests/s at rest (all nodes) | node CPU at rest (min / median / max) | node RSS | etcd CPU / RSS (3 members, one process) |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %d | %s | %s (N=%d) | %s | %s | %.2f | %s | %s | %s / %s |\n",
			r.Nodes, r.Groups, r.TTL, spread(r.Failover, ms), len(r.Failover), spread(r.Takeover, ms), spread(r.Failback, ms), r.ReqPerSec,
			spread(r.NodeCPU, pct), spread(r.NodeRSS, mib), pct(r.EtcdCPU), mib(r.EtcdRSS))
	}
	for _, r := range rs {
		if len(r.Begun) > 0 {
			fmt.Fprintf(w, "\n%d x %d, start scripts sleeping %s: a kill's moved groups' start scripts all begun within %s ms (min / median / max, N=%d)\n",
				r.Nodes, r.Groups, r.StartSleep, spread(r.Begun, ms), len(r.Begun))
		}
	}
}
