package daemon

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/link"
)

// wallClock is the wall clock of one node's routine sockets, which steps
// (an NTP step, a VM resumed): hbd/link stamps a drained routine datagram
// by its kernel stamp, a wall-clock reading, and measures the step
// between the moment the socket was found empty and the read
// (link.WallStep). drain stamps each datagram with link.ArrivalAfter as
// hbd/link would have under these steps, from its true arrival.
type wallClock struct {
	mu         sync.Mutex
	steps      []wallStep
	emptySince time.Time // the last drain's start, as routineSock.emptySince
	restamped  int       // datagrams that waited across a step
}

type wallStep struct {
	at time.Time
	d  time.Duration
}

// step steps the wall clock by d (forward if positive) now.
func (c *wallClock) step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.steps = append(c.steps, wallStep{time.Now(), d})
}

// stepped is how far the wall clock stepped after from and up to to.
func (c *wallClock) stepped(from, to time.Time) time.Duration {
	var d time.Duration
	for _, s := range c.steps {
		if s.at.After(from) && !s.at.After(to) {
			d += s.d
		}
	}
	return d
}

// drain gives what queue holds, each datagram stamped as hbd/link would:
// its kernel stamp is its arrival by the wall clock of then, which the
// steps after it put that much earlier by the wall clock of the read.
func (c *wallClock) drain(mu *sync.Mutex, queue *[]link.Packet, fn func(link.Packet)) {
	before := time.Now()
	mu.Lock()
	ps := *queue
	*queue = nil
	mu.Unlock()
	now := time.Now()
	c.mu.Lock()
	since := c.emptySince
	c.emptySince = before
	for i := range ps {
		p := &ps[i]
		if since.IsZero() {
			continue
		}
		later := c.stepped(p.At, now)
		if later != 0 {
			c.restamped++
		}
		p.At = link.ArrivalAfter(now, p.At.Round(0).Add(-later), since, c.stepped(since, now))
	}
	c.mu.Unlock()
	for _, p := range ps {
		fn(p)
	}
}

// TestQuietPassiveWallStep: node2, quiet, reads node1's routine statuses
// only at its wake-ups, about once a deadtime, at node1's deadline. The
// wall clock steps by most of a deadtime, forward or back, sixteen times
// at random phases: the statuses that waited across a step must not look
// older for it (by their kernel stamps forward steps make them so), nor
// as late as the read (back steps put their stamps after it), and node2
// must not declare node1, which sends every keepalive, dead, nor take its
// group.
func TestQuietPassiveWallStep(t *testing.T) {
	const ka, dt = 50 * time.Millisecond, 200 * time.Millisecond
	for _, tc := range []struct {
		name string
		step time.Duration
	}{
		{"forward", dt - ka/2},
		{"back", -(dt - ka/2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, ka, dt)
			p.waitQuiet(15 * time.Second)
			clock := &wallClock{}
			p.ends[1].wall.Store(clock)
			time.Sleep(time.Second)
			for range 16 {
				time.Sleep(time.Duration(600+rand.IntN(200)) * time.Millisecond)
				clock.step(tc.step)
			}
			time.Sleep(time.Second)
			clock.mu.Lock()
			restamped := clock.restamped
			clock.mu.Unlock()
			if restamped == 0 {
				t.Fatal("no status of node1 waited across a step: the test tests nothing")
			}
			var deaths []string
			for _, l := range p.deaths(1) {
				if strings.Contains(l, "is dead") {
					deaths = append(deaths, l)
				}
			}
			if len(deaths) > 0 {
				t.Errorf("node2 declared node1 dead after steps of the wall clock (%d statuses waited across one):\n%s\nnode2:\n%s",
					restamped, strings.Join(deaths, "\n"), p.ends[1].logs)
			}
		})
	}
}
