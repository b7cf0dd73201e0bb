//go:build linux

package ipaddr

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// TestHandoverOnForwardingHostDeliversOnce: the old holder forwards IP
// (net.ipv4.ip_forward=1, as on any host that runs docker, or a
// router): once the address is gone its kernel routes the datagrams a
// client still sends to its MAC on to the address's new holder itself
// (out of the same interface, once the new holder's announcement has
// resolved the address). A handover that passes the same frames on at
// the Ethernet level delivers every datagram of the window twice.
func TestHandoverOnForwardingHostDeliversOnce(t *testing.T) {
	for _, hand := range []bool{false, true} {
		t.Run(fmt.Sprintf("handover=%v", hand), func(t *testing.T) {
			lab := netlab.NewT(t, "hofwd")
			a := addHost(t, lab, "a", "10.231.0.1/24")
			b := addHost(t, lab, "b", "10.231.0.2/24")
			c := addHost(t, lab, "c", "10.231.0.3/24")
			ctx := context.Background()
			if out, err := a.Exec(ctx, "sysctl", "-w", "net.ipv4.ip_forward=1"); err != nil {
				t.Fatalf("sysctl: %v %s", err, out)
			}
			const port = 9999
			onB := countUDP(t, b, port)
			agA, _ := agentIn(t, a, t.TempDir(), quickBurst, vip4+"/24/eth0")
			agB, _ := agentIn(t, b, t.TempDir(), quickBurst, vip4+"/24/eth0")
			if err := agA.Start(ctx); err != nil {
				t.Fatal(err)
			}
			ping(t, c, vip4) // c's neighbour entry: a's MAC
			// c sends a numbered datagram every 500 µs for 400 ms.
			sent := sendNumbered(t, c, net.JoinHostPort(vip4, fmt.Sprint(port)), 400*time.Millisecond)
			time.Sleep(50 * time.Millisecond)
			if hand {
				if _, err := agA.Release(ctx, 50*time.Millisecond); err != nil {
					t.Fatal(err)
				}
			} else if err := agA.StopDrained(ctx, 50*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond) // the release message, the taker's start
			if err := agB.Start(ctx); err != nil {
				t.Fatal(err)
			}
			n := <-sent
			time.Sleep(200 * time.Millisecond)
			got := onB.stop()
			twice := 0
			for _, k := range got {
				if k > 1 {
					twice++
				}
			}
			t.Logf("sent %d datagrams, %d distinct reached b, %d of them more than once", n, len(got), twice)
			if twice > 0 {
				t.Errorf("%d datagrams reached the new holder twice (the old holder's kernel forwarded them, and the handover passed them on too)", twice)
			}
			if err := agB.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// udpCounter counts the numbered datagrams port on h receives.
type udpCounter struct {
	pc   net.PacketConn
	mu   sync.Mutex
	got  map[uint32]int
	done chan struct{}
}

func countUDP(t *testing.T, h *netlab.Host, port int) *udpCounter {
	t.Helper()
	pc, err := h.ListenPacket("udp4", fmt.Sprintf(":%d", port))
	if err != nil {
		t.Fatal(err)
	}
	u := &udpCounter{pc: pc, got: map[uint32]int{}, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		buf := make([]byte, 64)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 4 {
				u.mu.Lock()
				u.got[binary.BigEndian.Uint32(buf)]++
				u.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-u.done })
	return u
}

func (u *udpCounter) stop() map[uint32]int {
	u.pc.Close()
	<-u.done
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.got
}

// sendNumbered sends a numbered datagram from c to target every 500 µs
// for d; the channel says how many.
func sendNumbered(t *testing.T, c *netlab.Host, target string, d time.Duration) <-chan uint32 {
	t.Helper()
	conn, err := c.Dial(context.Background(), "udp4", target)
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan uint32, 1)
	go func() {
		defer conn.Close()
		var seq uint32
		b := make([]byte, 4)
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Microsecond) {
			seq++
			binary.BigEndian.PutUint32(b, seq)
			_, _ = conn.Write(b)
		}
		sent <- seq
	}()
	return sent
}

// TestHandoverEndsWhenOursAgain: a release whose taker never
// announces (its start failed, the group came back here), then a start
// here, then a release again that a taker announces, within
// HandoverFor. The first handover, with no taker known, holds the
// frames that reach this node while the address is back here (its
// stack takes them): it ends once the address is this node's again,
// and passes none of them on (datagrams this node's service received
// reach the new holder too, otherwise). The second passes on to the
// taker what reaches this node between its removal and the taker's
// announcement, and ends by its own bounds, not by taking the address
// for this node's.
func TestHandoverEndsWhenOursAgain(t *testing.T) {
	for _, hand := range []bool{false, true} {
		t.Run(fmt.Sprintf("handover=%v", hand), func(t *testing.T) { outlivesOursAgain(t, hand) })
	}
}

func outlivesOursAgain(t *testing.T, hand bool) {
	release := func(ag *Agent) <-chan struct{} {
		if hand {
			done, err := ag.Release(context.Background(), 10*time.Millisecond)
			if err != nil || done == nil {
				t.Fatalf("release: %v (handover %v)", err, done != nil)
			}
			return done
		}
		if err := ag.StopDrained(context.Background(), 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	lab := netlab.NewT(t, "hoours")
	a := addHost(t, lab, "a", "10.231.0.1/24")
	b := addHost(t, lab, "b", "10.231.0.2/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	ctx := context.Background()
	const port = 9998
	onA, onB := countUDP(t, a, port), countUDP(t, b, port)
	passed := countPassed(t, b, macOf(t, a), vip4)
	dir := t.TempDir()
	// a's log is slow: a handover that reads while the release's path
	// still writes its lines (the record not yet removed) finds the
	// address's record and takes it for this node's again.
	const slow = 5 * time.Millisecond
	agA, hookA := agentLogging(t, a, dir, quickBurst, slow, vip4+"/24/eth0")
	agB, _ := agentIn(t, b, t.TempDir(), quickBurst, vip4+"/24/eth0")
	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ping(t, c, vip4)
	sent := sendNumbered(t, c, net.JoinHostPort(vip4, fmt.Sprint(port)), 500*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	first := release(agA) // no taker announces
	time.Sleep(50 * time.Millisecond)
	agA2, hookA2 := agentLogging(t, a, dir, quickBurst, slow, vip4+"/24/eth0")
	if err := agA2.Start(ctx); err != nil { // back here
		t.Fatal(err)
	}
	if first != nil {
		<-first // ended: the address is a's again
	}
	beforeSecond := passed.n.Load()
	time.Sleep(100 * time.Millisecond)
	second := release(agA2)
	time.Sleep(2 * time.Millisecond)
	if err := agB.Start(ctx); err != nil {
		t.Fatal(err)
	}
	n := <-sent
	if second != nil {
		<-second
	}
	time.Sleep(200 * time.Millisecond)
	gotA, gotB := onA.stop(), onB.stop()
	toB := passed.finish()
	both := 0
	for seq := range gotB {
		if gotA[seq] > 0 {
			both++
		}
	}
	t.Logf("sent %d; a received %d, b %d, both %d; frames from a's MAC reached b: %d before the second release, %d in all", n, len(gotA), len(gotB), both, beforeSecond, toB)
	if both > 0 {
		t.Errorf("%d datagrams a's service received while the address was back on a were passed on to b as well", both)
	}
	if !hand {
		if toB > 0 {
			t.Errorf("%d frames reached b from a's MAC without a handover", toB)
		}
		_ = agB.Stop(ctx)
		return
	}
	if beforeSecond > 0 {
		t.Errorf("the first handover, whose taker never announced, passed %d frames on to b", beforeSecond)
	}
	if !hasEntry(hookA, logrus.DebugLevel, "is this node's again") {
		t.Error("the first handover did not end with the address this node's again")
	}
	if hasEntry(hookA2, logrus.DebugLevel, "is this node's again") || !hasEntry(hookA2, logrus.DebugLevel, "passed on to it") {
		t.Error("the second handover did not end by handing over to b (it took the address for this node's again?)")
	}
	if toB < 1 {
		t.Error("no frame sent to a in the second release's window reached b: the second handover passed nothing on")
	}
	_ = agB.Stop(ctx)
}
