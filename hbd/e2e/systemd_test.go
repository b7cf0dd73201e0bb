package e2e

import (
	"context"
	"fmt"
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

// systemdBin is systemd itself, run as PID 1 of a PID namespace.
const systemdBin = "/lib/systemd/systemd"

// machine is systemd running as PID 1 in namespaces of its own
// (testdata/systemd-boot.sh), on the host's /usr with init/heartbeat.service
// and a one-node configuration whose group holds /run/hbd-test-marker.
type machine struct {
	t   *testing.T
	pid int // systemd's pid, as this host sees it
}

// bootSystemd starts the machine and waits until systemd says it runs.
func bootSystemd(t *testing.T) *machine {
	t.Helper()
	testenv.NeedRoot(t, "systemd as PID 1 in new namespaces")
	testenv.NeedCommands(t, "unshare", "nsenter", "pivot_root", "mount", "ip")
	if _, err := os.Stat(systemdBin); err != nil {
		testenv.Skip(t, "%s is not installed (run .ci/test-deps.sh as root)", systemdBin)
	}
	files := map[string]string{
		"ha.cf":       "node hbdtest\nucast lo 127.0.0.1\nkeepalive 1\nwarntime 2\ndeadtime 4\ninitdead 4\nauto_failback on\ndebug 1\n",
		"authkeys":    "auth 1\n1 sha1 0123456789abcdef0123456789abcdef\n",
		"haresources": "hbdtest marker\n",
		"resource.d/marker": "#!/bin/sh\nm=/run/hbd-test-marker\ncase \"$1\" in\n" +
			"start) echo up >$m ;;\nstop) rm -f $m ;;\n" +
			"status) if [ -e $m ]; then echo running; else echo stopped; fi ;;\nesac\n",
	}
	conf := testenv.WriteConfigDir(t, files)
	unit, err := filepath.Abs("../../init/heartbeat.service")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	cmd := exec.Command("unshare", "--pid", "--mount", "--uts", "--ipc", "--net", "--cgroup", "--fork", "--propagation", "private",
		"/bin/sh", "testdata/systemd-boot.sh", root, hbdBin, unit, conf)
	var boot strings.Builder
	cmd.Stdout, cmd.Stderr = &boot, &boot
	if err := cmd.Start(); err != nil {
		t.Fatalf("unshare: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	m := &machine{t: t}
	t.Cleanup(func() {
		// SIGKILL to PID 1 of the namespace ends every process in it;
		// its mounts go with the mount namespace.
		if m.pid > 0 {
			_ = syscall.Kill(m.pid, syscall.SIGKILL)
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the machine did not go away after its PID 1 was killed")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for m.pid == 0 {
		select {
		case err := <-exited:
			t.Fatalf("the machine did not boot (%v):\n%s", err, boot.String())
		case <-time.After(100 * time.Millisecond):
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			if exe, _ := os.Readlink("/proc/" + f[0] + "/exe"); strings.HasSuffix(exe, "/systemd") {
				m.pid, _ = strconv.Atoi(f[0])
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd did not start:\n%s", boot.String())
		}
	}
	m.waitFor("systemd to be running", 30*time.Second, func() bool {
		out, _ := m.run("systemctl", "is-system-running")
		return out == "running" || out == "degraded"
	})
	return m
}

// run runs a command inside the machine and returns its trimmed output.
func (m *machine) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(m.pid), "-a"}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// must runs a command inside the machine that must succeed.
func (m *machine) must(args ...string) string {
	m.t.Helper()
	out, err := m.run(args...)
	if err != nil {
		m.t.Fatalf("%s: %v\n%s\njournal:\n%s", strings.Join(args, " "), err, out, m.journal())
	}
	return out
}

func (m *machine) journal() string {
	out, _ := m.run("journalctl", "--no-pager", "-o", "cat", "-u", "heartbeat")
	return out
}

func (m *machine) waitFor(what string, d time.Duration, ok func() bool) {
	m.t.Helper()
	for end := time.Now().Add(d); !ok(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(end) {
			m.t.Fatalf("timed out after %s waiting for %s; journal:\n%s", d, what, m.journal())
		}
	}
}

func (m *machine) holdsGroup() bool {
	_, err := m.run("test", "-e", "/run/hbd-test-marker")
	return err == nil
}

func (m *machine) mainPID() string {
	out, _ := m.run("systemctl", "show", "-p", "MainPID", "--value", "heartbeat")
	return out
}

// TestSystemdUnit runs init/heartbeat.service under a real systemd as
// PID 1: systemctl start takes the group; status shows it running; reload
// is a SIGHUP the daemon acts on; a SIGKILLed hbd is restarted and keeps
// the group; systemctl stop releases it; hbd's lines are in the journal;
// `service heartbeat start|status|stop` does the same through systemd.
func TestSystemdUnit(t *testing.T) {
	m := bootSystemd(t)

	m.must("systemctl", "start", "heartbeat")
	m.waitFor("the group to be acquired", 30*time.Second, m.holdsGroup)
	if st := m.must("systemctl", "--no-pager", "status", "heartbeat"); !strings.Contains(st, "active (running)") || !strings.Contains(st, "/usr/sbin/hbd run -c /etc/ha.d --node=hbdtest") {
		t.Errorf("systemctl status:\n%s", st)
	}

	m.must("systemctl", "reload", "heartbeat")
	m.waitFor("the reload on SIGHUP in the journal", 10*time.Second, func() bool {
		return strings.Contains(m.journal(), "Configuration reload (SIGHUP)")
	})

	old := m.mainPID()
	m.must("kill", "-9", old)
	m.waitFor("systemd to restart hbd after SIGKILL", 30*time.Second, func() bool {
		pid := m.mainPID()
		state, _ := m.run("systemctl", "is-active", "heartbeat")
		return pid != old && pid != "0" && pid != "" && state == "active"
	})
	if n := m.must("systemctl", "show", "-p", "NRestarts", "--value", "heartbeat"); n != "1" {
		t.Errorf("NRestarts = %s, want 1", n)
	}
	m.waitFor("the restarted hbd to report the group", 30*time.Second, func() bool {
		out, _ := m.run("hbd", "status")
		return strings.Contains(out, "hbdtest   running") || strings.Contains(out, "hbdtest  running")
	})

	m.must("systemctl", "stop", "heartbeat")
	if m.holdsGroup() {
		t.Errorf("systemctl stop left the group running (/run/hbd-test-marker is there)")
	}
	if st, _ := m.run("systemctl", "is-active", "heartbeat"); st != "inactive" {
		t.Errorf("after stop the unit is %q, want inactive", st)
	}
	j := m.journal()
	for _, want := range []string{"Acquiring resource group: hbdtest marker", "Heartbeat shutdown in progress", "Releasing resource group: hbdtest marker"} {
		if !strings.Contains(j, want) {
			t.Errorf("the journal lacks %q:\n%s", want, j)
		}
	}

	m.must("service", "heartbeat", "start")
	m.waitFor("the group to be acquired after service start", 30*time.Second, m.holdsGroup)
	if st := m.must("service", "heartbeat", "status"); !strings.Contains(st, "active (running)") {
		t.Errorf("service heartbeat status:\n%s", st)
	}
	m.must("service", "heartbeat", "stop")
	if m.holdsGroup() {
		t.Errorf("service heartbeat stop left the group running")
	}
}
