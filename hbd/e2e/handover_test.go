//go:build linux

package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/internal/hbref"
	"github.com/hbdproject/hbd/hbd/netlab"
)

// TestHandoverInGracefulStop: the release's handover is said in
// one debug line when it ends (the new holder heard, or not within 1 s).
// In a standby the releasing daemon lives on and says it; in a graceful
// stop the daemon exits right after its release, and the handover (a
// goroutine nothing waits for) dies with it: no line, no frame passed
// on, although docs/agents.md counts graceful stops among the releases
// that hand over.
func TestHandoverInGracefulStop(t *testing.T) {
	hbref.Need(t)
	v := newVipLab(t, "on")
	n1, n2 := v.nodes[0], v.nodes[1]
	v.step("both nodes started at once", "n1", 20*time.Second, true, v.start)
	v.step("hbd standby on the holder", "n2", vipLimit, true, func() { v.hbd(0, "standby") })
	time.Sleep(1500 * time.Millisecond)
	standby := strings.Count(n1.log(), "handover: ")
	v.step("hbd takeover on node1", "n1", vipLimit, true, func() { v.hbd(0, "takeover") })
	v.step("graceful stop of the holder", "n2", vipLimit, true, func() {
		if err := n1.proc.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	})
	time.Sleep(1500 * time.Millisecond)
	stop := strings.Count(n1.log(), "handover: ") - standby
	t.Logf("handover lines on node1: %d after the standby, %d after the graceful stop; node2 %d", standby, stop, strings.Count(n2.log(), "handover: "))
	if standby == 0 {
		t.Fatalf("no handover line after a standby: the test cannot tell")
	}
	if stop == 0 {
		t.Errorf("the graceful stop's release did no handover that ended: the daemon exited under it")
	}
}

// TestLastNodeHandsNothingOver: the graceful stop of the last node of a
// cluster (its peer stopped before it) releases its address with no
// handover: no node will announce the address, and a handover would
// only hold the daemon's exit for its whole bound (1 s), waiting. The
// core names no taker for the release (cluster.StopGroup.Taker), and
// the in-process agent says so in a debug line.
func TestLastNodeHandsNothingOver(t *testing.T) {
	hbref.Need(t)
	v := newVipLab(t, "on")
	n1, n2 := v.nodes[0], v.nodes[1]
	v.step("both nodes started at once", "n1", 20*time.Second, true, v.start)
	stop := func(n *hbdInLab) time.Duration {
		t.Helper()
		began := time.Now()
		if err := n.proc.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-n.proc.Done():
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not exit within 20 s of its SIGTERM", n.name)
		}
		return time.Since(began)
	}
	stop(n2)
	took := stop(n1)
	log := n1.log()
	t.Logf("the last node exited %v after its SIGTERM; handover lines: %d", took.Round(time.Millisecond), strings.Count(log, "handover: "))
	if !strings.Contains(log, "nothing to hand over") {
		t.Errorf("node1's release did not say that no node takes the address")
	}
	if strings.Count(log, "handover: ") > 0 {
		t.Errorf("the last node's release handed over, to no node")
	}
	if h, _ := netlab.Holders(vip, v.hosts[0], v.hosts[1]); len(h) > 0 {
		t.Errorf("the address is still on %v after both nodes stopped", h)
	}
}
