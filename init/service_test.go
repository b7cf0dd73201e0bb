package initfiles_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// inMountNS runs script with sh in a private mount namespace where the
// service-manager directories (/etc/init.d, /etc/rc?.d, /etc/default,
// /etc/systemd/system) are empty temporary directories, so that
// `hbd install` and `service` act for real without touching this
// machine's own files. $HBD is the binary under test; $ETC the directory
// holding the temporary copies. Extra setup lines go first.
func inMountNS(t *testing.T, setup, script string, env ...string) result {
	t.Helper()
	needRoot(t)
	need(t, "unshare", "mount")
	etc := t.TempDir()
	var mounts strings.Builder
	mounts.WriteString("set -e\n")
	for _, d := range []string{"init.d", "rc0.d", "rc1.d", "rc2.d", "rc3.d", "rc4.d", "rc5.d", "rc6.d", "default", "systemd/system"} {
		src := filepath.Join(etc, d)
		if err := os.MkdirAll(src, 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&mounts, "mkdir -p /etc/%s && mount --bind %s /etc/%s\n", d, src, d)
	}
	full := mounts.String() + setup + "\nset +e\n" + script
	env = append(env, "HBD="+hbdBin, "ETC="+etc)
	return run(t, env, 3*time.Minute, "unshare", "--mount", "--propagation", "private", "sh", "-c", full)
}

// TestHbdInstallSysV: where no systemd runs (as in this container),
// kardianos/service picks SysV init; hbd install writes our init script
// with our binary and config, `service heartbeat` drives it, and
// hbd uninstall removes exactly what install wrote.
func TestHbdInstallSysV(t *testing.T) {
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here: TestHbdInstallSystemd covers this machine")
	}
	need(t, "start-stop-daemon", "service")
	n := newNode(t, 500*time.Millisecond)
	pidFile := filepath.Join(n.run, "heartbeat.pid")
	t.Cleanup(func() { killFromPidFile(pidFile) })
	defaults := fmt.Sprintf("HBD_RUN_DIR=%s\nHBD_STATE_DIR=%s\nHBD_OUTPUT=%s\n", n.run, n.state, n.path("hbd.out"))
	script := `
step() { echo "== $*"; "$@"; echo "rc=$?"; }
printf '%s' "$DEFAULTS" > /etc/default/heartbeat
step "$HBD" install --config "$CONF" --node n1
step "$HBD" install --config "$CONF" --node n1
ls -l /etc/init.d/heartbeat | cut -c1-10
for l in /etc/rc2.d/S50heartbeat /etc/rc6.d/K02heartbeat; do echo "link $l -> $(readlink $l)"; done
grep -E '^HBD_(BIN|CONFIG_DIR|NODE)=' /etc/init.d/heartbeat
step service heartbeat start
step service heartbeat status
step service heartbeat reload
step service heartbeat stop
step service heartbeat status
step "$HBD" uninstall
ls /etc/init.d /etc/rc2.d /etc/rc6.d
step "$HBD" uninstall
printf '#!/bin/sh\n# a package'"'"'s script\n' > /etc/init.d/heartbeat
step "$HBD" uninstall
cat /etc/init.d/heartbeat
`
	r := inMountNS(t, "", script, "CONF="+n.conf, "DEFAULTS="+defaults)
	out := r.out
	t.Logf("output:\n%s", out)
	for _, want := range []string{
		"== " + hbdBin + " install --config " + n.conf + " --node n1\ninstalled the heartbeat service (SysV init): /etc/init.d/heartbeat",
		"/etc/init.d/heartbeat already exists",
		"-rwxr-xr-x",
		"link /etc/rc2.d/S50heartbeat -> /etc/init.d/heartbeat",
		"link /etc/rc6.d/K02heartbeat -> /etc/init.d/heartbeat",
		"HBD_BIN=" + hbdBin + "\n",
		"HBD_CONFIG_DIR=" + n.conf + "\n",
		"HBD_NODE=n1\n",
		"== service heartbeat start\nStarting hbd (Heartbeat-compatible failover daemon): heartbeat.\nrc=0",
		"n1 (this node)",
		"== service heartbeat reload\nReloading hbd (Heartbeat-compatible failover daemon) configuration: heartbeat.\nrc=0",
		"== service heartbeat stop\nStopping hbd (Heartbeat-compatible failover daemon) (releasing resources): heartbeat.\nrc=0",
		"== service heartbeat status\nheartbeat is not running.\nrc=3",
		"removed the heartbeat service (SysV init): /etc/init.d/heartbeat /etc/rc2.d/S50heartbeat",
		"/etc/init.d/heartbeat does not exist",
		"was not written by hbd install",
		"# a package's script",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Count(out, "rc=1") != 3 { // second install, two refused uninstalls
		t.Errorf("want exactly 3 failures (second install, two uninstalls), got %d", strings.Count(out, "rc=1"))
	}
	if !strings.Contains(out, "/etc/init.d:\n\n/etc/rc2.d:\n\n/etc/rc6.d:\n") {
		t.Errorf("uninstall left files behind")
	}
	if log := n.read("slow.log"); log != "start\nstop\n" {
		t.Errorf("the service did not start and stop the resource group; slow.log:\n%s", log)
	}
}

// TestHbdInstallSystemd: with /run/systemd/system present (systemd's own
// test for "booted with systemd"), kardianos/service picks systemd. No
// systemd runs in this container, so systemctl is run offline
// (--root=/) for enable/disable, and daemon-reload is a no-op; the unit
// written is checked with systemd-analyze verify.
func TestHbdInstallSystemd(t *testing.T) {
	need(t, "systemctl", "systemd-analyze")
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("a real systemd runs here: not replacing its unit directory")
	}
	n := newNode(t, 0)
	shim := t.TempDir()
	if err := os.Chmod(shim, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shim, "systemctl"), []byte(`#!/bin/sh
echo "systemctl $*" >> "$SHIMLOG"
case "$1" in
daemon-reload) exit 0 ;;
*) exec /usr/bin/systemctl --root=/ "$@" ;;
esac
`), 0o755); err != nil {
		t.Fatal(err)
	}
	setup := "mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/system"
	script := `
step() { echo "== $*"; "$@"; echo "rc=$?"; }
step "$HBD" install -c "$CONF"
echo "---- unit"
cat /etc/systemd/system/heartbeat.service
echo "---- end"
echo "wants: $(readlink /etc/systemd/system/multi-user.target.wants/heartbeat.service)"
step systemd-analyze verify --man=no /etc/systemd/system/heartbeat.service
step "$HBD" uninstall
echo "---- after uninstall"
ls -AR /etc/systemd/system
`
	r := inMountNS(t, setup, script, "CONF="+n.conf, "PATH="+shim+":"+os.Getenv("PATH"), "SHIMLOG="+n.path("systemctl.log"))
	out := r.out
	t.Logf("output:\n%s", out)
	for _, want := range []string{
		"installed the heartbeat service (systemd): /etc/systemd/system/heartbeat.service runs `" + hbdBin + " run -c " + n.conf + "`",
		"# Written by `hbd install`",
		"ExecStart=" + hbdBin + " run -c ${HBD_CONFIG_DIR}",
		"Type=notify\n",
		"Environment=HBD_CONFIG_DIR=" + n.conf + " HBD_NODE=\n",
		"KillMode=process",
		"wants: /etc/systemd/system/heartbeat.service",
		"== systemd-analyze verify --man=no /etc/systemd/system/heartbeat.service\nrc=0",
		"removed the heartbeat service (systemd): /etc/systemd/system/heartbeat.service",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "/usr/sbin/hbd") {
		t.Errorf("the unit still names /usr/sbin/hbd instead of the installing binary")
	}
	if strings.Count(out, "rc=0") != 3 {
		t.Errorf("want install, verify and uninstall to succeed")
	}
	if _, after, ok := strings.Cut(out, "---- after uninstall"); !ok || strings.Contains(after, "heartbeat") {
		t.Errorf("uninstall left the unit or its wants link:%s", after)
	}
	calls := n.read("systemctl.log")
	for _, want := range []string{"enable heartbeat.service", "daemon-reload", "disable heartbeat.service"} {
		if !strings.Contains(calls, want) {
			t.Errorf("systemctl was not asked to %s; calls:\n%s", want, calls)
		}
	}
}

// TestHbdInstallNotRoot: install and uninstall refuse clearly when not
// root; --print shows the file without root.
func TestHbdInstallNotRoot(t *testing.T) {
	needRoot(t) // to switch to nobody
	n := newNode(t, 0)
	for _, args := range [][]string{{"install", "-c", n.conf}, {"uninstall"}} {
		cmd := exec.Command(hbdBin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if err == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "must be run as root") {
			t.Errorf("hbd %s as nobody: %v, want exit 1 and 'must be run as root'\n%s", args[0], err, out)
		}
	}
	cmd := exec.Command(hbdBin, "install", "--print", "-c", n.conf, "--node", "n1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "# Written by `hbd install`") || !strings.Contains(string(out), n.conf) {
		t.Errorf("hbd install --print as nobody: %v\n%s", err, out)
	}
}

// TestLogrotate rotates a running hbd's logs with logrotate and the
// installed configuration (paths moved to a temporary directory): the
// postrotate SIGHUP makes hbd write to fresh files.
func TestLogrotate(t *testing.T) {
	need(t, "logrotate", "start-stop-daemon")
	n := newNode(t, 0)
	writeDefaults(t, n, 60)
	pidFile := filepath.Join(n.run, "heartbeat.pid")
	t.Cleanup(func() { killFromPidFile(pidFile) })
	if r := initScript(t, n, "start"); r.code != 0 {
		t.Fatalf("start: exit %d\n%s", r.code, r.out)
	}
	waitFor(t, 10*time.Second, "a log line", func() bool { return n.read("ha-debug") != "" })

	conf := readFile(t, filepath.Join(repoRoot(t), "init", "logrotate"))
	for _, r := range []struct{ old, repl string }{
		{"/var/log/ha-log", n.path("ha-log")},
		{"/var/log/ha-debug", n.path("ha-debug")},
		{"/var/log/hbd.out", n.path("hbd.out")},
		{"/run/heartbeat/heartbeat.pid", pidFile},
	} {
		if !strings.Contains(conf, r.old) {
			t.Fatalf("init/logrotate does not name %s", r.old)
		}
		conf = strings.ReplaceAll(conf, r.old, r.repl)
	}
	n.write(t, "logrotate.conf", conf, 0o644)
	r := run(t, nil, time.Minute, "logrotate", "-f", "-s", n.path("logrotate.state"), n.path("logrotate.conf"))
	if r.code != 0 {
		t.Fatalf("logrotate: exit %d\n%s", r.code, r.out)
	}
	if _, err := os.Stat(n.path("ha-debug.1")); err != nil {
		t.Fatalf("ha-debug was not rotated: %v", err)
	}
	waitFor(t, 10*time.Second, "hbd to write the SIGHUP reload to a fresh ha-debug", func() bool {
		return strings.Contains(n.read("ha-debug"), "Configuration reload (SIGHUP)")
	})
	if r := initScript(t, n, "stop"); r.code != 0 {
		t.Fatalf("stop: exit %d\n%s", r.code, r.out)
	}
}
