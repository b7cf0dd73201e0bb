package main

import (
	"fmt"
	"io"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// runStandby is `hbd standby [all|foreign|local|failback]` (hb_standby):
// give those groups to the other node.
func runStandby(args []string, stdout, stderr io.Writer) int {
	return groupCommand("standby", "Going standby", `Gives resource groups to the other node (Heartbeat's hb_standby):
  all                every group (the default)
  local              the groups whose preferred node is this one
  foreign, failback  the others
This node then stands by for them: they stay away, auto_failback or not,
until hbd takeover here, until no other node may hold them, or until hbd
restarts here. With backend etcd this is recorded in etcd, under this
node's lease; refused (exit 1) when this node or every other node has
no lease there.`, args, stdout, stderr)
}

// runTakeover is `hbd takeover [all|foreign|local|failback]`
// (hb_takeover): ask the other node to give those groups to this one.
func runTakeover(args []string, stdout, stderr io.Writer) int {
	return groupCommand("takeover", "Taking over", `Asks the other node to give resource groups to this one (Heartbeat's
hb_takeover):
  all                every group (the default)
  local              the groups whose preferred node is this one
  foreign, failback  the others
The other nodes then stand by for them. With backend etcd this is
recorded in etcd; refused (exit 1) as hbd standby is, and while this
node is in standby (hbd node standby).`, args, stdout, stderr)
}

// groupCommand is standby and takeover: send cmd with its one argument to
// the daemon and say verb when it accepted it.
func groupCommand(cmd, verb, explain string, args []string, stdout, stderr io.Writer) int {
	fs := newFlags(cmd, "usage: hbd "+cmd+" [--run-dir DIR] [all|foreign|local|failback]\n"+explain, stdout, stderr)
	fs.interspersed = true
	runDir := fs.runDirFlag()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	which, code, ok := fs.optionalArg("argument", "all")
	if !ok {
		return code
	}
	if _, err := cluster.ParseWhich(which); err != nil {
		return fs.usageError("%v", err)
	}
	if _, err := call(*runDir, ctl.Request{Cmd: cmd, Args: []string{which}}); err != nil {
		fmt.Fprintf(stderr, "hbd %s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s [%s].\n", verb, which)
	return 0
}

// runCleanup is `hbd cleanup [GROUP]`: forget that a group failed here
// (and retry the stop of a stop-failed group) so it may run here again.
func runCleanup(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("cleanup", `usage: hbd cleanup [--run-dir DIR] [GROUP]
Forgets that GROUP (every group when omitted) failed on this node, and
retries the stop of a group whose stop failed, so that it may run here
again. GROUP is any of the group's names: its key, its #hbd name, its
number (its position among the groups), or a resource no other group has (hbd group list
shows them); an unknown or ambiguous name lists the groups (exit 1).`, stdout, stderr)
	fs.interspersed = true
	runDir := fs.runDirFlag()
	if code, ok := fs.parse(args); !ok {
		return code
	}
	which, code, ok := fs.optionalArg("GROUP", "all")
	if !ok {
		return code
	}
	if _, err := call(*runDir, ctl.Request{Cmd: "cleanup", Args: []string{which}}); err != nil {
		fmt.Fprintf(stderr, "hbd cleanup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Cleaned up [%s].\n", which)
	return 0
}
