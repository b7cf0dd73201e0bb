package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/paths"
)

// exitNotConfigured is Heartbeat's exit code for a configuration error
// (LSB: "program is not configured"), and `hbd run`'s for a start
// refused for a file in its run or state directory a retry would meet
// again (daemon.FilesError).
const exitNotConfigured = 6

// exitMachineNotReady is `hbd run`'s exit status when every error of the
// configuration is about this machine's state (config.Diag.Machine: an
// interface not there yet, the etcd certificates not yet written, the
// host name not yet set): the
// generic failure, which init/heartbeat.service retries every
// RestartSec up to its start limit, where 6 (the files are wrong) is
// never retried.
const exitMachineNotReady = 1

// configStatus is the exit status of a start refused for diags.
func configStatus(diags []config.Diag) int {
	if config.OnlyMachine(diags) {
		return exitMachineNotReady
	}
	return exitNotConfigured
}

// exitAlreadyRunning is `hbd run`'s exit status when another hbd of
// this node runs (it holds the pid file's or the state directory's
// lock): nothing was started or changed. It is in LSB's range for an
// application's own codes (150-199); 0-7 have LSB meanings that do not
// fit and systemd keeps 200 and above. init/heartbeat.service lists it
// in RestartPreventExitStatus: the other hbd may be releasing its
// groups for minutes after a stop that outlasted TimeoutStopSec, and a
// retry every RestartSec until the start limit would only fill the
// journal.
const exitAlreadyRunning = 150

// runRun is `hbd run` (or hbd with no command): the daemon, in the
// foreground, until SIGTERM or SIGINT.
func runRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", `usage: hbd run [-c DIR] [--node NAME] [--run-dir DIR] [--state-dir DIR]
Runs the daemon in the foreground (hbd with no command does the same) until
SIGTERM or SIGINT; SIGHUP, or a change in DIR, reloads the configuration.
Exit status: 0 stopped, 1 failed (also a refusal about this machine's
state: an interface or address, the host name not set yet, an etcd
certificate file, missing; the ping nodes' ICMP socket refused; a run or
state directory it may not write, or whose file system fails the call),
2 usage error, 6 configuration error (also a state file that cannot be
read back, a pid or lock file that is not a file, a file where a
directory should be, a run directory too long for the control socket's
path, a scripts directory not owned by root or writable by others), 150
another hbd of this node runs (not started).`, stdout, stderr)
	dir := fs.String("c", paths.ConfigDir, "configuration `DIR` (ha.cf, authkeys, haresources)")
	node := fs.String("node", "", "this node's `NAME` (default: uname -n)")
	runDir := fs.String("run-dir", paths.RunDir, "`DIR` for the pid file and the control socket")
	stateDir := fs.String("state-dir", paths.StateDir, "`DIR` for hb_uuid and hb_generation")
	if code, ok := fs.parse(args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return fs.usageError("unexpected argument %q", fs.Arg(0))
	}
	if os.Getpid() == 1 {
		// A container's entry point: the daemon runs as a child, this
		// process reaps what its scripts leave behind (asInit).
		if code, ok := asInit(stderr); ok {
			return code
		}
	}
	name, err := nodeName(*node)
	if err != nil {
		fmt.Fprintf(stderr, "hbd: %v\n", err)
		return 1
	}
	if err := keepProcessName(procComm); err != nil {
		fmt.Fprintf(stderr, "hbd: %v\n", err)
		return 1
	}
	cpus := runtime.GOMAXPROCS(0) // the runtime's default, before runtimeSettings sets it
	runtimeSettings()
	err = daemon.Run(context.Background(), daemon.Options{
		ConfigDir: *dir, Node: name, RunDir: *runDir, StateDir: *stateDir,
		Version: version, Stderr: stderr,
		Load: loadOptions(name, true), AgentCommand: agentCommand(),
		Busy: busyProcs(cpus), ExecEtcd: execEtcd, Ready: readyNotifier(stderr),
	})
	var cerr *daemon.ConfigError
	var running *daemon.RunningError
	var files *daemon.FilesError
	switch {
	case errors.As(err, &cerr):
		for _, d := range cerr.Diags {
			fmt.Fprintln(stderr, d.String())
		}
		code := configStatus(cerr.Diags)
		if code == exitMachineNotReady {
			fmt.Fprintf(stderr, "hbd: this machine is not ready for the configuration, not started (exit status %d: a service manager may retry)\n", code)
		} else {
			fmt.Fprintln(stderr, "hbd: configuration error, not started")
		}
		return code
	case errors.As(err, &running):
		fmt.Fprintf(stderr, "hbd: %v\n", err)
		stop := ""
		if running.Pid > 0 {
			stop = fmt.Sprintf("; if it is not already stopping (`hbd status` says), kill -TERM %d stops it", running.Pid)
		}
		fmt.Fprintf(stderr, "hbd: not started (exit status %d): another hbd of this node runs; it may still be releasing its groups after a stop that timed out (then a resource script's stop holds it up; `hbd status` answers while it runs): wait for it to exit%s\n", exitAlreadyRunning, stop)
		return exitAlreadyRunning
	case errors.As(err, &files):
		fmt.Fprintf(stderr, "hbd: %v\n", err)
		fmt.Fprintf(stderr, "hbd: not started (exit status %d): a retry would meet the same; fix or remove the file named above\n", exitNotConfigured)
		return exitNotConfigured
	case err != nil:
		fmt.Fprintf(stderr, "hbd: %v\n", err)
		return 1
	}
	return 0
}

// daemonProcs is the daemon's GOMAXPROCS unless the environment sets one.
// The daemon's goroutines (a link's reader, the loop) hand each heartbeat
// on to one another; with one P a hand-off is a switch between goroutines
// on one thread, while with more each one wakes a spinning thread (a
// futex wake and a context switch) for a few microseconds of work. Idle
// at keepalive 10 ms this cut the context switches by about 40 % and a
// node's CPU time by 20 to 25 % (docs/benchmarks-history.md, "Idle
// cost at rest"). Resource scripts and agents are processes of their
// own, not limited by it.
const daemonProcs = 1

// busyProcs is what the daemon calls when its first group operation
// begins and when its last one ends (daemon.Options.Busy): GOMAXPROCS
// goes to cpus (at least 2) meanwhile, and back to daemonProcs after.
// cpus is the runtime's own default, which counts the CPUs this process
// may use (its affinity mask and a cgroup's CPU limit: a container
// limited to 2 CPUs on a 64-CPU host gets 2, not 64 threads throttled
// in the middle of a takeover). A script's fork and exec keeps its thread and that
// thread's P until the child has called exec (Go forks with a raw
// CLONE_VFORK system call, which the scheduler does not see): with one P
// each script start held every other goroutine, the event loop and the
// other groups' starts, so a takeover of 32 groups began them one after
// another (docs/benchmarks.md, "Scale of one takeover"). nil (GOMAXPROCS
// stays) when the environment sets GOMAXPROCS.
func busyProcs(cpus int) func(busy bool) {
	if os.Getenv("GOMAXPROCS") != "" {
		return nil
	}
	n := max(2, cpus)
	return func(busy bool) {
		if busy {
			runtime.GOMAXPROCS(n)
		} else {
			runtime.GOMAXPROCS(daemonProcs)
		}
	}
}

// daemonGCPercent is the daemon's heap growth between two collections
// (paceGC) unless the environment sets GOGC or GOMEMLIMIT. Its live heap
// is a few MB, so a collection at 50 % growth instead of 100 % costs well
// under a millisecond when it comes and keeps about 1 MB less resident
// (docs/benchmarks-history.md, "Idle cost at rest, continued").
// daemonGCMinGrowth is the least growth allowed: a live heap of 1 MB
// would otherwise be collected every 500 KB. daemonGCQuiet is how long
// without a collection ends a burst, in which the runtime paces (paceGC).
const (
	daemonGCPercent   = 50
	daemonGCMinGrowth = 1 << 20
	daemonGCQuiet     = 10 * time.Second
)

// runtimeSettings applies daemonProcs, unless the environment sets
// GOMAXPROCS, and paces the collections (paceGC), unless it sets GOGC
// (then the runtime does as it says) or GOMEMLIMIT (a limit of the
// operator's own: GOGC is then daemonGCPercent).
func runtimeSettings() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(daemonProcs)
	}
	switch {
	case os.Getenv("GOGC") != "":
	case os.Getenv("GOMEMLIMIT") != "":
		debug.SetGCPercent(daemonGCPercent)
	default:
		paceGC(daemonGCPercent, daemonGCMinGrowth, daemonGCQuiet)
	}
}
