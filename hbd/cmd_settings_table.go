package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// runSettings is `hbd settings [list]`, `hbd settings clear KIND NAME`
// and `hbd settings clear --unconfigured`: the cluster-wide settings
// table as this node holds it, with the settings of names its
// configuration lacks, and their removal cluster wide.
func runSettings(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("settings", `usage: hbd settings [--run-dir DIR] [list]
       hbd settings [--run-dir DIR] clear KIND NAME
       hbd settings [--run-dir DIR] clear --unconfigured
  list          every cluster-wide setting this node holds: its kind, name,
                value, version, origin, and whether this node's configuration
                has the name (a setting of a name it lacks, junk a broken or
                hostile peer announced or a removed group's, acts on nothing)
  clear KIND NAME
                clear that setting cluster wide, as online, enable and clear
                do: it spreads to every node, survives restarts, and is
                dropped once every node has it. KIND is standby, disabled or
                move; NAME as list shows it (quoted when it holds bytes that
                are not printable text)
  clear --unconfigured
                clear every setting in force of a name this node's
                configuration lacks, in one change (a peer that reloaded
                first may have a group this node does not yet: look at list
                first)`, stdout, stderr)
	fs.interspersed = true
	runDir := fs.runDirFlag()
	unconfigured := fs.Bool("unconfigured", false, "with clear: every setting in force of a name this configuration lacks")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	req := ctl.Request{Cmd: "settings"}
	switch sub := fs.Arg(0); {
	case (sub == "" || sub == "list") && fs.NArg() <= 1 && !*unconfigured:
		req.Args = []string{"list"}
	case sub == "clear" && fs.NArg() == 3 && !*unconfigured:
		req.Args = fs.Args()
	case sub == "clear" && fs.NArg() == 1 && *unconfigured:
		req.Args = []string{"clear-unconfigured"}
	default:
		return fs.usageError("bad arguments %q", strings.Join(fs.Args(), " "))
	}
	resp, err := call(*runDir, req)
	if err != nil {
		fmt.Fprintf(stderr, "hbd settings %s: %v\n", fs.Arg(0), err)
		return 1
	}
	if req.Args[0] == "clear" {
		fmt.Fprintf(stdout, "Setting %s %s: cleared.\n", fs.Arg(1), fs.Arg(2))
		return 0
	}
	var rows []ctl.SettingRow
	if err := json.Unmarshal(resp.Data, &rows); err != nil {
		fmt.Fprintf(stderr, "hbd settings: the daemon's answer: %v\n", err)
		return 1
	}
	if req.Args[0] == "list" {
		printSettings(stdout, rows)
		return 0
	}
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "No setting in force of a name this configuration lacks.")
		return 0
	}
	for _, r := range rows {
		fmt.Fprintf(stdout, "Setting %s %s: cleared.\n", r.Kind, r.Name)
	}
	return 0
}

// printSettings is hbd settings list: one setting a line, then a count
// of those in force of names the configuration lacks, and how to remove
// them.
func printSettings(w io.Writer, rows []ctl.SettingRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tVALUE\tVERSION\tORIGIN\tNAME HERE")
	others := 0
	for _, r := range rows {
		value, here := r.Value, "configured"
		if value == "" {
			value = "(cleared)"
		}
		if !r.Configured {
			here = "not configured"
			if r.Value != "" {
				others++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.Kind, r.Name, value, r.Version, r.Origin, here)
	}
	tw.Flush()
	if others > 0 {
		fmt.Fprintf(w, "%d setting(s) in force of names this configuration lacks: hbd settings clear KIND NAME, or clear --unconfigured, removes them cluster wide\n", others)
	}
}
