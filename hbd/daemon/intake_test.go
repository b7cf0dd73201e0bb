package daemon

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/wire"
)

func testKeyring(t testing.TB, secret string) *wire.Keyring {
	t.Helper()
	kr, err := wire.NewKeyring(1, []wire.Key{{Index: 1, Method: wire.MethodSHA1, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// heartbeat is a status message from src as kr signs it.
func heartbeat(t testing.TB, kr *wire.Keyring, src string, seq uint64) []byte {
	t.Helper()
	m := &wire.Message{}
	m.Set("t", "status")
	m.Set("st", "active")
	m.Set("src", src)
	m.SetHex("seq", seq)
	m.SetHex("hg", 1)
	m.Set("ts", wire.UnixHex(t0))
	b, err := kr.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

var (
	peerAddr     = netip.MustParseAddrPort("10.0.0.2:694")
	attackerAddr = netip.MustParseAddrPort("10.0.0.66:4000")
)

// TestIntakePeersFirst: with the strangers' queue full and its goroutine
// not even running, the peer's datagrams are verified and handed on as
// they are read; the strangers' are verified by the intake's goroutine,
// and none gets through.
func TestIntakePeersFirst(t *testing.T) {
	kr := testKeyring(t, "the right secret")
	forger := testKeyring(t, "a guessed secret")
	in := newIntake(kr, quietLog())
	for i := range otherQueue {
		in.others <- link.Packet{Link: "eth0", From: attackerAddr, Data: heartbeat(t, forger, fmt.Sprint("fake", i), 1), At: t0}
	}
	const peers = 5
	for i := range peers {
		if !in.peer(link.Packet{Link: "eth0", From: peerAddr, Data: heartbeat(t, kr, "node2", uint64(i+1)), At: t0.Add(time.Duration(i))}) {
			t.Fatalf("peer message %d dropped", i)
		}
	}
	for i := range peers {
		r := <-in.out
		if r.Msg.Value("src") != "node2" || r.Link != "eth0" || !r.At.Equal(t0.Add(time.Duration(i))) {
			t.Fatalf("message %d: src %q link %q at %v", i, r.Msg.Value("src"), r.Link, r.At)
		}
	}
	if listed, _ := in.drops.snapshot(); len(listed) > 0 {
		t.Fatalf("%d strangers' datagrams were verified without the intake's goroutine", len(listed))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go in.run(ctx)
	waitUntil(t, "every forgery counted", func() bool {
		listed, evicted := in.drops.snapshot()
		return len(listed) == otherQueue && evicted == nil
	})
	select {
	case r := <-in.out:
		t.Fatalf("a forged message got through: %v", r.Msg)
	default:
	}
}

// TestIntakeSetKeys: after a key change, the old key's messages are
// dropped as bad signatures and the new key's pass.
func TestIntakeSetKeys(t *testing.T) {
	oldKey, newKey := testKeyring(t, "old secret"), testKeyring(t, "new secret")
	in := newIntake(oldKey, quietLog())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go in.run(ctx)
	in.peer(link.Packet{From: peerAddr, Data: heartbeat(t, oldKey, "node2", 1)})
	if r := <-in.out; r.Msg.Value("seq") != "1" {
		t.Fatalf("got seq %q, want 1", r.Msg.Value("seq"))
	}
	in.setKeys(newKey)
	in.peer(link.Packet{From: peerAddr, Data: heartbeat(t, oldKey, "node2", 2)})
	in.peer(link.Packet{From: peerAddr, Data: heartbeat(t, newKey, "node2", 3)})
	if r := <-in.out; r.Msg.Value("seq") != "3" {
		t.Fatalf("got seq %q, want 3", r.Msg.Value("seq"))
	}
	listed, _ := in.drops.snapshot()
	if len(listed) != 1 || listed[0].Claimed != "node2" || listed[0].Reasons["bad-signature"] != 1 {
		t.Fatalf("drops %+v, want one bad-signature from node2", listed)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkIntakeFlood measures what a flood of forged datagrams (well
// formed, signed with a wrong key, each claiming another node) does to a
// peer's heartbeats on their way through the intake: one goroutine keeps
// the strangers' queue full, as a flood that outruns the intake does,
// while a peer's signed heartbeat arrives every 200 µs and is dropped if
// its queue is full, as a link reader drops it.
// "one-queue" is the former design, where strangers and peers shared one
// queue; "reader" is the intake's, where a peer's datagram is verified as
// it is read (intake.peer), on the reader's goroutine. Each
// op is one peer heartbeat; reported: the share of peers' heartbeats lost
// to a full queue, their delay through the intake (median and 99th
// percentile), and the flood datagrams verified per second meanwhile.
func BenchmarkIntakeFlood(b *testing.B) {
	for _, mode := range []string{"one-queue", "reader"} {
		b.Run(mode, func(b *testing.B) {
			kr := testKeyring(b, "the right secret")
			forger := testKeyring(b, "a guessed secret")
			in := newIntake(kr, quietLog())
			forged := make([][]byte, 1024)
			for i := range forged {
				forged[i] = heartbeat(b, forger, fmt.Sprintf("fake%d", i), 1)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // the flood
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case in.others <- link.Packet{Link: "eth0", From: attackerAddr, Data: forged[i%len(forged)], At: time.Now()}:
					case <-ctx.Done():
						return
					}
				}
			}()
			go in.run(ctx)
			delays := make([]time.Duration, 0, b.N)
			lost := 0
			wg.Add(1)
			go func() { // the event loop's side
				defer wg.Done()
				for {
					select {
					case r := <-in.out:
						delays = append(delays, time.Since(r.At))
					case <-ctx.Done():
						return
					}
				}
			}()
			hb := heartbeat(b, kr, "node2", 1)
			start := time.Now()
			tick := time.NewTicker(200 * time.Microsecond)
			for range b.N {
				<-tick.C
				p := link.Packet{Link: "eth0", From: peerAddr, Data: hb, At: time.Now()}
				if mode == "reader" {
					if !in.peer(p) {
						lost++
					}
					continue
				}
				select {
				case in.others <- p:
				default:
					lost++
				}
			}
			tick.Stop()
			time.Sleep(50 * time.Millisecond) // the last heartbeats through
			elapsed := time.Since(start)
			cancel()
			wg.Wait()
			listed, evicted := in.drops.snapshot()
			var verified uint64
			for _, s := range listed {
				verified += s.Reasons["bad-signature"]
			}
			if evicted != nil {
				verified += evicted.Reasons["bad-signature"]
			}
			slices.Sort(delays)
			b.ReportMetric(100*float64(lost)/float64(b.N), "%peer-lost")
			if len(delays) > 0 {
				b.ReportMetric(float64(delays[len(delays)/2].Microseconds()), "µs-p50")
				b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds()), "µs-p99")
			}
			b.ReportMetric(float64(verified)/elapsed.Seconds(), "flood/s")
		})
	}
}
