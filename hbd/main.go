// Command hbd is a Heartbeat-v1 style failover daemon.
//
// It is one binary with subcommands: `hbd check` validates /etc/ha.d,
// `hbd run` is the daemon, and so on (`hbd help` lists them). make build
// builds it twice: bin/hbd with -tags noetcd, which links no etcd client
// and hands `backend etcd` to bin/hbd-etcd, the same command built
// without the tag, by executing it in its place (etcdexec.go).
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
		{"status", "show the cluster as the running daemon knows it: nodes, links, groups, fences (--watch: on every change)", runStatus},
		{"mon", "watch the cluster's status, shown again on every change (hbd status --watch, like crm_mon)", runMon},
		{"standby", "give groups to the other node (hb_standby): all|foreign|local|failback", runStandby},
		{"takeover", "take groups from the other node (hb_takeover): all|foreign|local|failback", runTakeover},
		{"cleanup", "forget a group's failure here so it may run here again: cleanup [GROUP]", runCleanup},
		{"node", "node standby|online [NODE], node list: standby cluster wide, from any node", runNode},
		{"group", "group list|disable|enable|move|clear GROUP [NODE]: cluster wide, from any node", runGroup},
		{"settings", "settings list, settings clear KIND NAME: the cluster-wide settings table, also of names not configured here", runSettings},
		{"cl_status", "Heartbeat's cl_status queries (hbstatus, listnodes, nodestatus ...)", runClStatus},
		{"harc", "run a resource group's scripts by hand as the daemon would (takegroup, givegroup, status, listkeys)", runHarc},
		{"agent", "run a built-in resource agent: agent IPaddr2 10.0.0.5/24/eth0 start", runAgent},
		{"install", "register the heartbeat service (systemd unit or SysV init script)", runInstall},
		{"uninstall", "remove what hbd install registered", runUninstall},
		{"version", "print hbd's version", runVersion},
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
	switch {
	case len(args) > 0 && helpFlag(args[0]):
		return runHelp(args[1:], stdout, stderr)
	case len(args) > 0 && versionFlag(args[0]):
		return runVersion(args[1:], stdout, stderr)
	case len(args) == 0 || strings.HasPrefix(args[0], "-"):
		// `hbd` alone (or with run's flags) is the daemon.
		return runRun(args, stdout, stderr)
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

// versionFlag reports whether arg asks for hbd's version.
func versionFlag(arg string) bool {
	switch arg {
	case "-V", "-version", "--version":
		return true
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hbd COMMAND [ARGS...]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "`hbd COMMAND -h` (or `hbd help COMMAND`) shows a command's usage and options.")
}

// runHelp is `hbd help`: the list of commands.
func runHelp(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("help", "usage: hbd help [COMMAND]\nLists the commands, or shows one command's usage and options.", stdout, stderr)
	if code, ok := fs.parse(args); !ok {
		return code
	}
	switch fs.NArg() {
	case 0:
		usage(stdout)
		return 0
	case 1:
		for _, c := range commands() {
			if c.name == fs.Arg(0) && c.name != "help" {
				return c.run([]string{"-h"}, stdout, stderr)
			}
		}
		return fs.usageError("unknown command %q", fs.Arg(0))
	}
	return fs.usageError("one COMMAND at most, got %d arguments", fs.NArg())
}

// runVersion is `hbd version` (also -V, --version).
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "usage: hbd version\nPrints hbd's version (also: hbd -V, hbd --version).", stdout, stderr)
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fs.usageError("unexpected argument %q", fs.Arg(0))
	}
	fmt.Fprintln(stdout, "hbd", version)
	return 0
}
