//go:build linux

package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// causeCell renders, for the runs of one row and column, how many runs
// (handovers) were measured and their failed requests in all, by what
// each met: "3 in 40: moved 2, stall 1". Runs without tracking count
// apart.
func causeCell(runs []Run) string {
	if len(runs) == 0 {
		return ""
	}
	n, skips, errs, untracked := 0, 0, 0, 0
	total := map[netlab.Cause]int{}
	for _, r := range runs {
		switch {
		case r.Skip:
			skips++
			continue
		case r.Err != "":
			errs++
			continue
		case r.Tracked == nil:
			untracked++
			continue
		}
		n++
		for c, k := range r.Tracked.Causes {
			total[c] += k
		}
	}
	if skips == len(runs) {
		return "n/a"
	}
	sum := 0
	var parts []string
	for _, c := range netlab.Causes {
		if total[c] > 0 {
			sum += total[c]
			parts = append(parts, fmt.Sprintf("%s %d", c, total[c]))
		}
	}
	out := fmt.Sprintf("%d in %d", sum, n)
	if len(parts) > 0 {
		out += ": " + strings.Join(parts, ", ")
	}
	if untracked > 0 {
		out += fmt.Sprintf("; %d not tracked", untracked)
	}
	if errs > 0 {
		out += fmt.Sprintf("; %d failed", errs)
	}
	return out
}

// trackedCell renders a tracked time (pick: Dark or Both), ms with a
// tenth (min / median / max), over the runs that tracked it.
func trackedCell(runs []Run, pick func(Tracked) time.Duration) string {
	var ds []time.Duration
	skips := 0
	for _, r := range runs {
		if r.Skip {
			skips++
		}
		if r.Tracked != nil && r.Err == "" && !r.Skip {
			ds = append(ds, pick(*r.Tracked))
		}
	}
	if len(runs) > 0 && skips == len(runs) {
		return "n/a"
	}
	if len(ds) == 0 {
		return "—"
	}
	slices.Sort(ds)
	tenth := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }
	return tenth(ds[0]) + " / " + tenth(Summarize(ds).Median) + " / " + tenth(ds[len(ds)-1])
}

// trackTables renders the failed requests by cause and the dark time,
// from the address's exact tracking.
func (rep *Report) trackTables(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format+"\n", args...) }
	w("### Failed requests by what they met, all runs")
	w("")
	w("Failed requests of all the runs of a cell, in how many runs (a run of a graceful stop, a failback or a standby is one handover), by what each met, from the VIP's exact add and remove times (the kernel's notifications in each node's namespace): **dark** sent while the VIP was on no node; **both** sent while it was on both; **moved** in flight when it moved; **after move** sent after it moved, nothing answered since; **near move** failed within 100 ms of a move (the tracked times are read late under load: it may have been in flight then); **refused** refused or reset by its holder with the VIP in place; **stall** timed out with the VIP in place, no move within 100 ms, on a holder the client had reached since its last move (the client or the server stalled, not the address: the only cause not the handover's); **unknown** before the tracking.")
	w("")
	rep.tableOf(b, causeCell)
	w("")
	w("### VIP on no node, ms (min / median / max)")
	w("")
	w("From the action to the end of the observation, tracked (to a fraction of a millisecond; each namespace's notifications are read by their own goroutine, less exact under load).")
	w("")
	rep.tableOf(b, func(runs []Run) string { return trackedCell(runs, func(t Tracked) time.Duration { return t.Dark }) })
	w("")
	w("### VIP on both nodes, ms (min / median / max)")
	w("")
	w("As above, tracked; whether the nodes could hear each other or not (a cut node keeps its address, unheard: see \"Duplicate holder\" for the time they could).")
	w("")
	rep.tableOf(b, func(runs []Run) string { return trackedCell(runs, func(t Tracked) time.Duration { return t.Both }) })
	w("")
}

// tableOf renders daemon × settings rows and scenario columns, each cell
// from its runs.
func (rep *Report) tableOf(b *strings.Builder, cell func([]Run) string) {
	fmt.Fprintf(b, "| daemon | settings |")
	for _, sc := range rep.Scenarios {
		fmt.Fprintf(b, " %s |", ScenarioTitle[sc])
	}
	b.WriteString("\n| --- | --- |" + strings.Repeat(" --- |", len(rep.Scenarios)) + "\n")
	for _, s := range rep.Settings {
		for _, d := range rep.ran() {
			t, ok := s.Timing[d.Key]
			if !ok {
				continue
			}
			fmt.Fprintf(b, "| %s | %s |", d.Label, t)
			for _, sc := range rep.Scenarios {
				fmt.Fprintf(b, " %s |", cell(rep.runsOf(d.Key, s.Name, sc)))
			}
			b.WriteString("\n")
		}
	}
}
