//go:build linux

package bench

import (
	"strings"
	"testing"
	"time"
)

func TestNewPlan(t *testing.T) {
	fast := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}
	hl := []Timing{fast, {Keepalive: 10 * time.Millisecond, Deadtime: 100 * time.Millisecond}, {Keepalive: time.Second, Deadtime: 3 * time.Second}}
	kl := []Timing{{Advert: 10 * time.Millisecond}, {Advert: time.Second}}
	base := Options{
		N: 5, Scenarios: Scenarios, Settings: DefaultSettings(fast), Idle: time.Minute,
		Limit: LimitOptions{Step: 10 * time.Minute, Losses: []float64{0, 10}, Daemons: []string{"hbd-builtin", "keepalived-vip"},
			Ladders: map[string][]Timing{"hbd-builtin": hl, "keepalived-vip": kl, "hbd": hl}},
		SearchStep: 30 * time.Second, SearchTiming: fast, SearchLosses: []float64{0, 1, 2, 5, 10, 15, 20, 30}, SearchDaemon: "hbd-builtin",
	}
	keys := []string{"heartbeat", "keepalived", "keepalived-vip", "hbd", "hbd-builtin", "hbd-resourced"}
	p := NewPlan(keys, base)
	if want := 7 * 2 * 6 * 5; p.Runs != want {
		t.Errorf("Runs = %d, want %d (scenarios × settings × daemons × N)", p.Runs, want)
	}
	// Idle: a minute per daemon and settings, plus each one's start.
	if p.Idle < 12*time.Minute || p.Idle > 20*time.Minute {
		t.Errorf("Idle = %s, want 12 minutes and the starts", p.Idle)
	}
	// The limit: the four searches and the loss search side by side, so
	// one full step at least (every fastest setting passes), the longest
	// ladder's every step at most, each with a lab of its own.
	if p.Together != 5 {
		t.Errorf("Together = %d, want 5 (two daemons × two loss rates, and the loss search)", p.Together)
	}
	if p.LimitMin < 10*time.Minute || p.LimitMin > 11*time.Minute {
		t.Errorf("LimitMin = %s, want 1 step of 10m, its start and the labs", p.LimitMin)
	}
	if p.LimitMax < 30*time.Minute || p.LimitMax > 32*time.Minute {
		t.Errorf("LimitMax = %s, want hbd's 3 steps of 10m, their starts and the labs", p.LimitMax)
	}
	if p.SearchMax < 4*time.Minute || p.SearchMax > 5*time.Minute {
		t.Errorf("SearchMax = %s, want 8 steps of 30s and a start", p.SearchMax)
	}
	if got, want := p.Max()-p.Scenarios-p.Idle, p.LimitMax; got != want {
		t.Errorf("the searches side by side planned at %s, want the longest, %s", got, want)
	}
	if p.Min() >= p.Max() || !strings.Contains(p.String(), "420 scenario runs") {
		t.Errorf("Plan %s: Min %s, Max %s", p, p.Min(), p.Max())
	}

	// A slower timing costs more, and nothing selected costs nothing.
	if fastRun, slowRun := estimateRun("hbd", fast, ScCut), estimateRun("hbd", hl[2], ScCut); fastRun >= slowRun {
		t.Errorf("a cut at 10ms/40ms (%s) should cost less than at 1s/3s (%s)", fastRun, slowRun)
	}
	// keepalived's standby and takeover are skipped before any setup.
	ka := Timing{Advert: time.Second}
	if c := estimateRun("keepalived", ka, ScStandby) + estimateRun("keepalived-vip", ka, ScTakeover); c != 0 {
		t.Errorf("keepalived's standby and takeover planned at %s, want nothing", c)
	}
	if !(&Keepalived{}).Lacks(ScTakeover) || (&Keepalived{}).Lacks(ScStop) {
		t.Error("keepalived should lack the takeover command and not the graceful stop")
	}
	none := base
	none.Scenarios, none.Idle, none.Limit.Step, none.SearchStep = nil, 0, 0, 0
	if p := NewPlan(keys, none); p.Max() != 0 || p.Runs != 0 {
		t.Errorf("empty bench planned as %s", p)
	}
	// The limit and the loss search run only for daemons that run.
	if p := NewPlan([]string{"heartbeat"}, base); p.LimitMax != 0 || p.SearchMax != 0 {
		t.Errorf("Heartbeat alone planned a search: %s", p)
	}
}

// Searches side by side take as long as the longest; one alone, or one
// after another, as long as their sum.
func TestPlanSearches(t *testing.T) {
	fast := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}
	ladder := []Timing{fast, {Keepalive: time.Second, Deadtime: 3 * time.Second}}
	step := 10 * time.Minute
	one := step + runSetup("hbd-builtin", fast)
	both := one + step + runSetup("hbd-builtin", ladder[1])
	search := 8*30*time.Second + runSetup("hbd-builtin", fast)
	for _, tc := range []struct {
		name             string
		losses           []float64
		searchStep       time.Duration
		together         int
		minimum, maximum time.Duration
	}{
		{"one limit", []float64{0}, 0, 0, one, both},
		{"the loss search alone", nil, 30 * time.Second, 0, 0, search},
		{"two limits", []float64{0, 10}, 0, 2, one + labBuild, both + labBuild},
		{"two limits and the loss search", []float64{0, 10}, 30 * time.Second, 3, one + 2*labBuild, both + 2*labBuild},
	} {
		opts := Options{
			N: 1, Limit: LimitOptions{Step: step, Losses: tc.losses, Daemons: []string{"hbd-builtin"}, Ladders: map[string][]Timing{"hbd-builtin": ladder}},
			SearchStep: tc.searchStep, SearchTiming: fast, SearchLosses: []float64{0, 1, 2, 5, 10, 15, 20, 30}, SearchDaemon: "hbd-builtin",
		}
		if len(tc.losses) == 0 {
			opts.Limit.Step = 0
		}
		p := NewPlan([]string{"hbd-builtin"}, opts)
		if p.Together != tc.together || p.Min() != tc.minimum || p.Max() != tc.maximum {
			t.Errorf("%s: together %d, %s to %s; want %d, %s to %s", tc.name, p.Together, p.Min(), p.Max(), tc.together, tc.minimum, tc.maximum)
		}
	}
}

// The wait until node1 serves, settled: half of quiet when the address
// is in place before the first request gives up, the whole of it after
// the address otherwise (the n=1 runs it was fitted to in brackets).
func TestUpTime(t *testing.T) {
	fast := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}
	matched := Timing{Keepalive: time.Second, Deadtime: 3 * time.Second}
	for _, tc := range []struct {
		key  string
		t    Timing
		want time.Duration
	}{
		{"hbd-builtin", fast, 770 * time.Millisecond},                                                                // 0.78 s
		{"hbd-builtin", matched, 2250 * time.Millisecond},                                                            // 2.26 s
		{"keepalived-vip", Timing{Advert: 10 * time.Millisecond}, 770 * time.Millisecond},                            // 0.78 s
		{"keepalived-vip", Timing{Advert: time.Second}, 9 * time.Second},                                             // 8.25 s
		{"hbd", fast, 1190 * time.Millisecond},                                                                       // 1.15 to 1.21 s
		{"heartbeat", Timing{Keepalive: 100 * time.Millisecond, Deadtime: 500 * time.Millisecond}, 13 * time.Second}, // 11.9 to 13 s
		{"heartbeat", matched, 15500 * time.Millisecond},                                                             // 15.2 to 16.7 s
	} {
		if got := upTime(tc.key, tc.t); got != tc.want {
			t.Errorf("upTime(%s, %s) = %s, want %s", tc.key, tc.t, got, tc.want)
		}
	}
}

func TestRoundMin(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0m", 20 * time.Second: "<1m", 7*time.Minute + 10*time.Second: "7m", 65 * time.Minute: "1h05m", 7*time.Hour + 2*time.Minute: "7h02m",
	} {
		if got := roundMin(d); got != want {
			t.Errorf("roundMin(%s) = %q, want %q", d, got, want)
		}
	}
}

// The idle measurement starts once a node is past initdead and a deadtime,
// when hbd's start has done its one-off work.
func TestIdleSettle(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Timing
		want time.Duration
	}{
		{"matched", Timing{Keepalive: time.Second, Deadtime: 3 * time.Second}, 13500 * time.Millisecond},
		{"fastest", Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}, 620 * time.Millisecond},
		{"keepalived", Timing{Advert: 10 * time.Millisecond}, 500 * time.Millisecond},
	} {
		if got := idleSettle(tc.t); got != tc.want {
			t.Errorf("%s: idleSettle = %s, want %s", tc.name, got, tc.want)
		}
	}
}
