package daemon

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"golang.org/x/sys/unix"
)

// pidFile is the daemon's pid file (the pid in decimal and a
// newline), held under an exclusive flock for the daemon's whole life,
// and the same in the state directory's lock file. The kernel drops a
// lock when the process exits, even a kill -9, and before its parent
// reaps it: a lock that can be taken means no hbd runs from the file,
// whatever pid it names.
type pidFile struct {
	path string
	f    *os.File
	// state is the lock file in the state directory (nil without one).
	// A service manager removes the run directory when the unit stops
	// (systemd's RuntimeDirectory), also under an hbd that outlived a
	// stop that timed out; the state directory stays, and its lock keeps
	// refusing a second hbd while that one still releases its groups.
	state *pidFile
}

// RunningError is a start refused because another hbd runs from the
// same run or state directory: it holds the lock of Path, or (an hbd
// from before the lock) Path names it. The refused start changed
// nothing; a service manager should not retry it (hbd run exits with a
// status of its own, cmd_run.go), since the other hbd may run for as
// long as its groups take to stop.
type RunningError struct {
	Pid  int    // the other hbd's pid, 0 when the file names none
	Path string // the file it holds
	msg  string
}

func (e *RunningError) Error() string { return e.msg }

// StateLockName is the lock file in the state directory.
const StateLockName = "hbd.lock"

// pidFileTries bounds the retries when the file is replaced between
// the open and the lock (an hbd that stops removes it).
const pidFileTries = 5

// takePidFile locks the state directory's lock file (when stateDir is
// not empty), then runDir's pid file, and writes our pid in both,
// refusing when another hbd runs from either (two daemons of one node
// would fight over the control socket and the resources). note, when
// not empty, says what a file named before and why it did not count.
func takePidFile(runDir, stateDir string) (p *pidFile, note string, err error) {
	var state *pidFile
	if stateDir != "" {
		if err := os.MkdirAll(stateDir, 0o750); err != nil {
			return nil, "", fmt.Errorf("state directory: %w", err)
		}
		state, note, err = lockRetrying(filepath.Join(stateDir, StateLockName), stateLockWhat, false)
		if err != nil {
			return nil, "", err
		}
	}
	if err := os.MkdirAll(runDir, 0o750); err != nil {
		state.release()
		return nil, "", fmt.Errorf("run directory: %w", err)
	}
	p, runNote, err := lockRetrying(filepath.Join(runDir, ctl.PidFileName), pidFileWhat, true)
	if err != nil {
		state.release()
		return nil, "", err
	}
	p.state = state
	return p, joinNotes(note, runNote), nil
}

// What the messages call each file takePidFile locks.
const (
	pidFileWhat   = "pid file"
	stateLockWhat = "state directory's lock file"
)

// lockRetrying locks the file at path, trying again when it is replaced
// while being locked; what names the file in the errors and the note
// (pidFileWhat, stateLockWhat). legacy says that an hbd from before the lock may
// have written the file without locking it (the run directory's pid
// file; no such hbd wrote the state directory's lock file, whose pid,
// once the lock is ours, is no running hbd's).
func lockRetrying(path, what string, legacy bool) (*pidFile, string, error) {
	for range pidFileTries {
		p, note, err := lockPidFile(path, what, legacy)
		if p != nil || err != nil {
			return p, note, err
		}
	}
	return nil, "", fmt.Errorf("%s %s: replaced %d times while being locked; is another hbd starting and stopping?", what, path, pidFileTries)
}

// joinNotes joins the non-empty notes with "; ".
func joinNotes(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}

// lockPidFile is one try of takePidFile: nil, nil when path was replaced
// or removed between the open and the lock.
func lockPidFile(path, what string, legacy bool) (*pidFile, string, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", what, err) // the error names path
	}
	if err := flockExiting(f); err != nil {
		old, _ := readPid(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, "", &RunningError{Pid: old, Path: path,
				msg: fmt.Sprintf("hbd is already running with pid %s: it holds the lock on %s", describePid(old), path)}
		}
		return nil, "", fmt.Errorf("%s %s: lock: %w", what, path, err)
	}
	if !samePath(f, path) {
		f.Close()
		return nil, "", nil
	}
	note, err := checkUnlocked(f, path, what, legacy)
	if err != nil {
		f.Close()
		return nil, "", err
	}
	b := []byte(strconv.Itoa(os.Getpid()) + "\n")
	// In place, not replaced: the lock is on this file. Written before the
	// truncation, so a reader never finds the file empty once it had a pid.
	_, err = f.WriteAt(b, 0)
	if err == nil {
		err = f.Truncate(int64(len(b)))
	}
	if err != nil {
		f.Close()
		return nil, "", fmt.Errorf("write %s %s: %w", what, path, err)
	}
	return &pidFile{path: path, f: f}, note, nil
}

// exitingWait bounds the wait for the lock of an hbd that is exiting.
const exitingWait = 2 * time.Second

// flockExiting takes f's lock. While the pid it names is a zombie or
// gone, it waits for the lock up to exitingWait: a multi-threaded
// process shows as a zombie once its first thread has exited, and the
// kernel drops its lock when the last one has, a few milliseconds later.
func flockExiting(f *os.File) error {
	deadline := time.Now().Add(exitingWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		pid, ok := readPid(f)
		if !ok {
			return err
		}
		if p := inspectPid(pid); !p.gone && p.state != "Z" && p.state != "X" {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkUnlocked judges the pid a file we locked names: an hbd that
// wrote it without a lock (an older hbd, when legacy) may still run. A
// pid that is gone, a zombie, or another program (the pid reused) does
// not count, nor does an hbd when no unlocked writer can have been.
func checkUnlocked(f *os.File, path, what string, legacy bool) (string, error) {
	pid, ok := readPid(f)
	if !ok || pid == os.Getpid() {
		return "", nil
	}
	p := inspectPid(pid)
	switch {
	case p.gone:
		return fmt.Sprintf("%s %s named pid %d, which no longer runs; taken over", what, path, pid), nil
	case p.state == "Z" || p.state == "X":
		return fmt.Sprintf("%s %s named pid %d, which has exited (%s, not yet reaped by its parent); taken over", what, path, pid, p), nil
	case p.hbd && !legacy:
		return fmt.Sprintf("%s %s named pid %d, an hbd that does not hold its lock (%s); taken over", what, path, pid, p), nil
	case p.hbd:
		return "", &RunningError{Pid: pid, Path: path,
			msg: fmt.Sprintf("hbd is already running with pid %d (%s): %s names it, without the lock a running hbd holds (an hbd from before the lock?); stop it first",
				pid, p, path)}
	}
	return fmt.Sprintf("%s %s named pid %d, which is another program now (%s); taken over", what, path, pid, p), nil
}

// release removes the pid file and drops its lock, in that order (a
// start that opened the file before the removal finds it replaced),
// then does the same with the state directory's lock file.
func (p *pidFile) release() {
	if p == nil {
		return
	}
	os.Remove(p.path)
	p.f.Close()
	p.state.release()
}

// samePath tells whether f is still the file at path.
func samePath(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	pi, err := os.Lstat(path)
	return err == nil && os.SameFile(fi, pi)
}

// readPid reads the pid f holds, from its start.
func readPid(f *os.File) (int, bool) {
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid, err == nil && pid > 0
}

// describePid is a pid with what /proc says of it, for the messages.
func describePid(pid int) string {
	if pid <= 0 {
		return "unknown (the file is empty or unreadable)"
	}
	p := inspectPid(pid)
	if p.gone {
		return strconv.Itoa(pid) + " (not in /proc: another pid namespace?)"
	}
	return fmt.Sprintf("%d (%s)", pid, p)
}

// procPid is what /proc tells of a process.
type procPid struct {
	gone  bool   // no such process
	state string // the state letter of /proc/PID/stat ("" when unread)
	comm  string // its name
	exe   string // the program it runs, when readable
	// hbd: it has our name, or runs this program (the same file, or one
	// of the same name); also true when /proc cannot tell, so that a
	// process of unknown kind blocks a start rather than being run over.
	hbd     bool
	unknown string // why /proc could not tell
}

func (p procPid) String() string {
	if p.unknown != "" {
		return p.unknown
	}
	s := "state " + p.state + " (" + stateName(p.state) + "), named " + strconv.Quote(p.comm)
	if p.exe != "" {
		s += ", running " + p.exe
	}
	return s
}

// inspectPid reads /proc/PID: its state, name and program.
func inspectPid(pid int) procPid {
	dir := "/proc/" + strconv.Itoa(pid)
	b, err := os.ReadFile(dir + "/stat")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return procPid{gone: true}
	}
	state, comm, ok := parseStat(b)
	if err != nil || !ok {
		// No /proc to ask: a live process is taken to be an hbd.
		e := unix.Kill(pid, 0)
		if e != nil && !errors.Is(e, unix.EPERM) {
			return procPid{gone: true}
		}
		why := "malformed"
		if err != nil {
			why = err.Error()
		}
		return procPid{hbd: true, unknown: fmt.Sprintf("alive; %s/stat cannot tell what it is: %s", dir, why)}
	}
	p := procPid{state: state, comm: comm}
	exe, exeErr := os.Readlink(dir + "/exe")
	if exeErr == nil {
		p.exe = exe
	}
	selfComm := ""
	if sb, err := os.ReadFile("/proc/self/stat"); err == nil {
		_, selfComm, _ = parseStat(sb)
	}
	// Its name is the first test; its program, when we may read it (not
	// another user's without root), the second.
	p.hbd = comm == selfComm || exeErr == nil && sameProgram(dir+"/exe", exe)
	return p
}

// sameProgram: the process runs our executable, or one with its name
// (an upgrade replaced the file: the old one shows as "(deleted)").
func sameProgram(procExe, exe string) bool {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return false
	}
	if a, err := os.Stat(procExe); err == nil {
		if b, err := os.Stat("/proc/self/exe"); err == nil && os.SameFile(a, b) {
			return true
		}
	}
	return filepath.Base(strings.TrimSuffix(exe, " (deleted)")) == filepath.Base(strings.TrimSuffix(self, " (deleted)"))
}

// parseStat takes the state and name from /proc/PID/stat: "PID (COMM) S
// ...", where COMM may itself hold spaces and parentheses.
func parseStat(b []byte) (state, comm string, ok bool) {
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open || len(s) < end+3 {
		return "", "", false
	}
	return s[end+2 : end+3], s[open+1 : end], true
}

// stateName is proc(5)'s word for a state letter.
func stateName(s string) string {
	switch s {
	case "R":
		return "running"
	case "S":
		return "sleeping"
	case "D":
		return "waiting on disk"
	case "T", "t":
		return "stopped"
	case "Z":
		return "zombie"
	case "X":
		return "dead"
	case "I":
		return "idle"
	}
	return "unknown state"
}

// PidFileHolder tells which process holds the lock on dir's pid file, as
// /proc/locks says, without touching the lock: a running hbd (of this
// version) whatever its control socket does.
func PidFileHolder(dir string) (pid int, held bool) {
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0, false
	}
	return lockHolder(string(b), filepath.Join(dir, ctl.PidFileName))
}

// lockHolder finds the flock of the file at path in locks (the text of
// /proc/locks: "1: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE 0 EOF", a
// waiter's line with "->" after the number).
func lockHolder(locks, path string) (int, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, false
	}
	for _, line := range strings.Split(locks, "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		var maj, minor uint32
		var ino uint64
		if _, err := fmt.Sscanf(f[5], "%x:%x:%d", &maj, &minor, &ino); err != nil {
			continue
		}
		if ino != st.Ino || maj != unix.Major(st.Dev) || minor != unix.Minor(st.Dev) {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		return pid, err == nil
	}
	return 0, false
}
