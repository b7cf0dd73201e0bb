package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// legacyName maps the names Heartbeat users type to hbd commands: the
// binary installed (or linked) as hb_standby behaves as `hbd standby`.
func legacyName(argv0 string) (string, bool) {
	switch filepath.Base(argv0) {
	case "hb_standby":
		return "standby", true
	case "hb_takeover":
		return "takeover", true
	case "cl_status":
		return "cl_status", true
	case "harc":
		return "harc", true
	}
	if _, ok := agentProgram(argv0); ok {
		return "agent", true
	}
	return "", false
}

// runClStatus answers the common cl_status(1) queries from the daemon's
// status: hbstatus, listnodes, nodestatus, listhblinks, hblinkstatus.
func runClStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cl_status", `usage: hbd cl_status [--run-dir DIR] QUERY (also: cl_status QUERY)
Answers Heartbeat's cl_status queries from the running daemon's status:
  hbstatus                 is the daemon running here?
  listnodes                this node and its peers
  nodestatus NODE          a node's state
  rscstatus                which groups this node holds: local, foreign, all, none, transition
  listhblinks NODE         the links to NODE
  hblinkstatus NODE LINK   the state of one link to NODE`, stdout, stderr)
	runDir := fs.runDirFlag()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	args = fs.Args()
	if len(args) == 0 {
		return fs.usageError("no query")
	}
	st, err := fetchStatus(*runDir)
	if args[0] == "hbstatus" {
		if err != nil {
			// Heartbeat's words for any daemon it cannot ask; why, when
			// it is not that none runs (one stuck, or refusing), on stderr.
			fmt.Fprintln(stdout, "Heartbeat is stopped on this machine.")
			if !errors.Is(err, ctl.ErrNotRunning) {
				fmt.Fprintf(stderr, "cl_status: %v\n", err)
			}
			return 1
		}
		fmt.Fprintln(stdout, "Heartbeat is running on this machine.")
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "cl_status: %v\n", err)
		return 1
	}
	c := st.Cluster
	need := func(n int) bool {
		if len(args) != n {
			fs.usageError("%s takes %d argument(s)", args[0], n-1)
			return false
		}
		return true
	}
	switch args[0] {
	case "rscstatus":
		fmt.Fprintln(stdout, rscStatus(c.Node, c.Groups))
		return 0
	case "listnodes":
		fmt.Fprintln(stdout, c.Node)
		for _, p := range c.Peers {
			fmt.Fprintln(stdout, p.Name)
		}
		return 0
	case "nodestatus":
		if !need(2) {
			return 2
		}
		if strings.EqualFold(args[1], c.Node) {
			fmt.Fprintln(stdout, c.State)
			return 0
		}
		for _, p := range c.Peers {
			if strings.EqualFold(p.Name, args[1]) {
				fmt.Fprintln(stdout, p.State)
				return 0
			}
		}
		fmt.Fprintf(stderr, "cl_status: no node %q in the cluster\n", args[1])
		return 1
	case "listhblinks", "hblinkstatus":
		if len(args) < 2 {
			return fs.usageError("%s needs a NODE", args[0])
		}
		for _, p := range c.Peers {
			if !strings.EqualFold(p.Name, args[1]) {
				continue
			}
			for _, l := range p.Links {
				if args[0] == "listhblinks" {
					fmt.Fprintln(stdout, l.Name)
				} else if len(args) == 3 && l.Name == args[2] {
					fmt.Fprintln(stdout, l.State)
					return 0
				}
			}
			if args[0] == "listhblinks" {
				return 0
			}
			fmt.Fprintf(stderr, "cl_status: no link %q to %s\n", strings.Join(args[2:], " "), args[1])
			return 1
		}
		fmt.Fprintf(stderr, "cl_status: no node %q in the cluster\n", args[1])
		return 1
	}
	return fs.usageError("unknown query %q", args[0])
}

// rscStatus is cl_status rscstatus: which groups this node holds, in
// Heartbeat's words — local (those it prefers), foreign (the others'),
// all, none, or transition while any of them is starting or stopping.
func rscStatus(self string, groups []cluster.GroupStatus) string {
	local, foreign := false, false
	for _, g := range groups {
		switch g.State {
		case cluster.GroupStarting, cluster.GroupStopping, cluster.GroupProbing:
			if g.Holder == self || g.Holder == "" {
				return "transition"
			}
		}
		if g.Holder != self {
			continue
		}
		if g.Preferred == self {
			local = true
		} else {
			foreign = true
		}
	}
	switch {
	case local && foreign:
		return "all"
	case local:
		return "local"
	case foreign:
		return "foreign"
	}
	return "none"
}
