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
	handed, err := agA.Release(ctx, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
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
	n := -1
	if handed != nil {
		n = handed()
	}
	t.Logf("answered %v after the removal by %q (%v); the handover passed on %d frame(s)", res.took.Round(time.Millisecond), res.who, res.err, n)
	if res.err != nil || res.took > 900*time.Millisecond {
		t.Errorf("the SYN sent in the window was not answered by the new holder at once: the handover sent it to r, which one unicast ARP frame named")
	}
	_ = agB.Stop(ctx)
}

// TestHandoverBoundedUnderFlood: a flood of frames for the address to
// the old holder's MAC, which any host on the segment can send, ends the
// handover within its bound: its socket and goroutine do not live as
// long as frames come.
func TestHandoverBoundedUnderFlood(t *testing.T) {
	lab := netlab.NewT(t, "hoflood")
	a := addHost(t, lab, "a", "10.231.0.1/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	ctx := context.Background()
	agA, _ := agentIn(t, a, t.TempDir(), quickBurst, vip4+"/24/eth0")
	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ping(t, c, vip4)
	handed, err := agA.Release(ctx, 10*time.Millisecond)
	if err != nil || handed == nil {
		t.Fatalf("release: %v (handover %v)", err, handed != nil)
	}
	released := time.Now()
	const flood = 4 * time.Second
	var wg sync.WaitGroup
	var sent [3]int
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
			for end := released.Add(flood); time.Now().Before(end); {
				if _, err := conn.Write(b); err == nil {
					sent[i]++
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { handed(); close(done) }()
	var ended time.Duration
	select {
	case <-done:
		ended = time.Since(released)
	case <-time.After(flood + 2*time.Second):
		ended = -1
	}
	wg.Wait()
	if ended < 0 {
		<-done
		ended = time.Since(released)
	}
	t.Logf("flood of %v (%d datagrams sent); the handover ended %v after the removal", flood, sent[0]+sent[1]+sent[2], ended.Round(time.Millisecond))
	if ended > HandoverFor+500*time.Millisecond {
		t.Errorf("the handover ran %v, past its bound of %v: it reads as long as frames come", ended.Round(time.Millisecond), HandoverFor)
	}
}
