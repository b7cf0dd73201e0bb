package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/monitor"
)

// The loop waits on its timer for the core's next deadline, tens of
// seconds away here; every other source of events must wake it all the
// same. An event that the loop takes only at its next timer expiry (a
// lost wake-up) is seen as a wait of seconds.

// slowConfig is node1's configuration with a keepalive of 30 s: the
// loop's timer, once the node has booted, is set seconds ahead.
func slowConfig() *config.Config {
	cfg := loopConfig("node1", "node2")
	cfg.Keepalive = 30 * time.Second
	cfg.Warntime = 60 * time.Second
	cfg.Deadtime = 120 * time.Second
	cfg.Initdead = 240 * time.Second
	return cfg
}

// drainCount is how many times the loop read the links (every event but
// a tick that may leave the routine sockets alone reads them first).
func (f *fakeLinks) drainCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.drains
}

// settled waits until the loop has booted and been idle for idle: it
// waits on its timer.
func settled(t *testing.T, r *loopRig, idle time.Duration) {
	t.Helper()
	waitFor(t, func() bool { return len(r.links.sentOf("status")) > 0 })
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := r.links.drainCount()
		time.Sleep(idle)
		if r.links.drainCount() == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the loop never idles")
		}
	}
}

// wakeBound is how long an event may wait for the loop that waits on its
// timer: generous for a loaded machine, far below the keepalive.
const wakeBound = 3 * time.Second

// TestEverySourceWakesTheWaitingLoop: each source of events wakes the
// loop while it waits on a timer set far ahead, many times over, each
// event taken once.
func TestEverySourceWakesTheWaitingLoop(t *testing.T) {
	d, links, logs := newTestDaemon(t, slowConfig(), &fakeRunner{})
	d.monitorFails = make(chan monitor.Failure, 4)
	r := startLoopRig(t, d, links, r0runner(d))
	settled(t, r, 300*time.Millisecond)

	drained := func(what string, send func()) {
		t.Helper()
		n := r.links.drainCount()
		start := time.Now()
		send()
		for r.links.drainCount() == n {
			if time.Since(start) > wakeBound {
				t.Fatalf("%s: not taken within %v while the loop waits on its timer", what, wakeBound)
			}
			time.Sleep(time.Millisecond)
		}
	}
	logged := func(what, line string, send func()) {
		t.Helper()
		n := strings.Count(logs.String(), line)
		start := time.Now()
		send()
		for strings.Count(logs.String(), line) == n {
			if time.Since(start) > wakeBound {
				t.Fatalf("%s: not taken within %v while the loop waits on its timer", what, wakeBound)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 20 {
		// Idle a while between events so the loop is back in its wait,
		// and sometimes not, so an event may come as it goes into it.
		pause := func() { time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) }
		pause()
		drained(fmt.Sprintf("a peer's datagram #%d", i), func() {
			r.fromPeer("eth0", 0, "t", "status", "st", "up", "dt", "1d4c0", "protocol", "1")
		})
		pause()
		start := time.Now()
		c := ctlCall{req: ctl.Request{Cmd: "status"}, reply: make(chan ctl.Response, 1)}
		select {
		case r.d.calls <- c:
		case <-time.After(wakeBound):
			t.Fatalf("a control call #%d: not taken within %v", i, wakeBound)
		}
		select {
		case <-c.reply:
		case <-time.After(wakeBound - time.Since(start)):
			t.Fatalf("a control call #%d: not answered within %v", i, wakeBound)
		}
		pause()
		drained(fmt.Sprintf("a ping status #%d", i), func() {
			r.d.sbEvents <- cluster.PingStatus{Now: time.Now(), Reachable: 1, Total: 1}
		})
		pause()
		drained(fmt.Sprintf("an operation's end #%d", i), func() {
			r.d.ops <- cluster.OpDone{Now: time.Now(), Group: "nosuchgroup", Op: cluster.OpProbe}
		})
		pause()
		drained(fmt.Sprintf("a monitor's failure #%d", i), func() {
			r.d.monitorFails <- monitor.Failure{Group: "nosuchgroup", At: time.Now(), Detail: "test"}
		})
		pause()
		logged(fmt.Sprintf("an edit of the files #%d", i), "Configuration reload (files changed)", func() {
			r.d.reloads <- struct{}{}
		})
		pause()
		logged(fmt.Sprintf("SIGHUP #%d", i), "Configuration reload (SIGHUP)", func() {
			r.sigs <- syscall.SIGHUP
		})
	}
	start := time.Now()
	r.sigs <- syscall.SIGTERM
	select {
	case <-r.done:
	case <-time.After(wakeBound):
		t.Fatalf("SIGTERM: the loop still runs %v later", time.Since(start))
	}
}

// r0runner is the fake runner the rig's daemon was made with.
func r0runner(d *Daemon) *fakeRunner { return d.runner.(*fakeRunner) }

// TestCancelWakesTheWaitingLoop: the context's end wakes the loop that
// waits on its timer, and it stops.
func TestCancelWakesTheWaitingLoop(t *testing.T) {
	d, links, _ := newTestDaemon(t, slowConfig(), &fakeRunner{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.loop(ctx, make(chan os.Signal)); err != nil {
			t.Error(err)
		}
	}()
	r := &loopRig{t: t, d: d, links: links, done: done}
	settled(t, r, 300*time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(wakeBound):
		t.Fatalf("cancelled: the loop still runs %v later", time.Since(start))
	}
}

// TestSourcesStormTheWaitingLoop: goroutines send events of every kind at
// once at random moments, while the loop's timer fires now and then
// (keepalive 20 ms); every event is taken, none waits for more than the
// bound after the last one was sent.
func TestSourcesStormTheWaitingLoop(t *testing.T) {
	cfg := loopConfig("node1", "node2")
	cfg.Keepalive = 20 * time.Millisecond
	cfg.Warntime = time.Second
	cfg.Deadtime = 5 * time.Second
	d, links, _ := newTestDaemon(t, cfg, &fakeRunner{})
	d.monitorFails = make(chan monitor.Failure, 4)
	r := startLoopRig(t, d, links, r0runner(d))
	settled(t, r, 0)
	const each = 200
	var wg sync.WaitGroup
	var calls sync.WaitGroup
	sendAll := func(send func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				send(i)
			}
		}()
	}
	var mu sync.Mutex
	sendAll(func(int) {
		mu.Lock()
		defer mu.Unlock()
		r.fromPeer("eth0", 0, "t", "status", "st", "up", "dt", "1388", "protocol", "1")
	})
	sendAll(func(int) {
		c := ctlCall{req: ctl.Request{Cmd: "status"}, reply: make(chan ctl.Response, 1)}
		r.d.calls <- c
		calls.Add(1)
		go func() { defer calls.Done(); <-c.reply }()
	})
	sendAll(func(int) { r.d.sbEvents <- cluster.PingStatus{Now: time.Now(), Reachable: 1, Total: 1} })
	sendAll(func(int) { r.d.ops <- cluster.OpDone{Now: time.Now(), Group: "nosuchgroup", Op: cluster.OpProbe} })
	sendAll(func(int) {
		r.d.monitorFails <- monitor.Failure{Group: "nosuchgroup", At: time.Now(), Detail: "test"}
	})
	finished := make(chan struct{})
	go func() { wg.Wait(); calls.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatal("the senders are still blocked after 60 s")
	}
	// Everything sent is taken: the queues are empty within the bound.
	waitFor(t, func() bool {
		return len(r.d.ops) == 0 && len(r.d.sbEvents) == 0 && len(r.d.monitorFails) == 0 && len(r.d.intake.out) == 0
	})
	mu.Lock()
	want := r.seq2
	mu.Unlock()
	var st ctl.Status
	if err := json.Unmarshal(r.call(ctl.Request{Cmd: "status"}).Data, &st); err != nil {
		t.Fatal(err)
	}
	if p := st.Cluster.Peers; len(p) != 1 || p[0].Seq != want {
		t.Errorf("node1 sees node2 %+v, want its last seq %d", p, want)
	}
}
