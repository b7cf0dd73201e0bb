package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
)

// slowStatusScript appends its operation to the file beside it; its
// status sleeps while the file "slow" is beside it (a pre-start probe
// that takes long), then says it is not running.
const slowStatusScript = `#!/bin/sh
for a; do op=$a; done
d=$(dirname "$0")
echo "$op" >> "$d/ops"
if [ "$op" = status ]; then
	if [ -e "$d/slow" ]; then sleep 30; fi
	echo "not running"; exit 3
fi
exit 0
`

// TestTakeoverAbandonedDuringStatus: node2 (a Heartbeat peer here) holds
// the group, then falls silent past deadtime; node1 begins the takeover,
// and its start reads the group's status, a slow one. node2 is heard
// again meanwhile: the status is killed, the start script never runs,
// node1 says the takeover was abandoned and leaves the group to node2.
func TestTakeoverAbandonedDuringStatus(t *testing.T) {
	cfg := loopConfig("node1", "node2")
	cfg.Deadtime, cfg.Warntime = 500*time.Millisecond, 300*time.Millisecond
	dir := t.TempDir()
	script := filepath.Join(dir, "web")
	if err := os.WriteFile(script, []byte(slowStatusScript), 0o755); err != nil {
		t.Fatal(err)
	}
	web := config.Group{Preferred: "node2", Resources: []config.Resource{{Spec: "web", Name: "web",
		Script: config.Script{Kind: config.ScriptFile, Path: script}}}}
	cfg.Groups = []config.Group{web}
	ops := func() []string {
		b, _ := os.ReadFile(filepath.Join(dir, "ops"))
		return strings.Fields(string(b))
	}
	count := func(op string) int {
		k := 0
		for _, o := range ops() {
			if o == op {
				k++
			}
		}
		return k
	}

	d, links, logs := newTestDaemon(t, cfg, &fakeRunner{})
	r, err := d.newRunner(d.cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.runner = r
	rig := startLoopRig(t, d, links, nil)

	// node2's heartbeats, every 100 ms while alive is set, until the end.
	var alive atomic.Bool
	alive.Store(true)
	stop := make(chan struct{})
	beats := make(chan struct{})
	go func() {
		defer close(beats)
		tk := time.NewTicker(100 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if alive.Load() {
					rig.deliver("eth0", rig.signed(0, "t", "status", "st", "active", "dt", "1f4", "protocol", "1"))
				}
			}
		}
	}()
	defer func() { close(stop); <-beats }()

	waitFor(t, func() bool { return len(links.sentOf("reqnodes")) > 0 })
	rig.fromPeer("eth0", 0, "dest", "node1", "t", "repnodes", "nodelist", "node1 node2 ", "delnodelist", " ")
	rig.fromPeer("eth0", 0, "t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	waitFor(t, func() bool { return strings.Contains(logs.String(), "Local Resource acquisition completed") })
	if n := count("start"); n != 0 {
		t.Fatalf("node1 started web while node2 holds it: ops %q", ops())
	}

	// node2 falls silent: the takeover's status hangs.
	if err := os.WriteFile(filepath.Join(dir, "slow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	statuses := count("status")
	alive.Store(false)
	waitFor(t, func() bool { return count("status") > statuses })
	if !strings.Contains(logs.String(), "Taking over resource group web (from node2)") {
		t.Fatalf("a status of web ran, but not for a takeover:\n%s", logs)
	}

	// node2 is heard again while that status still runs.
	alive.Store(true)
	rig.fromPeer("eth0", 0, "t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	const line = "Takeover of resource group web abandoned: node2 was heard again before its start"
	waitFor(t, func() bool { return strings.Contains(logs.String(), line) })
	// Nothing runs afterwards: node2 holds web and is alive.
	time.Sleep(5 * cfg.Keepalive)
	if got := ops(); count("start") != 0 || count("stop") != 0 {
		t.Errorf("ops %q: want statuses only (no start script, nothing to roll back)", got)
	}
	if !strings.Contains(logs.String(), "start of web called off (news of node2): no start script had begun") {
		t.Errorf("no debug line says the daemon called the start off:\n%s", logs)
	}
	resp := rig.call(ctl.Request{Cmd: "status"})
	var st ctl.Status
	if err := json.Unmarshal(resp.Data, &st); err != nil || len(st.Cluster.Groups) != 1 {
		t.Fatalf("status: %v, %+v", err, resp)
	}
	if gs := st.Cluster.Groups[0]; gs.Holder != "node2" || gs.Failed {
		t.Errorf("web on node1: %+v; want held by node2, not failed here", gs)
	}
}
