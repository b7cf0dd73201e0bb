package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/monitor"
)

// printMonitors adds the monitored resources (ha.cf monitor lines) to
// `hbd status`: state, failures within the window against the restarts
// allowed, the last failure and why, and when the next check comes.
func printMonitors(w io.Writer, ms []monitor.ResourceStatus, now time.Time) {
	if len(ms) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMONITORED RESOURCE\tGROUP\tSTATE\tOP\tEVERY\tFAILS\tRESTARTS\tLAST FAILURE\tNEXT CHECK")
	for _, m := range ms {
		last := "-"
		if m.LastFailure != nil {
			last = ago(now, *m.LastFailure)
			if m.LastFailureReason != "" {
				last += ": " + logging.Escape(m.LastFailureReason) // script output: keep it inert
			}
		}
		next := "-"
		if m.NextCheck != nil {
			next = "in " + max(m.NextCheck.Sub(now), 0).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d in %s\t%d\t%s\t%s\n", m.Resource, m.Group, m.State, m.Op, m.Interval,
			m.FailCount, m.Restarts, m.Window, m.LocalRestarts, last, next)
	}
	tw.Flush()
}
