package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/logging"
)

// printLog adds to `hbd status` one line on the daemon's log writer when
// it dropped lines or a write has not returned for a while, and nothing
// when all is well: an operator whose log went quiet sees why.
func printLog(w io.Writer, h logging.Health, now time.Time) {
	if h.IsZero() {
		return
	}
	var parts []string
	if h.Dropped > 0 {
		n := fmt.Sprintf("%d lines", h.Dropped)
		if h.Dropped == 1 {
			n = "1 line"
		}
		parts = append(parts, n+" dropped since the start (the output did not keep up)")
	}
	if h.Stuck != "" {
		// The name is the daemon's (a log file's path): escaped, it
		// cannot drive the terminal.
		parts = append(parts, fmt.Sprintf("a write to %s has not returned for %s", logging.Escape(h.Stuck),
			max(now.Sub(h.StuckSince), 0).Round(time.Second)))
	}
	fmt.Fprintf(w, "log: %s\n", strings.Join(parts, "; "))
}
