package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/paths"
)

// exitNotConfigured is Heartbeat's exit code for a configuration error
// (LSB: "program is not configured").
const exitNotConfigured = 6

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("c", paths.ConfigDir, "configuration `DIR` (ha.cf, authkeys, haresources)")
	node := fs.String("node", "", "this node's `NAME` (default: uname -n)")
	runDir := fs.String("run-dir", paths.RunDir, "`DIR` for the pid file and the control socket")
	stateDir := fs.String("state-dir", paths.StateDir, "`DIR` for hb_uuid and hb_generation")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hbd run [-c DIR] [--node NAME] [--run-dir DIR] [--state-dir DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	name, err := nodeName(*node)
	if err != nil {
		fmt.Fprintf(stderr, "hbd: %v\n", err)
		return 1
	}
	err = daemon.Run(context.Background(), daemon.Options{
		ConfigDir: *dir, Node: name, RunDir: *runDir, StateDir: *stateDir,
		Version: version, Stderr: stderr,
		Load: loadOptions(name, true), AgentCommand: agentCommand(),
	})
	var cerr *daemon.ConfigError
	switch {
	case errors.As(err, &cerr):
		for _, d := range cerr.Diags {
			fmt.Fprintln(stderr, d.String())
		}
		fmt.Fprintln(stderr, "hbd: configuration error, not started")
		return exitNotConfigured
	case err != nil:
		fmt.Fprintf(stderr, "hbd: %v\n", err)
		return 1
	}
	return 0
}
