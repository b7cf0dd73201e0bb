//go:build linux

package ipaddr

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// slowServer answers each line of a connection ("req") with "ok" after
// delay, and never answers "hang". It listens on every address of its
// host: with network "tcp" a dual-stack socket (connections to an IPv4
// address are v4-mapped AF_INET6 sockets, which the drain must see too),
// with "tcp4" an AF_INET one.
type slowServer struct {
	ln    net.Listener
	delay time.Duration
	quit  chan struct{}
	wg    sync.WaitGroup
}

func startSlowServer(t testing.TB, h *netlab.Host, network string, port int, delay time.Duration) *slowServer {
	t.Helper()
	ln, err := h.Listen(network, fmt.Sprintf(":%d", port))
	if err != nil {
		t.Fatal(err)
	}
	s := &slowServer{ln: ln, delay: delay, quit: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go s.serve(c)
		}
	}()
	t.Cleanup(func() {
		close(s.quit)
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *slowServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	go func() { <-s.quit; c.Close() }()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimSpace(line) == "hang" {
			<-s.quit
			return
		}
		select {
		case <-time.After(s.delay):
		case <-s.quit:
			return
		}
		if _, err := c.Write([]byte("ok\n")); err != nil {
			return
		}
	}
}

// request sends one request on c and waits up to timeout for its answer.
func request(c net.Conn, what string, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(what + "\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ok\n" {
		return fmt.Errorf("answer %q", line)
	}
	return nil
}

// TestStopDrained: requests in flight when a planned release begins
// (the server answers after 30 ms) fail when the address goes at once,
// and all finish when it drains; an idle keep-alive connection does not
// hold the drain, a request that is never answered holds it only to its
// bound. Host b takes the address over as soon as a's stop returns, as a
// peer does.
func TestStopDrained(t *testing.T) {
	tests := []struct {
		name     string
		drain    time.Duration
		hang     bool // one more request that the server never answers
		wantFail bool // the slow requests fail
		wantFull bool // the drain ends at its bound
	}{
		{"at once", 0, false, true, false},
		{"drained", 2 * time.Second, false, false, false},
		{"bounded by a request never answered", 150 * time.Millisecond, true, false, true},
	}
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	b := addHost(t, lab, "b", "10.231.0.2/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	const port, port4 = 8080, 8081
	for _, h := range []*netlab.Host{a, b} {
		startSlowServer(t, h, "tcp", port, 30*time.Millisecond)
		startSlowServer(t, h, "tcp4", port4, 30*time.Millisecond)
	}
	target := net.JoinHostPort(vip4, fmt.Sprint(port))
	target4 := net.JoinHostPort(vip4, fmt.Sprint(port4))
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dirA, dirB := t.TempDir(), t.TempDir()
			agA, hook := agentIn(t, a, dirA, quickBurst, vip4+"/24/eth0")
			agB, _ := agentIn(t, b, dirB, quickBurst, vip4+"/24/eth0")
			if err := agA.Start(ctx); err != nil {
				t.Fatal(err)
			}
			// An idle keep-alive connection: one exchange, then quiet.
			idle, err := c.Dial(ctx, "tcp", target)
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
			if err := request(idle, "req", time.Second); err != nil {
				t.Fatalf("keep-alive request before the release: %v", err)
			}
			if tc.hang {
				h, err := c.Dial(ctx, "tcp", target)
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				if _, err := h.Write([]byte("hang\n")); err != nil {
					t.Fatal(err)
				}
			}
			// Three slow requests, each on its own connection, in flight
			// when the release begins: two to the dual-stack server, one
			// to the IPv4 one.
			const slow = 3
			conns := make([]net.Conn, slow)
			for i := range conns {
				to := target
				if i == slow-1 {
					to = target4
				}
				if conns[i], err = c.Dial(ctx, "tcp", to); err != nil {
					t.Fatal(err)
				}
				defer conns[i].Close()
			}
			errs := make(chan error, slow)
			for _, cn := range conns {
				go func() { errs <- request(cn, "req", 500*time.Millisecond) }()
			}
			time.Sleep(10 * time.Millisecond) // the server has read them, and is thinking
			began := time.Now()
			if err := agA.StopDrained(ctx, tc.drain); err != nil {
				t.Fatal(err)
			}
			took := time.Since(began)
			if err := agB.Start(ctx); err != nil {
				t.Fatal(err)
			}
			failed := 0
			for range slow {
				if err := <-errs; err != nil {
					failed++
					t.Logf("slow request: %v", err)
				}
			}
			t.Logf("stop took %v; %d of %d slow requests failed", took.Round(100*time.Microsecond), failed, slow)
			if tc.wantFail && failed == 0 {
				t.Errorf("no slow request failed with the address removed at once: the test cannot tell a drain from none")
			}
			if !tc.wantFail && failed > 0 {
				t.Errorf("%d slow requests failed across a drained release", failed)
			}
			var line string
			for _, e := range hook.AllEntries() {
				if e.Level <= logrus.InfoLevel && strings.Contains(e.Message, "removed "+vip4) {
					line = e.Message
				}
			}
			t.Logf("log: %s", line)
			switch {
			case tc.drain == 0:
			case tc.wantFull:
				if took < tc.drain || took > tc.drain+time.Second || !strings.Contains(line, "with 1 connection still mid-exchange") {
					t.Errorf("stop took %v, logged %q: want the bound %v to end the drain, one connection left", took, line, tc.drain)
				}
			default:
				// Ended by the slow requests' answers, long before the
				// bound: the idle connection did not hold it.
				if took > tc.drain/2 || !strings.Contains(line, "after draining") || strings.Contains(line, "the bound") {
					t.Errorf("stop took %v, logged %q: want the drain to end once the answers were out", took, line)
				}
			}
			if err := agB.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConnCheckOpens: a drain's count of the connections opened is its
// agent's namespace's: a connection to another host leaves it, one to
// the agent's host moves it.
func TestConnCheckOpens(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	b := addHost(t, lab, "b", "10.231.0.2/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	const port = 8080
	for _, h := range []*netlab.Host{a, b} {
		startSlowServer(t, h, "tcp", port, 0)
	}
	ag, _ := agentIn(t, a, t.TempDir(), quickBurst, vip4+"/24/eth0")
	cc, err := ag.openConnCheck()
	if err != nil {
		t.Fatal(err)
	}
	defer cc.close()
	dial := func(h *netlab.Host) {
		t.Helper()
		conn, err := c.Dial(context.Background(), "tcp", net.JoinHostPort(h.IP(), fmt.Sprint(port)))
		if err != nil {
			t.Fatal(err)
		}
		if err := request(conn, "req", time.Second); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	before, ok := cc.opens()
	if !ok {
		t.Fatal("the namespace's TCP opens cannot be read")
	}
	dial(b)
	if n, _ := cc.opens(); n != before {
		t.Errorf("a connection to b moved a's count from %d to %d", before, n)
	}
	dial(a)
	if n, _ := cc.opens(); n != before+1 {
		t.Errorf("a connection to a moved a's count from %d to %d, want %d", before, n, before+1)
	}
}

// BenchmarkConnCheck times one look of a drain at the address's
// connections (both dumps, filtered in the kernel), with 200 idle
// keep-alive connections on the address and 200 on another one of the
// host, which the filter skips.
//
//	flock /tmp/hbd-netns.lock go test ./resources/ipaddr -run '^$' -bench ConnCheck
func BenchmarkConnCheck(b *testing.B) {
	lab := netlab.NewT(b, b.Name())
	a := addHost(b, lab, "a", "10.231.0.1/24")
	c := addHost(b, lab, "c", "10.231.0.3/24")
	spec, err := Parse(NameIPaddr2, []string{vip4 + "/24/eth0"})
	if err != nil {
		b.Fatal(err)
	}
	ag, err := New(spec, Options{StateDir: b.TempDir(), Netns: a.Path()})
	if err != nil {
		b.Fatal(err)
	}
	defer ag.Close()
	if err := ag.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	startSlowServer(b, a, "tcp", 8080, 0)
	for _, to := range []string{vip4, "10.231.0.1"} {
		for range 200 {
			cn, err := c.Dial(context.Background(), "tcp", net.JoinHostPort(to, "8080"))
			if err != nil {
				b.Fatal(err)
			}
			defer cn.Close()
			if err := request(cn, "req", 5*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, bc := range []struct {
		name string
		two  bool
	}{{"one dump", false}, {"two dumps", true}} {
		b.Run(bc.name, func(b *testing.B) {
			cc, err := ag.openConnCheck()
			if err != nil {
				b.Fatal(err)
			}
			defer cc.close()
			if bc.two {
				cc.requests, cc.v2 = cc.v2, nil
			}
			before := cpuTime(b)
			b.ResetTimer()
			for range b.N {
				n, err := cc.busy()
				if err != nil || n != 0 {
					b.Fatalf("busy = %d, %v; want 0 (every connection idle)", n, err)
				}
			}
			b.StopTimer()
			// The walks are the kernel's work in this process's
			// syscalls: CPU time, which a loaded machine does not
			// inflate as it does the wall time of ns/op.
			b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/float64(b.N), "cpu-µs/op")
			if !bc.two && cc.v2 == nil {
				b.Log("the kernel refused the compat request: two dumps")
			}
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestReleaseHandsOver: a connection a client opens while the address is
// on no node (its SYN reaches the old holder after the removal) is
// answered by the new holder at once when the old holder's release hands
// its frames over, and only after TCP's retry a second later when it
// does not (a plain drained stop): the test tells the two apart. IPv4
// (a gratuitous ARP names the new holder) and IPv6 (a neighbour
// advertisement). On a node whose kernel forwards, the release hands
// nothing over (its own stack routes the frames once the address is
// gone: a handover would deliver them twice).
func TestReleaseHandsOver(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	hosts := map[string]*netlab.Host{}
	for i, name := range []string{"a", "b", "c"} {
		hosts[name] = addHost(t, lab, name, fmt.Sprintf("10.231.0.%d/24", i+1), fmt.Sprintf("fd00:231::%d/64", i+1))
	}
	a, b, c := hosts["a"], hosts["b"], hosts["c"]
	const port = 8080
	startNamedServer(t, a, port, "a")
	startNamedServer(t, b, port, "b")
	for _, vip := range []string{vip4, vip6} {
		for _, mode := range []string{"handover", "plain"} {
			t.Run(vip+"/"+mode, func(t *testing.T) {
				releaseHandsOver(t, a, b, c, vip, net.JoinHostPort(vip, fmt.Sprint(port)), mode)
			})
		}
	}
	t.Run(vip4+"/router", func(t *testing.T) {
		ctx := context.Background()
		const fwd = "net.ipv4.conf.eth0.forwarding"
		if out, err := a.Exec(ctx, "sysctl", "-w", fwd+"=1"); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		defer a.Exec(ctx, "sysctl", "-w", fwd+"=0")
		releaseHandsOver(t, a, b, c, vip4, net.JoinHostPort(vip4, fmt.Sprint(port)), "router")
	})
}

// releaseHandsOver releases vip on a (mode "handover" or "router":
// Release; "plain": StopDrained) while c connects to target, with b
// taking the address over 100 ms later.
func releaseHandsOver(t *testing.T, a, b, c *netlab.Host, vip, target, mode string) {
	ctx := context.Background()
	hand := mode == "handover"
	bits := "/24/eth0"
	if strings.Contains(vip, ":") {
		bits = "/64/eth0"
	}
	agA, hook := agentIn(t, a, t.TempDir(), quickBurst, vip+bits)
	agB, _ := agentIn(t, b, t.TempDir(), quickBurst, vip+bits)
	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if who, err := ask(ctx, c, target, 2*time.Second); err != nil || who != "a" {
		t.Fatalf("before the release: %q, %v; want a's answer", who, err)
	}
	// What reaches b for the address from a's MAC: a handover's frames
	// (or, on a node that forwards, what its own stack routes).
	onB := countPassed(t, b, macOf(t, a), vip)
	var handed <-chan struct{}
	var err error
	if mode == "plain" {
		err = agA.StopDrained(ctx, 50*time.Millisecond)
	} else {
		handed, err = agA.Release(ctx, 50*time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if mode != "plain" && (mode == "router") != (handed == nil) {
		t.Errorf("release (%s): a handover began: %v", mode, handed != nil)
	}
	if mode == "router" && !hasEntry(hook, logrus.DebugLevel, "no handover") {
		t.Error("no debug line saying why there was no handover")
	}
	// A client that connects now: its SYN goes to a's MAC.
	r := askWhileTaking(t, c, target, agB)
	t.Logf("connected %v after the removal: %q, %v", r.took.Round(time.Millisecond), r.who, r.err)
	if r.err != nil || r.who != "b" {
		t.Fatalf("the client's request: %q, %v; want b's answer", r.who, r.err)
	}
	// TCP sends its SYN again after a second: well under that is the
	// first SYN, passed on.
	const retry = 900 * time.Millisecond
	passed := -1
	if handed != nil {
		<-handed
		passed = onB.finish()
	}
	if mode == "plain" {
		passed = onB.finish()
		if passed > 0 {
			t.Errorf("%d frames for the address reached b from a's MAC without a handover", passed)
		}
	}
	if hand {
		if r.took > retry {
			t.Errorf("answered after %v with a handover: want the first SYN passed on to b at once", r.took)
		}
		if passed < 1 {
			t.Errorf("%d frames for the address reached b from a's MAC, want the SYN at least", passed)
		}
		if !hasEntry(hook, logrus.DebugLevel, "passed on to it") {
			t.Error("no debug line of the handover")
		}
	} else if mode == "plain" && r.took < retry {
		t.Errorf("answered after %v without a handover: the test cannot tell one from none", r.took)
	}
	if err := agB.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// answer is what a client's request got, and when.
type answer struct {
	who  string
	err  error
	took time.Duration
}

// askWhileTaking has c connect to target now (the address on no node)
// and taker start the address 100 ms later (the SYN has reached the old
// holder by then), and returns c's answer.
func askWhileTaking(t *testing.T, c *netlab.Host, target string, taker *Agent) answer {
	t.Helper()
	ctx := context.Background()
	got := make(chan answer, 1)
	sent := time.Now()
	go func() {
		who, err := ask(ctx, c, target, 3*time.Second)
		got <- answer{who, err, time.Since(sent)}
	}()
	time.Sleep(100 * time.Millisecond)
	if err := taker.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return <-got
}

// startNamedServer answers each connection to port on h with name and
// closes it.
func startNamedServer(t *testing.T, h *netlab.Host, port int, name string) {
	t.Helper()
	ln, err := h.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = cn.Write([]byte(name + "\n"))
			cn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
}

// ask connects from c to target and returns the server's name.
func ask(ctx context.Context, c *netlab.Host, target string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cn, err := c.Dial(ctx, "tcp", target)
	if err != nil {
		return "", err
	}
	defer cn.Close()
	_ = cn.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(cn).ReadString('\n')
	return strings.TrimSpace(line), err
}
