package cluster

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/sim/vnet"
	"github.com/hbdproject/hbd/hbd/wire"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the scenario files in testdata")

// TestScenarios runs the stories in testdata/*.txt (etcd raft's
// datadriven style): each block is a command, a `----` line, and the
// output the command must produce, up to a blank line. `go test
// ./hbd/cluster -run TestScenarios -rewrite` writes the actual output
// back, so a change of behaviour reads as a diff of the story.
//
// Commands:
//
//	cluster nodes=node1,node2 failback=on|off|legacy [failback_delay=D] [quorum=auto|on|off]
//	                                                    then one line per group:
//	group PREFERRED KEY [MORE…] [failure_timeout=D]    (the block's other lines)
//	exclusive KEY KEY [KEY…]                          (an exclusive set, first wins)
//	start NODE                 the daemon starts (probes follow)
//	probe NODE KEY running|stopped|failed   answers a pending probe
//	done NODE KEY ok|failed|stop-failed     ends the pending start or stop
//	tick DURATION              time passes (heartbeats; every message arrives after 5 ms)
//	kill NODE                  kill -9 (nothing more is sent)
//	stop NODE                  graceful stop (SIGTERM)
//	cmd NODE standby|takeover|cleanup [WHICH]
//	fail NODE KEY DETAIL       the daemon's monitor gave the group up (GroupFailure)
//	cut NODE NODE / heal       the network between two nodes
//	status NODE                the node's groups
//	reload NODE [nodes=…] [failback=…] [keepalive=D] [deadtime=D] [warntime=D] [this=NAME]
//	group PREFERRED KEY [MORE RESOURCES…]   (the block's other lines; none: groups unchanged,
//	nogroups                                 or no groups at all;
//	exclusive [KEY KEY…]                     the exclusive set, none when bare)
//	                           the node's daemon sends Reconfigure with a new
//	                           configuration (timings, failback, nodes, groups)
//
// Output: what the nodes did, in time order: resource messages (without
// the fields every message has), group actions, and log lines except the
// membership chatter (links, status updates, lost packets).
func TestScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenario files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScenario(t, f) })
	}
}

type scenNode struct {
	name    string
	core    *Node
	alive   bool
	gen     uint64
	pending map[string]Op // group → op in flight
}

// scenMsg is a message on its way to node to, on link.
type scenMsg struct {
	to   string
	link string
	msg  *wire.Message
}

type scenario struct {
	t       *testing.T
	now     time.Time
	cfgs    map[string]*config.Config
	names   []string // the nodes; node i of net is names[i]
	nodes   map[string]*scenNode
	net     *vnet.Net // one link, eth0; the cuts
	queue   vnet.Queue[scenMsg]
	out     []string
	failbck config.AutoFailback
	fbDelay time.Duration
	quorum  config.QuorumMode
	groups  []config.Group
	excl    [][]string
}

const scenDelay = 5 * time.Millisecond

func runScenario(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rewritten strings.Builder
	s := &scenario{t: t, now: t0, nodes: map[string]*scenNode{}}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			rewritten.WriteString(line + "\n")
			i++
			continue
		}
		var cmd []string
		for i < len(lines) && lines[i] != "----" {
			cmd = append(cmd, lines[i])
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s: block %q has no ---- line", file, cmd[0])
		}
		i++
		var want []string
		for i < len(lines) && lines[i] != "" {
			want = append(want, lines[i])
			i++
		}
		s.out = nil
		s.exec(cmd)
		got := s.out
		for _, c := range cmd {
			rewritten.WriteString(c + "\n")
		}
		rewritten.WriteString("----\n")
		for _, g := range got {
			rewritten.WriteString(g + "\n")
		}
		if !*rewrite && strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: %s\n got:\n%s\nwant:\n%s", file, cmd[0], strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if *rewrite {
		out := strings.TrimRight(rewritten.String(), "\n") + "\n"
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *scenario) exec(cmd []string) {
	f := strings.Fields(cmd[0])
	switch f[0] {
	case "cluster":
		s.failbck = config.FailbackOn
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "nodes":
				s.names = strings.Split(v, ",")
			case "failback":
				s.failbck = map[string]config.AutoFailback{"on": config.FailbackOn, "off": config.FailbackOff, "legacy": config.FailbackLegacy}[v]
			case "failback_delay":
				s.fbDelay, _ = time.ParseDuration(v)
			case "quorum":
				s.quorum = map[string]config.QuorumMode{"auto": config.QuorumAuto, "on": config.QuorumOn, "off": config.QuorumOff}[v]
			}
		}
		for _, l := range cmd[1:] {
			g := strings.Fields(l)
			if len(g) >= 3 && g[0] == "group" {
				s.groups = append(s.groups, scenGroup(g))
			}
			if len(g) >= 3 && g[0] == "exclusive" {
				s.excl = append(s.excl, g[1:])
			}
		}
		s.net = vnet.New(len(s.names), "eth0")
		s.cfgs = map[string]*config.Config{}
		for _, name := range s.names {
			c := testConfig(name)
			c.Nodes = s.names
			c.AutoFailback = s.failbck
			c.Groups = s.groups
			c.FailbackDelay = s.fbDelay
			c.Quorum = s.quorum
			c.Exclusive = s.excl
			c.Media = []config.Medium{{Kind: config.Bcast, Iface: "eth0", Port: 694, Addr: netip.Addr{}}}
			s.cfgs[name] = c
		}
	case "start":
		n := s.nodes[f[1]]
		if n == nil {
			n = &scenNode{name: f[1], gen: 0x100}
			s.nodes[f[1]] = n
		}
		n.gen++
		n.alive = true
		n.pending = map[string]Op{}
		n.core = New(Options{Config: s.cfgs[f[1]], UUID: [16]byte{byte(len(f[1]))}, Generation: n.gen, Now: s.now})
		s.step(n, Tick{Now: s.now, Load: testLoad})
	case "probe", "done":
		n := s.nodes[f[1]]
		op, ok := n.pending[f[2]]
		if !ok {
			s.out = append(s.out, fmt.Sprintf("(no operation pending for %s on %s)", f[2], f[1]))
			return
		}
		res := map[string]Result{"ok": ResultOK, "failed": ResultFailed, "stop-failed": ResultStopFailed, "running": ResultRunning, "stopped": ResultStopped}[f[3]]
		delete(n.pending, f[2])
		s.step(n, OpDone{Now: s.now, Group: f[2], Op: op, Result: res, Detail: strings.Join(f[3:], " ")})
	case "tick":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			s.t.Fatal(err)
		}
		s.advance(s.now.Add(d))
	case "kill":
		s.nodes[f[1]].alive = false
	case "stop":
		s.step(s.nodes[f[1]], Stop{Now: s.now})
	case "fail":
		s.step(s.nodes[f[1]], GroupFailure{Now: s.now, Group: f[2], Detail: strings.Join(f[3:], " ")})
	case "cmd":
		kind := map[string]CommandKind{"standby": CmdStandby, "takeover": CmdTakeover, "cleanup": CmdCleanup}[f[2]]
		which := ""
		if len(f) > 3 {
			which = f[3]
		}
		s.step(s.nodes[f[1]], Command{Now: s.now, Kind: kind, Which: which})
	case "cut":
		s.net.Cut(s.index(f[1]), s.index(f[2]))
	case "heal":
		s.net.Heal()
	case "reload":
		n := s.nodes[f[1]]
		c := *s.cfgs[f[1]]
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			d, _ := time.ParseDuration(v)
			switch k {
			case "nodes":
				c.Nodes = strings.Split(v, ",")
			case "failback":
				c.AutoFailback = map[string]config.AutoFailback{"on": config.FailbackOn, "off": config.FailbackOff, "legacy": config.FailbackLegacy}[v]
			case "keepalive":
				c.Keepalive = d
			case "deadtime":
				c.Deadtime = d
			case "warntime":
				c.Warntime = d
			case "initdead":
				c.Initdead = d
			case "this":
				c.ThisNode = v
			default:
				s.t.Fatalf("reload: unknown setting %q", kv)
			}
		}
		var groups []config.Group
		for _, l := range cmd[1:] {
			g := strings.Fields(l)
			switch {
			case len(g) >= 3 && g[0] == "group":
				groups = append(groups, scenGroup(g))
			case len(g) == 1 && g[0] == "nogroups":
				c.Groups = nil
			case len(g) >= 1 && g[0] == "exclusive":
				c.Exclusive = nil
				if len(g) >= 3 {
					c.Exclusive = [][]string{g[1:]}
				}
			}
		}
		if groups != nil {
			c.Groups = groups
		}
		if c.ThisNode == f[1] {
			s.cfgs[f[1]] = &c
		}
		s.step(n, Reconfigure{Now: s.now, Config: &c})
	case "status":
		for _, g := range s.nodes[f[1]].core.Status().Groups {
			line := fmt.Sprintf("%s: holder=%s state=%s desired=%s standby=%v failed=%v err=%q", g.Key, g.Holder, g.State, g.Desired, g.Standby, g.Failed, g.LastError)
			if g.FailCount > 0 {
				line += fmt.Sprintf(" failcount=%d last=+%s", g.FailCount, fmtSecs(g.LastFailure.Sub(t0)))
			}
			if !g.FailedUntil.IsZero() {
				line += " until=+" + fmtSecs(g.FailedUntil.Sub(t0))
			}
			s.out = append(s.out, line)
		}
		s.out = append(s.out, "standby: "+s.nodes[f[1]].core.Status().Standby)
	default:
		s.t.Fatalf("unknown command %q", cmd[0])
	}
}

// advance runs ticks and deliveries in time order up to until.
func (s *scenario) advance(until time.Time) {
	for {
		next := until
		var who *scenNode
		for _, name := range s.names {
			n := s.nodes[name]
			if n == nil || !n.alive {
				continue
			}
			if nt := n.core.NextTick(); !nt.IsZero() && nt.Before(next) {
				next, who = nt, n
			}
		}
		if at, ok := s.queue.Next(); ok && !at.After(next) {
			_, m, _ := s.queue.Pop()
			s.now = at
			if n := s.nodes[m.to]; n != nil && n.alive {
				s.step(n, Receive{Now: s.now, Link: m.link, Msg: m.msg})
			}
			continue
		}
		if who == nil {
			s.now = until
			return
		}
		s.now = next
		s.step(who, Tick{Now: next})
	}
}

var scenNoise = []string{"Link ", "Status update for node", "lost packet", "No pkts missing", "Late heartbeat", "Local status now set to", "returning after partition", "Deadtime value may be too small", "Heartbeat restart on node", "replayed or duplicate"}

func (s *scenario) step(n *scenNode, ev Event) {
	if n == nil || !n.alive {
		return
	}
	at := "+" + fmtSecs(s.now.Sub(t0))
	for _, a := range n.core.Step(ev) {
		switch a := a.(type) {
		case Send:
			typ := a.Msg.Value("t")
			s.net.Send(s.index(n.name), a.Link, vnet.Fixed(scenDelay), func(to int, link string, after time.Duration) {
				s.queue.Push(s.now.Add(after), scenMsg{to: s.names[to], link: link, msg: cloneMessage(a.Msg)})
			})
			switch typ {
			case "status", "NS_ackmsg", "NS_rexmit", "reqnodes", "repnodes":
				continue
			}
			s.out = append(s.out, fmt.Sprintf("%s %s send %s", at, n.name, ownFields(a.Msg)))
		case Log:
			noise := false
			for _, x := range scenNoise {
				noise = noise || strings.Contains(a.Msg, x)
			}
			if !noise {
				s.out = append(s.out, fmt.Sprintf("%s %s %s: %s", at, n.name, a.Level, a.Msg))
			}
		case StartGroup:
			n.pending[a.Group] = OpStart
			s.out = append(s.out, fmt.Sprintf("%s %s START %s%s", at, n.name, a.Group, specTail(a.Group, a.Spec)))
		case StopGroup:
			n.pending[a.Group] = OpStop
			s.out = append(s.out, fmt.Sprintf("%s %s STOP %s%s", at, n.name, a.Group, specTail(a.Group, a.Spec)))
		case ProbeGroup:
			n.pending[a.Group] = OpProbe
			s.out = append(s.out, fmt.Sprintf("%s %s PROBE %s%s", at, n.name, a.Group, specTail(a.Group, a.Spec)))
		case Reannounce:
			s.out = append(s.out, fmt.Sprintf("%s %s REANNOUNCE %s", at, n.name, a.Group))
		case Exit:
			n.alive = false
			s.out = append(s.out, fmt.Sprintf("%s %s EXIT", at, n.name))
		}
	}
}

// index is the number of node name in s.net.
func (s *scenario) index(name string) int {
	for i, n := range s.names {
		if n == name {
			return i
		}
	}
	s.t.Fatalf("no node %q in the cluster (nodes=%s)", name, strings.Join(s.names, ","))
	return -1
}

// scenGroup builds a group from `group PREFERRED KEY [MORE…]`.
func scenGroup(words []string) config.Group {
	g := config.Group{Preferred: words[1]}
	for _, r := range words[2:] {
		if v, ok := strings.CutPrefix(r, "failure_timeout="); ok {
			g.FailureTimeout, _ = time.ParseDuration(v)
			continue
		}
		g.Resources = append(g.Resources, config.Resource{Spec: r, Name: r})
	}
	return g
}

// specTail shows a group action's definition when it is more than its key
// (or, wrongly, not its key at all).
func specTail(key string, g config.Group) string {
	if len(g.Resources) == 1 && g.Key() == key {
		return ""
	}
	var rs []string
	for _, r := range g.Resources {
		rs = append(rs, r.Spec)
	}
	return " (" + strings.Join(rs, " ") + ")"
}

func fmtSecs(d time.Duration) string {
	return fmt.Sprintf("%d.%03ds", d/time.Second, (d%time.Second)/time.Millisecond)
}

// ownFields renders a message without the fields every message carries.
func ownFields(m *wire.Message) string {
	var b strings.Builder
	for _, f := range m.Fields {
		switch f.Name {
		case "src", "srcuuid", "seq", "hg", "ts", "ld", "ttl", "dest", "destuuid":
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", f.Name, f.Value)
	}
	return b.String()
}
