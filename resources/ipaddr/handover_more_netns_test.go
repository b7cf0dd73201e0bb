//go:build linux

package ipaddr

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// TestHandoverFollowsWhatClientsSee: the handover's new holder is the
// node the clients follow, named by a broadcast announcement: a host r
// that sends one ARP reply naming the address to the old holder's MAC
// alone, right after the release (no client sees it), does not steer
// what the handover passes on; the client's SYN in the window reaches
// the real new holder b at once.
func TestHandoverFollowsWhatClientsSee(t *testing.T) {
	lab := netlab.NewT(t, "hosteer")
	a := addHost(t, lab, "a", "10.231.0.1/24")
	b := addHost(t, lab, "b", "10.231.0.2/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	r := addHost(t, lab, "r", "10.231.0.4/24")
	const port = 8080
	startNamedServer(t, a, port, "a")
	startNamedServer(t, b, port, "b")
	target := net.JoinHostPort(vip4, fmt.Sprint(port))
	ctx := context.Background()
	agA, _ := agentIn(t, a, t.TempDir(), quickBurst, vip4+"/24/eth0")
	agB, _ := agentIn(t, b, t.TempDir(), quickBurst, vip4+"/24/eth0")
	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if who, err := ask(ctx, c, target, 2*time.Second); err != nil || who != "a" {
		t.Fatalf("before the release: %q, %v", who, err)
	}
	aMAC, err := net.ParseMAC(macOf(t, a))
	if err != nil {
		t.Fatal(err)
	}
	rMAC, err := net.ParseMAC(macOf(t, r))
	if err != nil {
		t.Fatal(err)
	}
	onB, onR := countPassed(t, b, macOf(t, a), vip4), countPassed(t, r, macOf(t, a), vip4)
	handed, err := agA.Release(ctx, 20*time.Millisecond)
	if err != nil || handed == nil {
		t.Fatalf("release: %v (handover %v)", err, handed != nil)
	}
	// r: one ARP reply naming the address, to a's MAC alone.
	f := garp(arpReply, rMAC, netip.MustParseAddr(vip4))
	copy(f[0:6], aMAC)
	if err := r.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Protocol: 0x0608, Halen: 6}
		copy(to.Addr[:], aMAC)
		return unix.Sendto(fd, f, 0, to)
	}); err != nil {
		t.Fatal(err)
	}
	res := askWhileTaking(t, c, target, agB)
	<-handed
	toB, toR := onB.finish(), onR.finish()
	t.Logf("answered %v after the removal by %q (%v); frames for the address from a's MAC: %d reached b, %d r", res.took.Round(time.Millisecond), res.who, res.err, toB, toR)
	if res.err != nil || res.took > 900*time.Millisecond {
		t.Errorf("the SYN sent in the window was not answered by the new holder at once: the handover sent it to r, which one unicast ARP frame named")
	}
	if toB < 1 || toR > 0 {
		t.Errorf("the handover passed %d frames on to b (want the SYN at least) and %d to r (want none)", toB, toR)
	}
	_ = agB.Stop(ctx)
}

// TestHandoverBoundedUnderFlood: a flood of frames for the address to
// the old holder's MAC, which any host on the segment can send, ends the
// handover within its bound: its socket and goroutine do not live as
// long as frames come. With no node announcing the address, it passes
// nothing on and ends by its read cap or its bound; with a new holder
// that announces it, it passes frames on to it, at most handoverMax,
// and ends. Either way it runs (a handover that ended at once, taking
// the address for this node's again, would pass both bounds too).
func TestHandoverBoundedUnderFlood(t *testing.T) {
	for _, taker := range []bool{false, true} {
		t.Run(fmt.Sprintf("taker=%v", taker), func(t *testing.T) { handoverFlood(t, taker) })
	}
}

func handoverFlood(t *testing.T, taker bool) {
	lab := netlab.NewT(t, "hoflood")
	a := addHost(t, lab, "a", "10.231.0.1/24")
	b := addHost(t, lab, "b", "10.231.0.2/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	ctx := context.Background()
	// a's log is slow: a handover that reads while the release's path
	// still writes its lines (the record not yet removed) finds the
	// address's record and takes it for this node's again.
	agA, hook := agentLogging(t, a, t.TempDir(), quickBurst, 5*time.Millisecond, vip4+"/24/eth0")
	agB, _ := agentIn(t, b, t.TempDir(), quickBurst, vip4+"/24/eth0")
	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ping(t, c, vip4)
	onB := countPassed(t, b, macOf(t, a), vip4)
	const flood = 4 * time.Second
	var wg sync.WaitGroup
	var sent [3]int
	began := time.Now()
	for i := range sent {
		conn, err := c.Dial(ctx, "udp4", net.JoinHostPort(vip4, "9"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			b := make([]byte, 16)
			for end := began.Add(flood); time.Now().Before(end); {
				if _, err := conn.Write(b); err == nil {
					sent[i]++
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // the flood under way at the release
	handed, err := agA.Release(ctx, 10*time.Millisecond)
	if err != nil || handed == nil {
		t.Fatalf("release: %v (handover %v)", err, handed != nil)
	}
	released := time.Now()
	if taker {
		time.Sleep(20 * time.Millisecond)
		if err := agB.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var ended time.Duration
	select {
	case <-handed:
		ended = time.Since(released)
	case <-time.After(flood):
		ended = -1
	}
	wg.Wait()
	if ended < 0 {
		<-handed
		ended = time.Since(released)
	}
	passed := onB.finish()
	t.Logf("flood of %v (%d datagrams sent); the handover ended %v after the removal; %d frames reached b from a's MAC",
		flood, sent[0]+sent[1]+sent[2], ended.Round(time.Millisecond), passed)
	if ended > HandoverFor+500*time.Millisecond {
		t.Errorf("the handover ran %v, past its bound of %v: it reads as long as frames come", ended.Round(time.Millisecond), HandoverFor)
	}
	if hasEntry(hook, logrus.DebugLevel, "is this node's again") {
		t.Errorf("the handover took the address for this node's again, and ended at once")
	}
	switch {
	case !taker && passed > 0:
		t.Errorf("%d frames passed on to b, which never announced the address", passed)
	case taker && passed < 1:
		t.Errorf("no frame of the flood passed on to b, which announced the address")
	case passed > handoverMax:
		t.Errorf("%d frames passed on to b, more than handoverMax (%d)", passed, handoverMax)
	}
	if taker {
		_ = agB.Stop(ctx)
	}
}
