package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/paths"
)

// runStatus is `hbd status [--run-dir DIR] [--json]`.
func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", `usage: hbd status [--run-dir DIR] [--json]
Shows the running daemon's view: this node, its peers and their links, the
resource groups, monitors, and the packets it dropped or rejected.
Exit status: 0 shown, 1 bad reply, 2 usage error, 3 the daemon is not running.`, stdout, stderr)
	runDir := fs.String("run-dir", paths.RunDir, "the daemon's run `DIR` (control socket)")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fs.usageError("unexpected argument %q", fs.Arg(0))
	}
	resp, err := call(*runDir, ctl.Request{Cmd: "status"})
	if err != nil {
		fmt.Fprintf(stderr, "hbd status: %v\n", err)
		return 3 // LSB: program is not running
	}
	if *asJSON {
		var v any
		if err := json.Unmarshal(resp.Data, &v); err != nil {
			fmt.Fprintf(stderr, "hbd status: %v\n", err)
			return 1
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return 0
	}
	var st ctl.Status
	if err := json.Unmarshal(resp.Data, &st); err != nil {
		fmt.Fprintf(stderr, "hbd status: %v\n", err)
		return 1
	}
	printStatus(stdout, st, time.Now())
	return 0
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	return d.Round(time.Millisecond).String() + " ago"
}

func counts(m map[string]uint64) string {
	if len(m) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func printStatus(w io.Writer, st ctl.Status, now time.Time) {
	c := st.Cluster
	fmt.Fprintf(w, "%s (this node): %s, generation %d, pid %d, up %s\n",
		c.Node, c.State, c.Generation, st.PID, now.Sub(st.Started).Round(time.Second))
	if st.Ping != "" {
		fmt.Fprintf(w, "ping nodes reachable: %s\n", st.Ping)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNODE\tSTATE\tLAST HEARD\tGENERATION\tLOST\tLATE\tDROPPED")
	for _, p := range c.Peers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", p.Name, p.State, ago(now, p.LastHeard), p.Generation,
			p.Lost, p.Late, counts(p.Dropped))
		for _, l := range p.Links {
			fmt.Fprintf(tw, "  link %s\t%s\t%s\t\t\t\t\n", l.Name, l.State, ago(now, l.LastHeard))
		}
	}
	tw.Flush()
	if len(c.Groups) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nGROUP\tPREFERRED\tHOLDER\tSTATE\tSINCE\tLAST ERROR")
		for _, g := range c.Groups {
			holder := g.Holder
			if holder == "" {
				holder = "-"
			}
			state := g.State
			if g.Standby {
				state += " (standby)"
			}
			since := "-"
			if !g.Since.IsZero() {
				since = ago(now, g.Since)
			}
			// LastError quotes script output: escaped, it cannot drive
			// the terminal or break the table.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", g.Key, g.Preferred, holder, state, since, logging.Escape(g.LastError))
		}
		tw.Flush()
	}
	printMonitors(w, st.Monitors, now)
	if len(c.Dropped) > 0 {
		fmt.Fprintf(w, "\nDropped by the core: %s\n", counts(c.Dropped))
	}
	printRejected(w, st, now)
	if len(st.Links) > 0 {
		names := make([]string, 0, len(st.Links))
		for n := range st.Links {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintln(w, "\nLinks:")
		for _, n := range names {
			l := st.Links[n]
			fmt.Fprintf(w, "  %s: sent %d, received %d, send errors %d, queue drops %d, receive drops %d (from peers %d), kernel drops %d\n",
				n, l.Sent, l.Received, l.SendErrors, l.QueueDrops, l.ReceiveDrops, l.PeerDrops, l.KernelDrops)
		}
	}
}

// rejectedShown bounds the senders of rejected packets printed one by one
// (the JSON has them all, at most the daemon's drop table).
const rejectedShown = 10

// printRejected lists the most recent senders of rejected packets and
// the totals of the others: those past rejectedShown, and those the
// daemon's table no longer lists.
func printRejected(w io.Writer, st ctl.Status, now time.Time) {
	if len(st.Rejected) == 0 && st.RejectedEvicted == nil {
		return
	}
	fmt.Fprintln(w, "\nRejected packets (failed to decode or verify), most recent first:")
	for i, r := range st.Rejected {
		if i == rejectedShown {
			more := map[string]uint64{}
			for _, r := range st.Rejected[i:] {
				for k, n := range r.Reasons {
					more[k] += n
				}
			}
			fmt.Fprintf(w, "  %d more senders: %s\n", len(st.Rejected)-i, counts(more))
			break
		}
		who := r.From
		if r.Claimed != "" {
			who += " claiming " + logging.Escape(r.Claimed)
		}
		fmt.Fprintf(w, "  %s: %s (last %s)\n", who, counts(r.Reasons), ago(now, r.LastSeen))
	}
	if e := st.RejectedEvicted; e != nil {
		fmt.Fprintf(w, "  %d senders no longer listed: %s\n", e.Senders, counts(e.Reasons))
	}
}
