package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// `hbd node` and `hbd group`: the cluster-wide settings an operator
// changes from any node (standby, disabled, moved), and lists of the
// nodes and groups as the daemon sees them.

// runNode is `hbd node standby|online [NODE]` and `hbd node list`.
func runNode(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("node", `usage: hbd node [--run-dir DIR] standby|online [NODE]
       hbd node [--run-dir DIR] fenced NODE
       hbd node [--run-dir DIR] list
  standby [NODE]  put NODE (this node when omitted) in standby, cluster
                  wide: it holds no group (they go to the next node, released
                  there first) until hbd node online, across every restart
  online [NODE]   make NODE eligible again (auto_failback then applies)
  fenced NODE     your word that silent NODE is off: a takeover on this node
                  that waits for its fence goes ahead (logged as yours)
  list            each node's state: active, standby, dead ...`, stdout, stderr)
	fs.interspersed = true
	runDir := fs.runDirFlag()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	switch sub := fs.Arg(0); {
	case sub == "list" && fs.NArg() == 1:
		st, err := fetchStatus(*runDir)
		if err != nil {
			fmt.Fprintf(stderr, "hbd node: %v\n", err)
			return 1
		}
		printNodes(stdout, st)
		return 0
	case (sub == "standby" || sub == "online") && fs.NArg() <= 2:
		if _, err := call(*runDir, ctl.Request{Cmd: "node", Args: fs.Args()}); err != nil {
			fmt.Fprintf(stderr, "hbd node %s: %v\n", sub, err)
			return 1
		}
		who := fs.Arg(1)
		if who == "" {
			who = "this node"
		}
		fmt.Fprintf(stdout, "Node %s: %s.\n", who, sub)
		return 0
	case sub == "fenced" && fs.NArg() == 2:
		if _, err := call(*runDir, ctl.Request{Cmd: "node", Args: fs.Args()}); err != nil {
			fmt.Fprintf(stderr, "hbd node fenced: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "Node %s: fenced, on your word; its groups may be taken over.\n", fs.Arg(1))
		return 0
	case sub == "":
		return fs.usageError("no subcommand")
	}
	return fs.usageError("bad arguments %q", strings.Join(fs.Args(), " "))
}

func printNodes(w io.Writer, st ctl.Status) {
	if st.Etcd != nil {
		printEtcdNodes(w, st)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tSINCE\tLAST HEARD")
	c := st.Cluster
	fmt.Fprintf(tw, "%s\t%s\t%s\t(this node)\n", c.Node, nodeState(c.State, c.InStandby), stamp(st.Started))
	for _, p := range c.Peers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, nodeState(p.State, p.InStandby), stamp(p.Since), stamp(p.LastHeard))
	}
	tw.Flush()
	if len(c.Fences) > 0 {
		var nodes []string
		for _, f := range c.Fences {
			nodes = append(nodes, f.Node)
		}
		fmt.Fprintf(w, "A takeover here waits for a fence of: %s (hbd node fenced NODE once it is off)\n", strings.Join(nodes, " "))
	}
}

// nodeState is a node's state as hbd node list shows it: standby (an
// operator's setting) unless it is dead or unknown.
func nodeState(state string, standby bool) string {
	if standby && state != "dead" && state != "unknown" {
		return "standby"
	}
	if standby {
		return state + " (standby)"
	}
	return state
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format(time.DateTime)
}

// runGroup is `hbd group list|disable|enable|move|clear`.
func runGroup(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("group", `usage: hbd group [--run-dir DIR] list
       hbd group [--run-dir DIR] disable|enable|clear GROUP
       hbd group [--run-dir DIR] move GROUP [NODE]
  list              every group: its names, holder, state and settings
  disable GROUP     stop GROUP everywhere, cluster wide, until enable
  enable GROUP      let GROUP run again
  move GROUP [NODE] run GROUP on NODE (or: keep it off the node holding it
                    now) until clear
  clear GROUP       end a move: the placement rule applies again
GROUP is the group's key, its name (a '#hbd name NAME' line before it in
haresources), its number (its position among the groups), or a resource of it that no
other group has (httpd, IPaddr2::10.0.0.5/24): hbd group list shows them.
An unknown or ambiguous name lists the groups (exit 1).`, stdout, stderr)
	fs.interspersed = true
	runDir := fs.runDirFlag()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	sub := fs.Arg(0)
	max := map[string]int{"list": 1, "disable": 2, "enable": 2, "clear": 2, "move": 3}[sub]
	switch {
	case sub == "":
		return fs.usageError("no subcommand")
	case max == 0:
		return fs.usageError("unknown subcommand %q", sub)
	case fs.NArg() > max || sub != "list" && fs.NArg() < 2:
		return fs.usageError("bad arguments %q", strings.Join(fs.Args(), " "))
	}
	if sub == "list" {
		st, err := fetchStatus(*runDir)
		if err != nil {
			fmt.Fprintf(stderr, "hbd group: %v\n", err)
			return 1
		}
		printGroups(stdout, st)
		return 0
	}
	if _, err := call(*runDir, ctl.Request{Cmd: "group", Args: fs.Args()}); err != nil {
		fmt.Fprintf(stderr, "hbd group %s: %v\n", sub, err)
		return 1
	}
	fmt.Fprintf(stdout, "Group %s: %s.\n", fs.Arg(1), sub)
	return 0
}

func printGroups(w io.Writer, st ctl.Status) {
	if st.Etcd != nil {
		printEtcdGroups(w, st)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tHOLDER\tSTATE\tSETTINGS\tNAMES")
	for _, g := range st.Cluster.Groups {
		holder := g.Holder
		if holder == "" {
			holder = "-"
		}
		names := st.GroupNames[g.Key]
		if len(names) > 0 {
			names = names[1:]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Key, holder, g.State, flags(settingFlags(g)), strings.Join(names, " "))
	}
	tw.Flush()
}
