package cluster

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/sim/vnet"
	"github.com/hbdproject/hbd/hbd/wire"
)

// scenNode is one node of a scenario: its core while its daemon runs.
type scenNode struct {
	name    string
	core    *Node
	alive   bool
	gen     uint64
	pending map[string]Op // group → op in flight
	lastSeq uint64        // the highest seq it sent in this run (retransmission)
	// settings: what its core last asked to persist (PersistSettings),
	// given to its next start as the daemon's state directory does.
	settings []Setting
}

// scenMsg is a message on its way to node to, on link.
type scenMsg struct {
	to   string
	link string
	msg  *wire.Message
}

// scenario is the world of one scenario file: the nodes, their
// configurations, the virtual network and clock, and what the current
// command made the nodes do.
type scenario struct {
	file    string
	line    int // the current command's line in file
	now     time.Time
	cfgs    map[string]*config.Config
	names   []string // the nodes; node i of net is names[i]
	nodes   map[string]*scenNode
	net     *vnet.Net // one link, eth0; the cuts
	queue   vnet.Queue[scenMsg]
	failbck config.AutoFailback
	fbDelay time.Duration
	drain   time.Duration
	ka, dt  time.Duration // keepalive, deadtime (0: testConfig's)
	quorum  config.QuorumMode
	groups  []config.Group
	excl    [][]string
	out     scenOutput
	// sent: each node's latest message of each type and info, and its
	// link (resend); losses: the messages lost on their way (lose).
	sent   map[string]scenMsg
	losses []scenLoss
}

// scenLoss: every copy of from's messages of type typ (and info, when
// set) to node to is lost, retransmissions included.
type scenLoss struct {
	from, to, typ, info string
}

const scenDelay = 5 * time.Millisecond

func newScenario(file string) *scenario {
	return &scenario{file: file, now: t0, nodes: map[string]*scenNode{}, sent: map[string]scenMsg{}}
}

// errorf is a mistake in the scenario, at the given line of the current
// block (0: the command's line).
func (s *scenario) errorf(offset int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", s.file, s.line+offset, fmt.Sprintf(format, args...))
}

// run executes the command cmd (its first line is line of the file) and
// returns its output.
func (s *scenario) run(line int, cmd []string) ([]string, error) {
	s.line = line
	s.out = scenOutput{}
	if err := s.exec(cmd); err != nil {
		return nil, err
	}
	return s.out.lines(), nil
}

// scenArgs says how many words each command takes, the command included:
// at least min, at most max (0: no limit).
var scenArgs = map[string]struct{ min, max int }{
	"cluster": {2, 0}, "start": {2, 2}, "probe": {4, 0}, "done": {4, 0},
	"tick": {2, 2}, "kill": {2, 2}, "stop": {2, 2}, "cmd": {3, 5},
	"fail": {4, 0}, "cut": {3, 3}, "heal": {1, 1}, "reload": {2, 0}, "status": {2, 2},
	"resend": {3, 4}, "lose": {4, 5},
}

var (
	scenFailback = map[string]config.AutoFailback{"on": config.FailbackOn, "off": config.FailbackOff, "legacy": config.FailbackLegacy}
	scenQuorum   = map[string]config.QuorumMode{"auto": config.QuorumAuto, "on": config.QuorumOn, "off": config.QuorumOff}
	scenResults  = map[string]map[string]Result{
		"probe": {"running": ResultRunning, "stopped": ResultStopped, "failed": ResultFailed},
		"done":  {"ok": ResultOK, "failed": ResultFailed, "stop-failed": ResultStopFailed, "abandoned": ResultAbandoned},
	}
	scenCommands = map[string]CommandKind{"standby": CmdStandby, "takeover": CmdTakeover, "cleanup": CmdCleanup,
		"node-standby": CmdNodeStandby, "node-online": CmdNodeOnline, "node-fenced": CmdNodeFenced,
		"disable": CmdGroupDisable, "enable": CmdGroupEnable, "move": CmdGroupMove, "clear": CmdGroupClear}
)

func (s *scenario) exec(cmd []string) error {
	f := strings.Fields(cmd[0])
	n, ok := scenArgs[f[0]]
	if !ok {
		return s.errorf(0, "unknown command %q", f[0])
	}
	if len(f) < n.min || n.max > 0 && len(f) > n.max {
		return s.errorf(0, "%s takes %d to %d words, not %d", f[0], n.min, n.max, len(f))
	}
	if f[0] != "cluster" && s.net == nil {
		return s.errorf(0, "%s before cluster", f[0])
	}
	if f[0] != "cluster" && f[0] != "reload" && len(cmd) > 1 {
		return s.errorf(1, "%s takes no more lines", f[0])
	}
	switch f[0] {
	case "cluster":
		return s.cluster(f[1:], cmd[1:])
	case "start":
		return s.start(f[1])
	case "probe", "done":
		n, err := s.running(f[1])
		if err != nil {
			return err
		}
		op, ok := n.pending[f[2]]
		if !ok {
			return s.errorf(0, "no operation of %s pending on %s", f[2], f[1])
		}
		res, ok := scenResults[f[0]][f[3]]
		if !ok {
			return s.errorf(0, "unknown %s result %q", f[0], f[3])
		}
		if (op == OpProbe) != (f[0] == "probe") {
			return s.errorf(0, "the operation of %s pending on %s is a %s", f[2], f[1], op)
		}
		delete(n.pending, f[2])
		s.step(n, OpDone{Now: s.now, Group: f[2], Op: op, Result: res, Detail: strings.Join(f[3:], " ")})
	case "tick":
		d, err := s.duration(0, f[1])
		if err != nil {
			return err
		}
		s.advance(s.now.Add(d))
	case "kill":
		n, err := s.running(f[1])
		if err != nil {
			return err
		}
		n.alive = false
	case "stop":
		n, err := s.running(f[1])
		if err != nil {
			return err
		}
		s.step(n, Stop{Now: s.now})
	case "fail":
		n, err := s.running(f[1])
		if err != nil {
			return err
		}
		s.step(n, GroupFailure{Now: s.now, Group: f[2], Detail: strings.Join(f[3:], " ")})
	case "cmd":
		n, err := s.running(f[1])
		if err != nil {
			return err
		}
		kind, ok := scenCommands[f[2]]
		if !ok {
			return s.errorf(0, "unknown operator command %q", f[2])
		}
		c := Command{Now: s.now, Kind: kind}
		args := f[3:]
		switch kind {
		case CmdNodeStandby, CmdNodeOnline, CmdNodeFenced:
			// cmd NODE node-standby|node-online|node-fenced [NODE]
			if len(args) > 0 {
				c.Node, args = args[0], args[1:]
			}
		default:
			// cmd NODE standby|takeover|cleanup|disable|enable|clear [WHICH]
			// cmd NODE move KEY [NODE]
			if len(args) > 0 {
				c.Which, args = args[0], args[1:]
			}
			if kind == CmdGroupMove && len(args) > 0 {
				c.Node, args = args[0], args[1:]
			}
		}
		if len(args) > 0 {
			return s.errorf(0, "cmd %s: one word too many (%q)", f[2], args[0])
		}
		s.step(n, c)
	case "cut":
		a, err := s.index(f[1])
		if err != nil {
			return err
		}
		b, err := s.index(f[2])
		if err != nil {
			return err
		}
		s.net.Cut(a, b)
	case "heal":
		s.net.Heal()
	case "resend":
		return s.resend(f[1], f[2:])
	case "lose":
		for _, name := range f[1:3] {
			if _, err := s.index(name); err != nil {
				return err
			}
		}
		l := scenLoss{from: f[1], to: f[2], typ: f[3]}
		if len(f) > 4 {
			l.info = f[4]
		}
		s.losses = append(s.losses, l)
	case "reload":
		return s.reload(f[1], f[2:], cmd[1:])
	case "status":
		n, err := s.running(f[1])
		if err != nil {
			return err
		}
		s.status(n)
	}
	return nil
}

// cluster sets the cluster up: settings are cluster's KEY=VALUE words,
// lines the block's group and exclusive lines.
func (s *scenario) cluster(settings, lines []string) error {
	if s.net != nil {
		return s.errorf(0, "a second cluster")
	}
	s.failbck = config.FailbackOn
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		var ok bool
		switch k {
		case "nodes":
			s.names = strings.Split(v, ",")
		case "failback":
			if s.failbck, ok = scenFailback[v]; !ok {
				return s.errorf(0, "unknown failback %q", v)
			}
		case "failback_delay":
			d, err := s.duration(0, v)
			if err != nil {
				return err
			}
			s.fbDelay = d
		case "drain_time":
			d, err := s.duration(0, v)
			if err != nil {
				return err
			}
			s.drain = d
		case "keepalive", "deadtime":
			d, err := s.duration(0, v)
			if err != nil {
				return err
			}
			if k == "keepalive" {
				s.ka = d
			} else {
				s.dt = d
			}
		case "quorum":
			if s.quorum, ok = scenQuorum[v]; !ok {
				return s.errorf(0, "unknown quorum %q", v)
			}
		default:
			return s.errorf(0, "unknown cluster setting %q", kv)
		}
	}
	if len(s.names) < 2 {
		return s.errorf(0, "cluster needs nodes=NODE,NODE[,…]")
	}
	for j, l := range lines {
		g := strings.Fields(l)
		switch {
		case len(g) >= 3 && g[0] == "group":
			grp, err := s.group(j+1, g)
			if err != nil {
				return err
			}
			s.groups = append(s.groups, grp)
		case len(g) >= 3 && g[0] == "exclusive":
			s.excl = append(s.excl, g[1:])
		default:
			return s.errorf(j+1, "want group PREFERRED KEY… or exclusive KEY KEY…, not %q", l)
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
		c.DrainTime = s.drain
		c.Quorum = s.quorum
		c.Exclusive = s.excl
		if s.ka > 0 {
			c.Keepalive = s.ka
		}
		if s.dt > 0 {
			c.Deadtime, c.Warntime = s.dt, s.dt
			c.Initdead = max(c.Initdead, s.dt)
		}
		c.Media = []config.Medium{{Kind: config.Bcast, Iface: "eth0", Port: 694, Addr: netip.Addr{}}}
		s.cfgs[name] = c
	}
	return nil
}

// start starts the daemon of node name (again).
func (s *scenario) start(name string) error {
	if _, err := s.index(name); err != nil {
		return err
	}
	n := s.nodes[name]
	if n == nil {
		n = &scenNode{name: name, gen: 0x100}
		s.nodes[name] = n
	}
	if n.alive {
		return s.errorf(0, "%s runs already", name)
	}
	n.gen++
	n.alive = true
	n.pending = map[string]Op{}
	n.lastSeq = 0
	n.core = New(Options{Config: s.cfgs[name], UUID: [16]byte{byte(len(name))}, Generation: n.gen, Now: s.now, Settings: n.settings, CheckSkips: true})
	s.step(n, Tick{Now: s.now, Load: testLoad})
	return nil
}

// reload sends node name's core a Reconfigure with its configuration
// changed by settings (KEY=VALUE words) and lines (the block's group,
// nogroups and exclusive lines).
func (s *scenario) reload(name string, settings, lines []string) error {
	n, err := s.running(name)
	if err != nil {
		return err
	}
	c := *s.cfgs[name]
	for _, kv := range settings {
		k, v, _ := strings.Cut(kv, "=")
		var d *time.Duration
		switch k {
		case "nodes":
			c.Nodes = strings.Split(v, ",")
		case "failback":
			f, ok := scenFailback[v]
			if !ok {
				return s.errorf(0, "unknown failback %q", v)
			}
			c.AutoFailback = f
		case "this":
			c.ThisNode = v
		case "keepalive":
			d = &c.Keepalive
		case "deadtime":
			d = &c.Deadtime
		case "warntime":
			d = &c.Warntime
		case "initdead":
			d = &c.Initdead
		default:
			return s.errorf(0, "unknown reload setting %q", kv)
		}
		if d != nil {
			if *d, err = s.duration(0, v); err != nil {
				return err
			}
		}
	}
	var groups []config.Group
	for j, l := range lines {
		g := strings.Fields(l)
		switch {
		case len(g) >= 3 && g[0] == "group":
			grp, err := s.group(j+1, g)
			if err != nil {
				return err
			}
			groups = append(groups, grp)
		case len(g) == 1 && g[0] == "nogroups":
			c.Groups = nil
		case len(g) == 1 && g[0] == "exclusive":
			c.Exclusive = nil
		case len(g) >= 3 && g[0] == "exclusive":
			c.Exclusive = [][]string{g[1:]}
		default:
			return s.errorf(j+1, "want group PREFERRED KEY…, nogroups or exclusive [KEY KEY…], not %q", l)
		}
	}
	if groups != nil {
		c.Groups = groups
	}
	if c.ThisNode == name {
		s.cfgs[name] = &c
	}
	s.step(n, Reconfigure{Now: s.now, Config: &c})
	return nil
}

// resend sends node name's latest message of type what[0] (and info
// what[1]) again, unchanged (its seq too), to every node that hears it: a
// retransmission, as another node's NS_rexmit makes it.
func (s *scenario) resend(name string, what []string) error {
	n, err := s.running(name)
	if err != nil {
		return err
	}
	info := ""
	if len(what) > 1 {
		info = what[1]
	}
	m, ok := s.sent[sentKey(name, what[0], info)]
	if !ok {
		return s.errorf(0, "%s sent no %s message with info %q", name, what[0], info)
	}
	s.out.messages = append(s.out.messages, "+"+fmtSecs(s.now.Sub(t0))+" "+n.name+" resend "+ownFields(m.msg))
	s.transmit(name, m.link, m.msg)
	return nil
}

// sentKey names a node's message of a type and info (scenario.sent).
func sentKey(node, typ, info string) string { return node + " " + typ + " " + info }

// transmit puts copies of m, sent by node from on link, on their way to
// the nodes that hear it, unless a loss takes them.
func (s *scenario) transmit(from, link string, m *wire.Message) {
	i, _ := s.index(from)
	s.net.Send(i, link, vnet.Fixed(scenDelay), func(to int, link string, after time.Duration) {
		for _, l := range s.losses {
			if l.from == from && l.to == s.names[to] && l.typ == m.Value(wire.FType) && (l.info == "" || l.info == m.Value(wire.FInfo)) {
				return
			}
		}
		s.queue.Push(s.now.Add(after), scenMsg{to: s.names[to], link: link, msg: m.Clone()})
	})
}

// status prints node n's view of the groups.
func (s *scenario) status(n *scenNode) {
	st := n.core.Status()
	for _, g := range st.Groups {
		line := fmt.Sprintf("%s: holder=%s state=%s desired=%s standby=%v failed=%v err=%q", g.Key, g.Holder, g.State, g.Desired, g.Standby, g.Failed, g.LastError)
		if g.FailCount > 0 {
			line += fmt.Sprintf(" failcount=%d last=+%s", g.FailCount, fmtSecs(g.LastFailure.Sub(t0)))
		}
		if !g.FailedUntil.IsZero() {
			line += " until=+" + fmtSecs(g.FailedUntil.Sub(t0))
		}
		s.out.status = append(s.out.status, line)
	}
	s.out.status = append(s.out.status, "standby: "+st.Standby)
}

// group builds a group from the words `group PREFERRED KEY [MORE…]` on
// line offset of the block.
func (s *scenario) group(offset int, words []string) (config.Group, error) {
	g := config.Group{Preferred: words[1]}
	for _, r := range words[2:] {
		if v, ok := strings.CutPrefix(r, "failure_timeout="); ok {
			d, err := s.duration(offset, v)
			if err != nil {
				return g, err
			}
			g.FailureTimeout = d
			continue
		}
		if strings.Contains(r, "=") {
			return g, s.errorf(offset, "unknown group setting %q", r)
		}
		g.Resources = append(g.Resources, config.Resource{Spec: r, Name: r})
	}
	if len(g.Resources) == 0 {
		return g, s.errorf(offset, "group without resources")
	}
	return g, nil
}

// duration parses a positive duration on line offset of the block.
func (s *scenario) duration(offset int, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, s.errorf(offset, "bad duration %q: %v", v, err)
	}
	if d <= 0 {
		return 0, s.errorf(offset, "duration %q is not positive", v)
	}
	return d, nil
}

// running is the node called name, whose daemon runs.
func (s *scenario) running(name string) (*scenNode, error) {
	if _, err := s.index(name); err != nil {
		return nil, err
	}
	n := s.nodes[name]
	if n == nil || !n.alive {
		return nil, s.errorf(0, "%s does not run", name)
	}
	return n, nil
}

// index is the number of node name in s.net.
func (s *scenario) index(name string) (int, error) {
	for i, n := range s.names {
		if n == name {
			return i, nil
		}
	}
	return -1, s.errorf(0, "no node %q in the cluster (nodes=%s)", name, strings.Join(s.names, ","))
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
