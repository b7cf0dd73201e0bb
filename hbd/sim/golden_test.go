package sim

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/traces.golden from this tree's traces")

// goldenSeeds is how many seeds of each generator the golden file holds.
const goldenSeeds = 50

// goldenGenerators are the simulation's config generators whose traces
// are pinned: every log line, message summary and group action of a run.
var goldenGenerators = []struct {
	name string
	gen  func(uint64) Config
}{
	{"membership", RandomConfig},
	{"resources", RandomResourceConfig},
	{"reload", RandomReloadConfig},
	{"monitor", RandomMonitorConfig},
	{"quorum", RandomQuorumConfig},
	{"exclusive", RandomExclusiveConfig},
	{"safe", RandomSafeConfig},
	{"widereload", RandomWideReloadConfig},
	{"settings", RandomSettingsConfig},
	{"clocks", RandomClockConfig},
	{"nodeset", RandomNodeSetConfig},
}

// TestGoldenTraces pins what the core decides: the trace hash of a few
// hundred seeds must not change when the code is only restructured. A
// change of behaviour rewrites the file (-update-golden) and the diff
// names the seeds it moved. To read a moved seed's trace, run the same
// generator and seed with Config.Trace in this tree and in the old one.
func TestGoldenTraces(t *testing.T) {
	const path = "testdata/traces.golden"
	// The race detector makes a seed about five times slower: there the
	// first few seeds of each generator are compared, the rest in the
	// full-speed run.
	seeds := uint64(goldenSeeds)
	if raceEnabled && !*updateGolden {
		seeds = 5
	}
	var lines []string
	for _, g := range goldenGenerators {
		for seed := uint64(1); seed <= goldenSeeds; seed++ {
			if seed > seeds {
				lines = append(lines, "")
				continue
			}
			c := g.gen(seed)
			c.Hash = true
			res := Run(c)
			lines = append(lines, fmt.Sprintf("%s %d %016x %d", g.name, seed, res.Hash, res.Events))
		}
	}
	if *updateGolden {
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (create it with -update-golden)", err)
	}
	defer f.Close()
	var want []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		want = append(want, sc.Text())
	}
	if len(want) != len(lines) {
		t.Fatalf("%s has %d lines, this tree gives %d", path, len(want), len(lines))
	}
	bad := 0
	for i := range lines {
		if lines[i] != "" && lines[i] != want[i] {
			bad++
			if bad <= 10 {
				t.Errorf("trace changed: want %q, got %q", want[i], lines[i])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d traces changed", bad, len(lines))
	}
}
