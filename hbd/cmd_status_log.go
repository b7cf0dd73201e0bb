package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/logging"
)

// printLog adds to `hbd status` a line for each of the daemon's log
// outputs that dropped lines or has a write that has not returned for a
// while, and nothing when all is well: an operator whose log went quiet
// sees which output and why.
func printLog(w io.Writer, h logging.Health, now time.Time) {
	outs := h.Outputs
	if len(outs) == 0 && (h.Dropped > 0 || h.Stuck != "") {
		// A daemon that predates the outputs' list: its sums.
		outs = []logging.OutputHealth{{Output: h.Stuck, Dropped: h.Dropped, StuckSince: h.StuckSince}}
	}
	for _, o := range outs {
		var parts []string
		if o.Dropped > 0 {
			n := fmt.Sprintf("%d lines", o.Dropped)
			if o.Dropped == 1 {
				n = "1 line"
			}
			parts = append(parts, n+" dropped (it did not keep up)")
		}
		if !o.StuckSince.IsZero() {
			parts = append(parts, fmt.Sprintf("a write has not returned for %s", max(now.Sub(o.StuckSince), 0).Round(time.Second)))
		}
		// The name is the daemon's (a log file's path): escaped, it
		// cannot drive the terminal.
		prefix := "log: "
		if o.Output != "" {
			prefix += logging.Escape(o.Output) + ": "
		}
		fmt.Fprintf(w, "%s%s\n", prefix, strings.Join(parts, "; "))
	}
}

// logKey is what of the log's health redraws the watch: which outputs
// drop lines and which are stuck, not how many lines, which moves.
func logKey(h logging.Health) string {
	var b strings.Builder
	for _, o := range h.Outputs {
		fmt.Fprintf(&b, "%s %v %v|", o.Output, o.Dropped > 0, !o.StuckSince.IsZero())
	}
	fmt.Fprintf(&b, "%v %s", h.Dropped > 0, h.Stuck)
	return b.String()
}
