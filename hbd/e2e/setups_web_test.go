//go:build linux

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// webSetup is a vipLab whose web server is a resource of the group (the
// python web server of serverScript, called name), not a server that runs
// all the time: nodes are made by the caller with its own ha.cf.
func webSetup(t *testing.T, lab string) (*vipLab, string) {
	testenv.NeedCommands(t, "python3", "curl")
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	g := newGroupLab(t, lab)
	v := &vipLab{groupLab: g, settles: true}
	if v.client, err = g.lab.Host("c", "10.231.0.9/24"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range v.nodes {
				if n != nil {
					t.Logf("---- %s ----\n%s", n.name, n.log())
				}
			}
			t.Logf("---- record ----\n%v", readRecord(t, g.dir))
		}
	})
	return v, python
}

// TestSetupApache: Apache behind a VIP (here a python web server the group
// starts, `node1 IPaddr2::VIP/24/eth0 httpd`) on a pair heard over two
// links (ucast on eth0 and on eth1, two bridges) with the gateway as ping
// node. The second link is cut: logged, and nothing moves. node1 loses the
// gateway while it still hears node2: the group moves to node2, stopped
// on node1 first, and the client follows it.
func TestSetupApache(t *testing.T) {
	v, python := webSetup(t, "apache")
	g := v.groupLab
	gw, err := g.lab.Host("gw", "10.231.0.254/24")
	if err != nil {
		t.Fatal(err)
	}
	cfg := g.twoLinks(t)
	cfg.Extra = append(cfg.Extra, "ping 10.231.0.254")
	haresources := "node1 IPaddr2::" + vip + "/24/eth0 httpd\n"
	scripts := map[string]string{"httpd": serverScript(python, g.dir, "httpd")}
	for i := range v.nodes {
		v.nodes[i] = g.node(i, cfg.String(), haresources, scripts)
	}
	n2 := v.nodes[1]
	v.step("both nodes started", "node1", 30*time.Second, true, v.start)

	// One of the two links fails and comes back: node2 logs it and still
	// sees node1, nothing is stopped or started, and the client stays
	// with node1 (a request that times out on a loaded machine is no move).
	begin := time.Now()
	g.oneLinkDown(n2, "eth1")
	v.stays("link eth1 cut and back", "node1", begin)
	v.quiet = append(v.quiet, span{begin, time.Now()})
	t.Logf("link eth1 cut and back: the client stayed with node1, longest unavailability %s", v.outage(begin).Round(time.Millisecond))

	// node1 loses the gateway, not node2: within deadping (deadtime by
	// default) and one echo interval (a quarter of it), the group moves.
	mark := len(readRecord(t, g.dir))
	var cut time.Time
	v.step("node1 loses the gateway", "node2", setupScripts, true, func() {
		if err := g.lab.CutBetween(g.hosts[0], gw); err != nil {
			t.Fatal(err)
		}
		cut = time.Now()
	})
	rec := readRecord(t, g.dir)
	g.assertHandover(rec, mark, "node1", "node2", "node1 lost the gateway")
	for _, e := range rec[mark:] {
		if e.node == "node2" && e.op == "start" {
			bound := groupTiming.Deadtime*5/4 + setupScripts
			if d := e.at.Sub(cut); d > bound {
				t.Errorf("node2 started httpd %s after node1 lost the gateway, bound %s (deadping, an echo interval, the scripts)", d.Round(time.Millisecond), bound)
			}
			break // the first start after the cut
		}
	}
	if s := n2.peerState("node1"); s != "active" {
		t.Errorf("node2 sees node1 %s: the move should need no death", s)
	}
	v.checkExclusive()
}

// TestSetupHeartbeatV1Nginx: the Heartbeat v1 nginx pair with its files as
// written: bcast heartbeats, auto_failback on, `node1
// IPaddr::VIP/24/eth0 nginx`, and resource.d/nginx whose first line is
// `#/bin/bash` (no `#!`), which Heartbeat's shell ran and hbd runs through
// /bin/sh (hbd check warns). kill -9 of the holder's hbd: node2 takes
// over; the killed hbd restarts, releases what it finds still running,
// and the group fails back to node1.
func TestSetupHeartbeatV1Nginx(t *testing.T) {
	v, python := webSetup(t, "v1nginx")
	g := v.groupLab
	cfg := hbref.HaCf{
		Keepalive: groupTiming.Keepalive, Warntime: groupTiming.Warntime, Deadtime: groupTiming.Deadtime, Initdead: groupTiming.Initdead,
		UDPPort: 694, Bcast: []string{"eth0"}, AutoFailback: "on", Nodes: []string{"node1", "node2"},
	}
	nginx := strings.Replace(serverScript(python, g.dir, "nginx"), "#!/bin/sh\n", "#/bin/bash\n", 1)
	if !strings.HasPrefix(nginx, "#/bin/bash\n") {
		t.Fatalf("the nginx script does not start as the setup's does:\n%s", nginx)
	}
	haresources := "node1 IPaddr::" + vip + "/24/eth0 nginx\n"
	for i := range v.nodes {
		v.nodes[i] = g.node(i, cfg.String(), haresources, map[string]string{"nginx": nginx})
	}
	n1 := v.nodes[0]
	out, err := n1.host.Exec(context.Background(), hbdBin, "check", "-c", filepath.Join(n1.dir, "ha.d"), "--node", "node1")
	if err != nil || !strings.Contains(out, "has no #! line") {
		t.Errorf("hbd check (%v) does not warn about the script without #!:\n%s", err, out)
	}

	v.step("both nodes started", "node1", 30*time.Second, true, v.start)
	// The killed daemon's machine still holds the VIP and runs nginx: the
	// client may stay with it until node2's announcements win.
	v.settles = false
	v.step("kill -9 of the holder's hbd", "node2", vipLimit+setupScripts, false, func() {
		if err := n1.proc.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	})
	mark := len(readRecord(t, g.dir))
	v.step("the killed hbd restarts: failback", "node1", vipLimit+failbackDelay+setupScripts, false, func() {
		n1.start()
		waitFor(t, groupTiming.Initdead+failbackDelay+3*setupScripts, "node1 to hold the group again", func() bool {
			h, s := v.nodes[1].holder()
			return h == "node1" && s == "running"
		})
	})
	rec := readRecord(t, g.dir)
	if len(rec) <= mark || rec[mark].node != "node1" || rec[mark].op != "stop" {
		t.Errorf("node1's restarted hbd did not first release the nginx it found running: record %v", rec[mark:])
	}
	g.assertHandover(rec, mark+1, "node2", "node1", "failback")
	v.checkExclusive()
}
