//go:build linux

package ipaddr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"golang.org/x/sys/unix"

	"github.com/hbdproject/hbd/hbd/netlab"
)

// The tests below run in network namespaces built by hbd/netlab (root
// only; they skip otherwise, saying why). Hosts a and b take turns holding
// the floating address; c is the client whose neighbour cache must follow.

const (
	vip4 = "10.231.0.100"
	vip6 = "fd00:231::100"
)

// testLog is a logger that writes to t.Log and records entries.
func testLog(t *testing.T) (*logrus.Logger, *test.Hook) {
	l := logrus.New()
	l.SetOutput(tWriter{t})
	l.SetLevel(logrus.DebugLevel)
	return l, test.NewLocal(l)
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// addHost adds host name to lab, with eth0 on the lab's bridge carrying
// addrs, and fails the test when it cannot.
func addHost(t testing.TB, lab *netlab.Lab, name string, addrs ...string) *netlab.Host {
	t.Helper()
	h, err := lab.Host(name, addrs...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// quickBurst keeps tests short: 3 rounds 100 ms apart, no second burst.
var quickBurst = Burst{Count: 3, Interval: 100 * time.Millisecond, Second: -1}

// agentIn returns an agent working in host h's namespace, with its
// records in stateDir.
func agentIn(t *testing.T, h *netlab.Host, stateDir string, burst Burst, args ...string) (*Agent, *test.Hook) {
	t.Helper()
	return agentLogging(t, h, stateDir, burst, 0, args...)
}

// agentLogging is agentIn with a log whose every line at info level or
// above takes slow to write (a busy disk, a blocked journal): the
// agent's path stalls there, and its background work runs meanwhile.
func agentLogging(t *testing.T, h *netlab.Host, stateDir string, burst Burst, slow time.Duration, args ...string) (*Agent, *test.Hook) {
	t.Helper()
	spec, err := Parse(NameIPaddr2, args)
	if err != nil {
		t.Fatal(err)
	}
	log, hook := testLog(t)
	if slow > 0 {
		log.AddHook(slowHook(slow))
	}
	a, err := New(spec, Options{StateDir: stateDir, Netns: h.Path(), Log: log.WithField("host", h.Name), Burst: burst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a, hook
}

func macOf(t *testing.T, h *netlab.Host) string {
	t.Helper()
	var mac string
	if err := h.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr.String()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return mac
}

// addrLine is the `ip -o addr` line of addr on h's eth0, or "".
func addrLine(t *testing.T, h *netlab.Host, addr string) string {
	t.Helper()
	out, err := h.Exec(context.Background(), "ip", "-o", "addr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " "+addr+"/") {
			return l
		}
	}
	return ""
}

var llRE = regexp.MustCompile(`lladdr ([0-9a-f:]{17})`)

// neighMAC is the link-layer address in h's neighbour entry for ip, or "".
func neighMAC(t *testing.T, h *netlab.Host, ip string) string {
	t.Helper()
	out, err := h.Exec(context.Background(), "ip", "neigh", "show", ip, "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	if m := llRE.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// waitNeigh polls (every 20 ms, at most within) until h's entry for ip
// has mac; it returns how long that took.
func waitNeigh(t *testing.T, h *netlab.Host, ip, mac string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var got string
	for time.Since(start) < within {
		if got = neighMAC(t, h, ip); got == mac {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, _ := h.Exec(context.Background(), "ip", "neigh", "show")
	t.Fatalf("%s: neighbour entry for %s is %q, not %s, after %s:\n%s", h.Name, ip, got, mac, within, out)
	return 0
}

func ping(t *testing.T, h *netlab.Host, ip string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := h.Exec(ctx, "ping", "-n", "-c", "1", "-W", "3", ip); err != nil {
		t.Fatalf("ping %s from %s: %v\n%s", ip, h.Name, err, out)
	}
}

// slowHook holds every log line at info level or above for its time.
type slowHook time.Duration

func (slowHook) Levels() []logrus.Level { return logrus.AllLevels[:logrus.InfoLevel+1] }

func (d slowHook) Fire(*logrus.Entry) error {
	time.Sleep(time.Duration(d))
	return nil
}

func hasEntry(hook *test.Hook, level logrus.Level, substr string) bool {
	for _, e := range hook.AllEntries() {
		if e.Level == level && strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

func TestStartStatusStop(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	ctx := context.Background()
	dir := t.TempDir()
	ag, _ := agentIn(t, a, dir, quickBurst, vip4+"/24/eth0")

	if up, err := ag.Status(ctx); err != nil || up {
		t.Fatalf("status before start = %v, %v; want stopped", up, err)
	}
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	line := addrLine(t, a, vip4)
	if !strings.Contains(line, vip4+"/24 brd 10.231.0.255") || !strings.Contains(line, " eth0:0") {
		t.Errorf("address line %q: want %s/24 with broadcast 10.231.0.255 and label eth0:0", line, vip4)
	}
	if up, err := ag.Status(ctx); err != nil || !up {
		t.Fatalf("status after start = %v, %v; want running", up, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hbd-ipaddr", vip4)); err != nil {
		t.Errorf("no record of the added address: %v", err)
	}
	// A second start is a no-op that keeps it there.
	if err := ag.Start(ctx); err != nil {
		t.Fatalf("second start: %v", err)
	}
	if err := ag.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if line := addrLine(t, a, vip4); line != "" {
		t.Errorf("address still there after stop: %q", line)
	}
	if up, err := ag.Status(ctx); err != nil || up {
		t.Fatalf("status after stop = %v, %v; want stopped", up, err)
	}
	if err := ag.Stop(ctx); err != nil {
		t.Fatalf("second stop (idempotent): %v", err)
	}
}

func TestLabelsAndResolvedInterface(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	ctx := context.Background()
	dir := t.TempDir()
	// No CIDR, no interface: the connected route 10.231.0.0/24 on eth0 decides.
	auto, _ := agentIn(t, a, dir, quickBurst, "10.231.0.50")
	if err := auto.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if l := addrLine(t, a, "10.231.0.50"); !strings.Contains(l, "10.231.0.50/24") || !strings.Contains(l, " eth0:0") {
		t.Errorf("resolved address line %q: want 10.231.0.50/24 labelled eth0:0", l)
	}
	next, _ := agentIn(t, a, dir, quickBurst, "10.231.0.51/24/eth0")
	if err := next.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if l := addrLine(t, a, "10.231.0.51"); !strings.Contains(l, " eth0:1") {
		t.Errorf("second address line %q: want label eth0:1", l)
	}
	named, _ := agentIn(t, a, dir, quickBurst, "ip=10.231.0.52", "cidr_netmask=255.255.255.0", "nic=eth0", "iflabel=web")
	if err := named.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if l := addrLine(t, a, "10.231.0.52"); !strings.Contains(l, " eth0:web") {
		t.Errorf("iflabel address line %q: want label eth0:web", l)
	}
	// Status and stop of the resolved one find it without an interface.
	if err := auto.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if l := addrLine(t, a, "10.231.0.50"); l != "" {
		t.Errorf("still there after stop: %q", l)
	}
	// Outside every connected route, without an interface: a clear error.
	lost, _ := agentIn(t, a, dir, quickBurst, "192.0.2.7")
	err := lost.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "no interface has a connected route covering 192.0.2.7") {
		t.Errorf("start outside every subnet: %v", err)
	}
	missing, _ := agentIn(t, a, dir, quickBurst, "10.231.0.53/24/eth9")
	if err := missing.Start(ctx); err == nil || !strings.Contains(err.Error(), "eth9") {
		t.Errorf("start on a missing interface: %v", err)
	}
	if up, err := missing.Status(ctx); err != nil || up {
		t.Errorf("status on a missing interface = %v, %v; want stopped, no error", up, err)
	}
}

// TestStartWithoutInterfaceSeesEveryInterface: an address without an
// interface that is already on some interface (here lo, as a direct
// routing real server keeps it) is there for start as for status: start
// uses it as it is, and adds no second copy on the interface whose route
// covers it (harc starts the agent without asking its status first).
func TestStartWithoutInterfaceSeesEveryInterface(t *testing.T) {
	a, ag, hook := foreignAddress(t, vip4+"/32", "lo", vip4)
	ctx := context.Background()
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if l := addrLine(t, a, vip4); l != "" {
		t.Errorf("start added a second copy on eth0: %q", l)
	}
	if out, err := a.Exec(ctx, "ip", "-o", "addr", "show", "dev", "lo"); err != nil || !strings.Contains(out, " "+vip4+"/32") {
		t.Errorf("the address left lo: %q, %v", out, err)
	}
	if !hasEntry(hook, logrus.InfoLevel, "is already on lo and was not added by hbd") {
		t.Errorf("start did not say it found the address on lo")
	}
	if hasEntry(hook, logrus.DebugLevel, "gratuitous ARP") {
		t.Errorf("start announced an address that is on lo")
	}
}

// foreignAddress is a host with addr put on dev by hand (not by hbd) and
// an agent of args for it, whose status must say it runs.
func foreignAddress(t *testing.T, addr, dev string, args ...string) (*netlab.Host, *Agent, *test.Hook) {
	t.Helper()
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	if _, err := a.Exec(context.Background(), "ip", "addr", "add", addr, "dev", dev); err != nil {
		t.Fatal(err)
	}
	ag, hook := agentIn(t, a, t.TempDir(), quickBurst, args...)
	if up, err := ag.Status(context.Background()); err != nil || !up {
		t.Fatalf("status of a present address = %v, %v; want running", up, err)
	}
	return a, ag, hook
}

func TestStopLeavesAddressItDidNotAdd(t *testing.T) {
	a, ag, hook := foreignAddress(t, vip4+"/24", "eth0", vip4+"/24/eth0")
	ctx := context.Background()
	// Starting it adopts nothing: it is used as it is and stays foreign.
	if err := ag.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ag.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if addrLine(t, a, vip4) == "" {
		t.Fatal("stop removed an address hbd did not add")
	}
	if !hasEntry(hook, logrus.WarnLevel, "hbd did not add it") {
		t.Error("no WARN saying the address was left in place")
	}
}

// moveTest holds addr on a, lets c talk to it, moves it to b, and checks
// that c's neighbour entry follows without c sending anything.
func moveTest(t *testing.T, vip, bits string, hostAddrs func(n int) []string) {
	lab := netlab.NewT(t, t.Name())
	var hosts []*netlab.Host
	for i, name := range []string{"a", "b", "c"} {
		h := addHost(t, lab, name, hostAddrs(i+1)...)
		hosts = append(hosts, h)
	}
	a, b, c := hosts[0], hosts[1], hosts[2]
	ctx := context.Background()
	spec := vip + "/" + bits + "/eth0"
	agA, _ := agentIn(t, a, t.TempDir(), quickBurst, spec)
	agB, _ := agentIn(t, b, t.TempDir(), quickBurst, spec)

	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ping(t, c, vip)
	macA, macB := macOf(t, a), macOf(t, b)
	if got := neighMAC(t, c, vip); got != macA {
		t.Fatalf("client's entry for %s is %q before the move, want a's %s", vip, got, macA)
	}
	if err := agA.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := agB.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitNeigh(t, c, vip, macB, 3*time.Second)
	t.Logf("client's neighbour entry for %s moved to b within %s of b's start beginning (start returns after its first burst)", vip, time.Since(start).Round(time.Millisecond))
	ping(t, c, vip)
	if got := neighMAC(t, c, vip); got != macB {
		t.Errorf("after talking to %s again the client's entry is %q, want b's %s", vip, got, macB)
	}
}

func TestARPMovesWithAddress(t *testing.T) {
	moveTest(t, vip4, "24", func(n int) []string { return []string{fmt.Sprintf("10.231.0.%d/24", n)} })
}

func TestNeighbourAdvertisementMovesWithAddress(t *testing.T) {
	moveTest(t, vip6, "64", func(n int) []string {
		return []string{fmt.Sprintf("10.231.0.%d/24", n), fmt.Sprintf("fd00:231::%d/64", n)}
	})
}

func TestWatchPutsBackDeletedAddress(t *testing.T) {
	for _, tc := range []struct{ name, spec, del string }{
		{"ipv4", vip4 + "/24/eth0", vip4 + "/24"},
		{"ipv6", vip6 + "/64/eth0", vip6 + "/64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := netlab.NewT(t, t.Name())
			a := addHost(t, lab, "a", "10.231.0.1/24", "fd00:231::1/64")
			ctx := context.Background()
			ag, hook := agentIn(t, a, t.TempDir(), quickBurst, tc.spec)
			if err := ag.Start(ctx); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Add(1)
			var werr error
			go func() {
				defer wg.Done()
				// A long Check: putting it back fast proves the netlink
				// events are followed, not the periodic look.
				werr = ag.Watch(wctx, WatchOptions{Check: 30 * time.Second, Refresh: -1})
			}()
			defer func() { cancel(); wg.Wait() }()
			time.Sleep(300 * time.Millisecond) // let the subscription start

			ip := strings.Split(tc.del, "/")[0]
			for round := 1; round <= 2; round++ {
				if _, err := a.Exec(ctx, "ip", "addr", "del", tc.del, "dev", "eth0"); err != nil {
					t.Fatal(err)
				}
				del := time.Now()
				wctx2, c2 := context.WithTimeout(ctx, 3*time.Second)
				err := a.WaitAddr(wctx2, ip, true)
				c2()
				if err != nil {
					t.Fatalf("round %d: address not put back within 3 s: %v", round, err)
				}
				t.Logf("round %d: put back %s after it was deleted", round, time.Since(del).Round(time.Millisecond))
				time.Sleep(100 * time.Millisecond)
			}
			if !hasEntry(hook, logrus.WarnLevel, "had vanished from eth0 while held") {
				t.Error("no WARN saying the address was put back")
			}
			if strings.Contains(tc.spec, ".") && !strings.Contains(addrLine(t, a, ip), " eth0:0") {
				t.Errorf("put back without its label: %q", addrLine(t, a, ip))
			}
			cancel()
			wg.Wait()
			if werr != nil {
				t.Errorf("Watch returned %v, want nil after cancel", werr)
			}
			// Stop after the watch still removes it (the record was renewed).
			if err := ag.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if addrLine(t, a, ip) != "" {
				t.Error("address still there after stop")
			}
		})
	}
}

// TestWatchReannouncesPeriodically: the refresh mends a client's stale
// entry, on the watch's own ticker and on a daemon's wake channel.
func TestWatchReannouncesPeriodically(t *testing.T) {
	for _, tc := range []struct {
		name string
		wake bool
	}{{"own-ticker", false}, {"wake-channel", true}} {
		t.Run(tc.name, func(t *testing.T) { testWatchReannounces(t, tc.wake) })
	}
}

// wakeEvery sends the time on the channel it returns every d, until ctx
// ends: a Watch's Wake, as the daemon sends from its heartbeats.
func wakeEvery(ctx context.Context, d time.Duration) <-chan time.Time {
	ch := make(chan time.Time)
	go func() {
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tk.C:
				select {
				case ch <- now:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch
}

func testWatchReannounces(t *testing.T, wake bool) {
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	b := addHost(t, lab, "b", "10.231.0.2/24")
	c := addHost(t, lab, "c", "10.231.0.3/24")
	ctx := context.Background()
	agA, _ := agentIn(t, a, t.TempDir(), quickBurst, vip4+"/24/eth0")
	if err := agA.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ping(t, c, vip4)
	// Poison the client's entry with b's MAC, as a stale switch or a
	// split-brain peer would leave it; the refresh must mend it.
	macA, macB := macOf(t, a), macOf(t, b)
	if _, err := c.Exec(ctx, "ip", "neigh", "replace", vip4, "lladdr", macB, "dev", "eth0", "nud", "stale"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	o := WatchOptions{Check: time.Second, Refresh: 500 * time.Millisecond}
	if wake {
		// As the daemon does from its heartbeats: a time now and then,
		// more often than Refresh.
		o.Wake = wakeEvery(wctx, 200*time.Millisecond)
	}
	go func() { done <- agA.Watch(wctx, o) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	defer stop()
	waitNeigh(t, c, vip4, macA, 3*time.Second)

	// Announce (the heal re-announce) does the same at once.
	if _, err := c.Exec(ctx, "ip", "neigh", "replace", vip4, "lladdr", macB, "dev", "eth0", "nud", "stale"); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := agA.Announce(ctx); err != nil {
		t.Fatal(err)
	}
	waitNeigh(t, c, vip4, macA, time.Second)
}

func TestWatchAnnouncesWhenLinkComesBackUp(t *testing.T) {
	for _, tc := range []struct{ name, vip, bits string }{
		{"ipv4", vip4, "24"},
		{"ipv6", vip6, "64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lab := netlab.NewT(t, t.Name())
			a := addHost(t, lab, "a", "10.231.0.1/24", "fd00:231::1/64")
			b := addHost(t, lab, "b", "10.231.0.2/24", "fd00:231::2/64")
			c := addHost(t, lab, "c", "10.231.0.3/24", "fd00:231::3/64")
			ctx := context.Background()
			ag, _ := agentIn(t, a, t.TempDir(), quickBurst, tc.vip+"/"+tc.bits+"/eth0")
			if err := ag.Start(ctx); err != nil {
				t.Fatal(err)
			}
			ping(t, c, tc.vip)
			macA, macB := macOf(t, a), macOf(t, b)
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			// No refresh and a long Check: only the link event can help.
			go func() { done <- ag.Watch(wctx, WatchOptions{Check: 30 * time.Second, Refresh: -1}) }()
			defer func() { cancel(); <-done }()
			time.Sleep(300 * time.Millisecond)
			if _, err := a.Exec(ctx, "ip", "link", "set", "eth0", "down"); err != nil {
				t.Fatal(err)
			}
			// Meanwhile the client's entry goes wrong (as after a flap
			// during which someone else answered for the address).
			if _, err := c.Exec(ctx, "ip", "neigh", "replace", tc.vip, "lladdr", macB, "dev", "eth0", "nud", "stale"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			if _, err := a.Exec(ctx, "ip", "link", "set", "eth0", "up"); err != nil {
				t.Fatal(err)
			}
			waitNeigh(t, c, tc.vip, macA, 3*time.Second)
			if err := a.WaitAddr(ctx, tc.vip, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestExecutable runs the built hbd binary as /etc/ha.d/resource.d/IPaddr2
// would be (a symlink) and as `hbd agent IPaddr2`, the way Heartbeat and
// harc call resource scripts.
func TestExecutable(t *testing.T) {
	netlab.Skip(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "hbd")
	build := exec.Command("go", "build", "-o", bin, "github.com/hbdproject/hbd/hbd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	link := filepath.Join(dir, "IPaddr2")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	lab := netlab.NewT(t, t.Name())
	a := addHost(t, lab, "a", "10.231.0.1/24")
	state := filepath.Join(dir, "rsctmp")
	run := func(argv ...string) (stdout string, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := a.Command(ctx, "env", append([]string{"HA_RSCTMP=" + state}, argv...)...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			code = ee.ExitCode()
		default:
			t.Fatalf("%v: %v", argv, err)
		}
		t.Logf("%v -> %d stdout %q stderr %q", argv, code, out.String(), errb.String())
		return out.String(), code
	}
	spec := vip4 + "/24/eth0"
	if out, code := run(link, spec, "status"); code != 3 || strings.TrimSpace(out) != "stopped" {
		t.Errorf("status before start: %d %q, want 3 \"stopped\"", code, out)
	}
	start := time.Now()
	if _, code := run(link, spec, "start"); code != 0 {
		t.Fatalf("start exit %d", code)
	}
	took := time.Since(start)
	t.Logf("one-shot start took %s (first burst in process, second in a helper)", took.Round(time.Millisecond))
	if took > 2500*time.Millisecond {
		t.Errorf("start took %s: the second burst should not hold it up", took)
	}
	if l := addrLine(t, a, vip4); !strings.Contains(l, " eth0:0") {
		t.Errorf("address line %q: want label eth0:0", l)
	}
	if out, code := run(link, spec, "status"); code != 0 || strings.TrimSpace(out) != "running" {
		t.Errorf("status after start: %d %q, want 0 \"running\"", code, out)
	}
	if out, code := run(bin, "agent", "IPaddr2", spec, "monitor"); code != 0 || strings.TrimSpace(out) != "running" {
		t.Errorf("hbd agent ... monitor: %d %q, want 0 \"running\"", code, out)
	}
	// The helper with the second burst runs detached and then ends.
	if !followupRunning(t, a) {
		t.Error("no _followup helper running right after start")
	}
	if _, code := run(bin, "agent", "IPaddr2", spec, "stop"); code != 0 {
		t.Fatalf("stop exit %d", code)
	}
	if addrLine(t, a, vip4) != "" {
		t.Error("address still there after stop")
	}
	if out, code := run(link, spec, "status"); code != 3 || strings.TrimSpace(out) != "stopped" {
		t.Errorf("status after stop: %d %q, want 3 \"stopped\"", code, out)
	}
	if _, code := run(link, spec, "stop"); code != 0 {
		t.Errorf("second stop exit %d, want 0", code)
	}
	deadline := time.Now().Add(DefaultSecondBurst + 3*time.Second)
	for followupRunning(t, a) {
		if time.Now().After(deadline) {
			t.Fatal("the _followup helper is still running long after its burst was due")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, code := run(link, "10.0.0.300/24/eth0", "start"); code != 2 {
		t.Errorf("bad address: exit %d, want 2", code)
	}
	if _, code := run(link, spec, "restart"); code != 3 {
		t.Errorf("unknown operation: exit %d, want 3", code)
	}
}

// followupRunning reports whether a _followup helper runs in h's namespace.
func followupRunning(t *testing.T, h *netlab.Host) bool {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", h.NS).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range strings.Fields(string(out)) {
		b, err := os.ReadFile("/proc/" + pid + "/cmdline")
		if err == nil && strings.Contains(string(b), opFollowup) {
			return true
		}
	}
	return false
}

// TestRoundWaitsForRemoval: a round of announcements that comes while a
// stop of the address holds the announcement lock (from before its drain
// to the removal) waits for it, then finds the address gone and sends
// nothing, even from another Agent of the same address, as the rounds
// after a daemon's in-process start are.
func TestRoundWaitsForRemoval(t *testing.T) {
	lab := netlab.NewT(t, t.Name())
	h := addHost(t, lab, "a", "10.231.0.1/24")
	dir := t.TempDir()
	ctx := context.Background()
	starter, _ := agentIn(t, h, dir, quickBurst, vip4+"/24/eth0")
	if err := starter.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopping, err := starter.lockAnnounce(unix.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	other, hook := agentIn(t, h, dir, quickBurst, vip4+"/24/eth0")
	done := make(chan error, 1)
	go func() { done <- other.announce(ctx, 1) }()
	select {
	case err := <-done:
		t.Fatalf("the round did not wait for the stop holding the lock (returned %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := h.Exec(ctx, "ip", "addr", "del", vip4+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	stopping()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var said []string
	for _, e := range hook.AllEntries() {
		said = append(said, e.Message)
	}
	if !slices.ContainsFunc(said, func(m string) bool { return strings.Contains(m, "is gone: announcements stop after 0") }) {
		t.Errorf("the round after the removal: %q, want it to find the address gone and send nothing", said)
	}
}
