package harc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/logging"
)

// Defaults for a Command (and for Options, which passes them on).
const (
	// DefaultTimeout bounds one script operation when nothing else does:
	// Heartbeat has no timeout at all; hbd's ha.cf resource_timeout
	// defaults to the same value.
	DefaultTimeout = 120 * time.Second
	// DefaultKillGrace is how long a timed-out script's process group has
	// between SIGTERM and SIGKILL.
	DefaultKillGrace = 2 * time.Second
	// DefaultOutputLimit is how much of a script's output (the end of it)
	// a Result keeps.
	DefaultOutputLimit = 64 << 10
	// DrainMax bounds the wait for the output a script wrote before it
	// exited, however long the pipes keep flowing (a daemon it left
	// behind may keep writing to them: its start must not wait for that).
	DrainMax = time.Second
	// reapTimeout bounds the wait for a SIGKILLed process to be reaped
	// (a process stuck in uninterruptible sleep cannot die at once).
	reapTimeout = 5 * time.Second
)

// Command is one program run the way harc runs resource scripts and rc.d
// hooks: in its own process group, stdin from /dev/null, stdout and stderr
// captured and logged line by line at debug level, bounded by a timeout
// after which the whole process group is killed.
type Command struct {
	Path string   // the executable
	Args []string // its arguments (not including argv[0])
	Env  []string // the complete environment, "NAME=value"; nil means none

	// Timeout bounds the run; 0 means DefaultTimeout. When it passes (or
	// ctx is cancelled) the process group gets SIGTERM, then after
	// KillGrace (0 means DefaultKillGrace) SIGKILL, and the script is
	// reaped before Run returns.
	Timeout   time.Duration
	KillGrace time.Duration

	// OutputLimit is how many bytes of output the Result keeps (the last
	// ones); 0 means DefaultOutputLimit.
	OutputLimit int

	// Log receives every output line at debug level, tagged Tag[PID] with
	// the script's pid (Tag defaults to the base name of Path). Nil
	// means the output is only kept in the Result.
	Log logrus.FieldLogger
	Tag string

	// Track, when set, is called with the script's pid (its process
	// group) once it has started and before it can be reaped; the
	// function it returns is called once the script has been reaped, or
	// its group killed and gone (Records.Track). It is not called when
	// the group survived the kill: the record stays for the next daemon.
	Track func(pid int) (untrack func())
}

// Result is the outcome of one Command run.
type Result struct {
	Path string   // what ran
	Args []string // with what (the operation last, for resource scripts)
	PID  int      // the script's pid (and process group id); 0 if it never started

	// ExitCode is the script's exit status; -1 when it did not exit on its
	// own (killed by a signal, timed out, cancelled, or never started).
	ExitCode int
	Signal   syscall.Signal // the signal that ended it, if one did
	Duration time.Duration

	// Output is the end (at most OutputLimit bytes) of stdout and stderr
	// together, in the order the lines were read. Stdout is the end of
	// stdout alone: the status rules read only stdout, as Heartbeat does.
	Output string
	Stdout string
	// Truncated says Output lost its beginning to OutputLimit.
	Truncated bool

	TimedOut bool // the timeout passed; the process group was killed
	// Canceled says ctx ended first: the process group was killed (or,
	// with PID 0, the script was never started). Err then wraps ctx.Err().
	Canceled bool
	// Err says the script could not be started or reaped, or ctx ended it.
	Err error
}

// OK reports whether the script ran and exited 0.
func (r Result) OK() bool {
	return r.Err == nil && !r.TimedOut && !r.Canceled && r.ExitCode == 0
}

// Describe says in a few words how the run ended: "exit code 1",
// "timed out after 300ms", "killed by signal 9", ...
func (r Result) Describe() string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("timed out after %v (process group killed)", r.Duration.Round(time.Millisecond))
	case r.Canceled && r.PID != 0:
		return "cancelled (process group killed)"
	case r.Err != nil:
		return r.Err.Error()
	case r.Signal != 0:
		return fmt.Sprintf("killed by signal %d (%v)", int(r.Signal), r.Signal)
	default:
		return fmt.Sprintf("exit code %d", r.ExitCode)
	}
}

// LastLines returns up to n of the last non-empty lines of Output.
func (r Result) LastLines(n int) []string {
	return lastLines(r.Output, n)
}

func lastLines(s string, n int) []string {
	var out []string
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if l := strings.TrimRight(lines[i], "\r"); strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// tail keeps the last limit bytes written to it. Safe for concurrent use;
// after seal it drops further writes.
type tail struct {
	mu        sync.Mutex
	limit     int
	buf       []byte
	truncated bool
	sealed    bool
}

func (t *tail) add(line []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sealed {
		return
	}
	t.buf = append(t.buf, line...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
}

func (t *tail) seal() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sealed = true
	return string(t.buf), t.truncated
}

// maxLine bounds one logged line; longer lines are logged in pieces.
const maxLine = 4096

// Run runs the command. It never blocks longer than the timeout plus the
// kill grace plus a few seconds, whatever the script does (ignores
// SIGTERM, forks children that keep its output open, ...).
func (c Command) Run(ctx context.Context) (res Result) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	grace := c.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	limit := c.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	tag := c.Tag
	if tag == "" {
		tag = baseName(c.Path)
	}
	res = Result{Path: c.Path, Args: c.Args, ExitCode: -1}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()

	if err := ctx.Err(); err != nil {
		res.Canceled = true
		res.Err = fmt.Errorf("%s not run: %w", c.Path, context.Cause(ctx))
		return res
	}

	outR, outW, err := os.Pipe()
	if err != nil {
		res.Err = fmt.Errorf("run %s: %w", c.Path, err)
		return res
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		res.Err = fmt.Errorf("run %s: %w", c.Path, err)
		return res
	}
	// The script gets SIGKILL if this thread ends (start: Pdeathsig),
	// which the process dying ends: a script must not outlive a daemon
	// killed under it, or a start would bring its resource up after the
	// restarted daemon probed and found it stopped. Locked, the thread
	// lives on until the script has been waited for: the runtime ends
	// a thread only under a goroutine that exits locked to it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cmd, err := c.start(outW, errW)
	if err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		res.Err = fmt.Errorf("cannot run %s: %w", c.Path, err)
		return res
	}
	// The child has its copies; ours must go or EOF never comes.
	outW.Close()
	errW.Close()
	pid := cmd.Process.Pid
	res.PID = pid
	untrack := func() {}
	if c.Track != nil {
		untrack = c.Track(pid) // before the Wait below can reap it
	}

	all := &tail{limit: limit}
	stdout := &tail{limit: limit}
	var log logrus.FieldLogger
	if c.Log != nil {
		log = logging.WithTag(c.Log, tag, pid)
	}
	outP, errP := newPipeReader(outR), newPipeReader(errR)
	go outP.read(log, all, stdout)
	go errP.read(log, all, nil)

	waitDone := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(waitDone)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	killed := false
	select {
	case <-waitDone:
	case <-timer.C:
		res.TimedOut = true
		killed = true
	case <-ctx.Done():
		res.Canceled = true
		killed = true
	}
	if killed {
		if err := killGroup(pid, grace, waitDone); err != nil {
			res.Err = fmt.Errorf("%s (pid %d): %w", c.Path, pid, err)
		} else {
			untrack()
			if res.Canceled {
				res.Err = fmt.Errorf("%s (pid %d) stopped: %w", c.Path, pid, context.Cause(ctx))
			}
		}
	} else {
		untrack()
	}

	// Everything the script wrote before it exited is in the pipes, but a
	// daemon it started may hold them open: read what they hold now, and
	// no more (pipe.go).
	drainPipes(DrainMax, outP, errP)
	res.Output, res.Truncated = all.seal()
	res.Stdout, _ = stdout.seal()

	select {
	case <-waitDone:
		if res.Err == nil && !killed {
			res.ExitCode, res.Signal = exitStatus(cmd.ProcessState, waitErr)
		} else if cmd.ProcessState != nil {
			_, res.Signal = exitStatus(cmd.ProcessState, waitErr)
		}
	default:
		// Only after killGroup gave up on a process that would not die.
	}
	return res
}

// Shell is what runs a script the kernel will not execute (no "#!"
// line): Heartbeat's ResourceManager was a shell script, and a POSIX
// shell runs such a file as a shell script itself (execve's ENOEXEC).
const Shell = "/bin/sh"

// start starts the command in its own process group with stdout and
// stderr on the given pipes, killed if the calling thread ends (Run
// keeps it locked to its goroutine until the command was waited for). A file the kernel refuses with ENOEXEC (a
// script without "#!") is started again as `/bin/sh PATH ARGS...`, as
// Heartbeat's shell did; `hbd check` warns about such a script.
func (c Command) start(stdout, stderr *os.File) (*exec.Cmd, error) {
	mk := func(path string, args []string) *exec.Cmd {
		cmd := exec.Command(path, args...)
		cmd.Env = c.Env
		if cmd.Env == nil {
			cmd.Env = []string{}
		}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		return cmd
	}
	cmd := mk(c.Path, c.Args)
	err := cmd.Start()
	if errors.Is(err, syscall.ENOEXEC) {
		cmd = mk(Shell, append([]string{c.Path}, c.Args...))
		err = cmd.Start()
	}
	return cmd, err
}

// exitStatus reads the exit code and the killing signal of a finished
// process.
func exitStatus(ps *os.ProcessState, waitErr error) (int, syscall.Signal) {
	if ps == nil {
		return -1, 0
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal()
	}
	var ee *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &ee) {
		return -1, 0
	}
	return ps.ExitCode(), 0
}

// killGroup ends process group pgid: SIGTERM, then SIGKILL once the group
// is still not empty after grace. It returns once the group leader is
// reaped (waitDone closed) and no member is left, or reapTimeout after the
// SIGKILL.
func killGroup(pgid int, grace time.Duration, waitDone <-chan struct{}) error {
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if groupGone(pgid, waitDone) {
			return nil
		}
		<-tick.C
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	deadline = time.Now().Add(reapTimeout)
	for time.Now().Before(deadline) {
		if groupGone(pgid, waitDone) {
			return nil
		}
		<-tick.C
	}
	select {
	case <-waitDone:
		return fmt.Errorf("process group %d survived SIGKILL for %v", pgid, reapTimeout)
	default:
		return fmt.Errorf("not reaped %v after SIGKILL", reapTimeout)
	}
}

// groupGone reports whether the leader has been reaped and no live process
// is left in the group. Members that died but whose new parent has not
// reaped them yet (zombies) count as gone: they can do nothing more.
func groupGone(pgid int, waitDone <-chan struct{}) bool {
	select {
	case <-waitDone:
	default:
		return false
	}
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	return !groupHasLiveMember(pgid)
}

// groupHasLiveMember scans /proc for a process of group pgid that is not a
// zombie. Without /proc it assumes there is one (the caller then SIGKILLs).
func groupHasLiveMember(pgid int) bool {
	pids, err := procPIDs()
	if err != nil {
		return true
	}
	for _, pid := range pids {
		if st, ok := readProcStat(pid); ok && st.pgrp == pgid && st.live() {
			return true
		}
	}
	return false
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
