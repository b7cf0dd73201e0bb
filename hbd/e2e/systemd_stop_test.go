package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestSystemdStopTimeoutThenStart: the unit never SIGKILLs hbd, so a
// stop that outlasts TimeoutStopSec leaves it running, still releasing
// its group. The run directory must stay (RuntimeDirectoryPreserve=yes):
// the running hbd keeps its pid file and control socket. What the
// operator sees is what the unit's comments say: the stop exits 0 and
// leaves the unit failed with Result=timeout; a `systemctl start` then
// fails at once (Type=notify), with exit status 150 and the running
// hbd's pid in the journal, and is not retried (no loop every
// RestartSec up to the start limit); once that hbd has exited, a start
// works.
func TestSystemdStopTimeoutThenStart(t *testing.T) {
	m := bootSystemd(t)
	// The group's stop takes 20 s; the unit waits 3 s for a stop (twice:
	// SIGTERM, then a final SIGTERM).
	m.must("sh", "-c", `cat >/etc/ha.d/resource.d/marker <<'S'
#!/bin/sh
m=/run/hbd-test-marker
case "$1" in
start) echo up >$m ;;
stop) sleep 20; rm -f $m ;;
status) if [ -e $m ]; then echo running; else echo stopped; fi ;;
esac
S
mkdir -p /etc/systemd/system/heartbeat.service.d
printf '[Service]\nTimeoutStopSec=3s\n' >/etc/systemd/system/heartbeat.service.d/stop.conf
systemctl daemon-reload`)
	m.must("systemctl", "start", "heartbeat")
	m.waitFor("the group to be acquired", 30*time.Second, m.holdsGroup)
	first := m.mainPID()
	out, err := m.run("systemctl", "stop", "heartbeat")
	t.Logf("systemctl stop: %v %s", err, out)
	if err != nil {
		t.Errorf("systemctl stop of a stop that timed out: %v, want exit 0 as the unit's comments say", err)
	}
	if show := m.must("systemctl", "show", "-p", "ActiveState,Result", "heartbeat"); !strings.Contains(show, "ActiveState=failed") || !strings.Contains(show, "Result=timeout") {
		t.Errorf("after a stop that timed out the unit shows %q, want failed with Result=timeout", show)
	}
	if _, err := m.run("kill", "-0", first); err != nil {
		t.Fatalf("hbd %s did not outlive a stop of 2 x 3 s over a group stop of 20 s; journal:\n%s", first, m.journal())
	}
	if _, err := m.run("test", "-S", "/run/heartbeat/hbd.sock"); err != nil {
		rd, _ := m.run("sh", "-c", "ls -la /run/heartbeat 2>&1")
		t.Errorf("the control socket of hbd %s, still running, is gone after the stop timed out; /run/heartbeat: %s", first, rd)
	}
	out, err = m.run("systemctl", "start", "heartbeat")
	t.Logf("systemctl start: %v %s", err, out)
	if err == nil {
		t.Errorf("systemctl start beside hbd %s, still releasing, reported success", first)
	}
	// A refused start retried would run again every RestartSec (2 s):
	// watch for 5 s. A second daemon is one that stays: the same pid,
	// other than the first's, seen running a second apart.
	seen := map[string]time.Time{}
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		ps, _ := m.run("sh", "-c", "pgrep -a -x hbd || true")
		for _, l := range strings.Split(ps, "\n") {
			f := strings.Fields(l)
			if len(f) == 0 || f[0] == first || !strings.Contains(l, " run ") {
				continue
			}
			if since, ok := seen[f[0]]; !ok {
				seen[f[0]] = time.Now()
			} else if time.Since(since) >= time.Second {
				t.Fatalf("a second hbd daemon (pid %s) runs beside hbd %s after a stop that timed out and a start:\n%s\njournal:\n%s", f[0], first, ps, m.journal())
			}
		}
	}
	if show := m.must("systemctl", "show", "-p", "NRestarts,ExecMainStatus,ActiveState", "heartbeat"); !strings.Contains(show, "NRestarts=0") ||
		!strings.Contains(show, "ExecMainStatus=150") || !strings.Contains(show, "ActiveState=failed") {
		t.Errorf("after a refused start the unit shows %q, want failed, exit status 150, no restart", show)
	}
	j := m.journal()
	for _, want := range []string{"already running with pid " + first, "kill -TERM " + first} {
		if !strings.Contains(j, want) {
			t.Errorf("the journal does not say the start was refused for hbd %s (%q):\n%s", first, want, j)
		}
	}
	if n := strings.Count(j, "already running with pid "+first); n > 2 { // the log line and stderr's
		t.Errorf("the refusal is in the journal %d times: retried", n)
	}

	m.waitFor("hbd "+first+" to finish releasing and exit", 60*time.Second, func() bool {
		_, err := m.run("kill", "-0", first)
		return err != nil
	})
	m.must("systemctl", "start", "heartbeat")
	m.waitFor("the group to be acquired again", 30*time.Second, m.holdsGroup)
	if pid := m.mainPID(); pid == first || pid == "0" {
		t.Errorf("MainPID after the second start is %s", pid)
	}
}

// TestSystemdMachineRefusalRetried: at boot a medium's interface may
// appear a moment after hbd starts (a VLAN, a bond, a NIC renamed
// late). hbd refuses to start without it, with exit status 1, not 6:
// the unit retries it every RestartSec, and once the interface is there
// hbd runs, with nobody's help.
func TestSystemdMachineRefusalRetried(t *testing.T) {
	m := bootSystemd(t)
	m.must("sh", "-c", "echo 'bcast hb0' >>/etc/ha.d/ha.cf")
	out, err := m.run("systemctl", "start", "heartbeat")
	t.Logf("systemctl start without hb0: %v %s", err, out)
	m.must("ip", "link", "add", "hb0", "type", "veth", "peer", "name", "hb0p")
	m.must("ip", "addr", "add", "10.99.0.1/24", "brd", "+", "dev", "hb0")
	m.must("ip", "link", "set", "hb0p", "up")
	m.must("ip", "link", "set", "hb0", "up")
	m.waitFor("the unit to run once hb0 is there", 20*time.Second, func() bool {
		s, _ := m.run("systemctl", "is-active", "heartbeat")
		return s == "active"
	})
	if show := m.must("systemctl", "show", "-p", "NRestarts", "heartbeat"); show == "NRestarts=0" {
		t.Errorf("the unit runs without a restart: was hb0 there at the first start?")
	}
	j := m.journal()
	for _, want := range []string{"interface hb0 does not exist on this machine", "this machine is not ready for the configuration, not started (exit status 1"} {
		if !strings.Contains(j, want) {
			t.Errorf("the journal lacks %q:\n%s", want, j)
		}
	}
	m.waitFor("the group to be acquired", 30*time.Second, m.holdsGroup)
}

// TestSystemdConfigErrorNotRetried: a configuration hbd refuses makes
// `systemctl start` fail at once, the journal names the FILE:LINE, and
// systemd does not start it again every RestartSec up to the start
// limit (exit status 6, RestartPreventExitStatus; no ExecStartPre,
// whose failures systemd retries whatever that says). Fixed, it starts.
func TestSystemdConfigErrorNotRetried(t *testing.T) {
	m := bootSystemd(t)
	m.must("sh", "-c", "cp /etc/ha.d/ha.cf /root/ha.cf.good && echo 'keepalive fast' >>/etc/ha.d/ha.cf")
	out, err := m.run("systemctl", "start", "heartbeat")
	t.Logf("systemctl start: %v %s", err, out)
	if err == nil {
		t.Errorf("systemctl start with a bad ha.cf reported success")
	}
	time.Sleep(5 * time.Second) // two RestartSec
	if show := m.must("systemctl", "show", "-p", "NRestarts,ExecMainStatus,ActiveState", "heartbeat"); !strings.Contains(show, "NRestarts=0") ||
		!strings.Contains(show, "ExecMainStatus=6") || !strings.Contains(show, "ActiveState=failed") {
		t.Errorf("after a start refused for the configuration the unit shows %q, want failed, exit status 6, no restart", show)
	}
	j := m.journal()
	if !strings.Contains(j, "/etc/ha.d/ha.cf:") || !strings.Contains(j, "keepalive") {
		t.Errorf("the journal does not name the bad line:\n%s", j)
	}
	if n := strings.Count(j, "configuration error, not started"); n != 1 {
		t.Errorf("the refusal is in the journal %d times, want once:\n%s", n, j)
	}
	m.must("cp", "/root/ha.cf.good", "/etc/ha.d/ha.cf")
	m.must("systemctl", "start", "heartbeat")
	m.waitFor("the group to be acquired once fixed", 30*time.Second, m.holdsGroup)
}
