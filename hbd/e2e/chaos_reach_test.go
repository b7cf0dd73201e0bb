//go:build linux

package e2e

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// Reach probing: whether the network delivers between two hosts, both
// ways, whatever their daemons do. A healed link does not deliver at
// once: the host whose carrier came back has its neighbour entry for the
// peer INCOMPLETE, then FAILED, and sends nothing to it until ARP
// resolves it again, about a second later (measured here: the healed side's
// datagrams reached its peer 0.93 s after the heal, the peer's reached
// it after 18 ms). Loss can break neighbour resolution the same way.
const (
	reachPort  = "7"
	reachEvery = 10 * time.Millisecond
	// reachGap: a direction delivering nothing for longer than this is
	// not delivering (five probes in a row lost).
	reachGap = 5 * reachEvery
)

// reach sends a datagram every reachEvery from each host to the other and
// records when they arrive.
type reach struct {
	mu    sync.Mutex
	got   [2][]time.Time // got[i]: arrivals at host i
	start time.Time
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

func startReach(a, b *netlab.Host) (*reach, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &reach{start: time.Now(), stop: cancel}
	hosts := [2]*netlab.Host{a, b}
	for i, h := range hosts {
		pc, err := h.ListenPacket("udp", ":"+reachPort)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("reach: listen in %s: %w", h.Name, err)
		}
		conn, err := h.Dial(ctx, "udp", net.JoinHostPort(hosts[1-i].IP(), reachPort))
		if err != nil {
			pc.Close()
			cancel()
			return nil, fmt.Errorf("reach: dial from %s: %w", h.Name, err)
		}
		r.wg.Add(2)
		go func() {
			defer r.wg.Done()
			<-ctx.Done()
			pc.Close()
			conn.Close()
		}()
		go func() {
			defer r.wg.Done()
			buf := make([]byte, 16)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				now := time.Now()
				r.mu.Lock()
				r.got[i] = append(r.got[i], now)
				r.mu.Unlock()
			}
		}()
		go func() {
			t := time.NewTicker(reachEvery)
			defer t.Stop()
			for ctx.Err() == nil {
				_, _ = conn.Write([]byte("reach")) // refused or unreachable while cut: fine
				select {
				case <-ctx.Done():
				case <-t.C:
				}
			}
		}()
	}
	return r, nil
}

// Stop ends the probing.
func (r *reach) Stop() {
	r.stop()
	r.wg.Wait()
}

// gaps are the spans, up to now, in which a direction delivered nothing
// for longer than reachGap: from the last arrival before to the first
// after (or now).
func (r *reach) gaps(now time.Time) []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []span
	for _, got := range r.got {
		prev := r.start
		for _, at := range got {
			if at.Sub(prev) > reachGap {
				out = append(out, span{prev, at})
			}
			prev = at
		}
		if now.Sub(prev) > reachGap {
			out = append(out, span{prev, now})
		}
	}
	return out
}

// firstAfter is how long after t each host first received a probe
// (-1 when none arrived yet).
func (r *reach) firstAfter(t time.Time) [2]time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := [2]time.Duration{-1, -1}
	for i, got := range r.got {
		for j := len(got) - 1; j >= 0 && got[j].After(t); j-- {
			out[i] = got[j].Sub(t)
		}
	}
	return out
}
