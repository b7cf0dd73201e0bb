package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// printEtcdStatus writes the status of a node with `backend etcd`: this
// node's lease (and how long until it would stop its groups unrenewed),
// the members with a live lease, every group with its owner and fencing
// token, then the monitors.
func printEtcdStatus(w io.Writer, st ctl.Status, now time.Time) {
	e := st.Etcd
	state := "active"
	if e.Stopping {
		state = "stopping"
	}
	fmt.Fprintf(w, "%s (this node): %s, backend etcd, pid %d, up %s\n", st.Node, state, st.PID, now.Sub(st.Started).Round(time.Second))
	printLog(w, st.Log, now)
	fmt.Fprintf(w, "etcd: %s, prefix %s\n", strings.Join(e.Endpoints, " "), e.Prefix)
	if e.Lease == "" {
		fmt.Fprintf(w, "lease: none (TTL %s): this node holds no group until etcd grants one\n", e.TTL)
	} else {
		fmt.Fprintf(w, "lease: %s, TTL %s, lives at least %s more; groups stopped in %s unless renewed\n",
			e.Lease, e.TTL, until(now, e.LeaseUntil), until(now, e.StopBy))
	}
	if e.Error != "" {
		fmt.Fprintf(w, "etcd not read: %s\n", e.Error)
	} else {
		fmt.Fprintf(w, "members (live lease): %s\n", strings.Join(e.Members, ", "))
		if len(e.Standby) > 0 {
			fmt.Fprintf(w, "in standby: %s\n", strings.Join(e.Standby, ", "))
		}
	}
	if len(e.Groups) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\nGROUP\tPREFERRED\tOWNER\tTOKEN\tFLAGS\tHERE")
		for _, g := range e.Groups {
			owner, token, here := "-", "-", "-"
			if g.Owner != "" {
				owner, token = g.Owner, fmt.Sprint(g.Token)
			}
			switch {
			case g.StopFailed:
				here = fmt.Sprintf("stop-failed (token %d)", g.RunningToken)
			case g.Running:
				here = fmt.Sprintf("running (token %d)", g.RunningToken)
			case g.Starting:
				here = fmt.Sprintf("starting (token %d)", g.RunningToken)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", g.Key, g.Preferred, owner, token, flags(etcdGroupFlags(g)), here)
		}
		tw.Flush()
	}
	printMonitors(w, st.Monitors, now)
}

// until is how long from now to t ("-" when unknown, 0s when past).
func until(now time.Time, t *time.Time) string {
	if t == nil {
		return "-"
	}
	return max(t.Sub(now), 0).Round(100 * time.Millisecond).String()
}

// etcdGroupFlags are a group's settings and failures as etcd has them:
// settingFlags' words for the settings, then each node where it failed,
// then each node that stands by for it (hbd standby).
func etcdGroupFlags(g ctl.EtcdGroup) []string {
	f := settingFlags(cluster.GroupStatus{Disabled: g.Disabled, MovedTo: g.MovedTo, MovedAway: g.MovedAway})
	for _, n := range g.FailedOn {
		f = append(f, "failed-on:"+n)
	}
	for _, n := range g.StandsBy {
		f = append(f, "hb_standby:"+n)
	}
	return f
}

// printEtcdNodes is hbd node list with the etcd backend: every node of
// ha.cf, a member while its lease lives, and its standby setting.
func printEtcdNodes(w io.Writer, st ctl.Status) {
	e := st.Etcd
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE")
	for _, n := range st.Nodes {
		state := "no lease"
		if slices.Contains(e.Members, n) {
			state = "member"
		}
		if e.Error != "" {
			state = "unknown (etcd not read)"
		}
		state = nodeState(state, slices.Contains(e.Standby, n))
		if n == st.Node {
			state += " (this node)"
		}
		fmt.Fprintf(tw, "%s\t%s\n", n, state)
	}
	tw.Flush()
}

// printEtcdGroups is hbd group list with the etcd backend: each group's
// owner in etcd, its settings and the names it answers to.
func printEtcdGroups(w io.Writer, st ctl.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tOWNER\tTOKEN\tSETTINGS\tNAMES")
	for _, g := range st.Etcd.Groups {
		owner, token := "-", "-"
		if g.Owner != "" {
			owner, token = g.Owner, fmt.Sprint(g.Token)
		}
		names := st.GroupNames[g.Key]
		if len(names) > 0 {
			names = names[1:]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", g.Key, owner, token, flags(etcdGroupFlags(g)), strings.Join(names, " "))
	}
	tw.Flush()
}
