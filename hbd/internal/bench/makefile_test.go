//go:build linux

package bench

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMakefileParts holds the Makefile's bench parts to the full run they
// make together (`make bench-part` for each of BENCHPARTS, then `make
// bench-merge`): every scenario at every default settings with every
// daemon, the idle cost at every default settings, the limit of every
// limit daemon at every loss rate, and the loss search, each in exactly
// one part, so that a merge of the parts neither lacks nor repeats a row.
func TestMakefileParts(t *testing.T) {
	vars := makeVars(t, filepath.Join("..", "..", "..", "Makefile"))
	parts := strings.Fields(vars["BENCHPARTS"])
	if len(parts) == 0 {
		t.Fatal("Makefile: no BENCHPARTS")
	}
	counts := map[string]int{}
	for _, p := range parts {
		v, ok := vars["BENCHPART_"+p]
		if !ok {
			t.Errorf("Makefile: part %s has no BENCHPART_%s", p, p)
			continue
		}
		f, err := partFlags(expandMake(v, vars))
		if err != nil {
			t.Errorf("part %s: %v", p, err)
			continue
		}
		for _, c := range f.covers() {
			counts[c]++
		}
	}
	var want []string
	for _, s := range List(DefaultSettingsNames) {
		for _, sc := range Scenarios {
			want = append(want, "scenario "+s+" "+sc)
		}
		want = append(want, "idle "+s)
	}
	for _, d := range List(DefaultLimitDaemons) {
		for _, l := range List(DefaultLimitLosses) {
			want = append(want, "limit "+d+" "+l)
		}
	}
	want = append(want, "loss search")
	for _, w := range want {
		if n := counts[w]; n != 1 {
			t.Errorf("the parts make %q %d times, want once", w, n)
		}
	}
}

// partFlagSet is what one part runs: hbdbench's defaults, then the
// common flags of bench-part (all of them on), then the part's own.
type partFlagSet struct {
	daemons, scenarios, settings, losses, limitDaemons []string
	idle, soak, search                                 bool
}

func partFlags(args []string) (partFlagSet, error) {
	f := partFlagSet{
		daemons: List(DefaultDaemons), scenarios: Scenarios, settings: List(DefaultSettingsNames),
		losses: List(DefaultLimitLosses), limitDaemons: List(DefaultLimitDaemons),
		idle: true, soak: true, search: true,
	}
	lists := map[string]*[]string{
		"daemons": &f.daemons, "scenarios": &f.scenarios, "settings": &f.settings,
		"limit-losses": &f.losses, "limit-daemons": &f.limitDaemons,
	}
	durations := map[string]*bool{"idle": &f.idle, "soak": &f.soak, "search-step": &f.search}
	for i := 0; i < len(args); i += 2 {
		name := strings.TrimLeft(args[i], "-")
		if i+1 >= len(args) {
			return f, fmt.Errorf("flag %s without a value", args[i])
		}
		if l, ok := lists[name]; ok {
			*l = List(args[i+1])
		}
		if d, ok := durations[name]; ok {
			*d = args[i+1] != "0" && args[i+1] != "0s"
		}
	}
	return f, nil
}

// covers lists what the part measures with every daemon, or, for the
// limit, with its daemon: a scenario or an idle cost run for only some
// daemons would not compare them in one interleaved run.
func (f partFlagSet) covers() []string {
	var out []string
	all := true
	for _, d := range List(DefaultDaemons) {
		all = all && slices.Contains(f.daemons, d)
	}
	for _, s := range f.settings {
		for _, sc := range f.scenarios {
			if all {
				out = append(out, "scenario "+s+" "+sc)
			} else {
				out = append(out, "scenario "+s+" "+sc+" (some daemons)")
			}
		}
		if f.idle {
			out = append(out, "idle "+s)
		}
	}
	if f.soak {
		for _, d := range f.limitDaemons {
			if !slices.Contains(f.daemons, d) {
				continue
			}
			for _, l := range f.losses {
				out = append(out, "limit "+d+" "+l)
			}
		}
	}
	if f.search && slices.Contains(f.daemons, "hbd-builtin") {
		out = append(out, "loss search")
	}
	return out
}

// makeVars reads the Makefile's simple `NAME = value` lines (also ?=
// and :=).
func makeVars(t *testing.T, path string) map[string]string {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '\t' || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		k = strings.TrimRight(strings.TrimSpace(k), "?:")
		if k == "" || strings.ContainsAny(k, " $") {
			continue
		}
		vars[k] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars
}

// expandMake expands $(NAME) of vars in v and splits it into words as sh
// would (a pair of single quotes is an empty word).
func expandMake(v string, vars map[string]string) []string {
	for k, x := range vars {
		v = strings.ReplaceAll(v, "$("+k+")", x)
	}
	var out []string
	for _, w := range strings.Fields(v) {
		out = append(out, strings.ReplaceAll(w, "''", ""))
	}
	return out
}
