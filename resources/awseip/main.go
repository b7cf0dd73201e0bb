package awseip

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Exit codes of Main, LSB's.
const (
	ExitOK            = 0 // done; for status: running
	ExitError         = 1 // generic failure
	ExitUsage         = 2 // wrong arguments
	ExitStopped       = 3 // status: not associated with this instance
	ExitPrivilege     = 4 // start/stop: EC2 said UnauthorizedOperation; status: unknown
	ExitNotConfigured = 6 // a bad parameter
)

const usageText = `usage: awseip ALLOCATION_ID [NAME=VALUE...] start|stop|status|monitor
  NAME=VALUE: instance=i-… region=… private_ip=… stop=keep|disassociate
              ec2_endpoint=URL imds_endpoint=URL timeout=30s imds_timeout=2s attempts=8
  in haresources: awseip::eipalloc-0123456789abcdef0[::NAME=VALUE]...`

// Main runs the agent as a resource script, the way harc and Heartbeat
// call resource.d scripts: the parameters, then the operation.
//
//	awseip eipalloc-0123abcd [NAME=VALUE...] start|stop|status|monitor
//
// status (and monitor, its alias) prints "running" or "stopped" on stdout,
// nothing else, and exits 0 or 3; if EC2 cannot be asked it prints nothing
// and exits 4 (unknown), so Heartbeat's rule reads it as stopped. start and
// stop print one line saying what they did on stdout and exit 0, or print
// the error on stderr and exit 1 (4 for a permission error, 6 for a bad
// parameter, 2 for a usage error). Progress lines (the IMDS lookup, each
// EC2 call with its duration) go to stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help" || args[0] == "usage") {
		fmt.Fprintln(stdout, usageText)
		return ExitOK
	}
	if len(args) < 2 {
		fmt.Fprintln(stderr, usageText)
		return ExitUsage
	}
	op := args[len(args)-1]
	switch op {
	case "start", "stop", "status", "monitor":
	default:
		fmt.Fprintf(stderr, "awseip: unknown operation %q\n%s\n", op, usageText)
		return ExitUsage
	}
	p, err := ParseParams(args[:len(args)-1])
	if err != nil {
		fmt.Fprintf(stderr, "awseip: %v\n", err)
		return ExitNotConfigured
	}
	a := New(p, Options{Log: prefixed{stderr}})
	ctx := context.Background()
	switch op {
	case "start":
		st, err := a.Start(ctx)
		if err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "awseip: %s\n", st)
	case "stop":
		st, err := a.Stop(ctx)
		if err != nil {
			return fail(stderr, err)
		}
		switch {
		case p.Stop == StopKeep:
			fmt.Fprintf(stdout, "awseip: %s left associated (stop=keep)\n", p.AllocationID)
		default:
			fmt.Fprintf(stdout, "awseip: %s\n", st)
		}
	default: // status, monitor
		st, err := a.Status(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "awseip: status unknown: %v\n", err)
			return ExitPrivilege
		}
		fmt.Fprintf(stderr, "awseip: %s\n", st)
		if st.Running {
			fmt.Fprintln(stdout, "running")
			return ExitOK
		}
		fmt.Fprintln(stdout, "stopped")
		return ExitStopped
	}
	return ExitOK
}

func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "awseip: ERROR: %s\n", oneLine(err.Error()))
	var e *Error
	if errors.As(err, &e) && e.IAMAction != "" {
		return ExitPrivilege
	}
	return ExitError
}

// prefixed writes each line it is given with "awseip: " in front.
type prefixed struct{ w io.Writer }

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(p.w, "awseip: %s", b); err != nil {
		return 0, err
	}
	return len(b), nil
}
