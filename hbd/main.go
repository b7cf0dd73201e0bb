// Command hbd is a Heartbeat-v1 style failover daemon.
//
// It is one binary with subcommands: `hbd check` validates /etc/ha.d,
// `hbd run` is the daemon, and so on (`hbd help` lists them).
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

// command is one `hbd NAME` subcommand.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists the subcommands in the order `hbd help` shows them. To add
// one, write a func(args, stdout, stderr) int and add a line here.
func commands() []command {
	return []command{
		{"run", "run the daemon in the foreground (also: hbd with no command)", runRun},
		{"check", "validate a configuration directory and summarize the cluster it describes", runCheck},
		{"status", "show nodes, links and packet counters of the running daemon", runStatus},
		{"standby", "give groups to the other node (hb_standby): all|foreign|local", runStandby},
		{"takeover", "take groups from the other node (hb_takeover): all|foreign|local", runTakeover},
		{"cleanup", "forget a group's failure here so it may run here again", runCleanup},
		{"cl_status", "Heartbeat's cl_status queries (hbstatus, listnodes, nodestatus ...)", runClStatus},
		{"harc", "run a resource group's scripts by hand as the daemon would (takegroup, givegroup, status, listkeys)", runHarc},
		{"agent", "run a built-in resource agent: agent IPaddr2 10.0.0.5/24/eth0 start", runAgent},
		{"install", "register the heartbeat service (systemd unit or SysV init script)", runInstall},
		{"uninstall", "remove what hbd install registered", runUninstall},
		{"help", "list the commands", runHelp},
	}
}

func main() {
	args := os.Args[1:]
	if name, ok := legacyName(os.Args[0]); ok {
		// Installed as hb_standby, cl_status ...: behave as that command.
		args = append([]string{name}, args...)
	}
	os.Exit(dispatch(args, os.Stdout, os.Stderr))
}

// dispatch runs the subcommand named by args[0]; 2 is a usage error.
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelpOrVersion(args[0]) {
		// `hbd` alone (or with run's flags) is the daemon, as DESIGN.md says.
		return runRun(args, stdout, stderr)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return runHelp(nil, stdout, stderr)
	case "-V", "-version", "--version", "version":
		fmt.Fprintln(stdout, "hbd", version)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "hbd: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func isHelpOrVersion(a string) bool {
	switch a {
	case "-h", "-help", "--help", "-V", "-version", "--version":
		return true
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hbd COMMAND [ARGS...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`hbd COMMAND -h` shows a command's options.")
}

func runHelp(_ []string, stdout, _ io.Writer) int {
	usage(stdout)
	return 0
}
