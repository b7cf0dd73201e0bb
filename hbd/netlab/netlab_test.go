//go:build linux

package netlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// ping reports whether one ping from h to ip gets an answer within 1 s.
func ping(t *testing.T, h *Host, ip string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := h.Exec(ctx, "ping", "-n", "-q", "-c", "1", "-W", "1", ip)
	return err == nil
}

// eventuallyPing retries ping for up to 5 s (ARP, carrier after Heal).
func eventuallyPing(t *testing.T, h *Host, ip string) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 20 && time.Now().Before(deadline); i++ {
		if ping(t, h, ip) {
			return true
		}
	}
	return false
}

func needPing(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/ping"); err != nil {
		if _, err := os.Stat("/bin/ping"); err != nil {
			testenv.Skip(t, "ping not installed; run .ci/test-deps.sh as root")
		}
	}
}

func hosts(t *testing.T, lab *Lab, names ...string) []*Host {
	t.Helper()
	var hs []*Host
	for i, n := range names {
		h, err := lab.Host(n, fmt.Sprintf("10.231.0.%d/24", i+1))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	return hs
}

func TestPingCutHeal(t *testing.T) {
	needPing(t)
	lab := NewT(t, "pingcut")
	hs := hosts(t, lab, "a", "b")
	a, b := hs[0], hs[1]
	if a.IP() != "10.231.0.1" || b.IP() != "10.231.0.2" {
		t.Fatalf("IP() = %q, %q", a.IP(), b.IP())
	}
	if !eventuallyPing(t, a, b.IP()) || !eventuallyPing(t, b, a.IP()) {
		t.Fatal("a and b cannot ping each other")
	}
	if err := lab.Cut(b); err != nil {
		t.Fatal(err)
	}
	if ping(t, a, b.IP()) {
		t.Error("a still reaches b after Cut(b)")
	}
	if ping(t, b, a.IP()) {
		t.Error("b still reaches a after Cut(b)")
	}
	if err := lab.Heal(b); err != nil {
		t.Fatal(err)
	}
	if !eventuallyPing(t, a, b.IP()) || !eventuallyPing(t, b, a.IP()) {
		t.Error("no ping between a and b after Heal(b)")
	}
}

func TestCutBetween(t *testing.T) {
	needPing(t)
	methods := []struct {
		name     string
		useRoute bool
	}{{"nft", false}, {"route", true}}
	for _, m := range methods {
		t.Run(m.name, func(t *testing.T) {
			if !m.useRoute && !HasNft() {
				testenv.Skip(t, "nft not installed; run .ci/test-deps.sh as root")
			}
			lab := NewT(t, "cutbetween")
			lab.useRoute = m.useRoute
			hs := hosts(t, lab, "a", "b", "client")
			a, b, c := hs[0], hs[1], hs[2]
			for _, p := range [][2]*Host{{a, b}, {a, c}, {b, c}} {
				if !eventuallyPing(t, p[0], p[1].IP()) {
					t.Fatalf("%s cannot ping %s before the cut", p[0].Name, p[1].Name)
				}
			}
			if err := lab.CutBetween(a, b); err != nil {
				t.Fatal(err)
			}
			if ping(t, a, b.IP()) || ping(t, b, a.IP()) {
				t.Error("a and b still reach each other after CutBetween")
			}
			if !ping(t, a, c.IP()) || !ping(t, b, c.IP()) || !ping(t, c, a.IP()) || !ping(t, c, b.IP()) {
				t.Error("CutBetween(a, b) also cut the client")
			}
			if err := lab.HealBetween(a, b); err != nil {
				t.Fatal(err)
			}
			if !eventuallyPing(t, a, b.IP()) || !eventuallyPing(t, b, a.IP()) {
				t.Error("a and b do not reach each other after HealBetween")
			}
		})
	}
}

func TestLoss(t *testing.T) {
	needPing(t)
	if !HasNft() {
		testenv.Skip(t, "nft not installed; run .ci/test-deps.sh as root")
	}
	lab := NewT(t, "loss")
	hs := hosts(t, lab, "a", "b")
	a, b := hs[0], hs[1]
	if !eventuallyPing(t, a, b.IP()) {
		t.Fatal("no ping before loss")
	}
	if err := lab.Loss(a, 30); err != nil {
		t.Fatal(err)
	}
	// Each echo crosses a's port twice (request in, reply out): about
	// 0.7 × 0.7 = 49 % should come back.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _ := a.Exec(ctx, "ping", "-n", "-q", "-c", "300", "-i", "0.005", "-W", "1", b.IP())
	got := received(t, out)
	if got < 90 || got > 210 {
		t.Errorf("30%% loss each way: %d of 300 echoes answered, want about 147\n%s", got, out)
	}
	if err := lab.Loss(a, 0); err != nil {
		t.Fatal(err)
	}
	out, _ = a.Exec(ctx, "ping", "-n", "-q", "-c", "100", "-i", "0.005", "-W", "1", b.IP())
	if got := received(t, out); got < 98 {
		t.Errorf("loss removed: %d of 100 answered\n%s", got, out)
	}
}

func received(t *testing.T, pingOut string) int {
	t.Helper()
	for _, line := range strings.Split(pingOut, "\n") {
		if i := strings.Index(line, " received"); i > 0 {
			f := strings.Fields(line[:i])
			n, err := strconv.Atoi(f[len(f)-1])
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("no 'received' in ping output:\n%s", pingOut)
	return 0
}

// alive reports whether pid runs (a zombie waiting for its reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z' && b[i+2] != 'X'
}

func labNamespaces(t *testing.T, id string) []string {
	t.Helper()
	es, err := os.ReadDir(netnsDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		if strings.HasPrefix(e.Name(), id+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// startOrphan starts a sleep that leaves the lab's process group (setsid)
// and returns its pid: Close must find it through the namespace.
func startOrphan(t *testing.T, h *Host) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := h.Exec(ctx, "sh", "-c", "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("orphan pid %q: %v", out, err)
	}
	return pid
}

func TestCloseLeavesNothing(t *testing.T) {
	Skip(t)
	lab, err := New(context.Background(), "close")
	if err != nil {
		t.Fatal(err)
	}
	lab.Logf = t.Logf
	hs := hosts(t, lab, "a", "b")
	dir, err := lab.Dir()
	if err != nil {
		lab.Close()
		t.Fatal(err)
	}
	p, err := hs[0].Start(nil, "sleep", "1000")
	if err != nil {
		lab.Close()
		t.Fatal(err)
	}
	orphan := startOrphan(t, hs[1])
	if !alive(p.PID) || !alive(orphan) {
		lab.Close()
		t.Fatal("processes did not start")
	}
	if n := labNamespaces(t, lab.ID); len(n) != 3 {
		t.Errorf("namespaces before Close: %v, want 3 (switch + 2 hosts)", n)
	}
	if err := lab.Close(); err != nil {
		t.Fatal(err)
	}
	if err := lab.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := labNamespaces(t, lab.ID); len(n) != 0 {
		t.Errorf("namespaces left after Close: %v", n)
	}
	if !p.Exited() {
		t.Errorf("started process %d still running", p.PID)
	}
	if alive(orphan) {
		t.Errorf("orphan %d (own session) still alive", orphan)
	}
	if _, err := os.Stat(filepath.Join(markerDir, lab.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("marker left: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lab dir left: %v", err)
	}
	if _, err := lab.Host("c"); err == nil {
		t.Error("Host on a closed lab succeeded")
	}
}

func TestSweep(t *testing.T) {
	Skip(t)
	if err := Sweep("other"); err == nil {
		t.Error("Sweep accepted a prefix without " + Prefix)
	}
	lab, err := New(context.Background(), "sweep")
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	hs := hosts(t, lab, "a")
	orphan := startOrphan(t, hs[0])
	dir, err := lab.Dir()
	if err != nil {
		t.Fatal(err)
	}

	// A live lab is left alone.
	if err := Sweep(Prefix); err != nil {
		t.Fatal(err)
	}
	if n := labNamespaces(t, lab.ID); len(n) != 2 || !alive(orphan) {
		t.Fatalf("Sweep touched a live lab: namespaces %v, orphan alive %v", n, alive(orphan))
	}
	// Make it look crashed: its marker names a process that is gone.
	if err := os.WriteFile(filepath.Join(markerDir, lab.ID), []byte("999999999 1 crashed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Sweep(Prefix); err != nil {
		t.Fatal(err)
	}
	if n := labNamespaces(t, lab.ID); len(n) != 0 {
		t.Errorf("Sweep left %v", n)
	}
	if alive(orphan) {
		t.Errorf("Sweep left process %d alive", orphan)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Sweep left the lab dir %s: %v", dir, err)
	}
	if err := lab.Close(); err != nil {
		t.Errorf("Close after Sweep: %v", err)
	}
}

// TestSweepConcurrent: labs starting at once all sweep the same dead
// lab's namespaces; each must take the others' deletions in its stride.
func TestSweepConcurrent(t *testing.T) {
	Skip(t)
	for round := 0; round < 3; round++ {
		lab, err := New(context.Background(), "sweepc")
		if err != nil {
			t.Fatal(err)
		}
		hosts(t, lab, "a", "b", "c")
		if err := os.WriteFile(filepath.Join(markerDir, lab.ID), []byte("999999999 1 crashed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		const sweepers = 6
		errc := make(chan error, sweepers)
		start := make(chan struct{})
		for range sweepers {
			go func() {
				<-start
				errc <- Sweep(lab.ID)
			}()
		}
		close(start)
		for range sweepers {
			if err := <-errc; err != nil {
				t.Errorf("round %d: a sweeper beside others: %v", round, err)
			}
		}
		if n := labNamespaces(t, lab.ID); len(n) != 0 {
			t.Errorf("round %d: Sweep left %v", round, n)
		}
		if err := lab.Close(); err != nil {
			t.Errorf("Close after Sweep: %v", err)
		}
	}
}

func TestNames(t *testing.T) {
	lab := NewT(t, "names")
	for _, bad := range []string{"", "Node1", "sw", "a-b", "waytoolongname1"} {
		if _, err := lab.Host(bad); err == nil {
			t.Errorf("Host(%q) accepted", bad)
		}
	}
	h, err := lab.Host("node1", "10.231.0.1/24", "fd00:231::1/64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Host("node1"); err == nil {
		t.Error("second Host(node1) accepted")
	}
	br, err := lab.Bridge("hb")
	if err != nil {
		t.Fatal(err)
	}
	if br.Index != 1 || br.Addr(7) != "10.231.1.7/24" {
		t.Errorf("second bridge %+v Addr(7)=%s", br, br.Addr(7))
	}
	if err := h.Join(br, "eth1", br.Addr(1)); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"10.231.0.1", "fd00:231::1", "10.231.1.1/24"} {
		if ok, err := h.HasAddr(a); err != nil || !ok {
			t.Errorf("HasAddr(%s) = %v, %v", a, ok, err)
		}
	}
	if ok, _ := h.HasAddr("10.231.0.2"); ok {
		t.Error("HasAddr(10.231.0.2) on a host without it")
	}
	// Nothing of the lab in our own namespace.
	out, err := runCmd(context.Background(), nil, "ip", "-o", "link")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"p0e0", "p0e1", "hb"} {
		if strings.Contains(out, ": "+name+":") || strings.Contains(out, ": "+name+"@") {
			t.Errorf("lab link %s visible in the host namespace:\n%s", name, out)
		}
	}
}

// TestLinkLocalAndReady checks that a host given a link-local address has
// that one only (the kernel makes none of its own), that a host without
// one gets the kernel's, and that after WaitReady both hosts' interfaces
// and their bridge ports are up and past the noop queueing discipline.
func TestLinkLocalAndReady(t *testing.T) {
	lab := NewT(t, "linklocal")
	given, err := lab.Host("given", "10.231.0.1/24", "fe80::231:1/64")
	if err != nil {
		t.Fatal(err)
	}
	auto, err := lab.Host("auto", "10.231.0.2/24")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*Host{given, auto} {
		if err := h.WaitReady(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, dev := range []struct{ ns, name string }{{h.NS, "eth0"}, {lab.SwitchNS(), h.Ifaces()[0].Port}} {
			out, err := runCmd(context.Background(), nil, "ip", "-n", dev.ns, "link", "show", "dev", dev.name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "LOWER_UP") || strings.Contains(out, "qdisc noop") {
				t.Errorf("%s: %s in %s not ready after WaitReady: %s", h.Name, dev.name, dev.ns, out)
			}
		}
	}
	linkLocal := func(h *Host) []string {
		t.Helper()
		as, err := h.Addrs()
		if err != nil {
			t.Fatal(err)
		}
		var ll []string
		for _, a := range as {
			if a.Is6() && a.IsLinkLocalUnicast() {
				ll = append(ll, a.String())
			}
		}
		return ll
	}
	if got := linkLocal(given); strings.Join(got, " ") != "fe80::231:1" {
		t.Errorf("given: link-local addresses %v, want only fe80::231:1", got)
	}
	// The kernel adds its own once the interface is up; wait a little.
	deadline := time.Now().Add(5 * time.Second)
	for len(linkLocal(auto)) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := linkLocal(auto); len(got) != 1 {
		t.Errorf("auto: link-local addresses %v, want the kernel's one", got)
	}
}
