package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/logging"
)

// runStatus is `hbd status [--run-dir DIR] [--json] [--watch [--interval D]]`.
func runStatus(args []string, stdout, stderr io.Writer) int {
	return statusCommand("status", false, `usage: hbd status [--run-dir DIR] [--json] [--watch [--interval D]]
Shows the cluster as the running daemon knows it: every node with its state,
flags (standby ...) and links, every resource group with its holder, state
and flags (disabled, moved, failed ...), the fences a takeover waits for,
the monitors, the packets this node dropped or rejected, and, if any, the
log lines it dropped and a log write that has not returned for 5s or more.
With --watch (or as `+"`hbd mon`"+`) it shows the status again whenever it
changes, like crm_mon: redrawn in place on a terminal, one full status per
change in plain text otherwise; Ctrl-C stops it.
Exit status: 0 shown, 1 no answer or a bad reply (a daemon that runs but does not
answer, or refuses), 2 usage error, 3 the daemon is not running.`, args, stdout, stderr)
}

// runMon is `hbd mon`: `hbd status --watch`, as crm_mon is Pacemaker's.
func runMon(args []string, stdout, stderr io.Writer) int {
	return statusCommand("mon", true, `usage: hbd mon [--run-dir DIR] [--interval D]
The same as `+"`hbd status --watch`"+`: the cluster as the running daemon knows
it, shown again whenever it changes, like crm_mon: redrawn in place on a
terminal, one full status per change in plain text otherwise; Ctrl-C stops it.
Exit status: 0 stopped, 1 no answer at first (a daemon that runs but does not
answer, or refuses), 2 usage error, 3 the daemon is not running.`, args, stdout, stderr)
}

// statusCommand is hbd status, or with watching on hbd mon.
func statusCommand(name string, watching bool, usage string, args []string, stdout, stderr io.Writer) int {
	fs := newFlags(name, usage, stdout, stderr)
	fs.interspersed = true
	runDir := fs.runDirFlag()
	asJSON, watch := new(bool), &watching
	if !watching {
		asJSON = fs.Bool("json", false, "print the status as JSON")
		watch = fs.Bool("watch", false, "show the status again on every change until interrupted")
	}
	interval := fs.Duration("interval", defaultWatchInterval, "watching: ask the daemon every `D` (at least "+minWatchInterval.String()+")")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fs.usageError("unexpected argument %q", fs.Arg(0))
	}
	if *watch {
		if *asJSON {
			return fs.usageError("--watch shows text; --json is one status")
		}
		if *interval < minWatchInterval {
			return fs.usageError("--interval %s: at least %s", *interval, minWatchInterval)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		f, ok := stdout.(*os.File)
		w := &watcher{name: name, fetch: func() (ctl.Status, error) { return fetchStatus(*runDir) }, out: stdout, errOut: stderr, tty: ok && isTerminal(f),
			interval: *interval, now: time.Now}
		return w.run(ctx)
	}
	resp, err := call(*runDir, ctl.Request{Cmd: "status"})
	if err != nil {
		fmt.Fprintf(stderr, "hbd %s: %v\n", name, err)
		return noAnswerCode(err)
	}
	if *asJSON {
		var v any
		if err := json.Unmarshal(resp.Data, &v); err != nil {
			fmt.Fprintf(stderr, "hbd %s: %v\n", name, err)
			return 1
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return 0
	}
	var st ctl.Status
	if err := json.Unmarshal(resp.Data, &st); err != nil {
		fmt.Fprintf(stderr, "hbd %s: %v\n", name, err)
		return 1
	}
	printStatus(stdout, st, time.Now())
	return 0
}

// noAnswerCode is the exit status of a status command the daemon did not
// answer: 3 (LSB "program is not running") only when it does not run; a
// daemon that runs and does not answer, or refuses, is 1.
func noAnswerCode(err error) int {
	if errors.Is(err, ctl.ErrNotRunning) {
		return 3
	}
	return 1
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

// printStatus writes the cluster as this node knows it: the log's trouble
// if it has any (printLog), every node with its state, flags and links,
// every group with its holder, state and flags, the fences a takeover
// waits for, the monitors, then this node's packet counters.
func printStatus(w io.Writer, st ctl.Status, now time.Time) {
	if st.Etcd != nil {
		printEtcdStatus(w, st, now)
		return
	}
	c := st.Cluster
	fmt.Fprintf(w, "%s (this node): %s, generation %d, pid %d, up %s\n",
		c.Node, c.State, c.Generation, st.PID, now.Sub(st.Started).Round(time.Second))
	if st.Ping != "" {
		fmt.Fprintf(w, "ping nodes reachable: %s\n", st.Ping)
	}
	printLog(w, st.Log, now)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNODE\tSTATE\tFLAGS\tLAST HEARD\tGENERATION\tLOST\tLATE\tDROPPED")
	fmt.Fprintf(tw, "%s\t%s\t%s\tthis node\t%d\t\t\t\n", c.Node, c.State, flags(selfFlags(c)), c.Generation)
	for _, p := range c.Peers {
		f := peerFlags(p, now)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", p.Name, p.State, flags(f), ago(now, p.LastHeard), p.Generation,
			p.Lost, p.Late, counts(p.Dropped))
		for _, l := range p.Links {
			fmt.Fprintf(tw, "  link %s\t%s\t\t%s\t\t\t\t\n", l.Name, l.State, ago(now, l.LastHeard))
		}
	}
	tw.Flush()
	if len(c.Groups) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nGROUP\tPREFERRED\tHOLDER\tSTATE\tFLAGS\tSINCE\tLAST ERROR")
		for _, g := range c.Groups {
			holder := g.Holder
			if holder == "" {
				holder = "-"
			}
			since := "-"
			if !g.Since.IsZero() {
				since = ago(now, g.Since)
			}
			// LastError quotes script output: escaped, it cannot drive
			// the terminal or break the table.
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Key, g.Preferred, holder, g.State, flags(groupFlags(g, now)), since, logging.Escape(g.LastError))
		}
		tw.Flush()
	}
	if len(c.Fences) > 0 {
		fmt.Fprintln(w, "\nTakeover waits for:")
		for _, f := range c.Fences {
			fmt.Fprintf(w, "  %s: silent since %s, %s\n", f.Node, ago(now, f.Since), fenceState(f))
		}
	}
	if c.StartsBlocked != "" {
		fmt.Fprintf(w, "\nNo group starts here now: %s\n", c.StartsBlocked)
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
			if l.Steered {
				fmt.Fprintf(w, "    routine heartbeats read at wake-ups %d, routine floods %d\n", l.RoutineRead, l.Floods)
			}
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

// flags joins a row's flags, "-" for none.
func flags(f []string) string {
	if len(f) == 0 {
		return "-"
	}
	return strings.Join(f, ",")
}

// settingFlags are a group's cluster-wide operator settings, as hbd
// status and hbd group list show them: disabled, moved-to:NODE,
// moved-away:NODE (one word each, for grep and awk).
func settingFlags(g cluster.GroupStatus) []string {
	var f []string
	if g.Disabled {
		f = append(f, "disabled")
	}
	if g.MovedTo != "" {
		f = append(f, "moved-to:"+g.MovedTo)
	}
	if g.MovedAway != "" {
		f = append(f, "moved-away:"+g.MovedAway)
	}
	return f
}

// selfFlags are this node's flags: operator standby, no quorum, stopping.
func selfFlags(c cluster.Status) []string {
	var f []string
	if c.InStandby {
		f = append(f, "standby")
	}
	if c.NoQuorum {
		f = append(f, "no-quorum")
	}
	if c.Stopping {
		f = append(f, "stopping")
	}
	if c.Quiet > 0 {
		f = append(f, "quiet("+c.Quiet.String()+")")
	}
	return f
}

// peerFlags are what `hbd status` says of a peer beside its state: in
// standby; quiet (holding nothing, it sends its status every Quiet) with
// the time it is declared dead if not heard before.
func peerFlags(p cluster.PeerStatus, now time.Time) []string {
	var f []string
	if p.InStandby {
		f = append(f, "standby")
	}
	if p.Quiet > 0 {
		q := "quiet(" + p.Quiet.String()
		if !p.DeadAt.IsZero() {
			q += ",dead-in-" + max(p.DeadAt.Sub(now), 0).Round(time.Millisecond).String()
		}
		f = append(f, q+")")
	}
	return f
}

// groupFlags are a group's operator settings (settingFlags) and what
// holds it off a node here (failures, hb_standby, yielding).
func groupFlags(g cluster.GroupStatus, now time.Time) []string {
	f := settingFlags(g)
	if g.Failed {
		until := "until cleanup"
		if !g.FailedUntil.IsZero() {
			until = "for " + max(g.FailedUntil.Sub(now), 0).Round(time.Second).String()
		}
		f = append(f, fmt.Sprintf("failed-here(%d,%s)", g.FailCount, until))
	} else if g.FailCount > 0 {
		f = append(f, fmt.Sprintf("failures(%d)", g.FailCount))
	}
	if g.Standby {
		f = append(f, "hb_standby")
	}
	if g.Yielding {
		f = append(f, "yielding")
	}
	return f
}

// fenceState says where the fencing of a silent peer stands.
func fenceState(f cluster.FenceWait) string {
	switch {
	case f.NoMethod:
		return "no fencing method: waits until it is heard again or `hbd node fenced " + f.Node + "`"
	case f.InFlight:
		return fmt.Sprintf("being fenced (attempt %d)", f.Attempts)
	case f.Attempts > 0:
		return fmt.Sprintf("fencing failed %s, retrying", plural(f.Attempts, "time"))
	}
	return "not fenced yet"
}
