//go:build !noetcd

package daemon

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/internal/etcdtest"
)

// command sends one request to n's control socket, as the CLI does.
func (n *etcdNode) command(cmd string, args ...string) ctl.Response {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := ctl.Call(ctx, filepath.Join(n.dir, "run", ctl.SocketName), ctl.Request{Cmd: cmd, Args: args})
	if err != nil {
		n.t.Fatalf("%s %v: %v", cmd, args, err)
	}
	return resp
}

// status is n's hbd status with the etcd backend.
func (n *etcdNode) status() ctl.EtcdStatus {
	n.t.Helper()
	var st ctl.Status
	r := n.command("status")
	if err := json.Unmarshal(r.Data, &st); err != nil || !r.OK || st.Etcd == nil {
		n.t.Fatalf("hbd status: %s, %v, %+v", r.Error, err, st)
	}
	return *st.Etcd
}

// TestEtcdStandbyTakeover: with the etcd backend, hbd standby and hbd
// takeover through the control socket move the groups of their class
// (Heartbeat's log lines on the node asked), and with no other node
// alive they are refused with the reason.
func TestEtcdStandbyTakeover(t *testing.T) {
	c := etcdtest.Start(t, nil)
	var nodes []*etcdNode
	for _, name := range []string{"n1", "n2"} {
		n := newEtcdNode(t, c.Endpoints())
		n.node = name
		n.write("ha.cf", n.hacf("/hbd/", "node n2"), 0o644)
		n.write("haresources", "n1 rec::a\nn2 rec::b\n", 0o644)
		n.start()
		nodes = append(nodes, n)
	}
	n1, n2 := nodes[0], nodes[1]
	n1.waitRunning("a on n1", "a")
	n2.waitRunning("b on n2", "b")
	n1.logSince()

	if r := n1.command("standby", "local"); !r.OK {
		t.Fatalf("standby local: %s", r.Error)
	}
	n1.waitLog("Going standby [local].")
	n2.waitRunning("a given to n2", "a", "b")
	n1.waitRunning("n1 holds nothing")
	if got := n2.status().Groups[0].StandsBy; !slices.Equal(got, []string{"n1"}) {
		t.Errorf("hbd status on n2: a's nodes standing by %v, want [n1]", got)
	}

	if r := n1.command("takeover"); !r.OK {
		t.Fatalf("takeover: %s", r.Error)
	}
	n1.waitLog("Taking over [all] resources from the other nodes (hb_takeover).")
	n1.waitRunning("n1 took over both", "a", "b")
	n2.waitRunning("n2 holds nothing")

	n2.stop()
	n1.within("n1 sees n2 gone", func() bool { return slices.Equal(n1.status().Members, []string{"n1"}) })
	for _, cmd := range []string{"standby", "takeover"} {
		r := n1.command(cmd, "all")
		if want := cmd + " [all] ignored: no other active node"; r.OK || !strings.Contains(r.Error, want) {
			t.Errorf("%s with n2 gone: %+v, want the error %q", cmd, r, want)
		}
	}
	n1.waitRunning("n1 still holds both", "a", "b")
}
