package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// Binaries built once by TestMain: hbd (with the race detector in CI:
// testenv.RaceBinaries) and this demo (the web server).
var (
	hbdBin  string
	demoBin string
)

// races collects the data races the hbd processes report: each test that
// runs the demo fails with the races reported while it ran.
var races *testenv.Races

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hbd-demo-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(runTests(m, dir))
}

func runTests(m *testing.M, dir string) int {
	defer os.RemoveAll(dir)
	hbdBin = filepath.Join(dir, "hbd")
	demoBin = filepath.Join(dir, "hbd-demo")
	if out, err := testenv.Build(hbdBin, "github.com/hbdproject/hbd/hbd", testenv.RaceBinaries()); err != nil {
		fmt.Fprintf(os.Stderr, "build hbd: %v\n%s", err, out)
		return 1
	}
	if out, err := testenv.Build(demoBin, "github.com/hbdproject/hbd/hbd/internal/demo", false); err != nil {
		fmt.Fprintf(os.Stderr, "build the demo: %v\n%s", err, out)
		return 1
	}
	var err error
	if races, err = testenv.WatchRaces(filepath.Join(dir, "races")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return races.Finish(m.Run())
}

func testPlan(t *testing.T, vip string) *Plan {
	t.Helper()
	return &Plan{
		Root:  t.TempDir(),
		Nodes: []NodeSpec{{Name: "node_1", Addr: "127.0.0.1"}, {Name: "node_2", Addr: "127.0.0.2"}},
		// Not bound by these tests.
		UDPPort: 6941, Timings: DefaultTimings, Iface: "lo", BindLocal: true,
		ServiceIP: "127.0.0.10", ServicePort: 8080, DemoBin: demoBin,
		VIP: vip, IPaddr2Script: "../../../etc/ha.d/resource.d/IPaddr2",
	}
}

// TestPlanWrite checks the generated files: modes, the lines that matter,
// and that hbd check accepts each node's configuration.
func TestPlanWrite(t *testing.T) {
	for _, tc := range []struct {
		name, vip, haresources string
	}{
		{"loopback", "", "node_1 demoweb::127.0.0.10::8080"},
		{"floating IP", "10.231.0.100/24/eth0", "node_1 IPaddr2::10.231.0.100/24/eth0 demoweb::127.0.0.10::8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPlan(t, tc.vip)
			nodes, err := p.Write()
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes) != 2 {
				t.Fatalf("%d nodes, want 2", len(nodes))
			}
			for i, n := range nodes {
				peer := nodes[1-i]
				modes := map[string]os.FileMode{
					"authkeys": 0o600, "ha.cf": 0o644, "haresources": 0o644, "resource.d/demoweb": 0o755,
				}
				if tc.vip != "" {
					modes["resource.d/IPaddr2"] = 0o755
				}
				for f, want := range modes {
					fi, err := os.Stat(filepath.Join(n.ConfigDir, f))
					if err != nil {
						t.Fatal(err)
					}
					if got := fi.Mode().Perm(); got != want {
						t.Errorf("%s %s: mode %o, want %o", n.Name, f, got, want)
					}
				}
				hacf := readFile(t, filepath.Join(n.ConfigDir, "ha.cf"))
				for _, line := range []string{
					fmt.Sprintf("ucast lo %s %s", peer.Addr, n.Addr),
					"node node_1 node_2", "auto_failback on",
					"keepalive 200ms", "warntime 500ms", "deadtime 1000ms", "initdead 3000ms",
					"debugfile " + n.DebugFile(),
				} {
					if !hasLine(hacf, line) {
						t.Errorf("%s ha.cf has no line %q:\n%s", n.Name, line, hacf)
					}
				}
				if strings.Contains(hacf, "ucast lo "+n.Addr+" ") {
					t.Errorf("%s ha.cf sends to itself:\n%s", n.Name, hacf)
				}
				if hr := readFile(t, filepath.Join(n.ConfigDir, "haresources")); !hasLine(hr, tc.haresources) {
					t.Errorf("%s haresources has no line %q:\n%s", n.Name, tc.haresources, hr)
				}
				out, err := exec.Command(hbdBin, "check", "-c", n.ConfigDir, "--node", n.Name).CombinedOutput()
				if err != nil {
					t.Errorf("hbd check %s: %v\n%s", n.Name, err, out)
				}
				for _, d := range []string{n.RunDir, n.StateDir, n.LogDir} {
					if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
						t.Errorf("%s: %s is not a directory (%v)", n.Name, d, err)
					}
				}
			}
		})
	}
}

func TestPlanRejects(t *testing.T) {
	p := testPlan(t, "")
	p.DemoBin = "bin/hbd-demo"
	if _, err := p.Write(); err == nil {
		t.Error("a relative hbd-demo path was accepted")
	}
	p = testPlan(t, "")
	p.Nodes = p.Nodes[:1]
	if _, err := p.Write(); err == nil {
		t.Error("a one-node plan was accepted")
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

// freeLoopbackPort is a TCP port free on ip right now.
func freeLoopbackPort(t *testing.T, ip string) int {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runScript runs a node's demoweb script like harc does.
func runScript(t *testing.T, n *Node, ip string, port int, op string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(n.ConfigDir, "resource.d", "demoweb"), ip, strconv.Itoa(port), op)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("demoweb %s: %v", op, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

// TestDemowebScript runs the generated resource script for real: start,
// status, the floating-IP exclusion (the second node cannot start while
// the first serves), stop, and the web server's exit when its pid file
// goes away.
func TestDemowebScript(t *testing.T) {
	p := testPlan(t, "")
	nodes, err := p.Write()
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := nodes[0], nodes[1]
	ip := "127.0.0.10"
	port := freeLoopbackPort(t, ip)
	t.Cleanup(func() {
		killWeb(n1)
		killWeb(n2)
	})
	url := fmt.Sprintf("http://%s:%d/", ip, port)
	c := &Client{URL: url, Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	if out, code := runScript(t, n1, ip, port, "status"); code != 3 || !strings.Contains(out, "stopped") {
		t.Fatalf("status before start: exit %d, %q", code, out)
	}
	if out, code := runScript(t, n1, ip, port, "start"); code != 0 {
		t.Fatalf("start node_1: exit %d: %s", code, out)
	}
	if p := c.once(hc); !p.OK() || p.Whom != "node_1" {
		t.Fatalf("after start of node_1: %+v", p)
	}
	if out, code := runScript(t, n1, ip, port, "status"); code != 0 || !strings.Contains(out, "running") {
		t.Errorf("status after start: exit %d, %q", code, out)
	}
	if out, code := runScript(t, n1, ip, port, "start"); code != 0 || !strings.Contains(out, "already running") {
		t.Errorf("second start: exit %d, %q", code, out)
	}
	if out, code := runScript(t, n2, ip, port, "start"); code == 0 {
		t.Errorf("node_2 started while node_1 holds %s:%d: %s", ip, port, out)
	}
	if out, code := runScript(t, n2, ip, port, "status"); code != 3 {
		t.Errorf("node_2 status after its failed start: exit %d, %q", code, out)
	}
	if out, code := runScript(t, n1, ip, port, "stop"); code != 0 {
		t.Fatalf("stop node_1: exit %d: %s", code, out)
	}
	if p := c.once(hc); p.OK() {
		t.Fatalf("answer after stop: %+v", p)
	}
	if out, code := runScript(t, n1, ip, port, "stop"); code != 0 {
		t.Errorf("stop of a stopped service: exit %d: %s", code, out)
	}
	if out, code := runScript(t, n2, ip, port, "start"); code != 0 {
		t.Fatalf("start node_2 after node_1 stopped: exit %d: %s", code, out)
	}
	if p := c.once(hc); !p.OK() || p.Whom != "node_2" {
		t.Fatalf("after start of node_2: %+v", p)
	}
	// A demo that went away without cleaning up: its temporary directory
	// (and the pid file) is removed; the web server notices and exits.
	pid, ok := webPID(n2)
	if !ok {
		t.Fatal("no pid for node_2's web server")
	}
	if err := os.Remove(n2.WebPID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("web server %d still runs 5 s after its pid file was removed", pid)
	}
}

// alive reports whether pid runs (a zombie does not count).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !zombie(b)
}

func TestShortError(t *testing.T) {
	port := freeLoopbackPort(t, "127.0.0.1")
	c := &Client{URL: fmt.Sprintf("http://127.0.0.1:%d/", port), Timeout: 200 * time.Millisecond}
	p := c.once(&http.Client{Timeout: c.Timeout, Transport: &http.Transport{DisableKeepAlives: true}})
	if p.OK() || p.Err != "connection refused" {
		t.Errorf("request to a closed port: %+v", p)
	}
	// A server that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c.URL = "http://" + ln.Addr().String() + "/"
	p = c.once(&http.Client{Timeout: c.Timeout, Transport: &http.Transport{DisableKeepAlives: true}})
	if p.OK() || p.Err != "timed out" {
		t.Errorf("request to a silent server: %+v", p)
	}
	if p.Took < 150*time.Millisecond || p.Took > 5*time.Second {
		t.Errorf("timed-out request took %s, want about 200 ms", p.Took)
	}
}

// TestClientRun runs the client against a real server for a moment.
func TestClientRun(t *testing.T) {
	srv := httptest.NewServer(netlab.WhomHandler("node_1"))
	defer srv.Close()
	var buf bytes.Buffer
	tr := NewTracker(NewPrinter(&buf))
	c := &Client{URL: srv.URL, Interval: 20 * time.Millisecond, Timeout: 200 * time.Millisecond, OnProbe: tr.Add}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c.Run(ctx)
	ps := c.Probes()
	if len(ps) < 5 {
		t.Fatalf("%d probes in 300 ms at 20 ms", len(ps))
	}
	for _, p := range ps {
		if !p.OK() || p.Whom != "node_1" {
			t.Fatalf("probe %+v", p)
		}
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 1 {
		t.Errorf("tracker printed %d lines for one steady responder, want 1:\n%s", lines, buf.String())
	}
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func ok(startMS, tookMS int, whom string) Probe {
	return Probe{At: at(startMS), Took: time.Duration(tookMS) * time.Millisecond, Whom: whom}
}

func fail(startMS, tookMS int) Probe {
	return Probe{At: at(startMS), Took: time.Duration(tookMS) * time.Millisecond, Err: "connection refused"}
}

func TestMeasureWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		probes   []Probe
		since    int
		to       string
		from     string
		unavail  int // ms
		after    int // ms
		failed   int
		answered bool
	}{
		{
			name:   "failover",
			probes: []Probe{ok(0, 1, "a"), ok(20, 1, "a"), fail(40, 1), fail(60, 1), fail(80, 1), ok(100, 2, "b")},
			since:  30, to: "b", from: "a", unavail: 62, after: 72, failed: 3, answered: true,
		},
		{
			name:   "unordered, with a timed-out request finishing last",
			probes: []Probe{ok(100, 2, "b"), fail(40, 200), ok(0, 1, "a"), fail(60, 1), ok(120, 1, "b")},
			since:  30, to: "b", from: "a", unavail: 62, after: 72, failed: 2, answered: true,
		},
		{
			name:   "the old node answers after the action, then a gap",
			probes: []Probe{ok(0, 1, "a"), ok(20, 1, "a"), ok(40, 1, "a"), fail(60, 1), ok(80, 5, "b")},
			since:  10, to: "b", from: "a", unavail: 25, after: 75, failed: 1, answered: true,
		},
		{
			name:   "switch without a failed request",
			probes: []Probe{ok(0, 1, "a"), ok(20, 1, "a"), ok(40, 3, "b")},
			since:  10, to: "b", from: "a", unavail: 0, after: 33, failed: 0, answered: true,
		},
		{
			name:   "failures after the new node answered do not count",
			probes: []Probe{ok(0, 1, "a"), fail(20, 1), ok(40, 1, "b"), fail(60, 1), fail(80, 1)},
			since:  10, to: "b", from: "a", unavail: 21, after: 31, failed: 1, answered: true,
		},
		{
			name:   "never answered",
			probes: []Probe{ok(0, 1, "a"), fail(20, 1), fail(40, 1), ok(60, 1, "a")},
			since:  10, to: "b", from: "a", failed: 2,
		},
		{
			name:   "nobody before",
			probes: []Probe{fail(0, 1), fail(20, 1), ok(40, 1, "a")},
			since:  0, to: "a", from: "", unavail: 41, after: 41, failed: 2, answered: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := MeasureWindow(tc.probes, at(tc.since), tc.to)
			ms := func(d time.Duration) int { return int(d / time.Millisecond) }
			if w.From != tc.from || w.To != tc.to || w.Failed != tc.failed || w.Answered() != tc.answered ||
				ms(w.Unavailable()) != tc.unavail || ms(w.AfterAction()) != tc.after {
				t.Errorf("got from %q to %q failed %d answered %v unavailable %d ms after %d ms; want %q %q %d %v %d %d",
					w.From, w.To, w.Failed, w.Answered(), ms(w.Unavailable()), ms(w.AfterAction()),
					tc.from, tc.to, tc.failed, tc.answered, tc.unavail, tc.after)
			}
		})
	}
}

func TestResponders(t *testing.T) {
	ps := []Probe{ok(200, 1, "a"), fail(0, 1), ok(20, 1, "a"), fail(40, 1), ok(60, 1, "b"), ok(80, 1, "b"), fail(100, 1), ok(120, 1, "a"), ok(140, 1, "b")}
	got := strings.Join(Responders(ps), " ")
	if want := "a b a b a"; got != want {
		t.Errorf("Responders = %q, want %q", got, want)
	}
	if r := Responders([]Probe{fail(0, 1)}); len(r) != 0 {
		t.Errorf("Responders of failures only = %v", r)
	}
}

func TestTracker(t *testing.T) {
	var buf bytes.Buffer
	tr := NewTracker(NewPrinter(&buf))
	for _, p := range []Probe{
		fail(0, 1), fail(20, 1), ok(40, 1, "a"), ok(60, 1, "a"), ok(80, 1, "a"),
		fail(100, 1), fail(120, 1), fail(140, 1),
		fail(90, 200), // started earlier, finished late: not shown
		ok(160, 1, "b"), ok(180, 1, "b"), ok(200, 1, "a"),
	} {
		tr.Add(p)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`client: no answer \(connection refused\)`,
		`client: a answers  \(after 2 failed requests, 41ms without an answer\)`,
		`client: no answer \(connection refused\)`,
		`client: b answers  \(after 3 failed requests, 61ms without an answer\)`,
		`client: a answers  \(was b; no request failed\)`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want match %q", i, lines[i], w)
		}
	}
}

func TestHasGroups(t *testing.T) {
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`{"node":"n","cluster":{"peers":[]}}`, false},
		{`{"node":"n","cluster":{"groups":[{"key":"x"}]}}`, true},
		{`{"node":"n","groups":[]}`, true},
		{`{"node":"n","cluster":"odd"}`, false},
	} {
		got, err := hasGroups([]byte(tc.json))
		if err != nil || got != tc.want {
			t.Errorf("hasGroups(%s) = %v, %v; want %v", tc.json, got, err, tc.want)
		}
	}
	if _, err := hasGroups([]byte("not json")); err == nil {
		t.Error("hasGroups accepted garbage")
	}
}

func TestTailLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-debug")
	if err := os.WriteFile(path, []byte("heartbeat[1]: 2026/01/01_00:00:00 info: old: node node_1: is dead\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	out := NewPrinter(&buf)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tailLog(ctx, out, "node_2", path, fileSize(path))
	}()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{
		"heartbeat[2]: 2026/01/01_00:00:01 debug: nothing to see\n",
		"heartbeat[2]: 2026/01/01_00:00:02 WARN: node node_1: is dead\n",
		"ResourceManager[3]: 2026/01/01_00:00:02 info: Acquiring resource group: node_1 demoweb::127.0.0.10::8080\n",
		"ResourceManager[3]: 2026/01/01_00:00:02 info: Running /x/resource.d/demoweb 127.0.0.10 8080 status\n",
		"ResourceManager[3]: 2026/01/01_00:00:02 info: Running /x/resource.d/demoweb 127.0.0.10 8080 st", // half a line
	} {
		if _, err := io.WriteString(f, l); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
	}
	if _, err := io.WriteString(f, "art\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	time.Sleep(150 * time.Millisecond)
	cancel()
	<-done
	var got []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		_, msg, _ := strings.Cut(sc.Text(), "node_2 log: ")
		got = append(got, msg)
	}
	want := []string{
		"heartbeat[2]: WARN: node node_1: is dead",
		"ResourceManager[3]: info: Acquiring resource group: node_1 demoweb::127.0.0.10::8080",
		"ResourceManager[3]: info: Running /x/resource.d/demoweb 127.0.0.10 8080 start",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tail printed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
