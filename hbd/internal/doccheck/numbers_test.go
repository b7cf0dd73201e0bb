package doccheck

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The README's failover figure: "(40 ms without service after a machine
// death with hbd (built-in IPaddr2) at keepalive 10 ms / deadtime 40 ms,
// in the benchmark run of 2026-12-06 14:46 UTC, ...". The daemon is a
// row label of the benchmark's tables ("hbd" when the README names none).
var readmeFigure = regexp.MustCompile(`\((\d+) ms without service after a machine death (?:with (hbd(?: \([^)]*\))?) )?at (keepalive [^,]+?), in the benchmark run of ([\d-]+ [\d:]+ UTC)`)

// checkReadmeFigure holds the README's failover figure against
// docs/benchmarks.md: the run it names is the one the page reports (the
// latest), and the figure is that run's median unavailability of that
// hbd row after a link cut at those settings.
func checkReadmeFigure(readme, benchmarks string) []string {
	m := readmeFigure.FindStringSubmatch(strings.Join(strings.Fields(readme), " "))
	if m == nil {
		return []string{"README.md: no failover figure of the form \"(N ms without service after a machine death at keepalive …, in the benchmark run of DATE UTC\""}
	}
	figure, daemon, settings, run := m[1], m[2], m[3], m[4]
	if daemon == "" {
		daemon = "hbd"
	}
	if !strings.Contains(benchmarks, "## Results of "+run+"\n") {
		return []string{fmt.Sprintf("README.md cites the benchmark run of %s; docs/benchmarks.md reports another run", run)}
	}
	for _, row := range TableRows(Section(benchmarks, "Unavailability, ms (median / max)")) {
		if len(row) < 3 || row[0] != daemon || row[1] != settings {
			continue
		}
		median, _, _ := strings.Cut(row[2], " / ")
		if median != figure {
			return []string{fmt.Sprintf("README.md says %s ms for %s at %s; the run of %s measured %s ms", figure, daemon, settings, run, median)}
		}
		return nil
	}
	return []string{fmt.Sprintf("docs/benchmarks.md has no %s row at %s in its Unavailability table", daemon, settings)}
}

func TestReadmeFigure(t *testing.T) {
	for _, p := range checkReadmeFigure(readRepoFile(t, "README.md"), readRepoFile(t, "docs/benchmarks.md")) {
		t.Error(p)
	}
}

func TestCheckReadmeFigureFails(t *testing.T) {
	readme := "fast (%s ms without service after a machine death at keepalive 10 ms / deadtime 40 ms, in the benchmark run of %s, N = 1)"
	bench := "## Results of 2026-11-22 06:19 UTC\n\n### Unavailability, ms (median / max)\n\n| daemon | settings | link cut |\n| --- | --- | --- |\n" +
		"| hbd | keepalive 1 s / deadtime 3 s | 2963 / 2963 |\n| hbd | keepalive 10 ms / deadtime 40 ms | 61 / 61 |\n" +
		"| hbd (built-in IPaddr2) | keepalive 10 ms / deadtime 40 ms | 40 / 41 |\n\n### Switch time\n"
	tests := []struct {
		name, figure, run string
		problems          []string
	}{
		{"in step", "61", "2026-11-22 06:19 UTC", nil},
		{"other figure", "45", "2026-11-22 06:19 UTC", []string{"README.md says 45 ms for hbd at keepalive 10 ms / deadtime 40 ms; the run of 2026-11-22 06:19 UTC measured 61 ms"}},
		{"older run", "61", "2026-11-21 10:00 UTC", []string{"cites the benchmark run of 2026-11-21 10:00 UTC; docs/benchmarks.md reports another run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, checkReadmeFigure(fmt.Sprintf(readme, tt.figure, tt.run), bench), tt.problems)
		})
	}
	labelled := "fast (%s ms without service after a machine death with hbd (built-in IPaddr2) at keepalive 10 ms / deadtime 40 ms, in the benchmark run of 2026-11-22 06:19 UTC, N = 5)"
	wantProblems(t, checkReadmeFigure(fmt.Sprintf(labelled, "40"), bench), nil)
	wantProblems(t, checkReadmeFigure(fmt.Sprintf(labelled, "61"), bench), []string{"README.md says 61 ms for hbd (built-in IPaddr2) at keepalive 10 ms / deadtime 40 ms; the run of 2026-11-22 06:19 UTC measured 40 ms"})
	wantProblems(t, checkReadmeFigure("failover in well under a second", bench), []string{"no failover figure"})
}
