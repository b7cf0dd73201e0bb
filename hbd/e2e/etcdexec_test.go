//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestEtcdExec: the installed hbd is built without the etcd backend
// (-tags noetcd, make build); with `backend etcd` it replaces itself with
// hbd-etcd from its own directory, which keeps its pid and its name and
// runs the group against etcd (an embedded cluster, no root needed).
// Without hbd-etcd, with a hbd-etcd built without the backend, or with
// one that others could write to, it refuses with exit 6 and an error at
// ha.cf's backend line that names the program, before it writes a pid
// file.
func TestEtcdExec(t *testing.T) {
	// hbd names hbd-etcd by its real path (beside /proc/self/exe, symbolic
	// links resolved): so does the test, where TMPDIR is reached through one.
	bin, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hbd, hbdEtcd := filepath.Join(bin, "hbd"), filepath.Join(bin, "hbd-etcd")
	if out, err := testenv.Build(hbd, "github.com/hbdproject/hbd/hbd", testenv.RaceBinaries(), "noetcd"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cluster := etcdtest.Start(t, nil)
	// A short directory: the control socket's path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "hbd-etcdexec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	had, run := filepath.Join(dir, "ha.d"), filepath.Join(dir, "run")
	for _, d := range []string{filepath.Join(had, "resource.d"), run, filepath.Join(dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := []struct {
		name, text string
		mode       os.FileMode
	}{
		// backend etcd is line 4.
		{"ha.cf", fmt.Sprintf("logfile %s\nlogfacility none\nnode n1\nbackend etcd\netcd_endpoints %s\netcd_prefix /exec/\nresource_timeout 1\n",
			filepath.Join(dir, "ha-log"), strings.Join(cluster.Endpoints(), " ")), 0o644},
		{"haresources", "n1 rec::web\n", 0o644},
		{"authkeys", "auth 1\n1 sha1 not-used-with-etcd\n", 0o600},
		{"resource.d/rec", recScript(dir), 0o755},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(had, f.name), []byte(f.text), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	backendLine := filepath.Join(had, "ha.cf") + ":4: backend etcd: "
	command := func(ctx context.Context) *exec.Cmd {
		return exec.CommandContext(ctx, hbd, "run", "-c", had, "--node", "n1", "--run-dir", run, "--state-dir", filepath.Join(dir, "state"))
	}

	refusals := []struct {
		name    string
		install string      // the file installed as hbd-etcd, "" none
		mode    os.FileMode // its mode, if not 0755
		want    string
	}{
		{"missing", "", 0, "runs it as " + hbdEtcd + ", which is missing"},
		{"built without the backend", hbd, 0, hbdEtcd + " was built without the etcd backend"},
		{"writable by others", hbdBin, 0o757, hbdEtcd + " is writable by group or others"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			races.Check(t)
			os.Remove(hbdEtcd)
			if tt.install != "" {
				copyFile(t, tt.install, hbdEtcd)
			}
			if tt.mode != 0 {
				if err := os.Chmod(hbdEtcd, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, err := command(ctx).CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 6 {
				t.Fatalf("hbd run: %v, want exit 6\n%s", err, out)
			}
			if !strings.Contains(string(out), backendLine) || !strings.Contains(string(out), tt.want) {
				t.Errorf("hbd run's output does not say %q at %q:\n%s", tt.want, backendLine, out)
			}
			if _, err := os.Stat(filepath.Join(run, ctl.PidFileName)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("pid file after the refusal: %v", err)
			}
			if tt.install == hbd {
				return // only running it tells what an hbd-etcd was built with
			}
			// hbd check, which the init script runs before a start, says so too.
			out, err = exec.CommandContext(ctx, hbd, "check", "-c", had, "--node", "n1", "--run-dir", run).CombinedOutput()
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("hbd check: %v, want exit 1\n%s", err, out)
			}
			if !strings.Contains(string(out), backendLine) || !strings.Contains(string(out), tt.want) {
				t.Errorf("hbd check's output does not say %q at %q:\n%s", tt.want, backendLine, out)
			}
		})
	}

	t.Run("hbd-etcd", func(t *testing.T) {
		races.Check(t)
		os.Remove(hbdEtcd)
		copyFile(t, hbdBin, hbdEtcd)
		if out, err := exec.Command(hbd, "check", "-c", had, "--node", "n1", "--run-dir", run).CombinedOutput(); err != nil {
			t.Fatalf("hbd check with hbd-etcd in place: %v\n%s", err, out)
		}
		var out bytes.Buffer
		cmd := command(context.Background())
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		defer func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				<-exited
			}
			if t.Failed() {
				log, _ := os.ReadFile(filepath.Join(dir, "ha-log"))
				t.Logf("---- output ----\n%s---- ha-log ----\n%s", out.String(), log)
			}
		}()
		pid := cmd.Process.Pid

		var st ctl.Status
		waitFor(t, 20*time.Second, "the group to run with a fencing token", func() bool {
			b, err := exec.Command(hbd, "status", "--json", "--run-dir", run).Output()
			if err != nil || json.Unmarshal(b, &st) != nil || st.Etcd == nil || len(st.Etcd.Groups) != 1 {
				return false
			}
			g := st.Etcd.Groups[0]
			return g.Running && g.RunningToken > 0
		})
		if st.PID != pid || st.Backend != "etcd" {
			t.Errorf("status: pid %d, backend %q; want pid %d (the one started), backend etcd", st.PID, st.Backend, pid)
		}
		proc := func(name string) string {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != hbdEtcd {
			t.Errorf("pid %d executes %q (%v), want %s", pid, exe, err, hbdEtcd)
		}
		if comm := strings.TrimSpace(proc("comm")); comm != "hbd" {
			t.Errorf("process name %q, want hbd (as it was started, for ps, pidof and start-stop-daemon --name)", comm)
		}
		if argv0, _, _ := strings.Cut(proc("cmdline"), "\x00"); argv0 != hbd {
			t.Errorf("argv[0] %q, want %s: the same arguments", argv0, hbd)
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("hbd-etcd after SIGTERM: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("hbd-etcd did not exit within 20s of SIGTERM")
		}
		var ops []string
		for _, e := range readRecord(t, dir) {
			ops = append(ops, e.op+" "+e.res)
		}
		if strings.Join(ops, ", ") != "start web, stop web" {
			t.Errorf("the group's scripts ran %q, want start web, stop web", ops)
		}
	})
}

// copyFile copies the executable src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
