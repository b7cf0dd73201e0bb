package ipaddr

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/resources/agents"
)

// Exit codes of the executable form (LSB init-script codes, which is
// what Heartbeat's resource scripts return).
const (
	ExitOK            = 0 // done; status: running
	ExitFailed        = 1 // the operation failed
	ExitBadArgs       = 2 // the arguments are wrong
	ExitNotRunning    = 3 // status: stopped
	ExitUnimplemented = 3 // an operation the agent does not know
)

// opFollowup is the hidden operation of the helper process that sends the
// second burst after a one-shot start has returned.
const opFollowup = "_followup"

// opTimeout bounds any one operation of the executable form.
const opTimeout = 60 * time.Second

// Usage is the executable's usage line.
func Usage(name string) string {
	return fmt.Sprintf("usage: %s IP[/CIDR[/IFACE[/BROADCAST]]] | ip=IP [cidr_netmask=N] [nic=IFACE] [broadcast=B] [iflabel=L] ...  start|stop|status|monitor|announce", name)
}

// Main runs the agent as a resource script: `NAME ARGS... OP`, with the
// operation last, as Heartbeat calls resource.d scripts. status and
// monitor print "running" (exit 0) or "stopped" (exit 3) on stdout;
// start, stop and announce print nothing on stdout and exit 0 or 1; log
// lines and errors go to stderr. Bad arguments exit 2, an unknown
// operation 3.
//
// A one-shot start sends the first announcement burst itself and leaves
// the second to a detached helper process (the same executable, started
// in its own session with the hidden operation _followup, its output to
// /dev/null), so start returns after the first burst; the helper exits
// after the second burst, sooner if the address is gone by then. When the
// running executable cannot be re-run with its own command line (Main
// called from a program that is not this command), start sends the second
// burst itself before returning.
func Main(name string, args []string, stdout, stderr io.Writer) int {
	debug := os.Getenv("HA_debug")
	return run(context.Background(), name, args, stdout, stderr, runMode{stateDir: StateDirFromEnv(), debug: debug != "" && debug != "0"})
}

// runMode is how an operation runs: as a program (Main) or in the
// process of a daemon that holds the address (Run).
type runMode struct {
	stateDir  string
	debug     bool
	inProcess bool
	drain     time.Duration // a stop's drain bound (agents.RunOptions.Drain)
	taker     string        // the node a planned release's address goes to (agents.RunOptions.Taker)
	// linger is told of a release's handover (agents.RunOptions.Linger).
	linger func(done <-chan struct{})
}

// Run runs the agent in the caller's process, as hbd's daemon does for a
// built-in resource: Main's contract (the operation last; the same
// output and exit codes), bounded by ctx, with o.StateDir as HA_RSCTMP.
// A stop with o.Drain drains the address first; with o.Taker, it hands
// over what reaches this node after the removal (Agent.Release), telling
// o.Linger of the handover.
// Without a process to start, its start returns as soon as the address
// is on and the first round of announcements is out; the rest of the
// first burst and the second burst follow in the background (they stop
// once the address is gone).
func Run(ctx context.Context, name string, args []string, o agents.RunOptions) int {
	dir := o.StateDir
	if dir == "" {
		dir = StateDirFromEnv()
	}
	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	return run(ctx, name, args, stdout, stderr, runMode{stateDir: dir, debug: o.Debug, inProcess: true, drain: o.Drain, taker: o.Taker, linger: o.Linger})
}

func run(ctx context.Context, name string, args []string, stdout, stderr io.Writer, m runMode) int {
	if !IsName(name) {
		fmt.Fprintf(stderr, "%s: not an agent of this package (want %s or %s)\n", name, NameIPaddr, NameIPaddr2)
		return ExitBadArgs
	}
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help" || args[0] == "usage") {
		fmt.Fprintln(stdout, Usage(name))
		return ExitOK
	}
	if len(args) < 2 {
		fmt.Fprintln(stderr, Usage(name))
		return ExitBadArgs
	}
	op := args[len(args)-1]
	specArgs := args[:len(args)-1]
	switch op {
	case "start", "stop", "status", "monitor", "announce", opFollowup:
	default:
		fmt.Fprintf(stderr, "%s: unknown operation %q\n%s\n", name, op, Usage(name))
		return ExitUnimplemented
	}
	spec, err := Parse(name, specArgs)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitBadArgs
	}
	log := logrus.New()
	log.SetOutput(stderr)
	log.SetFormatter(lineFormatter{})
	log.SetLevel(logrus.InfoLevel)
	if m.debug {
		log.SetLevel(logrus.DebugLevel)
	}
	burst := Burst{}.withDefaults(spec)
	var steps *stepTimes
	if m.debug {
		steps = newStepTimes()
	}
	began := time.Now()
	a, err := New(spec, Options{StateDir: m.stateDir, Log: log, Burst: Burst{Count: burst.Count, Interval: burst.Interval, Second: -1}})
	if err != nil {
		fmt.Fprintf(stderr, "%s %s: %v\n", name, spec, err)
		return ExitFailed
	}
	steps.mark("netlink")
	closeAgent := true
	defer func() {
		if closeAgent {
			a.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()

	switch op {
	case "status", "monitor":
		running, err := a.Status(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "%s %s: %v\n", name, spec, err)
			return ExitFailed
		}
		if running {
			fmt.Fprintln(stdout, "running")
			return ExitOK
		}
		fmt.Fprintln(stdout, "stopped")
		return ExitNotRunning
	case "start":
		rounds := burst.Count
		if m.inProcess {
			rounds = 1
		}
		if err := a.start(ctx, rounds, steps); err != nil {
			log.Errorf("%s%v", a.prefix, err)
			return ExitFailed
		}
		log.Debugf("%s%s on and announced in %.1f ms (%s ms)", a.prefix, spec.Addr, float64(time.Since(began).Microseconds())/1000, steps)
		if m.inProcess {
			closeAgent = false
			go a.announceRest(burst)
			return ExitOK
		}
		if burst.Second < 0 {
			return ExitOK
		}
		if err := spawnFollowup(args, op); err != nil {
			log.Debugf("%ssecond burst in this process (%v)", a.prefix, err)
			if sleepCtx(ctx, burst.Second) {
				_ = a.announce(ctx, burst.Count)
			}
		}
		return ExitOK
	case "stop":
		// A planned release in a process that lives on, to a node that
		// will announce the address (its taker, drained first or not):
		// hand over the frames that reach this node after the removal
		// (the process waits for the handover through linger before it
		// exits). Only a planned release drains or names a taker.
		hand := m.inProcess && m.taker != ""
		if m.inProcess && m.drain > 0 && !hand {
			log.Debugf("%sno node takes %s after this release: nothing to hand over", a.prefix, spec.Addr)
		}
		var done <-chan struct{}
		if hand {
			done, err = a.Release(ctx, m.drain)
		} else {
			err = a.StopDrained(ctx, m.drain)
		}
		if err != nil {
			log.Errorf("%s%v", a.prefix, err)
			return ExitFailed
		}
		if done != nil && m.linger != nil {
			m.linger(done)
		}
		return ExitOK
	case "announce":
		if err := a.Announce(ctx); err != nil {
			log.Errorf("%s%v", a.prefix, err)
			return ExitFailed
		}
		return ExitOK
	case opFollowup:
		if sleepCtx(ctx, burst.Second) {
			_ = a.announce(ctx, burst.Count)
		}
		return ExitOK
	}
	return ExitUnimplemented
}

// announceRest sends, for a start run in a long-lived process, what a
// start's first round left: the rest of the first burst, then the
// second burst; then it closes the agent. Each round is sent only while
// the address is still on its interface.
func (a *Agent) announceRest(b Burst) {
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if b.Count > 1 && sleepCtx(ctx, b.Interval) {
		_ = a.announce(ctx, b.Count-1)
	}
	if b.Second >= 0 && sleepCtx(ctx, b.Second) {
		_ = a.announce(ctx, b.Count)
	}
}

// spawnFollowup starts the helper that sends the second burst: this very
// executable with this very command line, the operation replaced by
// _followup, in a session of its own (so a resource runner that kills the
// start's process group or waits for its output does not touch it).
func spawnFollowup(args []string, op string) error {
	argv := os.Args
	n := len(argv)
	if n < len(args)+1 || argv[n-1] != op || !slices.Equal(argv[n-len(args):], args) {
		return fmt.Errorf("command line %q does not end with the agent's arguments", argv)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("own executable: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Args = append(append([]string{}, argv[:n-1]...), opFollowup)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start helper: %w", err)
	}
	return cmd.Process.Release()
}

// lineFormatter writes "LEVEL: message" lines, as Heartbeat's resource
// scripts log (the resource runner adds who said it).
type lineFormatter struct{}

func (lineFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	lvl := strings.ToUpper(e.Level.String())
	if e.Level == logrus.WarnLevel {
		lvl = "WARN"
	}
	fmt.Fprintf(&b, "%s: %s\n", lvl, e.Message)
	return b.Bytes(), nil
}
