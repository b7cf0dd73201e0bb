package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// runStandby is `hbd standby [all|foreign|local]` (hb_standby): give
// those groups to the other node.
func runStandby(args []string, stdout, stderr io.Writer) int {
	return groupCommand("standby", "Going standby", args, stdout, stderr)
}

// runTakeover is `hbd takeover [all|foreign|local]` (hb_takeover): ask
// the other node to give those groups to this one.
func runTakeover(args []string, stdout, stderr io.Writer) int {
	return groupCommand("takeover", "Taking over", args, stdout, stderr)
}

// runCleanup is `hbd cleanup [GROUP]`: forget that a group failed here
// (and retry the stop of a stop-failed group) so it may run here again.
func runCleanup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", runDirFromEnv(), "the daemon's run `DIR`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	which := "all"
	if fs.NArg() > 0 {
		which = fs.Arg(0)
	}
	if _, err := call(*runDir, ctl.Request{Cmd: "cleanup", Args: []string{which}}); err != nil {
		fmt.Fprintf(stderr, "hbd cleanup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Cleaned up [%s].\n", which)
	return 0
}

func groupCommand(cmd, verb string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	runDir := fs.String("run-dir", runDirFromEnv(), "the daemon's run `DIR`")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: hbd %s [--run-dir DIR] [all|foreign|local|failback]\n", cmd)
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	which := "all"
	switch fs.NArg() {
	case 0:
	case 1:
		which = fs.Arg(0)
	default:
		fs.Usage()
		return 2
	}
	switch which {
	case "all", "foreign", "local", "failback":
	default:
		fs.Usage()
		return 2
	}
	if _, err := call(*runDir, ctl.Request{Cmd: cmd, Args: []string{which}}); err != nil {
		fmt.Fprintf(stderr, "hbd %s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s [%s].\n", verb, which)
	return 0
}
