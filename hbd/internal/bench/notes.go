//go:build linux

package bench

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// A run's notes are plain strings in the report's data
// (docs/benchmarks.json keeps them as the run wrote them). The report
// sums up three kinds per cell instead of listing them run by run; each
// kind is written and read back here, so that the two stay in step.

// noteRequestsMax: a run notes each of its failed requests only when it
// has at most this many (more are counted by cause, not listed).
const noteRequestsMax = 5

// requestNote is a failed request as a run notes it.
type requestNote struct {
	Sent  float64 // ms from the action, to a tenth
	Took  float64 // ms until it failed, to a tenth
	Err   string
	Cause netlab.Cause
}

const (
	requestPrefix = "request sent +"
	requestTook   = " ms failed after "
	requestErr    = " ms ("
)

func (n requestNote) String() string {
	return fmt.Sprintf("%s%.1f%s%.1f%s%s): %s", requestPrefix, n.Sent, requestTook, n.Took, requestErr, n.Err, n.Cause.Describe())
}

// parseRequestNote reads back a requestNote's String.
func parseRequestNote(s string) (requestNote, bool) {
	var n requestNote
	rest, ok := strings.CutPrefix(s, requestPrefix)
	if !ok {
		return n, false
	}
	sent, rest, ok := strings.Cut(rest, requestTook)
	if !ok {
		return n, false
	}
	took, rest, ok := strings.Cut(rest, requestErr)
	if !ok {
		return n, false
	}
	var err error
	if n.Sent, err = strconv.ParseFloat(sent, 64); err != nil {
		return n, false
	}
	if n.Took, err = strconv.ParseFloat(took, 64); err != nil {
		return n, false
	}
	for _, c := range netlab.Causes {
		if e, ok := strings.CutSuffix(rest, "): "+c.Describe()); ok {
			n.Err, n.Cause = e, c
			return n, true
		}
	}
	return n, false
}

// how is the end of a request's error, which says how it failed ("i/o
// timeout", "connection refused"), without the addresses before it.
func (n requestNote) how() string {
	if i := strings.LastIndex(n.Err, ": "); i >= 0 {
		return n.Err[i+2:]
	}
	return n.Err
}

// commandNote is how long a stop, standby or takeover command took to
// return.
type commandNote struct {
	Command string
	Took    time.Duration
}

const (
	commandPrefix = "the "
	commandInfix  = " command returned after "
)

func (n commandNote) String() string {
	return commandPrefix + n.Command + commandInfix + n.Took.Round(time.Millisecond).String()
}

func parseCommandNote(s string) (commandNote, bool) {
	rest, ok := strings.CutPrefix(s, commandPrefix)
	if !ok {
		return commandNote{}, false
	}
	cmd, took, ok := strings.Cut(rest, commandInfix)
	if !ok || strings.Contains(cmd, " ") {
		return commandNote{}, false
	}
	d, err := time.ParseDuration(took)
	if err != nil {
		return commandNote{}, false
	}
	return commandNote{Command: cmd, Took: d}, true
}

// controlNote is what failed in a failback's quiet window before the
// start (failbackControl).
type controlNote struct {
	Window      time.Duration
	Failed, All int
}

const (
	controlPrefix = "in the "
	controlInfix  = " before the start, nothing moving: "
	controlSuffix = " requests failed"
)

func (n controlNote) String() string {
	return fmt.Sprintf("%s%s%s%d of %d%s", controlPrefix, n.Window, controlInfix, n.Failed, n.All, controlSuffix)
}

func parseControlNote(s string) (controlNote, bool) {
	var n controlNote
	rest, ok := strings.CutPrefix(s, controlPrefix)
	if !ok {
		return n, false
	}
	w, rest, ok := strings.Cut(rest, controlInfix)
	if !ok {
		return n, false
	}
	counts, ok := strings.CutSuffix(rest, controlSuffix)
	if !ok {
		return n, false
	}
	var err error
	if n.Window, err = time.ParseDuration(w); err != nil {
		return n, false
	}
	failed, all, ok := strings.Cut(counts, " of ")
	if !ok {
		return n, false
	}
	if n.Failed, err = strconv.Atoi(failed); err != nil {
		return n, false
	}
	if n.All, err = strconv.Atoi(all); err != nil {
		return n, false
	}
	return n, true
}
