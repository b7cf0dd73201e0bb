package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/paths"
	"github.com/hbdproject/hbd/hbd/ping"
	"github.com/hbdproject/hbd/resources/agents"
	"github.com/hbdproject/hbd/resources/builtin"
)

// What every command shares: its flag handling, this node's name, the
// options for loading a configuration, and the call to a running daemon.

// cmdFlags is a command's flag set with its usage text. Every command
// answers the same way: -h (or -help, --help) prints the usage on stdout
// and exits 0; an unknown flag or a bad argument prints the problem and
// the usage on stderr and exits 2.
type cmdFlags struct {
	*flag.FlagSet
	usage  string // "usage: hbd NAME ..." and lines that explain it
	stdout io.Writer
	stderr io.Writer

	// interspersed lets flags follow the arguments (`hbd node list
	// --run-dir DIR`), as operators type them; args holds the arguments
	// then. Commands that pass arguments on to scripts leave it off, so an
	// argument that starts with '-' reaches the script untouched.
	interspersed bool
	args         []string
}

// newFlags starts the flags of command name; usage is its synopsis and
// description, printed above the flags' defaults.
func newFlags(name, usage string, stdout, stderr io.Writer) *cmdFlags {
	f := &cmdFlags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), usage: usage, stdout: stdout, stderr: stderr}
	// parse reports a bad flag and prints the usage itself, on the stream
	// the case calls for.
	f.SetOutput(io.Discard)
	f.Usage = func() {}
	return f
}

// printUsage writes the usage text and, when the command has flags, their
// defaults to w.
func (f *cmdFlags) printUsage(w io.Writer) {
	fmt.Fprintln(w, strings.TrimRight(f.usage, "\n"))
	hasFlags := false
	f.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\noptions:")
		f.SetOutput(w)
		f.PrintDefaults()
		f.SetOutput(io.Discard)
	}
}

// parse parses args. When it returns false the command is over and exits
// with code: 0 after -h, 2 after a bad flag.
func (f *cmdFlags) parse(args []string) (code int, ok bool) {
	f.args = nil
	for {
		err := f.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			f.printUsage(f.stdout)
			return 0, false
		case err != nil:
			return f.usageError("%v", err), false
		}
		rest := f.FlagSet.Args()
		if !f.interspersed {
			f.args = rest
			return 0, true
		}
		i := 0
		for i < len(rest) && (rest[i] == "-" || !strings.HasPrefix(rest[i], "-")) {
			i++
		}
		f.args = append(f.args, rest[:i]...)
		switch {
		case i == len(rest):
			return 0, true
		case rest[i] == "--":
			f.args = append(f.args, rest[i+1:]...)
			return 0, true
		}
		args = rest[i:]
	}
}

// Args is the arguments left after the flags (with interspersed, from
// between and after them too).
func (f *cmdFlags) Args() []string { return f.args }

// NArg is len(Args()).
func (f *cmdFlags) NArg() int { return len(f.args) }

// Arg is Args()[i], or "" past the end.
func (f *cmdFlags) Arg(i int) string {
	if i < 0 || i >= len(f.args) {
		return ""
	}
	return f.args[i]
}

// usageError prints "hbd NAME: " + the message and the usage on stderr,
// and returns the exit code of a usage error, 2.
func (f *cmdFlags) usageError(format string, args ...any) int {
	fmt.Fprintf(f.stderr, "hbd %s: %s\n", f.Name(), fmt.Sprintf(format, args...))
	f.printUsage(f.stderr)
	return 2
}

// helpFlag reports whether arg asks for a command's usage.
func helpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// nodeName is the --node flag's value, or this machine's `uname -n`.
func nodeName(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	h, err := os.Hostname() // the kernel's nodename, what uname -n prints
	if err != nil {
		return "", fmt.Errorf("cannot read this node's name (uname -n): %w; pass --node NAME", err)
	}
	return h, nil
}

// builtinAgents is the registry of the resource agents compiled into hbd
// (resources/builtin names them): a haresources name found neither in
// resource.d nor in /etc/init.d resolves to one of them and runs as `hbd
// agent NAME ...`, their own parsers check haresources, and the daemon
// keeps addresses in place with them. OCF agents are looked for under
// /usr/lib/ocf.
func builtinAgents() *agents.Registry { return builtin.Agents("") }

// agentProgram returns the agent hbd acts as when argv0 names one (hbd
// installed or linked as resource.d/IPaddr2, for instance).
func agentProgram(argv0 string) (agents.Agent, bool) {
	return builtinAgents().Program(filepath.Base(argv0))
}

// machineInterfaces, when set, lists the network interfaces the checks
// of ha.cf's media take this machine to have (config.LoadOptions.
// Interfaces); nil is the machine's own. Tests of the sample
// configuration, which names eth0, set a machine that has it.
var machineInterfaces func() ([]string, error)

// loadOptions are the config.Load options every command uses.
func loadOptions(node string, strict bool) config.LoadOptions {
	o := config.LoadOptions{Node: node, Strict: strict, Lookup: config.Lookup{Agents: builtinAgents()}, Interfaces: machineInterfaces}
	if strict {
		// What hbd run loads, it pings with.
		o.ICMP = ping.CanListen
	}
	return o
}

// agentCommand is how harc runs a built-in agent: this very binary.
func agentCommand() []string {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return []string{exe, "agent"}
}

// optionalArg is a command's one optional argument (what names it in the
// error), def when it has none. More than one is a usage error: ok false,
// and code is the exit code.
func (f *cmdFlags) optionalArg(what, def string) (arg string, code int, ok bool) {
	switch f.NArg() {
	case 0:
		return def, 0, true
	case 1:
		return f.Arg(0), 0, true
	}
	return "", f.usageError("one %s at most, got %d arguments", what, f.NArg()), false
}

// runDirFlag adds --run-dir to a command that talks to the daemon. Its
// default is $HBD_RUN_DIR when set, else paths.RunDir: the variable lets
// the legacy commands, which take no flags of ours, reach a daemon with a
// non-default one (tests, the demo).
func (f *cmdFlags) runDirFlag() *string {
	dir := paths.RunDir
	if d := os.Getenv("HBD_RUN_DIR"); d != "" {
		dir = d
	}
	return f.String("run-dir", dir, "the daemon's run `DIR` ($HBD_RUN_DIR when set)")
}

// ctlTimeout bounds any operator command's wait for the daemon.
const ctlTimeout = 10 * time.Second

// call sends one request to the daemon of runDir; a refusal by the daemon
// is an error. No socket to answer is ctl.ErrNotRunning only while no hbd
// holds the pid file's lock: one that does runs, and is said to.
func call(runDir string, req ctl.Request) (ctl.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	sock := filepath.Join(runDir, ctl.SocketName)
	resp, err := ctl.Call(ctx, sock, req)
	if errors.Is(err, ctl.ErrNotRunning) {
		if pid, held := daemon.PidFileHolder(runDir); held {
			return resp, fmt.Errorf("hbd runs with pid %d (it holds the lock on %s) but nothing answers on its control socket %s; stop it with SIGTERM (service heartbeat stop) and start it again",
				pid, filepath.Join(runDir, ctl.PidFileName), sock)
		}
	}
	if err != nil {
		return resp, err
	}
	if !resp.OK {
		return resp, errors.New(resp.Error)
	}
	return resp, nil
}

// fetchStatus asks the daemon of runDir for its status.
func fetchStatus(runDir string) (ctl.Status, error) {
	var st ctl.Status
	resp, err := call(runDir, ctl.Request{Cmd: "status"})
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(resp.Data, &st); err != nil {
		return st, fmt.Errorf("status reply: %w", err)
	}
	return st, nil
}
