package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hbdproject/hbd/hbd/paths"
)

// Defaults of Options.
const (
	DefaultSystemdDir = "/run/systemd/system"
)

// Options say how units are driven. The zero value is the machine's own
// setup; tests point the fields at temp dirs and fake commands.
type Options struct {
	// SystemdDir exists when systemd is the init system (sd_booted's
	// test); empty means DefaultSystemdDir.
	SystemdDir string
	// InitDir holds the init scripts; empty means paths.InitDir. With a
	// non-default InitDir the script there is run directly, never through
	// the `service` command (which only knows /etc/init.d).
	InitDir string
	// Systemctl and Service are the commands (looked up on PATH when they
	// have no slash); empty means "systemctl" and "service".
	Systemctl, Service string
}

func (o Options) systemd() bool {
	d := o.SystemdDir
	if d == "" {
		d = DefaultSystemdDir
	}
	fi, err := os.Stat(d)
	return err == nil && fi.IsDir()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// CheckName says whether name can be a unit or init script name: not
// empty, no slash, no whitespace or control characters, not starting with
// `-` (it would be an option).
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("service: the unit name is empty (service::NAME)")
	case name == "." || name == "..":
		return fmt.Errorf("service: %q is not a unit name", name)
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("service: unit name %q starts with `-`", name)
	case strings.ContainsFunc(name, func(r rune) bool { return r == '/' || r <= ' ' || r == 0x7f }):
		return fmt.Errorf("service: unit name %q contains a slash, a space or a control character", name)
	}
	return nil
}

// State is what a status found.
type State int

const (
	Stopped State = iota // not running
	Running              // running
	Unknown              // the status could not tell
)

func (s State) String() string {
	switch s {
	case Running:
		return "running"
	case Stopped:
		return "stopped"
	}
	return "unknown"
}

// Unit is one service as the agent drives it.
type Unit struct {
	Name string
	Opts Options
	// Log receives the commands' output (stdout and stderr), as harc
	// expects a script's chatter: on stderr. Nil discards it.
	Log io.Writer
}

// command returns the argv that runs op ("start", "stop", or "status")
// for the unit, and whether it is systemctl's.
func (u Unit) command(op string) ([]string, bool, error) {
	if u.Opts.systemd() {
		if op == "status" {
			op = "is-active"
		}
		return []string{orDefault(u.Opts.Systemctl, "systemctl"), op, u.Name}, true, nil
	}
	if u.Opts.InitDir == "" {
		if p, err := exec.LookPath(orDefault(u.Opts.Service, "service")); err == nil {
			return []string{p, u.Name, op}, false, nil
		}
	}
	script := filepath.Join(orDefault(u.Opts.InitDir, paths.InitDir), u.Name)
	fi, err := os.Stat(script)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("service %s: systemd does not run here (no %s), and there is no init script %s (%v)",
			u.Name, orDefault(u.Opts.SystemdDir, DefaultSystemdDir), script, err)
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return nil, false, fmt.Errorf("service %s: init script %s is not an executable file (chmod 755 %s)", u.Name, script, script)
	}
	return []string{script, op}, false, nil
}

// outcome is one command run.
type outcome struct {
	argv   []string
	stdout string
	output string // stdout and stderr, interleaved
	code   int    // exit code; -1 if it did not exit by itself
	err    error  // why it did not run or exit by itself
}

func (o outcome) describe() string {
	var how string
	if o.err != nil {
		how = o.err.Error()
	} else {
		how = fmt.Sprintf("exit status %d", o.code)
	}
	s := fmt.Sprintf("%s: %s", strings.Join(o.argv, " "), how)
	if out := strings.TrimSpace(o.output); out != "" {
		s += ": " + strings.Join(strings.Fields(out), " ")
	}
	return s
}

func (u Unit) run(ctx context.Context, argv []string) outcome {
	var stdout, all bytes.Buffer
	log := u.Log
	if log == nil {
		log = io.Discard
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout = io.MultiWriter(&stdout, &all, log)
	cmd.Stderr = io.MultiWriter(&all, log)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	err := cmd.Run()
	o := outcome{argv: argv, stdout: stdout.String(), output: all.String(), code: 0}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		o.code = ee.ExitCode()
	default:
		o.code, o.err = -1, err
	}
	return o
}

// Start starts the unit. The error names the unit, the command and its
// output.
func (u Unit) Start(ctx context.Context) error {
	return u.do(ctx, "start")
}

// Stop stops the unit. A stop that fails while the status says stopped
// (e.g. systemctl stop of a unit that is not loaded) succeeds.
func (u Unit) Stop(ctx context.Context) error {
	err := u.do(ctx, "stop")
	if err == nil {
		return nil
	}
	if st, serr := u.Status(ctx); st == Stopped && serr == nil {
		if u.Log != nil {
			fmt.Fprintf(u.Log, "WARN: %v; its status says stopped, so the stop counts as done\n", err)
		}
		return nil
	}
	return err
}

func (u Unit) do(ctx context.Context, op string) error {
	argv, _, err := u.command(op)
	if err != nil {
		return err
	}
	if o := u.run(ctx, argv); o.err != nil || o.code != 0 {
		return fmt.Errorf("service %s: %s failed: %s", u.Name, op, o.describe())
	}
	return nil
}

// Status says whether the unit runs. systemd: `systemctl is-active`
// exit 0, or the states active, reloading, refreshing and deactivating
// (its processes may still run), are Running; inactive, failed,
// activating, maintenance and unknown (no such unit) are Stopped; any other answer is Unknown,
// with an error. Init scripts (LSB): exit 0 is Running; 1, 2 and 3 (dead,
// or not running) Stopped; anything else Unknown.
func (u Unit) Status(ctx context.Context) (State, error) {
	argv, systemd, err := u.command("status")
	if err != nil {
		return Unknown, err
	}
	o := u.run(ctx, argv)
	if o.err != nil {
		return Unknown, fmt.Errorf("service %s: status failed: %s", u.Name, o.describe())
	}
	if systemd {
		switch state := strings.TrimSpace(o.stdout); {
		case o.code == 0, state == "active", state == "reloading", state == "refreshing", state == "deactivating":
			return Running, nil
		case state == "inactive", state == "failed", state == "activating", state == "maintenance", state == "unknown":
			return Stopped, nil
		}
		return Unknown, fmt.Errorf("service %s: status unknown: %s", u.Name, o.describe())
	}
	switch o.code {
	case 0:
		return Running, nil
	case 1, 2, 3:
		return Stopped, nil
	}
	return Unknown, fmt.Errorf("service %s: status unknown: %s", u.Name, o.describe())
}

// Main is the agent: `hbd agent service NAME start|stop|status|monitor`.
// start and stop exit 0, or 1 with the error on stderr; status and
// monitor print `running` (exit 0) or `stopped` (exit 3), or nothing
// (exit 4, LSB "unknown", with the reason on stderr). Bad arguments exit
// 2, an unknown operation 3.
func Main(args []string, stdout, stderr io.Writer) int {
	return Run(Options{}, args, stdout, stderr)
}

// Run is Main with Options.
func Run(opts Options, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: hbd agent service NAME start|stop|status|monitor"
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help" || args[0] == "usage") {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) != 2 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	name, op := args[0], args[1]
	if err := CheckArgs(args[:1]); err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	u := Unit{Name: name, Opts: opts, Log: stderr}
	switch op {
	case "start", "stop":
		f := u.Start
		if op == "stop" {
			f = u.Stop
		}
		if err := f(ctx); err != nil {
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 1
		}
		return 0
	case "status", "monitor":
		st, err := u.Status(ctx)
		switch {
		case err != nil:
			fmt.Fprintf(stderr, "ERROR: %v\n", err)
			return 4
		case st == Running:
			fmt.Fprintln(stdout, "running")
			return 0
		default:
			fmt.Fprintln(stdout, "stopped")
			return 3
		}
	}
	fmt.Fprintf(stderr, "ERROR: service %s: unknown operation %q (start, stop, status, monitor)\n", name, op)
	return 3
}
