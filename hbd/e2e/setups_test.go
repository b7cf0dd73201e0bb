//go:build linux

package e2e

import (
	"context"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/monitor"
	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/resources/awseip/ec2fake"
)

// The setups hbd was made for, each end to end with real hbd processes in
// namespaces and the commands their operators type: an Elastic IP pair,
// two exclusive groups (a validator and its backup), Apache behind a VIP
// on two links with a gateway ping node (setups_web_test.go), and the
// Heartbeat v1 nginx pair with its files as written (the same file).
// Their timings are groupTiming's, short, so that they fit in make test;
// every other directive is as the setup writes it.

// setupScripts bounds what the scripts of one handover take (a python web
// server's stop and start, or the awseip agent's EC2 calls), with the
// margin a loaded 2-core machine needs, as monScripts does.
const setupScripts = monScripts

// TestSetupElasticIP: the Elastic IP pair of docs/guide-aws-eip.md
// (node1 awseip::ALLOCATION nginx, auto_failback on) with a monitor of the
// address every 10 s, against the fake EC2 that speaks EC2's query
// protocol, reached by each node at its own loopback, with each node's
// instance metadata (IMDSv2) there too. The operator puts node2 in
// standby: nothing moves. node1's machine dies: node2, in standby, does
// not take the address. The operator brings node2 online: it takes it.
// node1 comes back: the address goes home (auto_failback on).
func TestSetupElasticIP(t *testing.T) {
	g := newGroupLab(t, "eip")
	f := ec2fake.New()
	t.Cleanup(f.Close)
	const alloc = "eipalloc-0123456789abcdef0"
	f.AddAddress(alloc, "203.0.113.7")
	instance := [2]string{"i-0000000000000aaa1", "i-0000000000000aaa2"}
	cfg := g.hacf(groupTiming)
	cfg.Extra = append(cfg.Extra, "monitor awseip interval=10s")
	// nginx is rec under the name the setup gives it.
	scripts := map[string]string{"rec": recScript(g.dir), "nginx": "#!/bin/sh\nexec \"$(dirname \"$0\")/rec\" nginx \"$@\"\n"}
	var nodes [2]*hbdInLab
	for i, h := range g.hosts {
		f.AddInstance(instance[i], h.IP())
		md := f.NewIMDS(instance[i])
		for addr, serve := range map[string]func(net.Listener) error{"127.0.0.1:8773": f.Serve, "127.0.0.1:8774": md.Serve} {
			l, err := h.Listen("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := serve(l); err != nil {
				t.Fatal(err)
			}
		}
		nodes[i] = g.node(i, cfg.String(), "node1 awseip::"+alloc+" nginx\n", scripts)
		// Where the SDK finds EC2 and the metadata service, as on an
		// instance; the haresources line stays the setup's.
		nodes[i].env = []string{"AWS_ENDPOINT_URL_EC2=http://127.0.0.1:8773", "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:8774"}
	}
	n1, n2 := nodes[0], nodes[1]
	logOnFailure(t, g.dir, n1, n2)
	on := func() string { a, _ := f.Address(alloc); return a.InstanceID }
	associations := func(inst string) int {
		c := 0
		for _, call := range f.EC2Calls("AssociateAddress") {
			if call.Params.Get("InstanceId") == inst {
				c++
			}
		}
		return c
	}
	n1.start()
	n2.start()
	waitFor(t, 20*time.Second, "the Elastic IP on node1's instance", func() bool {
		h, s := n1.holder()
		return on() == instance[0] && h == "node1" && s == "running"
	})
	waitFor(t, 10*time.Second, "node1's monitor of awseip", func() bool {
		st, err := n1.status()
		return err == nil && len(st.Monitors) == 1 && st.Monitors[0].State == monitor.StateWatching &&
			strings.HasPrefix(st.Monitors[0].Resource, "awseip::") && st.Monitors[0].Interval == "10s"
	})

	// crm node standby node2, typed on node1: nothing moves, and node2
	// knows it is in standby.
	n1.hbdCmd("node", "standby", "node2")
	waitFor(t, 5*time.Second, "node2 to know it is in standby", func() bool {
		return strings.Contains(n2.hbdCmd("node", "list"), "node2  standby")
	})
	mark := len(readRecord(t, g.dir))
	time.Sleep(2 * groupTiming.Deadtime)
	if got := on(); got != instance[0] || len(readRecord(t, g.dir)) != mark {
		t.Errorf("standby of node2 moved something: the address is on %s; record %v", got, readRecord(t, g.dir)[mark:])
	}

	// node1's machine dies. node2, in standby, holds nothing: the address
	// stays where it was, and node2 never asks EC2 for it.
	g.die(n1)
	waitFor(t, groupTiming.Deadtime+5*time.Second, "node2 to see node1 dead", func() bool { return n2.peerState("node1") == "dead" })
	time.Sleep(2 * groupTiming.Deadtime)
	if got, n := on(), associations(instance[1]); got != instance[0] || n != 0 {
		t.Errorf("node2 in standby took the address: on %s, %d AssociateAddress calls for node2's instance", got, n)
	}

	// crm node online node2, typed on node2: it takes the address at once.
	mark = len(readRecord(t, g.dir))
	asked := time.Now()
	n2.hbdCmd("node", "online", "node2")
	waitFor(t, setupScripts+5*time.Second, "the Elastic IP on node2's instance", func() bool { return on() == instance[1] })
	took := time.Since(asked)
	t.Logf("online node2: the address moved %s after the command", took.Round(time.Millisecond))
	if took > setupScripts {
		t.Errorf("online node2: the address moved %s after the command, bound %s", took.Round(time.Millisecond), setupScripts)
	}
	g.assertHandover(g.waitStarted("node2", mark), mark, "", "node2", "online node2")

	// node1's machine comes back: failback after failback_delay, released
	// on node2 (nginx stopped; stop=keep makes no EC2 call) before node1
	// associates the address with its instance again.
	mark = len(readRecord(t, g.dir))
	if err := g.lab.Heal(g.hosts[0]); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	n1.start()
	bound := groupTiming.Initdead + failbackDelay + 2*setupScripts
	waitFor(t, bound+5*time.Second, "the Elastic IP back on node1's instance", func() bool { return on() == instance[0] })
	took = time.Since(back)
	t.Logf("failback: the address is on node1's instance %s after its hbd started", took.Round(time.Millisecond))
	if took > bound {
		t.Errorf("failback took %s, bound %s (initdead, failback_delay and the scripts)", took.Round(time.Millisecond), bound)
	}
	g.assertHandover(g.waitStarted("node1", mark), mark, "node2", "node1", "failback")
}

// waitStarted waits until node has started something in the record after
// mark, and returns the record.
func (g *groupLab) waitStarted(node string, mark int) []recEvent {
	g.t.Helper()
	var rec []recEvent
	waitFor(g.t, 10*time.Second, node+" to start its resources", func() bool {
		rec = readRecord(g.t, g.dir)
		for _, e := range rec[min(mark, len(rec)):] {
			if e.node == node && e.op == "start" {
				return true
			}
		}
		return false
	})
	return rec
}

// TestSetupExclusivePair: a validator and its backup, each group a VIP and
// a service (a web server with a pid file, as a systemd unit would run
// it), on two nodes that must never run both: `exclusive peer citizen`,
// named by the groups' own resources. A client requests each VIP. node1
// (the validator, peer) dies: node2 stops its own group (citizen) before
// it starts peer; the client sees peer's VIP answered by node2 and
// citizen's VIP dark. node1 returns: peer goes home, citizen comes back on
// node2, and the client sees each VIP answer from its node again.
func TestSetupExclusivePair(t *testing.T) {
	testenv.NeedCommands(t, "python3", "curl")
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal(err)
	}
	g := newGroupLab(t, "excl2")
	client, err := g.lab.Host("c", "10.231.0.9/24")
	if err != nil {
		t.Fatal(err)
	}
	const vip2 = "10.231.0.101"
	cfg := g.hacf(groupTiming)
	cfg.Extra = append(cfg.Extra, "exclusive peer citizen")
	haresources := "node1 IPaddr2::" + vip + "/24/eth0 peer\nnode2 IPaddr2::" + vip2 + "/24/eth0 citizen\n"
	scripts := map[string]string{"peer": serverScript(python, g.dir, "peer"), "citizen": serverScript(python, g.dir, "citizen")}
	n1, n2 := g.node(0, cfg.String(), haresources, scripts), g.node(1, cfg.String(), haresources, scripts)
	logOnFailure(t, g.dir, n1, n2)
	n1.start()
	n2.start()
	var probes [2]*netlab.Prober
	for i, u := range []string{vipURL, "http://" + vip2 + ":8080/"} {
		if probes[i], err = g.lab.StartProber(client, u, netlab.ProberOptions{Interval: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	served := func(i int, whom string, since time.Time, d time.Duration) time.Time {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		p, err := probes[i].WaitFor(ctx, since, whom)
		if err != nil {
			t.Fatalf("VIP %d not answered by %s within %s: %v (windows %v)", i+1, whom, d, err, netlab.Windows(probes[i].Probes()))
		}
		return p.At
	}
	begin := time.Now()
	served(0, "node1", begin, 30*time.Second)
	served(1, "node2", begin, 30*time.Second)

	// node1's machine dies.
	mark := len(readRecord(t, g.dir))
	g.die(n1)
	died := time.Now()
	at := served(0, "node2", died, 30*time.Second)
	bound := groupTiming.Deadtime + 2*setupScripts
	t.Logf("node1 died: peer's VIP answered by node2 %s later", at.Sub(died).Round(time.Millisecond))
	if at.Sub(died) > bound {
		t.Errorf("peer's VIP answered by node2 %s after node1 died, bound %s (deadtime and two groups' scripts)", at.Sub(died).Round(time.Millisecond), bound)
	}
	var citizenStop, peerStart time.Time
	for _, e := range readRecord(t, g.dir)[mark:] {
		if e.node == "node2" && e.res == "citizen" && e.op == "stop" && citizenStop.IsZero() {
			citizenStop = e.at
		}
		if e.node == "node2" && e.res == "peer" && e.op == "start" && peerStart.IsZero() {
			peerStart = e.at // the first start after the death
		}
	}
	if citizenStop.IsZero() || peerStart.IsZero() || peerStart.Before(citizenStop) {
		t.Errorf("node2 must stop citizen (%v) before it starts peer (%v)", citizenStop, peerStart)
	}
	time.Sleep(500 * time.Millisecond)
	if p, ok := probes[1].Last(); !ok || p.OK() {
		t.Errorf("citizen's VIP still answers with peer on node2 (last %+v)", p)
	}

	// node1 comes back: its hbd releases the peer it finds still running,
	// then peer fails back and citizen returns to node2.
	if err := g.lab.Heal(g.hosts[0]); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	n1.start()
	bound = groupTiming.Initdead + failbackDelay + 3*setupScripts
	at = served(0, "node1", back, bound+10*time.Second)
	at2 := served(1, "node2", back, bound+10*time.Second)
	t.Logf("node1 back: peer's VIP from node1 %s, citizen's from node2 %s after its hbd started",
		at.Sub(back).Round(time.Millisecond), at2.Sub(back).Round(time.Millisecond))
	if last := max(at.Sub(back), at2.Sub(back)); last > bound {
		t.Errorf("both VIPs answered from their nodes %s after node1 returned, bound %s", last.Round(time.Millisecond), bound)
	}
	for i, p := range probes {
		if last, ok := p.Last(); !ok || last.Whom != []string{"node1", "node2"}[i] {
			t.Errorf("VIP %d: last answer %+v", i+1, last)
		}
	}
}
