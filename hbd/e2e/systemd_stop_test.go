package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestSystemdStopTimeoutThenStart: the unit never SIGKILLs hbd, so a
// stop that outlasts TimeoutStopSec leaves it running, still releasing
// its group. The run directory must stay (RuntimeDirectoryPreserve=yes):
// the running hbd keeps its pid file and control socket, and a
// `systemctl start` then must not run a second hbd beside it.
func TestSystemdStopTimeoutThenStart(t *testing.T) {
	m := bootSystemd(t)
	// The group's stop takes 30 s; the unit waits 3 s for a stop.
	m.must("sh", "-c", `cat >/etc/ha.d/resource.d/marker <<'S'
#!/bin/sh
m=/run/hbd-test-marker
case "$1" in
start) echo up >$m ;;
stop) sleep 30; rm -f $m ;;
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
	if _, err := m.run("kill", "-0", first); err != nil {
		t.Fatalf("hbd %s did not outlive a stop of 3 s over a group stop of 30 s; journal:\n%s", first, m.journal())
	}
	if _, err := m.run("test", "-S", "/run/heartbeat/hbd.sock"); err != nil {
		rd, _ := m.run("sh", "-c", "ls -la /run/heartbeat 2>&1")
		t.Errorf("the control socket of hbd %s, still running, is gone after the stop timed out; /run/heartbeat: %s", first, rd)
	}
	out, err = m.run("systemctl", "start", "heartbeat")
	t.Logf("systemctl start: %v %s", err, out)
	// A start refused runs again every RestartSec (2 s): watch for 5 s.
	// Each refused start is an hbd process for the moment it takes to
	// find the lock held, so a second daemon is one that stays: the same
	// pid, other than the first's, seen running a second apart.
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
	if j := m.journal(); !strings.Contains(j, "already running with pid "+first) {
		t.Errorf("the journal does not say the start was refused for hbd %s:\n%s", first, j)
	}
}
