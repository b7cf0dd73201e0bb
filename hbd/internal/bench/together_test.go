//go:build linux

package bench

import (
	"slices"
	"testing"
	"time"
)

// The searches a bench runs side by side: each limit daemon's at each
// loss rate, then the loss search, only for daemons that run.
func TestSearchJobs(t *testing.T) {
	hbd, ka := &Hbd{Resources: HbdBuiltin}, &Keepalived{BuiltinVIP: true}
	fast := Timing{Keepalive: 10 * time.Millisecond, Deadtime: 40 * time.Millisecond}
	ladders := map[string][]Timing{"hbd-builtin": {fast}, "keepalived-vip": {{Advert: 10 * time.Millisecond}}}
	base := Options{
		Limit:      LimitOptions{Step: time.Minute, Losses: []float64{0, 10}, Daemons: []string{"hbd-builtin", "keepalived-vip"}, Ladders: ladders},
		SearchStep: 30 * time.Second, SearchTiming: fast, SearchLosses: []float64{0, 10}, SearchDaemon: "hbd-builtin",
	}
	noLimit, noSearch, noLosses := base, base, base
	noLimit.Limit.Step = 0
	noSearch.SearchStep = 0
	noLosses.SearchLosses = nil
	for _, tc := range []struct {
		name string
		live []Driver
		opts Options
		want []string
	}{
		{"all", []Driver{hbd, ka}, base, []string{
			"hbd-builtin's limit at 0 % loss", "hbd-builtin's limit at 10 % loss",
			"keepalived-vip's limit at 0 % loss", "keepalived-vip's limit at 10 % loss",
			"hbd-builtin's loss search at keepalive 10 ms / deadtime 40 ms"}},
		{"keepalived only", []Driver{ka}, base, []string{"keepalived-vip's limit at 0 % loss", "keepalived-vip's limit at 10 % loss"}},
		{"no limit", []Driver{hbd, ka}, noLimit, []string{"hbd-builtin's loss search at keepalive 10 ms / deadtime 40 ms"}},
		{"no loss search", []Driver{ka, hbd}, noSearch, []string{
			"keepalived-vip's limit at 0 % loss", "keepalived-vip's limit at 10 % loss",
			"hbd-builtin's limit at 0 % loss", "hbd-builtin's limit at 10 % loss"}},
		{"no loss rates to search", []Driver{ka}, noLosses, []string{"keepalived-vip's limit at 0 % loss", "keepalived-vip's limit at 10 % loss"}},
		{"no daemon", nil, base, nil},
	} {
		var got []string
		for _, j := range searchJobs(tc.live, tc.opts) {
			got = append(got, j.String())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: jobs %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Each search names the others it ran beside, and the report says once
// which ran together.
func TestBesideAndGroups(t *testing.T) {
	hbd, ka := &Hbd{Resources: HbdBuiltin}, &Keepalived{BuiltinVIP: true}
	l := []Timing{{Advert: 10 * time.Millisecond}}
	jobs := []SearchJob{{Driver: hbd, Ladder: l, Loss: 0}, {Driver: ka, Ladder: l, Loss: 10}, {Driver: hbd, Timing: l[0], Losses: []float64{1}}}
	b := besides(jobs)
	want := [][]string{
		{"keepalived-vip's limit at 10 % loss", "hbd-builtin's loss search at advert_int 0.01"},
		{"hbd-builtin's limit at 0 % loss", "hbd-builtin's loss search at advert_int 0.01"},
		{"hbd-builtin's limit at 0 % loss", "keepalived-vip's limit at 10 % loss"},
	}
	for i := range want {
		if !slices.Equal(b[i], want[i]) {
			t.Errorf("besides[%d] = %q, want %q", i, b[i], want[i])
		}
	}
	if b := besides(jobs[:1]); len(b) != 1 || b[0] != nil {
		t.Errorf("one search alone: besides %q, want none", b)
	}
	limits := []Limit{{Daemon: "hbd-builtin", Loss: 0, Beside: b[0]}, {Daemon: "keepalived-vip", Loss: 10, Beside: b[1]}, {Daemon: "hbd", Loss: 5}}
	g := togetherGroups(limits)
	if len(g) != 1 || len(g[0]) != 3 || g[0][0] != "hbd-builtin's limit at 0 % loss" {
		t.Errorf("groups %q, want the one group of three, led by the first limit", g)
	}
	if g := togetherGroups(limits[2:]); g != nil {
		t.Errorf("a limit alone: groups %q, want none", g)
	}
}
