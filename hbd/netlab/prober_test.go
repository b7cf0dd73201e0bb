//go:build linux

package netlab

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestWindows(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	ok := func(at int, whom string) Probe {
		return Probe{At: ms(at), Took: 2 * time.Millisecond, Status: 200, Whom: whom}
	}
	bad := func(at int) Probe { return Probe{At: ms(at), Took: 200 * time.Millisecond, Err: "timeout"} }
	tests := []struct {
		name   string
		probes []Probe
		want   []Window
	}{
		{"none", []Probe{ok(0, "a"), ok(20, "a")}, nil},
		{"failover", []Probe{ok(0, "a"), bad(20), bad(40), ok(60, "b"), ok(80, "b")},
			[]Window{{Start: ms(20), End: ms(62), From: "a", To: "b", Failed: 2}}},
		{"blip", []Probe{ok(0, "a"), bad(20), ok(40, "a")},
			[]Window{{Start: ms(20), End: ms(42), From: "a", To: "a", Failed: 1}}},
		{"unordered", []Probe{ok(60, "b"), bad(40), ok(0, "a"), bad(20)},
			[]Window{{Start: ms(20), End: ms(62), From: "a", To: "b", Failed: 2}}},
		{"down at start", []Probe{bad(0), ok(20, "a")},
			[]Window{{Start: ms(0), End: ms(22), From: "", To: "a", Failed: 1}}},
		{"open at end", []Probe{ok(0, "a"), bad(20), bad(40)},
			[]Window{{Start: ms(20), From: "a", Failed: 2}}},
		{"two", []Probe{ok(0, "a"), bad(20), ok(40, "b"), bad(60), bad(80), ok(100, "a")},
			[]Window{{Start: ms(20), End: ms(42), From: "a", To: "b", Failed: 1},
				{Start: ms(60), End: ms(102), From: "b", To: "a", Failed: 2}}},
		{"500 counts as failure", []Probe{ok(0, "a"), {At: ms(20), Status: 500, Whom: "a"}, ok(40, "b")},
			[]Window{{Start: ms(20), End: ms(42), From: "a", To: "b", Failed: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Windows(tc.probes)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("window %d: got %v, want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	w := Windows([]Probe{ok(0, "a"), bad(20), ok(60, "b")})[0]
	if w.Duration() != 42*time.Millisecond || !w.Switched() || w.Open() {
		t.Errorf("Duration %v Switched %v Open %v", w.Duration(), w.Switched(), w.Open())
	}
	sw := Switches([]Probe{ok(0, "a"), ok(20, "b"), bad(40), ok(60, "b"), ok(80, "a")})
	if len(sw) != 2 || sw[0].From != "a" || sw[0].To != "b" || !sw[1].At.Equal(ms(80)) {
		t.Errorf("Switches = %+v", sw)
	}
}

// TestProberFailover moves a VIP between two web servers while a client
// probes it, and checks the prober sees a, then an outage, then b.
func TestProberFailover(t *testing.T) {
	lab := NewT(t, "prober")
	a, err := lab.Host("a", "10.231.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	b, err := lab.Host("b", "10.231.0.2/24")
	if err != nil {
		t.Fatal(err)
	}
	client, err := lab.Host("client", "10.231.0.9/24")
	if err != nil {
		t.Fatal(err)
	}
	const vip = "10.231.0.100"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := a.Exec(ctx, "ip", "addr", "add", vip+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if err := a.WaitAddr(ctx, vip, true); err != nil {
		t.Fatal(err)
	}
	if has, err := b.HasAddr(vip); err != nil || has {
		t.Fatalf("b.HasAddr(vip) = %v, %v", has, err)
	}
	stopA, err := a.ServeWhom(":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer stopA()
	stopB, err := b.ServeWhom(":8080")
	if err != nil {
		t.Fatal(err)
	}
	defer stopB()

	p, err := lab.StartProber(client, "http://"+vip+":8080/", ProberOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitFor(ctx, time.Now(), "a"); err != nil {
		t.Fatal(err)
	}

	// "Failover": a's server stops, 300 ms later the VIP moves to b and b
	// announces it with a gratuitous ARP.
	downAt := time.Now()
	stopA()
	time.Sleep(300 * time.Millisecond)
	if _, err := a.Exec(ctx, "ip", "addr", "del", vip+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Exec(ctx, "ip", "addr", "add", vip+"/24", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	upAt := time.Now()
	if _, err := b.Exec(ctx, "arping", "-q", "-U", "-c", "1", "-I", "eth0", vip); err != nil {
		t.Logf("gratuitous ARP: %v (the client may wait for its ARP entry)", err)
	}
	if _, err := p.WaitFor(ctx, upAt, "b"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	probes := p.Stop()

	ws := Windows(probes)
	if len(ws) != 1 {
		t.Fatalf("windows = %v, want exactly one", ws)
	}
	w := ws[0]
	t.Logf("%d probes; window %v; server down → VIP up on b: %v", len(probes), w, upAt.Sub(downAt).Round(time.Millisecond))
	if w.From != "a" || w.To != "b" || !w.Switched() {
		t.Errorf("window %v: want a → b", w)
	}
	// It starts with the first request after a's server stopped (at most
	// one interval later) and lasts at least until the VIP moved.
	if w.Start.Before(downAt.Add(-p.Interval)) || w.Start.After(downAt.Add(p.Interval+50*time.Millisecond)) {
		t.Errorf("window starts %v after the server stopped", w.Start.Sub(downAt))
	}
	if w.Duration() < upAt.Sub(downAt)-p.Interval || w.Duration() > 10*time.Second {
		t.Errorf("window lasts %v; the service was down %v", w.Duration(), upAt.Sub(downAt))
	}
	if w.Failed < 5 {
		t.Errorf("only %d failed requests in %v at 20 ms", w.Failed, w.Duration())
	}
	// At 20 ms the prober makes about 50 requests a second.
	span := probes[len(probes)-1].At.Sub(probes[0].At)
	if rate := float64(len(probes)) / span.Seconds(); rate < 35 || rate > 55 {
		t.Errorf("%.1f requests/s over %v, want about 50", rate, span)
	}
	for _, pr := range probes {
		if pr.Took > p.Timeout+100*time.Millisecond {
			t.Errorf("a request took %v, timeout %v", pr.Took, p.Timeout)
			break
		}
	}
}

func TestWatchAddr(t *testing.T) {
	lab := NewT(t, "watch")
	a, err := lab.Host("a", "10.231.0.1/24")
	if err != nil {
		t.Fatal(err)
	}
	b, err := lab.Host("b", "10.231.0.2/24")
	if err != nil {
		t.Fatal(err)
	}
	const vip = "10.231.0.100"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := WatchAddr(vip, 10*time.Millisecond, a, b)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := TrackAddr(vip, a, b)
	if err != nil {
		t.Fatal(err)
	}
	step := func(h *Host, op string) {
		t.Helper()
		if _, err := h.Exec(ctx, "ip", "addr", op, vip+"/24", "dev", "eth0"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	step(a, "add") // a
	step(b, "add") // a and b
	step(a, "del") // b
	step(b, "del") // nobody
	r := w.Stop()
	tr.Stop()
	evs, errs := tr.Events()
	if len(errs) > 0 {
		t.Fatalf("tracking: %v", errs)
	}
	var tracked []string
	spans := HolderSpans(evs, time.Now())
	for _, s := range spans {
		tracked = append(tracked, strings.Join(s.Holders, "+"))
	}
	if got, want := strings.Join(tracked, " "), "a a+b b "; got != want {
		t.Errorf("tracked holders %q, want %q (events %v)", got, want, evs)
	} else if both := spans[1].End.Sub(spans[1].Start); both < 150*time.Millisecond || both > 400*time.Millisecond {
		t.Errorf("tracked: on both for %s, want about 200 ms", both)
	}
	if r.Errors != 0 {
		t.Fatalf("%d errors: %v", r.Errors, r.LastErr)
	}
	var seq []string
	for _, s := range r.Spans {
		seq = append(seq, strings.Join(s.Holders, "+"))
	}
	want := []string{"", "a", "a+b", "b", ""}
	if strings.Join(seq, " ") != strings.Join(want, " ") {
		t.Fatalf("holders %q, want %q (spans %v)", seq, want, r.Spans)
	}
	m := r.Multi()
	if len(m) != 1 || m[0].End.Sub(m[0].Start) < 120*time.Millisecond || m[0].End.Sub(m[0].Start) > 400*time.Millisecond {
		t.Errorf("multi-holder spans %v, want one of about 200 ms", m)
	}
	if r.Samples < 50 {
		t.Errorf("only %d samples in about 0.9 s at 10 ms", r.Samples)
	}
	t.Logf("%d samples, spans %v", r.Samples, r.Spans)
}
