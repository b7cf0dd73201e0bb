package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Timings are the ha.cf timings of the demo cluster: fast enough to watch
// a failover happen, slow enough to be what a real pair could run.
type Timings struct {
	Keepalive, Warntime, Deadtime, Initdead time.Duration
}

// DefaultTimings is what `make demo` runs with.
var DefaultTimings = Timings{
	Keepalive: 200 * time.Millisecond,
	Warntime:  500 * time.Millisecond,
	Deadtime:  time.Second,
	Initdead:  3 * time.Second,
}

func msString(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

// NodeSpec is one node of the demo cluster.
type NodeSpec struct {
	Name string // hbd node name ("node_1")
	// Addr is the address the node sends heartbeats from and that its
	// peers send to (127.0.0.1 on loopback, 10.231.0.1 in a namespace).
	Addr string
}

// Plan says everything the generated configuration depends on.
type Plan struct {
	Root    string     // every node lives in Root/NAME
	Nodes   []NodeSpec // the first one is the group's preferred node
	UDPPort int
	Timings Timings
	// Iface is the ucast interface ("lo"). When BindLocal is set, each
	// ucast line carries the node's own address as hbd's third argument,
	// so several nodes can share one machine and one udpport.
	Iface     string
	BindLocal bool
	// ServiceIP and ServicePort are where the web service answers: the
	// floating address.
	ServiceIP   string
	ServicePort int
	// VIP, when set ("10.231.0.100/24/eth0"), puts IPaddr2::VIP in front of
	// the web server in the group (the namespace demo).
	VIP string
	// IPaddr2Script is copied into resource.d when VIP is set and not empty.
	IPaddr2Script string
	// DemoBin is the absolute path of hbd-demo (the web server).
	DemoBin string
}

// Node is a generated node: where its files are.
type Node struct {
	NodeSpec
	Dir       string // Root/NAME
	ConfigDir string // ha.d
	RunDir    string // pid file and control socket
	StateDir  string // hb_uuid, hb_generation
	LogDir    string // ha-log, ha-debug, demoweb.log
	WebPID    string // the web server's pid file
}

// LogFile and DebugFile are the node's Heartbeat-format logs.
func (n *Node) LogFile() string   { return filepath.Join(n.LogDir, "ha-log") }
func (n *Node) DebugFile() string { return filepath.Join(n.LogDir, "ha-debug") }

// WebLog is where the web server writes its own output.
func (n *Node) WebLog() string { return filepath.Join(n.LogDir, "demoweb.log") }

// RunArgs are the arguments of `hbd` that run this node in the foreground.
func (n *Node) RunArgs() []string {
	return []string{"run", "-c", n.ConfigDir, "--node", n.Name, "--run-dir", n.RunDir, "--state-dir", n.StateDir}
}

// HAResources is the haresources line of the demo's one group.
func (p *Plan) HAResources() string {
	web := fmt.Sprintf("demoweb::%s::%d", p.ServiceIP, p.ServicePort)
	if p.VIP != "" {
		return fmt.Sprintf("%s IPaddr2::%s %s", p.Nodes[0].Name, p.VIP, web)
	}
	return fmt.Sprintf("%s %s", p.Nodes[0].Name, web)
}

// HACF is the ha.cf of node n.
func (p *Plan) HACF(n *Node) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ha.cf of %s, written by hbd-demo.\n", n.Name)
	fmt.Fprintf(&b, "logfile %s\ndebugfile %s\nlogfacility none\n", n.LogFile(), n.DebugFile())
	t := p.Timings
	fmt.Fprintf(&b, "keepalive %s\nwarntime %s\ndeadtime %s\ninitdead %s\n",
		msString(t.Keepalive), msString(t.Warntime), msString(t.Deadtime), msString(t.Initdead))
	fmt.Fprintf(&b, "udpport %d\n", p.UDPPort)
	for _, peer := range p.Nodes {
		if peer.Name == n.Name {
			continue
		}
		if p.BindLocal {
			fmt.Fprintf(&b, "ucast %s %s %s\n", p.Iface, peer.Addr, n.Addr)
		} else {
			fmt.Fprintf(&b, "ucast %s %s\n", p.Iface, peer.Addr)
		}
	}
	names := make([]string, len(p.Nodes))
	for i, s := range p.Nodes {
		names[i] = s.Name
	}
	fmt.Fprintf(&b, "node %s\nauto_failback on\n", strings.Join(names, " "))
	return b.String()
}

// Authkeys is the (shared) authkeys file.
const Authkeys = "auth 1\n1 sha1 hbd-demo-secret-0123456789\n"

// DemowebScript is the resource script of the web service for node n:
// `demoweb IP PORT start|stop|status`. It starts `hbd-demo web` in the
// background and waits until it has bound IP:PORT (it writes its pid file
// then); binding a loopback address is the demo's floating IP, since only
// one process can hold IP:PORT.
func (p *Plan) DemowebScript(n *Node) string {
	return fmt.Sprintf(`#!/bin/sh
# demoweb -- the hbd demo's service, written by hbd-demo for %[1]s.
#
#   demoweb IP PORT start|stop|status
#
# start   runs "hbd-demo web" in the background, answering on IP:PORT with
#         the node's name (body and X-Whom header); succeeds once it has
#         bound the address, fails if it could not (someone holds it).
# stop    stops it (SIGTERM, then SIGKILL after 5 s).
# status  prints "running" or "stopped" (exit 0 or 3).
set -u
BIN=%[2]s
WHOM=%[3]s
PIDFILE=%[4]s
LOG=%[5]s

[ $# -eq 3 ] || { echo "usage: demoweb IP PORT start|stop|status" >&2; exit 2; }
ip=$1
port=$2

# pid prints the web server's pid when it runs.
pid() {
	[ -s "$PIDFILE" ] || return 1
	p=$(cat "$PIDFILE" 2>/dev/null) || return 1
	grep -q hbd-demo "/proc/$p/cmdline" 2>/dev/null || return 1
	echo "$p"
}

case $3 in
start)
	if p=$(pid); then echo "demoweb: already running (pid $p)"; exit 0; fi
	rm -f "$PIDFILE"
	"$BIN" web --listen "$ip:$port" --whom "$WHOM" --pidfile "$PIDFILE" </dev/null >>"$LOG" 2>&1 &
	child=$!
	i=0
	while [ $i -lt 250 ]; do
		if [ -s "$PIDFILE" ]; then echo "demoweb: serving $WHOM on $ip:$port (pid $child)"; exit 0; fi
		if ! kill -0 "$child" 2>/dev/null; then
			echo "demoweb: the web server exited: $(tail -n 1 "$LOG")" >&2
			exit 1
		fi
		sleep 0.02
		i=$((i + 1))
	done
	kill "$child" 2>/dev/null
	echo "demoweb: the web server did not come up within 5 s" >&2
	exit 1
	;;
stop)
	if p=$(pid); then
		kill "$p" 2>/dev/null
		i=0
		# pid (not kill -0): a zombie waiting for a slow reaper has no
		# cmdline and no longer serves.
		while pid >/dev/null && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null
	fi
	rm -f "$PIDFILE"
	exit 0
	;;
status)
	if p=$(pid); then echo "running (pid $p)"; exit 0; fi
	echo "stopped"
	exit 3
	;;
*)
	echo "usage: demoweb IP PORT start|stop|status" >&2
	exit 2
	;;
esac
`, n.Name, shellQuote(p.DemoBin), shellQuote(n.Name), shellQuote(n.WebPID), shellQuote(n.WebLog()))
}

// shellQuote quotes s for sh: 'it'\”s'.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Write creates every node's directories and files under p.Root and
// returns the nodes, in p.Nodes order.
func (p *Plan) Write() ([]*Node, error) {
	if len(p.Nodes) < 2 {
		return nil, fmt.Errorf("demo plan: %d nodes, want at least 2", len(p.Nodes))
	}
	if !filepath.IsAbs(p.DemoBin) {
		return nil, fmt.Errorf("demo plan: hbd-demo path %q is not absolute", p.DemoBin)
	}
	var ipaddr2 []byte
	if p.VIP != "" {
		b, err := os.ReadFile(p.IPaddr2Script)
		if err != nil {
			return nil, fmt.Errorf("IPaddr2 script: %w", err)
		}
		ipaddr2 = b
	}
	nodes := make([]*Node, len(p.Nodes))
	for i, spec := range p.Nodes {
		dir := filepath.Join(p.Root, spec.Name)
		n := &Node{
			NodeSpec:  spec,
			Dir:       dir,
			ConfigDir: filepath.Join(dir, "ha.d"),
			RunDir:    filepath.Join(dir, "run"),
			StateDir:  filepath.Join(dir, "state"),
			LogDir:    filepath.Join(dir, "logs"),
		}
		n.WebPID = filepath.Join(n.RunDir, "demoweb.pid")
		for _, d := range []string{filepath.Join(n.ConfigDir, "resource.d"), n.RunDir, n.StateDir, n.LogDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return nil, fmt.Errorf("node %s: %w", n.Name, err)
			}
		}
		files := []struct {
			name    string
			content string
			mode    os.FileMode
		}{
			{"ha.cf", p.HACF(n), 0o644},
			{"authkeys", Authkeys, 0o600},
			{"haresources", "# written by hbd-demo: preferred node, then resources started left to right\n" + p.HAResources() + "\n", 0o644},
			{"resource.d/demoweb", p.DemowebScript(n), 0o755},
		}
		if p.VIP != "" {
			files = append(files, struct {
				name    string
				content string
				mode    os.FileMode
			}{"resource.d/IPaddr2", string(ipaddr2), 0o755})
		}
		for _, f := range files {
			path := filepath.Join(n.ConfigDir, f.name)
			if err := os.WriteFile(path, []byte(f.content), f.mode); err != nil {
				return nil, fmt.Errorf("node %s: %w", n.Name, err)
			}
			// WriteFile's mode passes through the umask; authkeys must be
			// exactly 0600 and scripts executable.
			if err := os.Chmod(path, f.mode); err != nil {
				return nil, fmt.Errorf("node %s: %w", n.Name, err)
			}
		}
		nodes[i] = n
	}
	return nodes, nil
}
