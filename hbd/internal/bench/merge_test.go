//go:build linux

package bench

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// part is a one-part report of daemon under settings: one run of each
// scenario given, or the limit at loss.
func part(daemon, settings string, t Timing, started time.Time, scenarios ...string) *Report {
	rep := &Report{
		N:         3,
		Parts:     []Part{{Started: started, Finished: started.Add(10 * time.Minute), LoadStart: "0.10 0.20 0.30", LoadEnd: "1.00 0.50 0.40", Flags: []string{"-daemons=" + daemon}}},
		Daemons:   []DaemonInfo{{Key: daemon, Label: daemon + " label", Version: "1"}},
		Settings:  []SettingsSet{{Name: settings, Timing: map[string]Timing{daemon: t}}},
		Scenarios: scenarios,
	}
	for _, sc := range scenarios {
		rep.Runs = append(rep.Runs, Run{Daemon: daemon, Settings: settings, Scenario: sc, Index: 1, Figures: Figures{Unavail: 40 * time.Millisecond, Switch: 50 * time.Millisecond, Dup: 0}})
	}
	return rep
}

func TestMergeParts(t *testing.T) {
	hbdT := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}
	kaT := Timing{Advert: 10 * time.Millisecond}
	a := part("hbd-builtin", "fastest", hbdT, t0, ScStop, ScCut)
	b := part("keepalived-vip", "fastest", kaT, t0.Add(time.Hour), ScCut, ScKill9)
	lim := part("hbd-builtin", "fastest", hbdT, t0.Add(2*time.Hour))
	lim.Limits = []Limit{{Daemon: "hbd-builtin", Loss: 10, Step: time.Minute, Steps: []Soak{
		{Daemon: "hbd-builtin", Timing: hbdT, Loss: 10, Step: time.Minute, Duration: 3 * time.Second, Deaths: 1},
		{Daemon: "hbd-builtin", Timing: Timing{Keepalive: 10 * time.Millisecond, Deadtime: 100 * time.Millisecond}, Loss: 10, Step: time.Minute, Duration: time.Minute},
	}, Beside: []string{"hbd-builtin's loss search at keepalive 10 ms / deadtime 40 ms"}}}
	lim.Search = []Soak{{Daemon: "hbd-builtin", Timing: hbdT, Loss: 5, Step: 30 * time.Second, Duration: 4 * time.Second, Deaths: 1}}
	lim.SearchStep = 30 * time.Second
	lim.SearchBeside = []string{"hbd-builtin's limit at 10 % loss"}

	// Through the files, as `hbdbench merge` reads them.
	dir := t.TempDir()
	var parts []*Report
	for i, r := range []*Report{a, b, lim} {
		p := filepath.Join(dir, string(rune('a'+i))+".json")
		if err := r.WriteJSON(p); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, back)
	}
	m, err := Merge(parts)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Parts) != 3 || len(m.Runs) != 4 || len(m.Daemons) != 2 || len(m.Limits) != 1 {
		t.Fatalf("merged %d parts, %d runs, %d daemons, %d limits; want 3, 4, 2, 1", len(m.Parts), len(m.Runs), len(m.Daemons), len(m.Limits))
	}
	if got := strings.Join(m.Scenarios, ","); got != "cut,kill9,stop" {
		t.Errorf("scenarios = %s, want cut,kill9,stop (report order)", got)
	}
	if len(m.Settings) != 1 || m.Settings[0].Timing["keepalived-vip"] != kaT || m.Settings[0].Timing["hbd-builtin"] != hbdT {
		t.Errorf("settings = %+v, want fastest with both timings", m.Settings)
	}
	md := m.Markdown()
	for _, want := range []string{
		"Run in 3 parts, 30m0s in all",
		"| 3 | 2026-01-02 05:04 UTC |",
		"0.10 0.20 0.30 / 1.00 0.50 0.40",
		"`-daemons=keepalived-vip`",
		"| hbd-builtin label | 10 % | **keepalive 10 ms / deadtime 100 ms** | 1m0s | keepalive 10 ms / deadtime 40 ms: false failover after 3s; keepalive 10 ms / deadtime 100 ms: none in 1m0s |",
		"| hbd-builtin label | keepalive 10 ms / deadtime 40 ms | 10 % | 3s of 1m0s | 1 |",
		"| keepalived-vip label | advert_int 0.01 | 40 / 40 | 40 / 40 |  |",
		// The searches that ran side by side say so, through the files.
		"These ran at the same time, each in a lab of its own (its own bridge, loss and clusters) under the same busy loops, so that a step of one and a step of another shared both busy CPUs: hbd-builtin's limit at 10 % loss, hbd-builtin's loss search at keepalive 10 ms / deadtime 40 ms.",
		"It ran at the same time as hbd-builtin's limit at 10 % loss, each in a lab of its own under the same busy loops.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("merged report lacks %q:\n%s", want, md)
		}
	}

	// Two parts that disagree on a daemon's timing cannot be one report.
	c := part("hbd-builtin", "fastest", Timing{Keepalive: 20 * time.Millisecond, Deadtime: 100 * time.Millisecond}, t0, ScCut)
	if _, err := Merge([]*Report{a, c}); err == nil {
		t.Error("merged parts with two timings for one daemon and settings")
	}
	if _, err := Merge(nil); err == nil {
		t.Error("merged nothing")
	}
}

func TestLimitFound(t *testing.T) {
	fast := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}
	slow := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 100 * time.Millisecond}
	tests := []struct {
		name  string
		steps []Soak
		want  Timing
		found bool
	}{
		{"nothing tried", nil, Timing{}, false},
		{"fastest passes", []Soak{{Timing: fast, Duration: time.Minute}}, fast, true},
		{"second passes", []Soak{{Timing: fast, Deaths: 1}, {Timing: slow, Duration: time.Minute}}, slow, true},
		{"none passes", []Soak{{Timing: fast, Deaths: 1}, {Timing: slow, Changes: 2}}, Timing{}, false},
		{"cut short", []Soak{{Timing: fast, Err: "context canceled"}}, Timing{}, false},
	}
	for _, tt := range tests {
		got, ok := Limit{Steps: tt.steps}.Found()
		if ok != tt.found || (ok && got != tt.want) {
			t.Errorf("%s: Found() = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.found)
		}
	}
}
