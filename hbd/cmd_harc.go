package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/paths"
)

// Exit codes of `hbd harc`.
const (
	harcOK        = 0
	harcFailed    = 1
	harcUsage     = 2
	harcConfigErr = 6 // as heartbeat exits on a configuration error
)

const harcHelp = `usage: hbd harc [-c DIR] [--node NAME] [-v] [--timeout T] COMMAND [ARG]
Runs a resource group's scripts on this node exactly as the daemon would.

commands:
  takegroup GROUP   start the group here, left to right (rolled back on failure)
  givegroup GROUP   stop the group here, right to left
  status GROUP      run each resource's status; print running/stopped and ALL, SOME or NONE
  listkeys [NODE]   list the groups' keys (those NODE prefers, if given)

GROUP is any of the group's names, as for hbd group: its key (its first
resource, e.g. IPaddr::10.0.0.100/24/eth0), its #hbd name, its number (its
position among the groups of haresources: 1, 2, ...), or a resource no other
group has.
Exit status: 0 done, 1 failed, 2 usage error, 6 configuration error.`

// runHarc is `hbd harc COMMAND [ARG]` (also the binary installed as harc).
func runHarc(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("harc", harcHelp, stdout, stderr)
	dir := fs.String("c", paths.ConfigDir, "configuration `DIR` (ha.cf, authkeys, haresources, resource.d/)")
	node := fs.String("node", "", "this node's `NAME` (default: uname -n)")
	verbose := fs.Bool("v", false, "also show debug lines: the scripts' output, status verdicts")
	timeout := fs.Duration("timeout", 0, "bound each script run by `T` (default: ha.cf resource_timeout)")

	// Flags may come before or after the command and its argument.
	var pos []string
	for {
		if code, ok := fs.parse(args); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) == 0 {
		return fs.usageError("no command")
	}
	cmd, rest := pos[0], pos[1:]
	switch {
	case cmd == "listkeys" && len(rest) <= 1,
		(cmd == "takegroup" || cmd == "givegroup" || cmd == "status") && len(rest) == 1:
	default:
		return fs.usageError("bad command line: %s", strings.Join(pos, " "))
	}

	// Scripts get the directory as HA_DIR: make it absolute, so that a
	// script that changes directory still finds it.
	if abs, err := filepath.Abs(*dir); err == nil {
		*dir = abs
	}
	name, err := nodeName(*node)
	if err != nil {
		fmt.Fprintf(stderr, "hbd harc: %v\n", err)
		return harcConfigErr
	}
	cfg, diags := config.Load(*dir, loadOptions(name, false))
	if cfg == nil {
		for _, d := range diags {
			fmt.Fprintln(stderr, d.String())
		}
		fmt.Fprintf(stderr, "hbd harc: %s is not a valid configuration; see `hbd check -c %s`\n", *dir, *dir)
		return harcConfigErr
	}

	if cmd == "listkeys" {
		for _, g := range cfg.Groups {
			if len(rest) == 0 || strings.EqualFold(g.Preferred, rest[0]) {
				fmt.Fprintln(stdout, g.Key())
			}
		}
		return harcOK
	}

	g, err := cfg.FindGroup(rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "hbd harc: %v\n", err)
		return harcUsage
	}
	debug := 0
	if *verbose {
		debug = 1
	}
	lg, err := logging.New(logging.Options{Program: "harc", Stderr: stderr, Outputs: logging.Outputs{Debug: debug}})
	if err != nil {
		fmt.Fprintf(stderr, "hbd harc: %v\n", err)
		return harcFailed
	}
	defer lg.Close()
	opts := harc.FromConfig(cfg)
	opts.BuiltinCommand = agentCommand()
	opts.Log = lg
	if *timeout > 0 {
		opts.Timeout = *timeout
	}
	r, err := harc.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "hbd harc: %v\n", err)
		return harcFailed
	}

	// Ctrl-C kills the running script's process group; a start is then
	// rolled back.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "takegroup":
		if err := r.Start(ctx, g); err != nil {
			fmt.Fprintf(stderr, "hbd harc: %v\n", err)
			if errors.Is(err, harc.ErrStopFailed) {
				fmt.Fprintf(stderr, "hbd harc: %s may still run here: do not start it on another node\n", g.Key())
			}
			return harcFailed
		}
		fmt.Fprintf(stdout, "%s started on %s\n", g.Key(), cfg.ThisNode)
	case "givegroup":
		if err := r.Stop(ctx, g); err != nil {
			fmt.Fprintf(stderr, "hbd harc: %v\n", err)
			return harcFailed
		}
		fmt.Fprintf(stdout, "%s stopped on %s\n", g.Key(), cfg.ThisNode)
	case "status":
		gs, err := r.Status(ctx, g)
		printGroupStatus(stdout, g, gs)
		if err != nil {
			fmt.Fprintf(stderr, "hbd harc: %v\n", err)
			return harcFailed
		}
	}
	return harcOK
}

func printGroupStatus(w io.Writer, g config.Group, gs harc.GroupStatus) {
	fmt.Fprintf(w, "%s (preferred node %s): %s\n", g.Key(), g.Preferred, gs.State)
	width := 0
	for _, rs := range gs.Resources {
		width = max(width, len(rs.Resource))
	}
	for _, rs := range gs.Resources {
		state := "stopped"
		if rs.Running {
			state = "running"
		}
		fmt.Fprintf(w, "  %-*s  %-7s  %s (%s)\n", width, rs.Resource, state, rs.Reason, rs.Result.Duration.Round(time.Millisecond))
	}
}
