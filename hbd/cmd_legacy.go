package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/paths"
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
	case "IPaddr", "IPaddr2", "awseip":
		return "agent", true
	}
	return "", false
}

// runDirFromEnv lets the legacy commands, which take no flags of ours,
// reach a daemon with a non-default run directory (tests, the demo).
func runDirFromEnv() string {
	if d := os.Getenv("HBD_RUN_DIR"); d != "" {
		return d
	}
	return paths.RunDir
}

func fetchStatus(runDir string) (ctl.Status, error) {
	var st ctl.Status
	resp, err := call(runDir, ctl.Request{Cmd: "status"})
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(resp.Data, &st); err != nil {
		return st, fmt.Errorf("status reply: %w", err)
	}
	return st, nil
}

// runClStatus answers the common cl_status(1) queries from the daemon's
// status: hbstatus, listnodes, nodestatus, listhblinks, hblinkstatus.
func runClStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cl_status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", runDirFromEnv(), "the daemon's run `DIR`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cl_status hbstatus | listnodes | nodestatus NODE | rscstatus | listhblinks NODE | hblinkstatus NODE LINK")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	args = fs.Args()
	if len(args) == 0 {
		fs.Usage()
		return 2
	}
	st, err := fetchStatus(*runDir)
	if args[0] == "hbstatus" {
		if err != nil {
			fmt.Fprintln(stdout, "Heartbeat is stopped on this machine.")
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
			fs.Usage()
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
			fs.Usage()
			return 2
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
	fmt.Fprintf(stderr, "cl_status: unknown query %q\n", args[0])
	fs.Usage()
	return 2
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
