//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// The etcd lab's timings: resource_timeout 1s and a group of two
// resources give the default lease, twice the slowest stop: 4 s, renewed
// every 400 ms; a node that cannot renew starts stopping its groups
// 2.8 s before its lease could expire.
const (
	etcdLease    = 4 * time.Second
	etcdInterval = etcdLease / 10
	etcdClient   = "10.231.0.20"
	etcdURL      = "http://" + etcdClient + ":2379"
)

// etcdLab is three hbd nodes with `backend etcd`, Debian's etcd server
// alone in its own namespace, and a client requesting the VIP every 20 ms.
// node1 prefers the group: the VIP (hbd's IPaddr2) and rec::web.
type etcdLab struct {
	t      *testing.T
	lab    *netlab.Lab
	dir    string
	hosts  [3]*netlab.Host
	nodes  [3]*hbdInLab
	etcd   *netlab.Host
	client *netlab.Host
	probe  *netlab.Prober
	watch  *netlab.AddrWatch
	// quiet are the spans in which the VIP must never be on two hosts.
	quiet []span
}

func newEtcdLab(t *testing.T) *etcdLab {
	netlab.Skip(t)
	testenv.NeedCommands(t, "etcd")
	e := &etcdLab{t: t, lab: netlab.NewT(t, "etcd")}
	var err error
	if e.dir, err = e.lab.Dir(); err != nil {
		t.Fatal(err)
	}
	if e.etcd, err = e.lab.Host("e", etcdClient+"/24"); err != nil {
		t.Fatal(err)
	}
	if e.client, err = e.lab.Host("c", "10.231.0.9/24"); err != nil {
		t.Fatal(err)
	}
	var hacf strings.Builder
	fmt.Fprintf(&hacf, "logfile %s\ndebugfile %s\nlogfacility none\n", hbref.DefaultLogfile, hbref.DefaultDebugfile)
	fmt.Fprintf(&hacf, "node node1 node2 node3\nauto_failback on\nbackend etcd\netcd_endpoints %s\nresource_timeout 1\n", etcdURL)
	for i := range e.hosts {
		if e.hosts[i], err = e.lab.Host(fmt.Sprintf("n%d", i+1), fmt.Sprintf("10.231.0.%d/24", i+1)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.hosts[i].ServeWhom(":8080"); err != nil {
			t.Fatal(err)
		}
		n := newHbdInLab(t, e.lab, e.hosts[i], fmt.Sprintf("node%d", i+1), hacf.String(), groupsAuthkeys(),
			"node1 IPaddr2::"+vip+"/24/eth0 rec::web\n")
		if err := os.WriteFile(filepath.Join(n.dir, "ha.d/resource.d/rec"), []byte(recScript(e.dir)), 0o755); err != nil {
			t.Fatal(err)
		}
		e.nodes[i] = n
	}
	logOnFailure(t, "", e.nodes[:]...)
	return e
}

// startEtcd starts a one-member etcd in its namespace and waits until its
// client port answers from node1's.
func (e *etcdLab) startEtcd() {
	e.t.Helper()
	p, err := e.etcd.Start(nil, "etcd", "--name", "e", "--data-dir", filepath.Join(e.dir, "etcd-data"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
		"--initial-cluster", "e=http://127.0.0.1:2380", "--heartbeat-interval", "50", "--election-timeout", "250")
	if err != nil {
		e.t.Fatal(err)
	}
	waitFor(e.t, 20*time.Second, "etcd to serve", func() bool {
		if p.Exited() {
			e.t.Fatalf("etcd exited: %s", p.Output())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		c, err := e.hosts[0].Dial(ctx, "tcp", net.JoinHostPort(etcdClient, "2379"))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// served waits until the client is answered by host name (n1, n2, n3)
// and returns when it first was.
func (e *etcdLab) served(name string, since time.Time, d time.Duration) time.Time {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p, err := e.probe.WaitFor(ctx, since, name)
	if err != nil {
		e.t.Fatalf("client not served by %s within %s: %v (windows %v)", name, d, err, netlab.Windows(e.probe.Probes()))
	}
	return p.At
}

// firstRec is when node first ran op on web in the record after mark.
func (e *etcdLab) firstRec(mark int, node, op string) time.Time {
	for _, r := range readRecord(e.t, e.dir)[mark:] {
		if r.node == node && r.op == op {
			return r.at
		}
	}
	return time.Time{}
}

func (e *etcdLab) mark() int { return len(readRecord(e.t, e.dir)) }

// handover waits until to has started the group after mark, and checks
// that from had stopped it before; it returns from's stop and to's start.
func (e *etcdLab) handover(mark int, from, to, what string) (stop, start time.Time) {
	e.t.Helper()
	waitFor(e.t, 20*time.Second, what+": "+to+" starts the group", func() bool { return !e.firstRec(mark, to, "start").IsZero() })
	stop, start = e.firstRec(mark, from, "stop"), e.firstRec(mark, to, "start")
	switch {
	case stop.IsZero():
		e.t.Errorf("%s: %s started the group at %s, %s never stopped it", what, to, start.Format("15:04:05.000"), from)
	case start.Before(stop):
		e.t.Errorf("%s: %s started the group at %s, before %s stopped it at %s", what, to, start.Format("15:04:05.000"), from, stop.Format("15:04:05.000"))
	default:
		e.t.Logf("%s: %s stopped at %s, %s started %s later", what, from, stop.Format("15:04:05.000"), to, start.Sub(stop).Round(time.Millisecond))
	}
	return stop, start
}

// checkStatus: node i's `hbd status --json` shows members as the
// members and holder as the owner of the group, with the token it runs
// it under. The holder's status says running once its start has ended,
// which may be just after its last script recorded its start: waited for.
func (e *etcdLab) checkStatus(i int, holder string, members ...string) {
	e.t.Helper()
	if e.nodes[i].name == holder {
		waitFor(e.t, 5*time.Second, holder+"'s status to say the group runs", func() bool {
			st, err := e.nodes[i].status()
			return err == nil && st.Etcd != nil && len(st.Etcd.Groups) == 1 && st.Etcd.Groups[0].Running
		})
	}
	st, err := e.nodes[i].status()
	if err != nil {
		e.t.Fatalf("hbd status on %s: %v", e.nodes[i].name, err)
	}
	es := st.Etcd
	if st.Backend != "etcd" || es == nil || len(es.Groups) != 1 {
		e.t.Fatalf("hbd status on %s: backend %q, etcd %+v", e.nodes[i].name, st.Backend, es)
	}
	g := es.Groups[0]
	if !slices.Equal(es.Members, members) || es.Lease == "" || es.StopBy == nil || es.LeaseUntil == nil ||
		!es.StopBy.Before(*es.LeaseUntil) || g.Owner != holder || g.Token == 0 {
		e.t.Errorf("hbd status on %s: %+v, group %+v: want members %v, a lease, %s owning the group with a token", e.nodes[i].name, es, g, members, holder)
	}
	if here := e.nodes[i].name == holder; g.Running != here || here && g.RunningToken != g.Token {
		e.t.Errorf("hbd status on %s: running %v under token %d, owner key's token %d", e.nodes[i].name, g.Running, g.RunningToken, g.Token)
	}
}

// TestEtcdBackendVIP: real hbd processes with `backend etcd` against a
// real etcd server, a real floating IP and a client. The holder killed
// with -9 (and its machine gone) is replaced once its lease expires, not
// before; the holder cut off from etcd alone stops its group before
// another node starts it, and the client follows the VIP; a graceful stop
// hands over at once; hbd group move and clear, asked on any node, act
// everywhere; hbd standby on the holder hands the group to another node.
func TestEtcdBackendVIP(t *testing.T) {
	e := newEtcdLab(t)
	e.startEtcd()
	var err error
	if e.probe, err = e.lab.StartProber(e.client, vipURL, netlab.ProberOptions{}); err != nil {
		t.Fatal(err)
	}
	if e.watch, err = netlab.WatchAddr(vip, 10*time.Millisecond, e.hosts[0], e.hosts[1], e.hosts[2]); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	e.nodes[0].start()
	e.served("n1", begin, 15*time.Second)
	e.nodes[1].start()
	e.nodes[2].start()
	waitFor(t, 10*time.Second, "three members", func() bool {
		st, err := e.nodes[0].status()
		return err == nil && st.Etcd != nil && len(st.Etcd.Members) == 3
	})
	all := []string{"node1", "node2", "node3"}
	e.checkStatus(0, "node1", all...)
	e.checkStatus(1, "node1", all...)
	e.quiet = append(e.quiet, span{begin, time.Now()})

	// kill -9 of the holder, its machine gone with it: node2 (next in
	// node order) takes over once node1's lease has expired.
	mark := e.mark()
	killed := time.Now()
	if err := e.nodes[0].proc.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := e.lab.Cut(e.hosts[0]); err != nil {
		t.Fatal(err)
	}
	at := e.served("n2", killed, etcdLease+10*time.Second)
	waitFor(t, 5*time.Second, "node2 to run rec::web", func() bool { return !e.firstRec(mark, "node2", "start").IsZero() })
	started := e.firstRec(mark, "node2", "start")
	t.Logf("kill -9: node2 started the group %s after the kill, the client was served by it %s after",
		started.Sub(killed).Round(time.Millisecond), at.Sub(killed).Round(time.Millisecond))
	if early := etcdLease - etcdInterval - 100*time.Millisecond; started.Sub(killed) < early || at.Sub(killed) < early {
		t.Errorf("kill -9: node2 started %s after the kill (the client served by it %s after), before node1's lease (%s, renewed every %s) could expire",
			started.Sub(killed), at.Sub(killed), etcdLease, etcdInterval)
	}
	if limit := etcdLease + 3*time.Second; at.Sub(killed) > limit {
		t.Errorf("kill -9: the client was served by node2 %s after the kill, want within %s (the lease and the scripts)", at.Sub(killed), limit)
	}
	e.checkStatus(2, "node2", "node2", "node3")

	// node1's machine comes back as after a reboot (no VIP, nothing
	// running); its daemon starts and the group fails back, node2's stop
	// first.
	if _, err := e.hosts[0].Exec(context.Background(), "ip", "addr", "del", vip+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.dir, "state.node1.web")); err != nil {
		t.Fatal(err)
	}
	if err := e.lab.Heal(e.hosts[0]); err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	mark = e.mark()
	e.nodes[0].start()
	e.handover(mark, "node2", "node1", "failback")
	e.served("n1", from, 15*time.Second)
	e.quiet = append(e.quiet, span{from, time.Now()})

	// node1 cut off from etcd alone (clients still reach it): it stops its
	// group before its lease can expire, then node2 starts it.
	from = time.Now()
	mark = e.mark()
	if err := e.lab.CutBetween(e.hosts[0], e.etcd); err != nil {
		t.Fatal(err)
	}
	stop, start := e.handover(mark, "node1", "node2", "cut from etcd")
	at = e.served("n2", from, 15*time.Second)
	t.Logf("cut from etcd: node1 stopped %s after the cut, node2 started %s after it, the client was served by node2 %s after it",
		stop.Sub(from).Round(time.Millisecond), start.Sub(from).Round(time.Millisecond), at.Sub(from).Round(time.Millisecond))
	if stop.Sub(from) > etcdLease {
		t.Errorf("cut from etcd: node1 stopped %s after the cut, after its lease (%s) could have expired", stop.Sub(from), etcdLease)
	}
	// The group fails back once node1 reaches etcd again.
	healed := time.Now()
	mark = e.mark()
	if err := e.lab.HealBetween(e.hosts[0], e.etcd); err != nil {
		t.Fatal(err)
	}
	e.handover(mark, "node2", "node1", "etcd reached again")
	e.served("n1", healed, 15*time.Second)
	e.quiet = append(e.quiet, span{from, time.Now()})

	// A graceful stop hands over at once: node2 starts within a pass of
	// its loop after node1's stop, not a lease later.
	from = time.Now()
	mark = e.mark()
	if err := e.nodes[0].proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	stop, start = e.handover(mark, "node1", "node2", "graceful stop")
	if limit := etcdInterval + time.Second; start.Sub(stop) > limit {
		t.Errorf("graceful stop: node2 started %s after node1's stop, want within %s", start.Sub(stop), limit)
	}
	e.served("n2", from, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.nodes[0].proc.Wait(ctx); err != nil {
		t.Errorf("node1 after SIGTERM: %v", err)
	}
	e.quiet = append(e.quiet, span{from, time.Now()})

	// The operator's settings live in etcd: a move asked on node2 takes
	// the group to node3 (node2's stop first); clear brings it back.
	from = time.Now()
	mark = e.mark()
	e.nodes[1].hbdCmd("group", "move", "rec::web", "node3")
	e.handover(mark, "node2", "node3", "hbd group move")
	e.served("n3", from, 10*time.Second)
	if out := e.nodes[2].hbdCmd("group", "list"); !strings.Contains(out, "moved-to:node3") {
		t.Errorf("hbd group list on node3 lacks the move:\n%s", out)
	}
	// Cleared, the rule applies again: node1, the preferred node, is
	// away, so the holder keeps the group.
	mark = e.mark()
	e.nodes[2].hbdCmd("group", "clear", "rec::web")
	time.Sleep(3 * etcdInterval)
	if out := e.nodes[1].hbdCmd("group", "list"); strings.Contains(out, "moved") || !strings.Contains(out, "node3") {
		t.Errorf("hbd group list on node2 after clear: want node3 holding it, no move:\n%s", out)
	}
	if rec := readRecord(t, e.dir)[mark:]; len(rec) > 0 {
		t.Errorf("hbd group clear moved the group: %v", rec)
	}
	e.quiet = append(e.quiet, span{from, time.Now()})

	// hbd standby on the holder (node3): the group goes to the other live
	// node, node3's stop first, the client follows, and node3 stands by
	// for it.
	from = time.Now()
	mark = e.mark()
	e.nodes[2].hbdCmd("standby")
	stop, start = e.handover(mark, "node3", "node2", "hbd standby")
	at = e.served("n2", from, 10*time.Second)
	t.Logf("hbd standby: node3 stopped %s after the command, node2 started %s after it, the client was served by node2 %s after it",
		stop.Sub(from).Round(time.Millisecond), start.Sub(from).Round(time.Millisecond), at.Sub(from).Round(time.Millisecond))
	if out := e.nodes[1].hbdCmd("group", "list"); !strings.Contains(out, "hb_standby:node3") {
		t.Errorf("hbd group list on node2 after hbd standby on node3: want hb_standby:node3:\n%s", out)
	}
	e.quiet = append(e.quiet, span{from, time.Now()})

	rep := e.watch.Stop()
	for _, m := range rep.Multi() {
		for _, q := range e.quiet {
			if m.Start.Before(q.to) && m.End.After(q.from) {
				t.Errorf("VIP on %v at once from %s to %s (not during the kill -9)", m.Holders, m.Start.Format("15:04:05.000"), m.End.Format("15:04:05.000"))
			}
		}
	}
	t.Logf("VIP sampled %d times; %d spans with two holders; whole test %s", rep.Samples, len(rep.Multi()), time.Since(begin).Round(time.Millisecond))
}
