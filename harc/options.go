package harc

import (
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/config"
)

// Defaults of Options.
const (
	// DefaultStopRetries is Heartbeat's HA_STOPRETRYMAX: a failed stop is
	// run again up to 10 times, so 11 runs in all.
	DefaultStopRetries = 10
	// DefaultStopRetryInterval is Heartbeat's pause between stop runs.
	DefaultStopRetryInterval = time.Second
	// DefaultEventTimeout bounds one rc.d hook.
	DefaultEventTimeout = 60 * time.Second
	// DefaultRebootTimeout bounds the reboot command of StopFailureReboot.
	DefaultRebootTimeout = 30 * time.Second
	// DefaultPrefetchMaxAge is Options.PrefetchMaxAge's default: longer
	// than a holder's planned release takes (its stop scripts, ha.cf's
	// drain_time), short enough that an answer read ahead still says
	// what is true when the start comes.
	DefaultPrefetchMaxAge = 10 * time.Second
)

// DefaultRebootCommand is what StopFailureReboot runs, as Heartbeat does:
// an immediate reboot without syncing or stopping services.
var DefaultRebootCommand = []string{"/sbin/reboot", "-nf"}

// StopFailurePolicy is what harc does when a resource will not stop: every
// stop run failed (StopRetries+1 of them) and its status does not say for
// sure that it stopped (see Runner.Stop).
type StopFailurePolicy int

const (
	// StopFailureBlock (the default, ha.cf `on_stop_failure block`): log
	// at CRIT which script failed, its exit code and last output lines,
	// leave the resources to its left running, and return a *StopError
	// (ErrStopFailed). The group stays held by this node, failed, until an
	// operator stops it by hand (`hbd harc givegroup KEY` once fixed); no
	// other node is allowed to start it meanwhile.
	StopFailureBlock StopFailurePolicy = iota

	// StopFailureReboot (`on_stop_failure reboot`) is Heartbeat's
	// behaviour: the same CRIT lines, then "Resource STOP failure. Reboot
	// required!" and Options.RebootCommand (/sbin/reboot -nf by default).
	// A rebooted node no longer runs the group, and its peer, seeing it
	// dead, takes the group over. The *StopError is returned all the same
	// (the reboot may fail, or take a while).
	StopFailureReboot
)

func (p StopFailurePolicy) String() string {
	switch p {
	case StopFailureBlock:
		return "block"
	case StopFailureReboot:
		return "reboot"
	default:
		return fmt.Sprintf("StopFailurePolicy(%d)", int(p))
	}
}

// ParseStopFailurePolicy reads a policy name: "block" or "reboot".
func ParseStopFailurePolicy(s string) (StopFailurePolicy, error) {
	switch strings.ToLower(s) {
	case "block":
		return StopFailureBlock, nil
	case "reboot":
		return StopFailureReboot, nil
	}
	return 0, fmt.Errorf("unknown stop failure policy %q (block or reboot)", s)
}

// Options configure a Runner. Zero values mean the defaults.
type Options struct {
	ConfigDir string             // /etc/ha.d: resource.d/ and rc.d/ live here
	Node      string             // this node (HA_CURHOST); default uname -n
	Log       logrus.FieldLogger // nil: nothing is logged

	// Timeout bounds every script operation (ha.cf resource_timeout);
	// default DefaultTimeout. RunResource can override it per call.
	Timeout time.Duration
	// KillGrace is the time between SIGTERM and SIGKILL to the process
	// group of a script that overran; default DefaultKillGrace.
	KillGrace time.Duration
	// OutputLimit is how many bytes of a script's output a Result keeps;
	// default DefaultOutputLimit.
	OutputLimit int

	// StopRetries is how many times a failed stop is run again (0 means
	// DefaultStopRetries, a negative number means none), and
	// StopRetryInterval the pause before each retry.
	StopRetries       int
	StopRetryInterval time.Duration
	// OnStopFailure is the policy for a stop that failed for good.
	OnStopFailure StopFailurePolicy
	// RebootCommand is run by StopFailureReboot (DefaultRebootCommand if
	// empty), bounded by DefaultRebootTimeout.
	RebootCommand []string

	// StatusRule says how status output is read (StatusHeartbeat).
	StatusRule StatusRule

	// PrefetchMaxAge bounds how old a status read ahead by Prepare may be
	// when Start uses it; default DefaultPrefetchMaxAge.
	PrefetchMaxAge time.Duration

	// EventTimeout bounds one rc.d hook; default DefaultEventTimeout.
	EventTimeout time.Duration

	// Lookup resolves a resource whose Script is unresolved (a Group built by
	// hand rather than by config.Load).
	Lookup config.Lookup
	// BuiltinCommand runs agents compiled into hbd (a Script of kind
	// config.ScriptBuiltin or config.ScriptOCF): the command is
	// BuiltinCommand + Script.AgentArg() + ARGS + OP. Empty: such
	// resources fail with an error that says so.
	BuiltinCommand []string
	// InProcess runs the built-in agents that offer it (agents.Agent.Run:
	// the IP address agents) in this process instead of through
	// BuiltinCommand: no fork and exec between a handover's release and
	// the address on its new node. Bounded by the same timeouts.
	InProcess bool
	// Linger is agents.RunOptions.Linger for the agents run in this
	// process: told of the work they leave running after an operation.
	Linger func(done <-chan struct{})

	// For the scripts' environment (see Runner.Environ): ha.cf logfile,
	// debugfile, logfacility, debug, use_logd; NiceFailback is true unless
	// auto_failback is legacy. RscTmp is HA_RSCTMP (paths.RscTmp),
	// StateDir HA_VARLIB (paths.StateDir). Env adds or overrides
	// variables.
	Logfile, Debugfile, LogFacility string
	Debug                           int
	UseLogd                         bool
	NiceFailback                    bool
	RscTmp                          string
	StateDir                        string
	Env                             map[string]string

	// Records, when set, records every resource script while it runs
	// (not the rc.d hooks), so that the daemon started after this one
	// died can kill what is left of them (Records.KillLeftovers).
	Records *Records

	// PID is the pid shown in the ResourceManager[PID] and harc[PID] log
	// tags; default os.Getpid().
	PID int
}

// FromConfig returns the Options a validated configuration implies: its
// directory, node, resource timeout and logging settings. Log is left to
// the caller, as are the policies hbd's ha.cf does not set yet.
func FromConfig(c *config.Config) Options {
	return Options{
		ConfigDir:    c.Dir,
		Node:         c.ThisNode,
		Timeout:      c.ResourceTimeout,
		Logfile:      c.Logfile,
		Debugfile:    c.Debugfile,
		LogFacility:  c.LogFacility,
		Debug:        c.Debug,
		UseLogd:      c.UseLogd,
		NiceFailback: c.AutoFailback != config.FailbackLegacy,
	}
}
