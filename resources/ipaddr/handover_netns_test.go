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
// stack takes them) without looking at the record; once the second
// release removes the record and the taker announces, it passes them
// on: datagrams this node's service already received reach the new
// holder too.
func TestHandoverEndsWhenOursAgain(t *testing.T) {
	for _, hand := range []bool{false, true} {
		t.Run(fmt.Sprintf("handover=%v", hand), func(t *testing.T) { outlivesOursAgain(t, hand) })
	}
}

func outlivesOursAgain(t *testing.T, hand bool) {
	release := func(ag *Agent) error {
		if hand {
			_, err := ag.Release(context.Background(), 10*time.Millisecond)
			return err
		}
		return ag.StopDrained(context.Background(), 10*time.Millisecond)
	}
	lab := netlab.NewT(t, "hoours")
	a := addHost(t, lab, "a", "10.231.0.1/24")
	b := addHost(t, lab, "b", "10.231.0.2/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	ctx := context.Background()
	const port = 9998
	onA, onB := countUDP(t, a, port), countUDP(t, b, port)
	dir := t.TempDir()
	agA, _ := agentIn(t, a, dir, quickBurst, vip4+"/24/eth0")
	agB, _ := agentIn(t, b, t.TempDir(), quickBurst, vip4+"/24/eth0")
	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ping(t, c, vip4)
	sent := sendNumbered(t, c, net.JoinHostPort(vip4, fmt.Sprint(port)), 500*time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if err := release(agA); err != nil { // no taker announces
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	agA2, _ := agentIn(t, a, dir, quickBurst, vip4+"/24/eth0")
	if err := agA2.Start(ctx); err != nil { // back here
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := release(agA2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := agB.Start(ctx); err != nil {
		t.Fatal(err)
	}
	n := <-sent
	time.Sleep(200 * time.Millisecond)
	gotA, gotB := onA.stop(), onB.stop()
	both := 0
	for seq := range gotB {
		if gotA[seq] > 0 {
			both++
		}
	}
	t.Logf("sent %d; a received %d, b %d, both %d", n, len(gotA), len(gotB), both)
	if both > 0 {
		t.Errorf("%d datagrams a's service received while the address was back on a were passed on to b as well", both)
	}
	_ = agB.Stop(ctx)
}
