//go:build linux

package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

var (
	floodFor     = flag.Duration("flood.for", 15*time.Second, "how long TestFlood floods")
	floodSenders = flag.Int("flood.senders", 1, "how many goroutines, each with its own socket, TestFlood floods with")
	// floodRealtime off measures the nodes at normal priority (ha.cf
	// `realtime off`); on is hbd's default, SCHED_RR.
	floodRealtime = flag.Bool("flood.realtime", true, "TestFlood's nodes run with ha.cf realtime on (false: realtime off)")
)

// Bounds TestFlood holds the flooded node to.
const (
	floodMaxDatagrams = 20_000_000 // per sender: the flood is bounded in count as well as time
	floodMaxRSSGrowth = 16 << 20
	floodMaxLogLines  = 200
	floodStatusEvery  = 500 * time.Millisecond
	floodStatusSlow   = 2 * time.Second // a status call slower than this counts as not answering
)

var floodTiming = Timing{Keepalive: 100 * time.Millisecond, Warntime: 300 * time.Millisecond, Deadtime: 500 * time.Millisecond, Initdead: 2 * time.Second}

// TestFlood floods node1's heartbeat port from a third namespace with
// datagrams nobody signed (each claiming a new random node name: half
// well formed but unsigned or signed with a guessed key, half garbage of
// random length) as fast as the senders go, for -flood.for (15 s), while
// `hbd status --json` asks node1 twice a second. Nobody may be declared
// dead, the group may not move, node1's memory may grow by less than
// 16 MB and its logs by less than 200 lines, status must keep answering,
// and no datagram from node2's address may be dropped inside node1. It
// prints the flood rate sent and the rate node1 verified and rejected.
//
// With -flood.senders=N (make bench-flood) it is the flood benchmark.
func TestFlood(t *testing.T) {
	g := newGroupLab(t, "flood") // needs root
	if *floodRealtime {
		testenv.NeedRealtime(t) // the nodes' threads are checked to run SCHED_RR
	}
	attacker, err := g.lab.Host("f", "10.231.0.66/24")
	if err != nil {
		t.Fatal(err)
	}
	cfg := g.hacf(floodTiming)
	if !*floodRealtime {
		cfg.Extra = append(cfg.Extra, "realtime off")
	}
	n1, n2 := g.hbdNode(0, cfg), g.hbdNode(1, cfg)
	// The budgets (memory, status latency, rate) are the production
	// build's: the race detector's would blow them.
	n1.bin, n2.bin = hbdPlainBin, hbdPlainBin
	n1.start()
	n2.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("---- node1 ----\n%s\n---- node2 ----\n%s", tail(n1.log(), 100), tail(n2.log(), 100))
		}
	})
	g.waitServing("node1", 0, 20*time.Second)
	waitFor(t, 10*time.Second, "both nodes active", func() bool {
		return n1.peerState("node2") == "active" && n2.peerState("node1") == "active"
	})
	time.Sleep(2 * time.Second) // settled: the baseline is a quiet node
	// ha.cf realtime: every thread of the daemon runs SCHED_RR at
	// priority 1 (normal scheduling with realtime off); a thread the Go
	// runtime has just added is switched within a second.
	policy := "RR/1"
	if !*floodRealtime {
		policy = "OTHER/0"
	}
	waitFor(t, 3*time.Second, "every thread of node1's hbd to run "+policy, func() bool {
		got := threadPolicies(t, n1.proc.PID)
		return len(got) == 1 && got[policy] > 0
	})
	mark := len(readRecord(t, g.dir))
	rss0 := rss(t, n1.proc.PID)
	lines0 := n1.logLines()

	packets := floodPackets(t)
	ctx, cancel := context.WithTimeout(context.Background(), *floodFor)
	defer cancel()
	var sent, sendErrs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *floodSenders {
		conn, err := attacker.Dial(ctx, "udp", net.JoinHostPort(g.hosts[0].IP(), "694"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			defer conn.Close()
			flood(ctx, conn, packets, rand.New(rand.NewPCG(seed, 66)), &sent, &sendErrs)
		}(uint64(i))
	}
	flooded := make(chan time.Duration, 1) // how long the senders sent
	go func() {
		wg.Wait()
		flooded <- time.Since(start)
	}()

	// Twice a second: node1 answers status, sees node2 active, and its
	// memory is sampled; node2 must see node1 active too.
	var (
		calls, slow, failed int
		worst               time.Duration
		rssMax              = rss0
		states              []string
	)
	for tick := time.NewTicker(floodStatusEvery); ctx.Err() == nil; <-tick.C {
		began := time.Now()
		st, err := n1.status()
		took := time.Since(began)
		calls++
		worst = max(worst, took)
		switch {
		case err != nil:
			failed++
			t.Logf("status call %d failed after %s: %v", calls, took, err)
		case took > floodStatusSlow:
			slow++
		default:
			if s := peerIn(st, "node2"); s != "active" {
				states = append(states, fmt.Sprintf("%s: node1 sees node2 %s", time.Since(start).Round(time.Millisecond), s))
			}
		}
		if s := n2.peerState("node1"); s != "active" {
			states = append(states, fmt.Sprintf("%s: node2 sees node1 %q", time.Since(start).Round(time.Millisecond), s))
		}
		rssMax = max(rssMax, rss(t, n1.proc.PID))
	}
	elapsed := <-flooded
	time.Sleep(time.Second) // node1 verifies what is still queued

	st, err := n1.status()
	if err != nil {
		t.Fatalf("status after the flood: %v", err)
	}
	rssMax = max(rssMax, rss(t, n1.proc.PID))
	rejected := rejectedTotal(st)
	var peerDrops, receiveDrops, kernelDrops uint64
	for _, l := range st.Links {
		peerDrops += l.PeerDrops
		receiveDrops += l.ReceiveDrops
		kernelDrops += l.KernelDrops
	}
	lines := n1.logLines() - lines0
	t.Logf("flood: %d datagrams in %s from %d sender(s): %.0f datagrams/s sent (%d send errors); node1 verified and rejected %d (%.0f/s), dropped %d unread in its queues, the kernel %d for full socket buffers",
		sent.Load(), elapsed.Round(time.Millisecond), *floodSenders, float64(sent.Load())/elapsed.Seconds(), sendErrs.Load(),
		rejected, float64(rejected)/elapsed.Seconds(), receiveDrops, kernelDrops)
	t.Logf("node1: RSS %d kB before, %d kB at most (+%d kB); %d log lines written; %d status calls, slowest %s",
		rss0>>10, rssMax>>10, (rssMax-rss0)>>10, lines, calls, worst.Round(time.Millisecond))

	if len(states) > 0 {
		t.Errorf("a node was not seen active during the flood:\n%s", strings.Join(states, "\n"))
	}
	for _, n := range []*hbdInLab{n1, n2} {
		for _, s := range []string{"is dead", "Late heartbeat", "Heartbeat restart on node"} {
			if i := strings.Index(n.log(), s); i >= 0 {
				t.Errorf("%s logged %q during the flood", n.name, lineAt(n.log(), i))
			}
		}
	}
	if rec := readRecord(t, g.dir); len(rec) != mark {
		t.Errorf("the flood moved the group: %v", rec[mark:])
	}
	if failed > 0 || slow > 0 {
		t.Errorf("status: %d of %d calls failed, %d took over %s", failed, calls, slow, floodStatusSlow)
	}
	if calls < int(*floodFor/floodStatusEvery)/2 {
		t.Errorf("only %d status calls in %s", calls, *floodFor)
	}
	if grew := rssMax - rss0; grew >= floodMaxRSSGrowth {
		t.Errorf("node1's RSS grew by %d kB, want under %d kB", grew>>10, floodMaxRSSGrowth>>10)
	}
	if lines >= floodMaxLogLines {
		t.Errorf("node1's logs grew by %d lines, want under %d", lines, floodMaxLogLines)
	}
	if peerDrops != 0 {
		t.Errorf("node1 dropped %d of node2's datagrams in its queues", peerDrops)
	}
	if rejected == 0 || rejected > uint64(sent.Load()) {
		t.Errorf("node1 rejected %d datagrams of %d sent", rejected, sent.Load())
	}
}

// floodPackets are the templates a flood cycles through; flood writes a
// new random claimed name into those that carry one.
func floodPackets(t *testing.T) [][]byte {
	t.Helper()
	guessed, err := wire.NewKeyring(1, []wire.Key{{Index: 1, Method: "sha1", Secret: "a guessed secret"}})
	if err != nil {
		t.Fatal(err)
	}
	m := &wire.Message{}
	m.Set("t", "status")
	m.Set("st", "active")
	m.Set("src", "node0000000") // a name of the length flood writes
	m.SetHex("seq", 1)
	m.SetHex("hg", 1)
	m.Set("ts", wire.UnixHex(time.Now()))
	m.Set("ld", "0.00 0.00 0.00 1/1 1")
	m.Set("ttl", "3")
	signed, err := guessed.Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := signed[:bytes.Index(signed, []byte("%%%\n"))+len("%%%\n")]
	return [][]byte{signed, unsigned, nil} // nil: random garbage
}

// flood writes datagrams to conn until ctx ends or floodMaxDatagrams.
func flood(ctx context.Context, conn net.Conn, packets [][]byte, rng *rand.Rand, sent, errs *atomic.Int64) {
	garbage := make([]byte, 1400)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	own := make([][]byte, len(packets)) // this sender's copies, written in place
	for i, p := range packets {
		own[i] = slices.Clone(p)
	}
	const name = "(0)src=node"
	for n := 0; n < floodMaxDatagrams; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return
		}
		p := own[n%len(own)]
		if p == nil {
			p = garbage[:1+rng.IntN(len(garbage))]
			garbage[0] = byte(n)
		} else if i := bytes.Index(p, []byte(name)); i >= 0 {
			copy(p[i+len(name):], fmt.Sprintf("%07x", rng.Uint32()&0xfffffff))
		}
		if _, err := conn.Write(p); err != nil {
			errs.Add(1)
			continue
		}
		sent.Add(1)
	}
}

// rss is the resident set size of process pid, in bytes.
// threadPolicies counts the threads of process pid by scheduling policy
// and real-time priority ("RR/1", "OTHER/0"), from /proc/PID/task/*/stat
// (fields 40 and 41).
func threadPolicies(t *testing.T, pid int) map[string]int {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	m := map[string]int{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue // exited
		}
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:])) // f[0] is field 3
		if len(f) < 39 {
			t.Fatalf("short stat line %q", b)
		}
		policy := map[string]string{"0": "OTHER", "1": "FIFO", "2": "RR"}[f[38]]
		if policy == "" {
			policy = f[38]
		}
		m[policy+"/"+f[37]]++
	}
	return m
}

func rss(t *testing.T, pid int) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatalf("rss: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatalf("rss: %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("rss: no VmRSS in /proc/%d/status", pid)
	return 0
}

// logLines counts the lines of the node's log files.
func (n *hbdInLab) logLines() int {
	c := 0
	for _, f := range []string{"log/ha-log", "log/ha-debug"} {
		b, _ := os.ReadFile(filepath.Join(n.dir, f))
		c += bytes.Count(b, []byte("\n"))
	}
	return c
}

func peerIn(st ctl.Status, peer string) string {
	for _, p := range st.Cluster.Peers {
		if p.Name == peer {
			return p.State
		}
	}
	return ""
}

// rejectedTotal is every datagram the node rejected before its core.
func rejectedTotal(st ctl.Status) uint64 {
	var n uint64
	for _, r := range st.Rejected {
		for _, c := range r.Reasons {
			n += c
		}
	}
	if st.RejectedEvicted != nil {
		for _, c := range st.RejectedEvicted.Reasons {
			n += c
		}
	}
	return n
}

func lineAt(s string, i int) string {
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return s[start:]
	}
	return s[start : i+end]
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
