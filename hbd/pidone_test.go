package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// pidOneScript is resource.d/daemon: its start runs a daemon in the
// background that ends by itself a moment later (orphaned as soon as
// the script exits: its parent is then the namespace's pid 1), and its
// stop, as most init scripts do, signals that daemon and waits until
// kill -0 says it is gone, failing after 3 s. Each operation is logged
// in the events file.
const pidOneScript = `#!/bin/sh
pidfile=%[1]s/daemon.pid
case "$1" in
start)
	sleep 0.2 &
	echo $! > "$pidfile"
	echo start >> %[2]s ;;
stop)
	if [ -e "$pidfile" ]; then
		pid=$(cat "$pidfile")
		kill "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i+1))
			if [ $i -gt 30 ]; then echo "stop: $pid still there" >> %[2]s; exit 1; fi
			sleep 0.1
		done
		rm -f "$pidfile"
	fi
	echo stop >> %[2]s ;;
status)
	if [ -e "$pidfile" ]; then echo running; else echo stopped; fi ;;
esac
`

// TestRunAsPidOne: hbd run as the pid 1 of a pid namespace (a
// container's entry point) runs the daemon as its child and reaps the
// orphans its scripts leave: the background daemon of a start, once
// ended, is no zombie, so the stop that waits for it to be gone
// succeeds. SIGTERM to pid 1 stops the daemon gracefully (its stop
// script run) and pid 1 exits 0; SIGKILL to the daemon has pid 1 exit
// with 128+9.
func TestRunAsPidOne(t *testing.T) {
	testenv.NeedRoot(t, "a pid namespace")
	testenv.NeedCommands(t, "unshare")
	if out, err := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "true").CombinedOutput(); err != nil {
		testenv.Skip(t, "no pid namespace here: unshare --pid --fork --mount-proc: %v: %s", err, bytes.TrimSpace(out))
	}
	for _, tc := range []struct {
		name   string
		signal func(t *testing.T, init int, exited <-chan struct{})
		status int
	}{
		{"SIGTERM to pid 1", func(t *testing.T, init int, _ <-chan struct{}) { must(t, syscall.Kill(init, syscall.SIGTERM)) }, 0},
		{"SIGKILL to the daemon", func(t *testing.T, init int, exited <-chan struct{}) {
			// The daemon: pid 1's child that runs this test binary as hbd.
			must(t, syscall.Kill(waitChild(t, init, "\x00-test.run=^TestHbdHelper$\x00", exited), syscall.SIGKILL))
		}, 128 + 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			events := filepath.Join(work, "events")
			files := maps.Clone(soloFiles)
			files["ha.cf"] = fmt.Sprintf("udpport %d\n", testenv.FreeUDPPort(t)) + files["ha.cf"] + "resource_timeout 10\n"
			files["haresources"] = "solo daemon\n"
			files["resource.d/daemon"] = fmt.Sprintf(pidOneScript, work, events)
			dir := testenv.WriteConfigDir(t, files)

			var out bytes.Buffer
			cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--",
				os.Args[0], "-test.run=^TestHbdHelper$", "--",
				"run", "-c", dir, "--node", "solo", "--run-dir", filepath.Join(work, "run"), "--state-dir", filepath.Join(work, "state"))
			cmd.Env = append(os.Environ(), hbdHelperEnv+"=1")
			cmd.Stdout, cmd.Stderr = &out, &out
			must(t, cmd.Start())
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			defer func() {
				select {
				case <-exited:
				default:
					_ = cmd.Process.Kill() // --kill-child: the namespace goes with it
					<-exited
				}
				if t.Failed() {
					ev, _ := os.ReadFile(events)
					t.Logf("events:\n%s\noutput:\n%s", ev, out.String())
				}
			}()

			// The namespace's pid 1: hbd, as the host sees it.
			init := waitChild(t, cmd.Process.Pid, "", exited)
			waitUntil(t, exited, "the start script ran", func() bool {
				b, _ := os.ReadFile(events)
				return strings.Contains(string(b), "start")
			})
			time.Sleep(time.Second) // the background daemon has ended
			if z := zombies(init); len(z) > 0 {
				t.Errorf("zombie children of pid 1: %v", z)
			}

			tc.signal(t, init, exited)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				t.Fatal("hbd as pid 1 did not exit within 30 s")
			}
			if got := cmd.ProcessState.ExitCode(); got != tc.status {
				t.Errorf("exit status %d, want %d", got, tc.status)
			}
			ev, _ := os.ReadFile(events)
			if tc.status == 0 && !strings.HasSuffix(string(ev), "start\nstop\n") {
				t.Errorf("events %q, want a start then a stop that succeeded", ev)
			}
		})
	}
}

// waitChild returns a child of pid whose command line has has, waiting
// for it for up to 10 s.
func waitChild(t *testing.T, pid int, has string, exited <-chan struct{}) int {
	t.Helper()
	var child int
	waitUntil(t, exited, fmt.Sprintf("child of %d whose command line has %q", pid, has), func() bool {
		for _, c := range children(pid) {
			if cl, err := os.ReadFile("/proc/" + c + "/cmdline"); err == nil && strings.Contains(string(cl), has) {
				child, _ = strconv.Atoi(c)
				return true
			}
		}
		return false
	})
	return child
}

// children returns the pids of pid's children: those of each of its
// threads (a thread's children file lists only the processes it forked
// or was given).
func children(pid int) []string {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []string
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		out = append(out, strings.Fields(string(b))...)
	}
	return out
}

// zombies returns the children of pid that are zombies.
func zombies(pid int) []string {
	var out []string
	for _, c := range children(pid) {
		st, err := os.ReadFile("/proc/" + c + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ...: the state follows the last ')'.
		s := string(st)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i+1:], " Z") {
			out = append(out, c+" "+s[:i+1])
		}
	}
	return out
}

// waitUntil polls cond for up to 10 s, failing the test if it does not
// hold by then or if exited is closed first.
func waitUntil(t *testing.T, exited <-chan struct{}, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		select {
		case <-exited:
			t.Fatalf("waiting for %s: the process exited", what)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
