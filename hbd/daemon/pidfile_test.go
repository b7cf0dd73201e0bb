package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
)

// pidHelperEnv makes this test binary a stand-in hbd (TestPidFileHelper):
// "lock" takes the pid file as the daemon does (with the state
// directory's lock file too when pidHelperEnv+"_STATE" names one),
// "plain" writes its pid the way an hbd without the lock did. It says
// "ready" on stdout, then waits until its stdin closes (or a minute
// passes).
const pidHelperEnv = "HBD_TEST_PIDFILE_HELPER"

func TestPidFileHelper(t *testing.T) {
	mode, dir := os.Getenv(pidHelperEnv), os.Getenv(pidHelperEnv+"_DIR")
	if mode == "" {
		t.Skip("a helper process of TestPidFile")
	}
	switch mode {
	case "lock":
		if _, _, err := takePidFile(dir, os.Getenv(pidHelperEnv+"_STATE")); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
	case "plain":
		if err := os.WriteFile(filepath.Join(dir, ctl.PidFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
	os.Exit(0)
}

// startPidHelper runs the helper in mode over the run directory dir; it
// is killed and reaped at the end of the test.
func startPidHelper(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	return startStateHelper(t, mode, dir, "")
}

// startStateHelper is startPidHelper with a state directory as well.
func startStateHelper(t *testing.T, mode, dir, stateDir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPidFileHelper$")
	cmd.Env = append(os.Environ(), pidHelperEnv+"="+mode, pidHelperEnv+"_DIR="+dir, pidHelperEnv+"_STATE="+stateDir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("helper %s: %q, %v", mode, line, err)
	}
	return cmd
}

// zombieHelper is a setup of TestPidFile: the helper in mode, killed
// with SIGKILL and not reaped.
func zombieHelper(mode string) func(t *testing.T, dir string) int {
	return func(t *testing.T, dir string) int {
		cmd := startPidHelper(t, mode, dir)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitState(t, cmd.Process.Pid, "Z")
		return cmd.Process.Pid
	}
}

// startSleep runs a process that is not an hbd.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func writePid(t *testing.T, dir string, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ctl.PidFileName), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitState waits until /proc says pid is in state.
func waitState(t *testing.T, pid int, state string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if p := inspectPid(pid); p.state == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid %d never reached state %s: %s", pid, state, inspectPid(pid))
		}
	}
}

// TestPidFile: what a pid file names blocks a start only when it is a
// running hbd: one that holds the file's lock, or an hbd that wrote it
// without a lock; a zombie (killed, not yet reaped), a pid reused by
// another program, a pid gone or a file without a pid do not.
func TestPidFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup prepares dir and returns the pid the file names (0: none).
		setup   func(t *testing.T, dir string) int
		refused bool
		want    []string // in the error, or in the note of a takeover
	}{
		{"a live hbd holds the lock", func(t *testing.T, dir string) int {
			return startPidHelper(t, "lock", dir).Process.Pid
		}, true, []string{"already running with pid", "holds the lock on", "state ", `named "`}},
		{"an hbd without the lock", func(t *testing.T, dir string) int {
			return startPidHelper(t, "plain", dir).Process.Pid
		}, true, []string{"already running with pid", "without the lock", "state ", `named "`}},
		{"a zombie hbd, killed and not yet reaped", zombieHelper("lock"), false, []string{"has exited", "state Z (zombie)", "not yet reaped", "taken over"}},
		{"a zombie hbd that held no lock", zombieHelper("plain"), false, []string{"has exited", "state Z (zombie)", "not yet reaped", "taken over"}},
		{"a pid reused by another program", func(t *testing.T, dir string) int {
			pid := startSleep(t).Process.Pid
			writePid(t, dir, pid)
			return pid
		}, false, []string{"another program now", `named "sleep"`, "taken over"}},
		{"a pid gone", func(t *testing.T, dir string) int {
			cmd := startSleep(t)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			writePid(t, dir, cmd.Process.Pid)
			return cmd.Process.Pid
		}, false, []string{"no longer runs", "taken over"}},
		{"an empty file", func(t *testing.T, dir string) int {
			writePid(t, dir, 0)
			return 0
		}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pid := tc.setup(t, dir)
			path := filepath.Join(dir, ctl.PidFileName)
			p, note, err := takePidFile(dir, "")
			if tc.refused {
				if err == nil {
					p.release()
					t.Fatalf("started over pid %d", pid)
				}
				for _, w := range append(tc.want, strconv.Itoa(pid), path) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q: %v", w, err)
					}
				}
				var re *RunningError
				if !errors.As(err, &re) || re.Pid != pid || re.Path != path {
					t.Errorf("the refusal is %#v, want a RunningError naming pid %d and %s", err, pid, path)
				}
				if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
					t.Errorf("a refused start changed the pid file to %q", b)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			defer p.release()
			for _, w := range tc.want {
				if !strings.Contains(note, w) {
					t.Errorf("note lacks %q: %q", w, note)
				}
			}
			if b, _ := os.ReadFile(path); string(b) != strconv.Itoa(os.Getpid())+"\n" {
				t.Errorf("pid file holds %q, want our pid", b)
			}
		})
	}
}

// TestPidFileRelease: a second start beside a running one is refused,
// even in the same process; the release removes the file and frees it.
func TestPidFileRelease(t *testing.T) {
	dir := t.TempDir()
	p, _, err := takePidFile(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := takePidFile(dir, ""); err == nil || !strings.Contains(err.Error(), "holds the lock") {
		t.Fatalf("second take: %v", err)
	}
	p.release()
	if _, err := os.Stat(filepath.Join(dir, ctl.PidFileName)); !os.IsNotExist(err) {
		t.Errorf("pid file after release: %v", err)
	}
	p, _, err = takePidFile(dir, "")
	if err != nil {
		t.Fatalf("take after release: %v", err)
	}
	p.release()
}

func TestParseStat(t *testing.T) {
	for _, tc := range []struct{ in, state, comm string }{
		{"123 (hbd) S 1 123 123 0", "S", "hbd"},
		{"7 (a) (b) Z) Z 1 2", "Z", "a) (b) Z"},
		{"9 (sp ace) R", "R", "sp ace"},
	} {
		state, comm, ok := parseStat([]byte(tc.in))
		if !ok || state != tc.state || comm != tc.comm {
			t.Errorf("parseStat(%q) = %q, %q, %v", tc.in, state, comm, ok)
		}
	}
	for _, bad := range []string{"", "123 hbd S", "1 (x)"} {
		if _, _, ok := parseStat([]byte(bad)); ok {
			t.Errorf("parseStat(%q) ok", bad)
		}
	}
}

// TestPidFileHolder: /proc/locks names the hbd that holds the pid file,
// ours or another process's; nobody once released, nor for a file
// written without the lock.
func TestPidFileHolder(t *testing.T) {
	dir := t.TempDir()
	if pid, held := PidFileHolder(dir); held {
		t.Fatalf("no pid file: held by %d", pid)
	}
	p, _, err := takePidFile(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if pid, held := PidFileHolder(dir); !held || pid != os.Getpid() {
		t.Errorf("our lock: %d, %v; want %d", pid, held, os.Getpid())
	}
	p.release()
	if pid, held := PidFileHolder(dir); held {
		t.Errorf("released: held by %d", pid)
	}
	other := startPidHelper(t, "lock", dir).Process.Pid
	if pid, held := PidFileHolder(dir); !held || pid != other {
		t.Errorf("the helper's lock: %d, %v; want %d", pid, held, other)
	}
	plain := t.TempDir()
	startPidHelper(t, "plain", plain)
	if pid, held := PidFileHolder(plain); held {
		t.Errorf("a file without the lock: held by %d", pid)
	}
}

// TestPidFileRunDirRemoved: a service manager may remove the run
// directory, pid file and all, under a running hbd (systemd does when a
// stop outlasts its timeout and hbd, never killed, still releases its
// groups). The state directory's lock still refuses a second hbd while
// that one runs, and frees the node once it is gone.
func TestPidFileRunDirRemoved(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove func(t *testing.T, runDir, stateDir string)
	}{
		{"the run directory removed", func(t *testing.T, runDir, _ string) {
			if err := os.RemoveAll(runDir); err != nil {
				t.Fatal(err)
			}
		}},
		{"the pid file replaced by an empty one", func(t *testing.T, runDir, _ string) {
			path := filepath.Join(runDir, ctl.PidFileName)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t.TempDir()
			runDir, stateDir := filepath.Join(top, "run"), filepath.Join(top, "state")
			first := startStateHelper(t, "lock", runDir, stateDir)
			tc.remove(t, runDir, stateDir)
			lock := filepath.Join(stateDir, StateLockName)
			p, _, err := takePidFile(runDir, stateDir)
			if err == nil {
				p.release()
				t.Fatalf("a second hbd started while hbd %d, which holds %s, still runs", first.Process.Pid, lock)
			}
			for _, w := range []string{"already running with pid " + strconv.Itoa(first.Process.Pid), lock} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if re := (*RunningError)(nil); !errors.As(err, &re) || re.Pid != first.Process.Pid || re.Path != lock {
				t.Errorf("the refusal is %#v, want a RunningError naming pid %d and %s", err, first.Process.Pid, lock)
			}
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()
			p, note, err := takePidFile(runDir, stateDir)
			if err != nil {
				t.Fatalf("once hbd %d is gone: %v", first.Process.Pid, err)
			}
			if !strings.Contains(note, "no longer runs") {
				t.Errorf("note lacks the pid that no longer runs: %q", note)
			}
			for _, f := range []string{lock, filepath.Join(runDir, ctl.PidFileName)} {
				if b, _ := os.ReadFile(f); string(b) != strconv.Itoa(os.Getpid())+"\n" {
					t.Errorf("%s holds %q, want our pid", f, b)
				}
			}
			p.release()
			for _, f := range []string{lock, filepath.Join(runDir, ctl.PidFileName)} {
				if _, err := os.Stat(f); !os.IsNotExist(err) {
					t.Errorf("%s after release: %v", f, err)
				}
			}
		})
	}
}

// TestPidFileRefusedFreesStateLock: a start refused by the run
// directory's pid file (an hbd of another state directory, or of before
// the state lock) leaves the state directory's lock free.
func TestPidFileRefusedFreesStateLock(t *testing.T) {
	top := t.TempDir()
	runDir, stateDir := filepath.Join(top, "run"), filepath.Join(top, "state")
	startPidHelper(t, "lock", runDir)
	if _, _, err := takePidFile(runDir, stateDir); err == nil || !strings.Contains(err.Error(), filepath.Join(runDir, ctl.PidFileName)) {
		t.Fatalf("beside an hbd holding the run directory's pid file: %v", err)
	}
	p, _, err := takePidFile(filepath.Join(top, "run2"), stateDir)
	if err != nil {
		t.Fatalf("the state lock after a refused start: %v", err)
	}
	p.release()
}

// TestStateLockNamesAnUnlockedHbd: the state directory's lock file,
// left by an hbd killed with -9, names a pid that an hbd not holding
// the lock has now (an `hbd status`, a pid reused). No hbd ever wrote
// that file without locking it, so the start goes on, saying so.
func TestStateLockNamesAnUnlockedHbd(t *testing.T) {
	runDir, stateDir := t.TempDir(), t.TempDir()
	pid := startPidHelper(t, "plain", t.TempDir()).Process.Pid
	if err := os.WriteFile(filepath.Join(stateDir, StateLockName), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, note, err := takePidFile(runDir, stateDir)
	if err != nil {
		t.Fatalf("refused over a lock file that no running daemon holds: %v", err)
	}
	defer p.release()
	for _, w := range []string{strconv.Itoa(pid), "does not hold its lock", "taken over"} {
		if !strings.Contains(note, w) {
			t.Errorf("note lacks %q: %q", w, note)
		}
	}
}

// TestPidFileErrorsNameTheFile: an error or a note about one of the two
// files takePidFile locks names that file as what it is, the run
// directory's pid file or the state directory's lock file, never the
// one for the other.
func TestPidFileErrorsNameTheFile(t *testing.T) {
	spoilDir := func(t *testing.T, path string) {
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nameGone := func(t *testing.T, path string) {
		cmd := startSleep(t)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if err := os.WriteFile(path, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		// state: the finding is about the state directory's lock file,
		// else the run directory's pid file.
		state bool
		// setup prepares the file at path; refused: the start is
		// refused (else it goes on with a note).
		setup   func(t *testing.T, path string)
		refused bool
	}{
		{"the pid file a directory", false, spoilDir, true},
		{"the state lock a directory", true, spoilDir, true},
		{"the pid file names a pid gone", false, nameGone, false},
		{"the state lock names a pid gone", true, nameGone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDir, stateDir := t.TempDir(), t.TempDir()
			path, want, not := filepath.Join(runDir, ctl.PidFileName), pidFileWhat, stateLockWhat
			if tc.state {
				path, want, not = filepath.Join(stateDir, StateLockName), stateLockWhat, pidFileWhat
			}
			tc.setup(t, path)
			p, note, err := takePidFile(runDir, stateDir)
			said := note
			if tc.refused {
				if err == nil {
					p.release()
					t.Fatalf("started with %s a directory", path)
				}
				said = err.Error()
			} else {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				p.release()
			}
			if !strings.Contains(said, want) || !strings.Contains(said, path) {
				t.Errorf("%q does not name the %s %s", said, want, path)
			}
			if strings.Contains(said, not) {
				t.Errorf("%q calls it the %s", said, not)
			}
		})
	}
}
