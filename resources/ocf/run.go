package ocf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The OCF exit codes (ocf-returncodes of resource-agents).
const (
	Success          = 0 // OCF_SUCCESS
	ErrGeneric       = 1 // OCF_ERR_GENERIC
	ErrArgs          = 2 // OCF_ERR_ARGS
	ErrUnimplemented = 3 // OCF_ERR_UNIMPLEMENTED
	ErrPerm          = 4 // OCF_ERR_PERM
	ErrInstalled     = 5 // OCF_ERR_INSTALLED
	ErrConfigured    = 6 // OCF_ERR_CONFIGURED
	NotRunning       = 7 // OCF_NOT_RUNNING
	RunningMaster    = 8 // OCF_RUNNING_MASTER
	FailedMaster     = 9 // OCF_FAILED_MASTER
)

// CodeText names an OCF exit code: "OCF_NOT_RUNNING (not running)".
func CodeText(code int) string {
	switch code {
	case Success:
		return "OCF_SUCCESS"
	case ErrGeneric:
		return "OCF_ERR_GENERIC (generic error)"
	case ErrArgs:
		return "OCF_ERR_ARGS (invalid arguments)"
	case ErrUnimplemented:
		return "OCF_ERR_UNIMPLEMENTED (action not implemented)"
	case ErrPerm:
		return "OCF_ERR_PERM (insufficient permissions)"
	case ErrInstalled:
		return "OCF_ERR_INSTALLED (something the agent needs is not installed)"
	case ErrConfigured:
		return "OCF_ERR_CONFIGURED (the parameters are wrong)"
	case NotRunning:
		return "OCF_NOT_RUNNING (not running)"
	case RunningMaster:
		return "OCF_RUNNING_MASTER (running as master)"
	case FailedMaster:
		return "OCF_FAILED_MASTER (failed as master)"
	}
	return "not an OCF code"
}

// Actions are the operations Main accepts; status is OCF's monitor.
var actions = map[string]string{
	"start": "start", "stop": "stop", "monitor": "monitor", "status": "monitor",
	"meta-data": "meta-data", "validate-all": "validate-all", "reload": "reload",
	"promote": "promote", "demote": "demote", "notify": "notify",
}

// Env returns the agent's environment: base without any OCF_ variables
// it carried, plus OCF_ROOT, OCF_RA_VERSION_MAJOR/MINOR,
// OCF_RESOURCE_INSTANCE, OCF_RESOURCE_TYPE, OCF_RESOURCE_PROVIDER and one
// OCF_RESKEY_NAME=VALUE per parameter.
func (a Agent) Env(base []string) []string {
	env := make([]string, 0, len(base)+8+len(a.Params))
	for _, kv := range base {
		if !strings.HasPrefix(kv, "OCF_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"OCF_ROOT="+a.Root,
		"OCF_RA_VERSION_MAJOR=1",
		"OCF_RA_VERSION_MINOR=0",
		"OCF_RESOURCE_INSTANCE="+a.Instance(),
		"OCF_RESOURCE_TYPE="+a.Type,
		"OCF_RESOURCE_PROVIDER="+a.Provider,
	)
	for _, p := range a.Params {
		env = append(env, "OCF_RESKEY_"+p.Name+"="+p.Value)
	}
	return env
}

// Run runs one OCF action of the agent (`PATH ACTION` with Env of this
// process's environment) and returns its exit code. The error is non-nil
// when the agent could not run or did not exit by itself (the code is
// then -1, or ErrInstalled for a missing agent). When ctx ends the agent
// gets SIGTERM, and SIGKILL 5 s later.
func (a Agent) Run(ctx context.Context, action string, stdout, stderr io.Writer) (int, error) {
	if err := a.Check(); err != nil {
		if errors.Is(err, ErrNotInstalled) {
			return ErrInstalled, err
		}
		return ErrGeneric, err
	}
	cmd := exec.CommandContext(ctx, a.Path(), action)
	cmd.Env = a.Env(os.Environ())
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return Success, nil
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode(), nil
	case ctx.Err() != nil:
		return -1, fmt.Errorf("%s %s: %w (%v)", a.Path(), action, context.Cause(ctx), err)
	default:
		return -1, fmt.Errorf("%s %s: %w", a.Path(), action, err)
	}
}

// Main is `hbd agent ocf:PROVIDER:TYPE|ocf:PATH NAME=VALUE... OP`. OP is
// start, stop, status or monitor (or another OCF action: meta-data,
// validate-all, reload, promote, demote, notify). The agent's stdout goes
// to stderr, except for meta-data. status and monitor print `running`
// (exit 0: OCF_SUCCESS, OCF_RUNNING_MASTER, OCF_FAILED_MASTER) or
// `stopped` (exit 3: OCF_NOT_RUNNING, OCF_ERR_INSTALLED); any other
// answer prints nothing on stdout, says why on stderr and exits 4 (LSB
// "status unknown"). Other actions exit with the agent's code. Bad
// arguments exit 2, an unknown action 3. OCF_ROOT in the environment
// replaces DefaultRoot for the ocf:PROVIDER:TYPE form.
func Main(name string, args []string, stdout, stderr io.Writer) int {
	usage := fmt.Sprintf("usage: hbd agent %s [NAME=VALUE...] start|stop|status|monitor|meta-data|validate-all|reload|promote|demote|notify", name)
	// -h is not an OCF action: it asks for this usage (the agent's own
	// description is its meta-data).
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, usage)
		return 0
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	op, params := args[len(args)-1], args[:len(args)-1]
	a, err := Parse(os.Getenv("OCF_ROOT"), name, params)
	if err != nil {
		fmt.Fprintf(stderr, "ERROR: %v\n", err)
		return 2
	}
	action, ok := actions[op]
	if !ok {
		fmt.Fprintf(stderr, "ERROR: %s: unknown operation %q (start, stop, status, monitor, meta-data, validate-all, reload, promote, demote, notify)\n", a.spec(), op)
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	agentOut := stderr
	if action == "meta-data" {
		agentOut = stdout
	}
	code, err := a.Run(ctx, action, agentOut, stderr)
	who := fmt.Sprintf("%s (%s, instance %s) %s", a.spec(), a.Path(), a.Instance(), action)
	if action == "monitor" {
		switch code {
		case Success, RunningMaster:
			fmt.Fprintln(stdout, "running")
			return 0
		case FailedMaster:
			fmt.Fprintf(stderr, "WARN: %s: %s; counted as running\n", who, CodeText(code))
			fmt.Fprintln(stdout, "running")
			return 0
		case NotRunning:
			fmt.Fprintln(stdout, "stopped")
			return 3
		case ErrInstalled:
			fmt.Fprintf(stderr, "WARN: %s: %s; it cannot run here, counted as stopped\n", who, describe(code, err))
			fmt.Fprintln(stdout, "stopped")
			return 3
		}
		fmt.Fprintf(stderr, "ERROR: %s: %s; status unknown\n", who, describe(code, err))
		return 4
	}
	if err != nil || code != Success {
		fmt.Fprintf(stderr, "ERROR: %s: %s\n", who, describe(code, err))
		if code < 0 {
			return ErrGeneric
		}
	}
	return code
}

func describe(code int, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("exit %d, %s", code, CodeText(code))
}
