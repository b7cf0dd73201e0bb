//go:build linux

package bench

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/netlab"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// probes builds a probe every 20 ms from start: c is one character per
// probe: '1'/'2' answered by node1/node2 (in 2 ms), '.' failed.
func probes(startMS int, c string) []netlab.Probe {
	var ps []netlab.Probe
	for i, ch := range c {
		p := netlab.Probe{At: at(startMS + 20*i), Took: 2 * time.Millisecond}
		switch ch {
		case '1', '2':
			p.Status, p.Whom = 200, "node"+string(ch)
		default:
			p.Took, p.Err = 200*time.Millisecond, "timeout"
		}
		ps = append(ps, p)
	}
	return ps
}

func TestMeasure(t *testing.T) {
	tests := []struct {
		name        string
		probes      string
		m           Marks
		unavail     time.Duration
		open        bool
		windows     int
		switchAfter time.Duration
	}{
		{
			name:   "one window then the new holder",
			probes: "111...222",
			m:      Marks{From: at(50), End: at(1000), Action: at(50), Expect: "node2"},
			// first failure at 60 ms, first answer starts 120 ms, took 2 ms
			unavail: 62 * time.Millisecond, windows: 1, switchAfter: 72 * time.Millisecond,
		},
		{
			name:    "two windows are summed",
			probes:  "11..22..22",
			m:       Marks{From: at(0), End: at(1000), Action: at(0), Expect: "node2"},
			unavail: 2 * 42 * time.Millisecond, windows: 2, switchAfter: 82 * time.Millisecond,
		},
		{
			name:    "an open window counts to the end",
			probes:  "11.....",
			m:       Marks{From: at(0), End: at(500), Action: at(0), Expect: "node2"},
			unavail: 460 * time.Millisecond, open: true, windows: 1, switchAfter: -1,
		},
		{
			name:    "failures before From do not count",
			probes:  "..111122",
			m:       Marks{From: at(45), End: at(1000), Action: at(45), Expect: "node2"},
			unavail: 0, windows: 0, switchAfter: 77 * time.Millisecond, // 120 ms + 2 ms - 45 ms
		},
		{
			name:    "no expected node: no switch",
			probes:  "1.1",
			m:       Marks{From: at(0), End: at(1000)},
			unavail: 22 * time.Millisecond, windows: 1, switchAfter: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Measure(probes(0, tt.probes), nil, tt.m)
			if f.Unavail != tt.unavail || f.Open != tt.open || f.Windows != tt.windows || f.Switch != tt.switchAfter {
				t.Errorf("Measure = unavail %v open %v windows %d switch %v; want %v %v %d %v",
					f.Unavail, f.Open, f.Windows, f.Switch, tt.unavail, tt.open, tt.windows, tt.switchAfter)
			}
			if f.Dup != -1 {
				t.Errorf("Dup = %v without DupFrom, want -1 (not measured)", f.Dup)
			}
		})
	}
}

func TestDupTime(t *testing.T) {
	spans := []netlab.Span{
		{Start: at(0), End: at(100), Holders: []string{"node1"}},
		{Start: at(110), End: at(200), Holders: []string{"node1", "node2"}}, // 100 ms with the last sample
		{Start: at(210), End: at(300), Holders: []string{"node2"}},
		{Start: at(310), End: at(310), Holders: []string{"node1", "node2"}}, // one sample: 10 ms
		{Start: at(320), End: at(400), Holders: nil},
	}
	every := 10 * time.Millisecond
	tests := []struct {
		from, to time.Time
		want     time.Duration
	}{
		{at(0), at(1000), 110 * time.Millisecond},
		{at(150), at(1000), 70 * time.Millisecond}, // clipped at the start
		{at(0), at(160), 50 * time.Millisecond},    // clipped at the end
		{at(400), at(1000), 0},
	}
	for _, tt := range tests {
		if got := DupTime(spans, tt.from, tt.to, every); got != tt.want {
			t.Errorf("DupTime(%v..%v) = %v, want %v", tt.from.Sub(t0), tt.to.Sub(t0), got, tt.want)
		}
	}
	f := Measure(nil, spans, Marks{From: at(0), End: at(1000), DupFrom: at(0), Every: every})
	if f.Dup != 110*time.Millisecond {
		t.Errorf("Measure Dup = %v, want 110ms", f.Dup)
	}
}

func TestSettled(t *testing.T) {
	ps := probes(0, "1111.11111111111111112222222222222222222222")
	tests := []struct {
		nowMS    int
		wantWhom string
		wantOK   bool
	}{
		{nowMS: 300, wantOK: false},                   // the failure at 80 ms is inside the quiet period
		{nowMS: 600, wantOK: false},                   // node1 then node2 inside it
		{nowMS: 950, wantWhom: "node2", wantOK: true}, // only node2
		{nowMS: 5000, wantOK: false},                  // no probes inside: not enough of them
	}
	for _, tt := range tests {
		w, ok := Settled(ps, at(tt.nowMS), 300*time.Millisecond, 50*time.Millisecond, 5)
		if w != tt.wantWhom || ok != tt.wantOK {
			t.Errorf("Settled(now=%dms) = %q %v, want %q %v", tt.nowMS, w, ok, tt.wantWhom, tt.wantOK)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		in       []time.Duration
		med, max time.Duration
	}{
		{ms(30, 10, 20), 20 * time.Millisecond, 30 * time.Millisecond},
		{ms(40, 10, 20, 30), 25 * time.Millisecond, 40 * time.Millisecond},
		{ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
	}
	for _, tt := range tests {
		s := Summarize(tt.in)
		if s.Median != tt.med || s.Max != tt.max || s.N != len(tt.in) {
			t.Errorf("Summarize(%v) = %+v, want median %v max %v", tt.in, s, tt.med, tt.max)
		}
	}
	if s := Summarize(nil); s.N != 0 {
		t.Errorf("Summarize(nil).N = %d", s.N)
	}
}

func TestExpectedDeaths(t *testing.T) {
	// 10 ms / 100 ms at 10 %: 9 or 10 lost in a row, 2 directions.
	ten := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 100 * time.Millisecond}
	c := ExpectedDeaths(ten, 0.10, 10*time.Minute)
	beats := 2 * 600.0 / 0.010
	if want := beats * 0.9 * 1e-9; !near(c.High, want) {
		t.Errorf("10/100 high = %g, want %g", c.High, want)
	}
	if want := beats * 0.9 * 1e-10; !near(c.Low, want) {
		t.Errorf("10/100 low = %g, want %g", c.Low, want)
	}
	// 10/40: chance alone gives false deaths in ten minutes.
	c = ExpectedDeaths(Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}, 0.10, 10*time.Minute)
	if c.Low < 1 || c.High < c.Low {
		t.Errorf("10/40 at 10%% = %+v, want at least one expected, high ≥ low", c)
	}
	if c := ExpectedDeaths(ten, 0, time.Minute); c.High != 0 {
		t.Errorf("no loss = %+v, want 0", c)
	}
	// keepalived at advert_int 1 s, 10 %, 10 minutes: 600 adverts from the
	// master alone, 3 lost in a row.
	c = ExpectedDeaths(Timing{Advert: time.Second}, 0.10, 10*time.Minute)
	if want := 600 * 0.9 * 1e-3; !near(c.Low, want) || !near(c.High, want) {
		t.Errorf("advert_int 1 at 10%% = %+v, want %g both", c, want)
	}
}

func near(a, b float64) bool { return a > b*0.999 && a < b*1.001 }

func TestHolderChanges(t *testing.T) {
	spans := []netlab.Span{
		{Start: at(0), Holders: []string{"node1"}},
		{Start: at(100), Holders: []string{"node1", "node2"}},
		{Start: at(200), Holders: []string{"node2"}},
	}
	if n := holderChanges(spans, at(0), at(1000)); n != 2 {
		t.Errorf("holderChanges = %d, want 2", n)
	}
	if n := holderChanges(spans, at(150), at(1000)); n != 1 {
		t.Errorf("holderChanges from 150ms = %d, want 1", n)
	}
}

func TestReportCells(t *testing.T) {
	ms := func(v int) time.Duration { return time.Duration(v) * time.Millisecond }
	runs := []Run{
		{Figures: Figures{Unavail: ms(30), Switch: ms(40), Dup: -1}},
		{Figures: Figures{Unavail: ms(10), Switch: -1, Dup: ms(5)}},
		{Figures: Figures{Unavail: ms(50000), Open: true, Switch: ms(20), Dup: ms(15)}},
		{Err: "setup failed"},
	}
	unavail := cell(runs, func(r Run) (time.Duration, bool) { return r.Unavail, true }, func(r Run) bool { return r.Open }, false)
	if want := "≥ 30 / 50000 (1 open), 1 failed"; unavail != want {
		t.Errorf("unavailability cell = %q, want %q", unavail, want)
	}
	sw := cell(runs, func(r Run) (time.Duration, bool) { return r.Switch, r.Switch >= 0 }, nil, true)
	if want := "30 / 40, none in 1, 1 failed"; sw != want {
		t.Errorf("switch cell = %q, want %q", sw, want)
	}
	dup := cell(runs, func(r Run) (time.Duration, bool) { return r.Dup, r.Dup >= 0 }, nil, false)
	if want := "10 / 15, 1 failed"; dup != want {
		t.Errorf("duplicate cell = %q, want %q", dup, want)
	}
	if got := cell(runs[:1], func(r Run) (time.Duration, bool) { return r.Dup, r.Dup >= 0 }, nil, false); got != "—" {
		t.Errorf("unmeasured cell = %q, want —", got)
	}
	if got := cell([]Run{{Skip: true}}, func(r Run) (time.Duration, bool) { return 0, true }, nil, false); got != "n/a" {
		t.Errorf("skipped cell = %q, want n/a", got)
	}
}
